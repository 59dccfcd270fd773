"""Sampling in parts (job arrays): `sample --shard i/N` then `--merge` gives the one-run sample set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hallctl.commands import sample as posterior
from hallctl.commands.common import parse_part
from hallctl.data.store import read_samples
from hallctl.errors import DataError
from hallctl.project import load_project

SETS = ["sample.num_samples=7", "sample.steps=4", "sample.batch_size=4", "sample.device=cpu"]


def test_parts_merge_into_the_whole_sample_set(tiny_trained, tmp_path):
    project = load_project(tiny_trained, SETS)
    whole = posterior.run(project, output_dir=tmp_path / "whole")
    for i in (2, 0, 1):
        part = posterior.run(project, output_dir=tmp_path / "parts", part=parse_part(f"{i}/3"))
        assert part.summary_csv is None and part.samples_file.name == f"unconditional.part-{i:04d}of0003.h5"
    with pytest.raises(DataError, match="no parts"):
        posterior.merge(project, output_dir=tmp_path / "whole")
    merged = posterior.merge(project, output_dir=tmp_path / "parts")
    a, b = read_samples(whole.samples_file), read_samples(merged.samples_file)
    assert b.samples.shape == a.samples.shape == (7, *a.samples.shape[1:])
    # every sample from its own global index: bit for bit where the batches match, float round-off otherwise
    scale = np.abs(a.samples).max(axis=(0, 2), keepdims=True)  # per row
    off = np.abs(b.samples - a.samples) / (1e-3 * np.abs(a.samples) + 1e-4 * scale)
    assert off.max() <= 1.0, off.max()
    same = load_project(tiny_trained, [*SETS, "sample.batch_size=1"])
    one = read_samples(posterior.run(same, output_dir=tmp_path / "one").samples_file).samples
    for i in range(2):
        posterior.run(same, output_dir=tmp_path / "one-parts", part=parse_part(f"{i}/2"))
    np.testing.assert_array_equal(read_samples(posterior.merge(same, output_dir=tmp_path / "one-parts")
                                               .samples_file).samples, one)
    (tmp_path / "parts" / "unconditional.part-0001of0003.h5").unlink()
    with pytest.raises(DataError, match=r"incomplete or mixed \(missing \[1\]\)"):
        posterior.merge(project, output_dir=tmp_path / "parts")


def test_evaluation_parts_merge_into_the_whole_evaluation(tiny_trained, tmp_path):
    from hallctl.commands import evaluate

    project = load_project(tiny_trained, ["evaluate.num_truths=3", "evaluate.num_samples=4", "sample.steps=4",
                                          "sample.batch_size=4", "sample.device=cpu"])
    whole = json.loads(evaluate.run(project, output_dir=tmp_path / "whole").output_json.read_text())
    for i in (1, 0):
        part = evaluate.run(project, output_dir=tmp_path / "parts", part=parse_part(f"{i}/2"))
        assert part.output_json.name == f"evaluation.part-{i:04d}of0002.json"
    merged = json.loads(evaluate.merge(project, output_dir=tmp_path / "parts").output_json.read_text())
    assert merged["truth_record_ids"] == whole["truth_record_ids"] and merged["truth_positions"] == [0, 1, 2]
    assert merged["observations"] == whole["observations"]
    for a, b in zip(whole["results"], merged["results"], strict=True):
        assert a["name"] == b["name"] and a["per_truth"] == b["per_truth"]  # same seeds, same observations
        assert a["pooled"] == pytest.approx(b["pooled"]) and a["rows"] == b["rows"]
