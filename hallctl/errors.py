"""Typed errors of hallctl.

Library code raises these; the CLI maps each to one red line and an exit code (see
``hallctl.cli.app``). A message states what failed, where, and what to try next.
"""

__all__ = [
    "BackendError",
    "CampaignError",
    "DataError",
    "HallctlError",
    "ModelError",
    "ObservationError",
    "ProjectError",
    "SimulationInputError",
]


class HallctlError(Exception):
    """A user-facing error: the message alone is enough, no traceback is shown.

    Attributes:
        exit_code: process exit status the CLI uses for this error (2 = bad input).
    """

    exit_code: int = 2


class ProjectError(HallctlError):
    """The project file or a command-line override is invalid (names the TOML key)."""


class DataError(HallctlError):
    """A data file is missing, of the wrong kind, or has an incompatible schema."""


class BackendError(HallctlError):
    """A simulation backend cannot run (e.g. Julia or HallThruster.jl missing)."""


class SimulationInputError(HallctlError):
    """A simulation configuration is physically or numerically invalid."""


class ModelError(HallctlError):
    """A model configuration or checkpoint is invalid or does not match the data."""


class ObservationError(HallctlError):
    """An observation file is malformed or does not match the model."""


class CampaignError(HallctlError):
    """A campaign ran, but too many of its simulations raised errors (they are retried on resume)."""

    exit_code = 1
