"""Rebuild the trimmed golden files in this folder from ``../shared/reference`` (run from the repository root).

For each of HallThruster.jl's four regression cases (MIT, see LICENSE and PROVENANCE.md) one file
``ref_<case>.json`` keeps what the fresh-clone physics test reads: the run's ``config``,
``simulation`` and ``postprocess`` blocks (the input), the time-averaged frame reduced to the
profiles compared, and the means of the discharge current, thrust and ion current over the
averaging window, computed from the per-frame series. Values are not changed. ``solution_layout.json``
keeps the names, not the values, of what HallThruster.jl v0.21.6 serializes of a ``Solution`` (its
keys, a frame's keys, a species' keys, the grid's length): the julia backend's driver and its
documented API list are checked against it.

    python tests/data/hallthruster/make_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2].parent / "shared" / "reference" / "hallthruster_regression"
CASES = ("spt100_tutorial", "landmark_1", "landmark_2", "landmark_3")
FIRST_AVERAGED_FRAME = 749  # the reference frames average frames 749..end (0-based)
FRAME_KEYS = ("Tev", "E", "potential", "ne", "discharge_current")
LAYOUT_CASE = "spt100_tutorial"  # the case whose Solution layout solution_layout.json records


def trimmed(ref: dict, osc: dict) -> dict:
    """The golden record of one case (see the module docstring)."""
    frame = ref["frames"][0]
    kept = {k: frame[k] for k in FRAME_KEYS}
    kept["neutral_density"] = frame["neutrals"]["Xe"]["n"]
    kept["ion_velocity_1"] = frame["ions"]["Xe"][0]["u"]
    t, k0 = osc["time"], FIRST_AVERAGED_FRAME
    window = {"first_frame": k0, "average_start_time_s": 0.5 * (t[k0 - 1] + t[k0])}
    for name, key in (("discharge_current_A", "discharge_current"), ("thrust_N", "thrust"),
                      ("ion_current_A", "ion_current")):
        values = osc[key][k0:]
        window[name] = sum(values) / len(values)
    return {"config": ref["config"], "simulation": ref["simulation"], "postprocess": ref["postprocess"],
            "averaged_frame": kept, "window": window}


def solution_layout(ref: dict) -> dict:
    """The layout of a serialized Solution: key names and the grid's length, no values but the domain's ends."""
    frame = ref["frames"][0]
    species = frame["neutrals"]["Xe"]
    return {"solution_keys": list(ref), "frame_keys": list(frame), "species_keys": list(species),
            "ions_per_gas": type(frame["ions"]["Xe"]).__name__, "grid_points": len(ref["grid"]),
            "num_cells": ref["simulation"]["grid"]["num_cells"], "grid_ends": [ref["grid"][0], ref["grid"][-1]],
            "domain": ref["config"]["domain"], "retcode": ref["retcode"]}


def main() -> None:
    for case in CASES:
        ref = json.loads((SOURCE / f"ref_{case}.json").read_text())
        osc = json.loads((SOURCE / f"oscillations_{case}.json").read_text())
        (HERE / f"ref_{case}.json").write_text(json.dumps(trimmed(ref, osc), separators=(",", ":")))
        if case == LAYOUT_CASE:
            (HERE / "solution_layout.json").write_text(json.dumps(solution_layout(ref), indent=1) + "\n")


if __name__ == "__main__":
    main()
