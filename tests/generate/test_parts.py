"""A campaign in parts (Slurm job arrays): --shard i/N, --status, --emit-slurm."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hallctl.commands import generate as campaign
from hallctl.errors import ProjectError
from hallctl.project import load_project
from tests.conftest import write_tiny_project
from tests.generate.test_campaign import _records

SBATCH_OPTIONS = {"job-name", "array", "ntasks", "cpus-per-task", "time", "output", "account", "partition", "mem",
                  "qos", "constraint"}


def test_the_parts_together_are_the_campaign_bit_for_bit(tiny_campaign, tmp_path):
    whole = _records(load_project(tiny_campaign))
    path = write_tiny_project(tmp_path)
    project = load_project(path, ["generate.num_sims=5", "generate.threads=1"])
    assert campaign.status(project).missing == [0, 1, 2, 3, 4]
    first = campaign.run(project, part=campaign.parse_part("1/2"))
    assert first.ran == 2 and first.part.count == 2
    raw = project.data_dir / "raw"
    assert sorted(p.name for p in raw.glob("shard-*.h5")) == ["shard-p0001of0002-00000.h5"]
    st = campaign.status(project)
    assert st.missing == [0, 2, 4] and not st.complete
    assert campaign.run(project, part=campaign.parse_part("1/2")).ran == 0  # the part is complete
    assert campaign.run(project, part=campaign.parse_part("0/2")).ran == 3
    assert campaign.status(project).complete
    parts = _records(project)
    assert sorted(parts) == [0, 1, 2, 3, 4]
    for i in parts:
        assert parts[i][0] == whole[i][0]
        np.testing.assert_array_equal(parts[i][1], whole[i][1])  # the same simulation, bit for bit
        np.testing.assert_array_equal(parts[i][2], whole[i][2])
    assert campaign.run(project).ran == 0  # a whole run sees every part's files


@pytest.mark.parametrize("text", ["3/2", "2", "a/b", "-1/4", "0/0"])
def test_bad_part_is_one_line(text):
    with pytest.raises(ProjectError, match=r"--shard .*use i/N with 0 <= i < N"):
        campaign.parse_part(text)


def test_slurm_array_script(tmp_path):
    path = write_tiny_project(tmp_path)
    project = load_project(path, ["cluster.array_size=8", "cluster.cpus_per_task=4", "cluster.partition=cpu",
                                  'cluster.sbatch_options=["--qos=normal"]', 'cluster.setup=["module load python"]'])
    text = campaign.slurm_script(project)
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    directives = [line for line in lines if line.startswith("#SBATCH")]
    first_command = next(k for k, line in enumerate(lines) if line and not line.startswith("#"))
    assert all(lines.index(d) < first_command for d in directives)  # sbatch reads directives before commands
    options = dict(re.fullmatch(r"#SBATCH --([a-z-]+)=(.+)", d).groups() for d in directives)
    assert set(options) <= SBATCH_OPTIONS
    assert options["array"] == "0-7" and options["cpus-per-task"] == "4" and options["partition"] == "cpu"
    assert options["qos"] == "normal" and "account" not in options
    assert "module load python" in lines
    assert lines[-1] == (f"hallctl generate {path.resolve()} --shard \"${{SLURM_ARRAY_TASK_ID}}/8\" "
                         "--threads \"${SLURM_CPUS_PER_TASK}\" --quiet")
    with pytest.raises(ProjectError, match="needs a project file"):
        campaign.slurm_script(load_project(None))
