"""julia/generate.jl uses only HallThruster.jl v0.21.6 names that docs/julia-backend.md lists.

The lists are checked against the layout of a Solution HallThruster.jl v0.21.6 serialized
(tests/data/hallthruster/solution_layout.json), and the fake driver of test_julia_fake.py against
the driver's own result keys, so the fake cannot drift from the real one.
"""

from __future__ import annotations

import json
import re

from tests.backends.fake_juliacall import driver_result
from tests.conftest import REPO

DRIVER = REPO / "julia" / "generate.jl"
DOC = REPO / "docs" / "julia-backend.md"
LAYOUT = json.loads((REPO / "tests" / "data" / "hallthruster" / "solution_layout.json").read_text())
SECTIONS = ("Functions", "Solution fields", "Frame fields", "Species fields")
# what the driver may write `x.y` with: the documented objects, and Julia's own modules
OBJECTS = {"HallThruster": "Functions", "sol": "Solution fields", "frame": "Frame fields", "species": "Species fields"}
JULIA_MODULES = {"Base", "Threads"}


def documented() -> dict[str, set[str]]:
    """The names listed under each API heading of docs/julia-backend.md (`- \\`name\\` — …`)."""
    text = DOC.read_text()
    lists = {}
    for section in SECTIONS:
        body = re.search(rf"^### {section}\n(.*?)(?=^#|\Z)", text, flags=re.MULTILINE | re.DOTALL)
        assert body, f"docs/julia-backend.md has no '### {section}' list"
        lists[section] = set(re.findall(r"^- `(\w+)`", body.group(1), flags=re.MULTILINE))
    return lists


def driver_code() -> str:
    """The driver without comments, docstrings and string literals."""
    code = re.sub(r'"""(.*?)"""', "", DRIVER.read_text(), flags=re.DOTALL)
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)
    return "\n".join(line.split("#", 1)[0] for line in code.splitlines())


def test_the_documented_api_is_hallthrusters_serialized_layout():
    api = documented()
    assert api["Functions"] == {"run_simulation"}
    assert api["Solution fields"] == set(LAYOUT["solution_keys"])
    assert api["Frame fields"] == set(LAYOUT["frame_keys"])
    assert api["Species fields"] == set(LAYOUT["species_keys"])
    assert LAYOUT["grid_points"] == LAYOUT["num_cells"] + 2 and LAYOUT["grid_ends"] == LAYOUT["domain"]
    assert LAYOUT["ions_per_gas"] == "list"


def test_the_driver_uses_only_documented_names():
    api, code = documented(), driver_code()
    used = re.findall(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)", code)
    assert used, "no attribute access found: the parser is broken"
    for obj, name in used:
        if obj in JULIA_MODULES:
            continue
        assert obj in OBJECTS, f"generate.jl reads {obj}.{name}: hold HallThruster.jl objects in sol/frame/species"
        assert name in api[OBJECTS[obj]], f"generate.jl uses {obj}.{name}, not in docs/julia-backend.md"
    # frame fields read through getproperty: the symbols of FRAME_FIELDS
    fields = re.search(r"const FRAME_FIELDS = \((.*?)\n\)", code, flags=re.DOTALL).group(1)
    symbols = set(re.findall(r"=> :(\w+)", fields))
    assert symbols and symbols <= api["Frame fields"], symbols - api["Frame fields"]
    assert code.count("getproperty(") == 1 and "getproperty(frame, field)" in code


def test_the_fake_driver_returns_what_the_real_one_does():
    source = DRIVER.read_text()
    body = source[source.index("function solution_result"):source.index('"""Run one HallThruster.jl JSON')]
    keys = set(re.findall(r'"(\w+)" =>', body))
    doc = json.loads((REPO / "tests" / "data" / "hallthruster" / "ref_spt100_tutorial.json").read_text())
    doc = {k: doc[k] for k in ("config", "simulation", "postprocess")}
    doc["simulation"] = {**doc["simulation"], "num_save": 11}
    fake = driver_result(doc, 0.0, 1, "success")
    assert set(fake) == keys
    names = {m.group(1) for m in re.finditer(r'"(\w+)" => :\w+', source)} | {"nn", "ni_1", "ui_1", "niui_1"}
    assert set(fake["averaged"]) == names
    assert set(fake["boundaries"]) == {f"{n}_{side}" for n in ("channel_area", "tan_div_angle", "ji", "ni_1", "niui_1")
                                       for side in ("left", "right")}
    assert set(driver_result(doc, 0.0, 1, "exception")) == set(re.findall(
        r'"(\w+)" =>', source[source.index("catch err"):source.index("end\nend", source.index("catch err"))]))
