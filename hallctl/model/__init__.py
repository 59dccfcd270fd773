"""The learning side of hallctl: EDM2 1D U-Net prior, its training loop and model files (docs/model.md).

Public entry points::

    from hallctl.model import ModelConfig, TrainSettings, train, load_model, posthoc_ema
"""

from hallctl.model.build import build_precond
from hallctl.model.ema import posthoc_ema
from hallctl.model.io import load_model, save_model
from hallctl.model.precond import Precond
from hallctl.model.settings import ModelConfig, TrainSettings
from hallctl.model.train import TrainSummary, train

__all__ = [
    "ModelConfig",
    "Precond",
    "TrainSettings",
    "TrainSummary",
    "build_precond",
    "load_model",
    "posthoc_ema",
    "save_model",
    "train",
]
