"""Rebuild the golden copies in this folder from ``../shared/reference`` (run from the repository root).

The copies are HallThruster.jl's own files (MIT, see LICENSE and PROVENANCE.md), trimmed to what the
tests read: the regression inputs, the time-averaged reference frames (only the profiles compared),
the per-frame time series, upstream's rate tables and the LANDMARK curves used. Values are not
changed: JSON numbers are written back with Python's shortest round-trip form.

    python tests/data/hallthruster/make_golden.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2].parent / "shared" / "reference"
CASES = ("spt100_tutorial", "landmark_1", "landmark_2", "landmark_3")
FRAME_KEYS = ("Tev", "E", "potential", "ne", "channel_area", "discharge_current")
LANDMARK_CURVES = [(1, f, c) for f in ("potential", "energy", "electric_field") for c in ("fluid_1", "fluid_2")] + [
    (3, f, c) for f in ("potential", "energy", "electric_field") for c in ("fluid_2", "hybrid")]


def _trim_reference(ref: dict) -> dict:
    frame = ref["frames"][0]
    kept = {k: frame[k] for k in FRAME_KEYS}
    kept["neutrals"] = {"Xe": {"n": frame["neutrals"]["Xe"]["n"]}}
    kept["ions"] = {"Xe": [{k: ion[k] for k in ("n", "u", "nu", "Z")} for ion in frame["ions"]["Xe"]]}
    return {"config": ref["config"], "simulation": ref["simulation"], "postprocess": ref["postprocess"],
            "grid": ref["grid"], "frames": [kept]}


def main() -> None:
    out = HERE / "hallthruster_regression"
    out.mkdir(exist_ok=True)
    src = SOURCE / "hallthruster_regression"
    for name in ("spt100_tutorial.json", "bfield_spt100.csv"):
        shutil.copyfile(src / name, out / name)
    for case in CASES:
        ref = json.loads((src / f"ref_{case}.json").read_text())
        (out / f"ref_{case}.json").write_text(json.dumps(_trim_reference(ref), separators=(",", ":")))
        osc = json.loads((src / f"oscillations_{case}.json").read_text())
        (out / f"oscillations_{case}.json").write_text(json.dumps(osc, separators=(",", ":")))
    shutil.copytree(SOURCE / "reactions", HERE / "reactions", dirs_exist_ok=True)
    landmark = HERE / "landmark"
    landmark.mkdir(exist_ok=True)
    shutil.copyfile(SOURCE / "landmark" / "landmark_rates.csv", landmark / "landmark_rates.csv")
    for case, field, code in LANDMARK_CURVES:
        (landmark / f"case_{case}").mkdir(exist_ok=True)
        name = f"case_{case}/{field}_{code}.csv"
        shutil.copyfile(SOURCE / "landmark" / name, landmark / name)


if __name__ == "__main__":
    main()
