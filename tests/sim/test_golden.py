"""The trimmed golden records in tests/data/hallthruster equal what make_golden.py derives from ../shared."""

from __future__ import annotations

import json

import pytest

from tests.data.hallthruster.make_golden import CASES, LAYOUT_CASE, solution_layout, trimmed
from tests.sim.conftest import GOLDEN, REFERENCE


def test_the_fresh_clone_physics_check_has_its_data():
    assert all((GOLDEN / f"ref_{case}.json").is_file() for case in CASES)
    assert (GOLDEN / "LICENSE").is_file() and (GOLDEN / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("case", CASES)
def test_golden_record_equals_its_source(case):
    folder = REFERENCE / "hallthruster_regression"
    if not folder.is_dir():
        pytest.skip("../shared/reference is absent")
    ref = json.loads((folder / f"ref_{case}.json").read_text())
    osc = json.loads((folder / f"oscillations_{case}.json").read_text())
    assert json.loads((GOLDEN / f"ref_{case}.json").read_text()) == trimmed(ref, osc)


def test_solution_layout_equals_its_source():
    source = REFERENCE / "hallthruster_regression" / f"ref_{LAYOUT_CASE}.json"
    assert (GOLDEN / "solution_layout.json").is_file()
    if not source.is_file():
        pytest.skip("../shared/reference is absent")
    assert json.loads((GOLDEN / "solution_layout.json").read_text()) == solution_layout(json.loads(source.read_text()))
