"""One source of defaults: a default project and the Python API give the same settings."""

from __future__ import annotations

import dataclasses

import pytest

from hallctl.commands.sample import sampler_settings
from hallctl.commands.train import control_template, model_config, settings
from hallctl.model import ModelConfig, TrainSettings
from hallctl.model.control import ControlTemplate
from hallctl.project import Project, load_project
from hallctl.sample.draw import SamplerSettings
from hallctl.sections import ConditioningSection, ModelSection, SampleSection, TrainSection


def test_default_project_gives_the_library_defaults() -> None:
    project = Project()
    assert settings(project) == TrainSettings()
    assert model_config(project) == ModelConfig()
    assert sampler_settings(project) == SamplerSettings()
    assert control_template(project, list(ControlTemplate().fields + ControlTemplate().scalars)) == ControlTemplate()


@pytest.mark.parametrize(("section", "library", "command_only"), [
    (TrainSection, TrainSettings, {"dataset"}),
    (ModelSection, ModelConfig, set()),
    (SampleSection, SamplerSettings, {"model", "ema", "condition", "num_samples", "device", "tag"}),
    (ConditioningSection, ControlTemplate, {"enabled"}),
])
def test_every_section_key_reaches_the_library(section: type, library: type, command_only: set[str]) -> None:
    """A key of the section is either a library setting of the same name or used by the command itself."""
    library_names = {f.name for f in dataclasses.fields(library)}
    unmapped = {f.name for f in dataclasses.fields(section)} - library_names - command_only
    assert not unmapped


def test_project_values_travel_to_the_library_settings() -> None:
    project = load_project(None, ["train.grad_clip=0", "train.threads=2", "model.channels=32", "sample.steps=12",
                                  "sample.mmps_jacobian=data"])
    assert settings(project).grad_clip == 0 and settings(project).threads == 2
    assert model_config(project).channels == 32
    s = sampler_settings(project)
    assert s.schedule.steps == 12 and s.guidance_options.mmps_jacobian == "data"
