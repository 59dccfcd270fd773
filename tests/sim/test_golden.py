"""The golden copies in tests/data/hallthruster equal their source in ../shared/reference (where present)."""

from __future__ import annotations

import json

import pytest

from tests.sim.conftest import GOLDEN, REFERENCE

FILES = sorted(p.relative_to(GOLDEN) for p in GOLDEN.rglob("*") if p.is_file() and p.suffix in (".json", ".csv",
                                                                                                 ".dat"))


def _contains(part, whole, where: str) -> None:
    """Every key and value of ``part`` is in ``whole``, unchanged."""
    if isinstance(part, dict):
        for k, v in part.items():
            assert k in whole, f"{where}.{k} missing from the source"
            _contains(v, whole[k], f"{where}.{k}")
    elif isinstance(part, list):
        assert len(part) == len(whole), where
        for i, (a, b) in enumerate(zip(part, whole, strict=True)):
            _contains(a, b, f"{where}[{i}]")
    else:
        assert part == whole, where


def test_the_physics_checks_have_their_data_in_the_repository():
    needed = [f"hallthruster_regression/{k}_{c}.json" for k in ("ref", "oscillations")
              for c in ("spt100_tutorial", "landmark_1", "landmark_2", "landmark_3")]
    needed += ["hallthruster_regression/spt100_tutorial.json", "landmark/landmark_rates.csv",
               "reactions/ionization_Xe_Xe+.dat", "LICENSE", "PROVENANCE.md"]
    assert all((GOLDEN / n).is_file() for n in needed)


@pytest.mark.parametrize("name", FILES, ids=str)
def test_golden_copy_equals_its_source(name):
    source = REFERENCE / name
    if not source.exists():
        pytest.skip("../shared/reference is absent")
    if name.suffix == ".json":
        _contains(json.loads((GOLDEN / name).read_text()), json.loads(source.read_text()), name.stem)
    else:
        assert (GOLDEN / name).read_bytes() == source.read_bytes()
