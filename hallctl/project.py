"""The project file: one TOML file shared by every subcommand.

One frozen dataclass per section; each field has a default and a one-line description (its
``metadata["help"]``), optional ``min``/``max``/``choices`` constraints, and a unit in its name.
Resolution order: built-in defaults < project file < command-line options (``--set a.b=v``).

    project = load_project("hallctl.toml", overrides=["train.batch_size=32"])
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallctl.errors import ProjectError
from hallctl.priors import Prior

__all__ = [
    "DEFAULT_PROJECT_FILE",
    "SECTIONS",
    "EvaluateSection",
    "GenerateSection",
    "ModelSection",
    "NormalizeSection",
    "PathsSection",
    "PlotSection",
    "Project",
    "SampleSection",
    "SimulationSection",
    "SplitSection",
    "ThrusterSection",
    "TrainSection",
    "default_priors",
    "find_project_file",
    "load_project",
    "parse_override",
    "project_from_dict",
]

DEFAULT_PROJECT_FILE = "hallctl.toml"


def opt(default: Any, help: str, **constraints: Any) -> Any:
    """A dataclass field with a default, a one-line description and optional constraints."""
    meta = {"help": help, **constraints}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathsSection:
    """Where hallctl reads and writes (relative paths are relative to the project file)."""

    data: str = opt("data", "data directory: raw shards, normalized set, splits")
    runs: str = opt("runs", "directory holding one folder per training run")
    run_name: str = opt("default", "name of the training run (runs/<run_name>/)")


@dataclass(frozen=True)
class ThrusterSection:
    """The thruster: a built-in name, or geometry plus a B-field CSV (z [m], B [T])."""

    name: str = opt("spt100", "built-in thruster ('spt100', 'spt100-hallthruster') or 'custom'",
                    choices=["spt100", "spt100-hallthruster", "custom"])
    channel_length_m: float = opt(0.025, "channel length (custom thrusters)", min=0.0, exclusive_min=True)
    inner_radius_m: float = opt(0.035, "inner channel radius (custom thrusters)", min=0.0)
    outer_radius_m: float = opt(0.05, "outer channel radius (custom thrusters)", min=0.0, exclusive_min=True)
    bfield_csv: str = opt("", "B-field CSV with columns z [m], B [T] (custom thrusters)")


@dataclass(frozen=True)
class SimulationSection:
    """One simulation: physics and numerics (the base of every campaign simulation)."""

    domain_channel_lengths: float = opt(3.2, "domain length in channel lengths, from the anode",
                                        min=1.0, exclusive_min=True)
    num_cells: int = opt(128, "number of grid cells", min=3)
    max_charge: int = opt(3, "highest ion charge state simulated (1-3)", min=1, max=3)
    ion_temperature_K: float = opt(1000.0, "ion temperature (sets the ion wave speed)", min=0.0)
    neutral_temperature_K: float = opt(500.0, "neutral temperature (sets the neutral wave speed)", min=0.0)
    wall_model: str = opt("WallSheath", "wall-loss model",
                          choices=["WallSheath", "ConstantSheathPotential", "NoWallLosses"])
    wall_material: str = opt("BNSiO2", "wall material of the WallSheath model",
                             choices=["BNSiO2", "BoronNitride", "Alumina", "SiliconDioxide", "SiliconCarbide"])
    conductivity_model: str = opt("braginskii", "electron thermal conductivity model",
                                  choices=["braginskii", "mitchner", "landmark"])
    ion_wall_losses: bool = opt(True, "remove ions at the channel walls (they return as neutrals)")
    electron_ion_collisions: bool = opt(True, "include electron-ion collisions")
    anode_Te_eV: float = opt(2.0, "electron temperature at the anode", min=0.0, exclusive_min=True)
    cathode_Te_eV: float = opt(2.0, "electron temperature at the cathode", min=0.0, exclusive_min=True)
    min_Te_eV: float = opt(1.5, "floor of the electron temperature", min=0.0, exclusive_min=True)
    transition_length_m: float = opt(0.0025, "width of the inside/outside-channel switch", min=0.0)
    reconstruct: bool = opt(True, "second-order (limited) reconstruction of heavy species")
    current_limit_A: float = opt(100.0, "upper clamp of the discharge current", min=0.0, exclusive_min=True)
    duration_s: float = opt(2e-3, "simulated time", min=0.0, exclusive_min=True)
    num_save: int = opt(2001, "number of saved frames (including t = 0)", min=2)
    average_start_fraction: float = opt(0.5, "time averages start at this fraction of the frames",
                                        min=0.0, max=1.0, exclusive_max=True)
    dt_s: float = opt(1e-9, "base time step (first fixed steps, escape hatch)", min=0.0, exclusive_min=True)
    cfl: float = opt(0.799, "CFL number of the adaptive step", min=0.0, max=0.8,
                     exclusive_min=True, exclusive_max=True)
    min_dt_s: float = opt(1e-10, "smallest adaptive time step", min=0.0, exclusive_min=True)
    max_dt_s: float = opt(1e-7, "largest adaptive time step", min=0.0, exclusive_min=True)
    perturbation_scale: float = opt(1.0, "std of the log-space GP perturbation of the anomalous profile",
                                    min=0.0)
    perturbation_length: float = opt(1.0, "GP correlation length, in channel lengths", min=0.0,
                                     exclusive_min=True)
    profile_points_per_cell: int = opt(2, "anomalous-profile nodes per grid cell", min=1)
    # the nominal operating point used by `hallctl simulate` when no --param is given
    anom_minimum: float = opt(0.05, "nominal anomalous profile: minimum (relative depth)", min=0.0)
    anom_width: float = opt(0.3, "nominal anomalous profile: width of the trough (z/L)", min=0.0,
                            exclusive_min=True)
    anom_slope: float = opt(0.5, "nominal anomalous profile: slope share", min=0.0, max=1.0)
    anom_step: float = opt(0.5, "nominal anomalous profile: step sharpness", min=0.0, max=1.0,
                           exclusive_max=True)
    anom_scale: float = opt(0.1, "nominal anomalous profile: overall scale (inverse Hall parameter)",
                            min=0.0, exclusive_min=True)
    anom_center: float = opt(1.1, "nominal anomalous profile: trough centre (z/L)", min=0.0)
    neutral_velocity_m_s: float = opt(300.0, "neutral injection velocity", min=0.0, exclusive_min=True)
    wall_loss_scale: float = opt(1.0, "multiplier of wall losses", min=0.0)
    magnetic_field_scale: float = opt(1.0, "multiplier of the magnetic field", min=0.0, exclusive_min=True)
    discharge_voltage_v: float = opt(300.0, "discharge voltage", min=0.0, exclusive_min=True)
    anode_mass_flow_rate_kg_s: float = opt(5e-6, "anode mass flow rate", min=0.0, exclusive_min=True)
    cathode_coupling_voltage_v: float = opt(0.0, "cathode coupling voltage")


#: Names of the campaign parameters, in record order.
PARAMETER_NAMES = (
    "anom_minimum", "anom_width", "anom_slope", "anom_step", "anom_scale", "anom_center",
    "neutral_velocity_m_s", "wall_loss_scale", "magnetic_field_scale", "discharge_voltage_v",
    "anode_mass_flow_rate_kg_s", "cathode_coupling_voltage_v",
)


def default_priors() -> dict[str, Prior]:
    """The research campaign's priors (physics.md §10.1)."""
    ln = math.log
    return {
        "anom_minimum": Prior("lognormal", mean=ln(0.05), std=ln(10.0), low=0.0, high=1.0),
        "anom_width": Prior("truncated-normal", mean=0.3, std=0.5, low=0.0),
        "anom_slope": Prior("uniform", low=0.0, high=1.0),
        "anom_step": Prior("uniform", low=0.0, high=1.0),
        "anom_scale": Prior("lognormal", mean=ln(0.1), std=ln(5.0)),
        "anom_center": Prior("truncated-normal", mean=1.1, std=1.0 / 3.0, low=0.0, high=2.0),
        "neutral_velocity_m_s": Prior("truncated-normal", mean=300.0, std=100.0, low=0.0),
        "wall_loss_scale": Prior("truncated-normal", mean=1.0, std=0.5, low=0.0),
        "magnetic_field_scale": Prior("uniform", low=0.5, high=1.5),
        "discharge_voltage_v": Prior("uniform", low=200.0, high=600.0),
        "anode_mass_flow_rate_kg_s": Prior("uniform", low=3e-6, high=7e-6),
        "cathode_coupling_voltage_v": Prior("uniform", low=0.0, high=50.0),
    }


@dataclass(frozen=True)
class GenerateSection:
    """A simulation campaign: how many, on what, with which priors."""

    backend: str = opt("native", "simulation backend", choices=["native", "julia"])
    num_sims: int = opt(128, "number of simulations in the campaign", min=1)
    threads: int = opt(0, "worker threads (0 = number of CPU cores)", min=0)
    seed: int = opt(0, "campaign seed; simulation i uses a seed derived from (seed, i)", min=0)
    shard_size: int = opt(32, "simulations per raw shard file", min=1)
    params: dict[str, Prior] = field(default_factory=default_priors,
                                     metadata={"help": "prior of each campaign parameter"})


@dataclass(frozen=True)
class NormalizeSection:
    """Outlier filters and normalization of the raw campaign."""

    target_std: float = opt(0.5, "std of every normalized row (0.5 for EDM2)", min=0.0, exclusive_min=True)
    fields: list[str] = opt(["B", "nu_e", "nu_an", "nn", "ne", "ni_1", "ni_2", "ni_3", "ui_1", "ui_2",
                             "ui_3", "ue", "phi", "E", "Tev", "pe", "grad_pe"], "profile rows, in order")
    log_fields: list[str] = opt(["B", "nu_e", "nu_an", "nn", "ne", "ni_1", "ni_2", "ni_3", "pe"],
                                "rows stored as natural logs")
    scalars: list[str] = opt(["anode_mass_flow_rate_kg_s", "discharge_voltage_v", "magnetic_field_scale",
                              "cathode_coupling_voltage_v", "neutral_velocity_m_s", "wall_loss_scale",
                              "discharge_current_A", "thrust_N"], "scalar rows appended after the fields")
    log_scalars: list[str] = opt([], "scalar rows stored as natural logs")
    resolution: int = opt(64, "model grid points (linear interpolation; 0 = keep the simulation grid)", min=0)
    psd_bins: int = opt(0, "log-binned PSD rows of the discharge current (0 = none)", min=0)
    min_current_A: float = opt(0.1, "filter: smallest mean discharge current")
    max_current_A: float = opt(150.0, "filter: largest mean discharge current")
    min_thrust_N: float = opt(1e-3, "filter: smallest mean thrust")
    max_thrust_N: float = opt(10.0, "filter: largest mean thrust")
    max_min_potential_frac: float = opt(0.5, "filter: min potential must not exceed this x V_d")
    min_potential_V: float = opt(-10.0, "filter: min potential must not be below this")
    max_potential_frac: float = opt(1.5, "filter: max potential must not exceed this x V_d")
    nu_an_max_range: list[float] = opt([1e6, 1e11], "filter: open range of max anomalous frequency [1/s]")
    nu_an_min_range: list[float] = opt([1e4, 1e9], "filter: open range of min anomalous frequency [1/s]")
    shock_position_frac: float = opt(0.75, "filter: ui_1 peak before this domain fraction ...", min=0.0, max=1.0)
    shock_ratio: float = opt(1.5, "... and above this x the exit value is a shock", min=1.0)
    max_abs_ue_m_s: float = opt(1e6, "filter: largest electron speed", min=0.0, exclusive_min=True)


@dataclass(frozen=True)
class SplitSection:
    """Train / validation split of the normalized set."""

    val_small: float = opt(0.002, "fraction in the small validation set", min=0.0, max=1.0)
    val_large: float = opt(0.1, "fraction in the large validation set", min=0.0, max=1.0)
    seed: int = opt(0, "split seed (hashing record ids keeps existing records in place)", min=0)


@dataclass(frozen=True)
class ModelSection:
    """EDM2 1D U-Net (maps 1:1 onto hallctl.model.config.ModelConfig)."""

    channels: int = opt(64, "base width C_0", min=1)
    channel_mult: list[int] = opt([1, 2, 3, 4], "width multiplier per level (levels = its length)")
    num_blocks: int = opt(2, "residual blocks per level", min=1)
    attn_resolutions: list[int] = opt([16, 8], "lengths at which blocks use self-attention")
    channels_per_head: int = opt(32, "channels per attention head", min=1)
    dropout: float = opt(0.0, "dropout probability in residual blocks", min=0.0, max=1.0, exclusive_max=True)
    label_dim: int = opt(0, "length of a conditioning label vector (0 = unconditional)", min=0)
    label_dropout: float = opt(0.0, "per-example label dropout (classifier-free guidance)", min=0.0, max=1.0)
    sigma_data: float = opt(0.5, "data std the preconditioning assumes", min=0.0, exclusive_min=True)
    P_mean: float = opt(-1.2, "mean of ln(sigma) during training")
    P_std: float = opt(1.2, "std of ln(sigma) during training", min=0.0, exclusive_min=True)
    uncertainty_weighting: bool = opt(True, "EDM2 learned per-noise-level loss weighting")
    derivative_loss_weight: float = opt(0.0, "weight h of the derivative (Sobolev) loss; 0 = off", min=0.0)


@dataclass(frozen=True)
class TrainSection:
    """Training schedule, optimizer, EMA and checkpoints (durations in training images)."""

    dataset: str = opt("train", "split to train on (data/<dataset>.h5)")
    duration_nimg: int = opt(2_000_000, "training length in images (examples seen)", min=1)
    batch_size: int = opt(256, "examples per optimizer step", min=1)
    lr_ref: float = opt(0.01, "reference learning rate alpha_ref", min=0.0, exclusive_min=True)
    lr_ref_nimg: int = opt(500_000, "images after which the rate decays as 1/sqrt(t)", min=1)
    lr_rampup_nimg: int = opt(50_000, "linear warm-up length in images", min=0)
    grad_clip: float = opt(10.0, "gradient-norm clip (0 = off)", min=0.0)
    ema_stds: list[float] = opt([0.05, 0.1], "tracked power-function EMA lengths sigma_rel")
    fixed_ema_decay: float = opt(0.0, "also keep a classic EMA with this decay per step (0 = off)",
                                 min=0.0, max=1.0, exclusive_max=True)
    ema_snapshot_every_nimg: int = opt(100_000, "EMA snapshot interval for post-hoc EMA", min=1)
    checkpoint_every_nimg: int = opt(100_000, "checkpoint interval", min=1)
    val_every_nimg: int = opt(50_000, "validation-loss interval", min=1)
    seed: int = opt(0, "training seed", min=0)
    device: str = opt("auto", "device: auto, cpu, cuda, cuda:N or mps")
    amp: str = opt("auto", "mixed precision", choices=["auto", "bf16", "off"])
    compile: bool = opt(False, "use torch.compile")
    threads: int = opt(0, "CPU threads for torch (0 = default)", min=0)


@dataclass(frozen=True)
class SampleSection:
    """Posterior / unconditional sampling."""

    model: str = opt("", "model file (default: runs/<run_name>/ema-<ema>.safetensors)")
    ema: float = opt(0.1, "EMA length of the weights to use (0 = raw weights)", min=0.0)
    condition: str = opt("", "observation CSV (empty = unconditional)")
    num_samples: int = opt(64, "samples to draw", min=1)
    batch_size: int = opt(64, "samples per batch", min=1)
    steps: int = opt(32, "sampler steps", min=1)
    sampler: str = opt("heun", "ODE step", choices=["euler", "heun", "midpoint", "ralston", "dpmpp_2m"])
    guidance: str = opt("mmps", "posterior guidance", choices=["mmps", "dps", "none"])
    sigma_min: float = opt(0.002, "smallest noise level", min=0.0, exclusive_min=True)
    sigma_max: float = opt(80.0, "largest noise level", min=0.0, exclusive_min=True)
    rho: float = opt(7.0, "schedule exponent", min=0.0, exclusive_min=True)
    churn: float = opt(0.0, "stochastic churn S_churn (0 = deterministic)", min=0.0)
    seed: int = opt(0, "sampling seed", min=0)
    device: str = opt("auto", "device: auto, cpu, cuda or mps")
    tag: str = opt("", "output name samples/<tag>.h5 (default: from the observation file)")


@dataclass(frozen=True)
class EvaluateSection:
    """Held-out evaluation: truths, synthetic observations, metrics."""

    dataset: str = opt("val_small", "split whose simulations are the truths")
    num_truths: int = opt(16, "held-out simulations evaluated", min=1)
    num_samples: int = opt(32, "posterior samples per truth", min=2)
    observe_field: str = opt("ui_1", "observed profile")
    observe_points: int = opt(15, "observation points", min=1)
    observe_z_channel_lengths: list[float] = opt([0.6, 3.0], "observed range, in channel lengths")
    observe_rel_noise: float = opt(0.05, "relative noise of the profile observations", min=0.0,
                                   exclusive_min=True)
    known_scalars: list[str] = opt(["discharge_voltage_v", "anode_mass_flow_rate_kg_s"],
                                   "scalar rows observed (known operating parameters)")
    known_rel_noise: float = opt(0.01, "relative noise of the known scalars", min=0.0, exclusive_min=True)
    seed: int = opt(0, "seed of the observation noise", min=0)


@dataclass(frozen=True)
class PlotSection:
    """Figures."""

    format: str = opt("png", "default figure format", choices=["png", "pdf", "svg"])
    dpi: int = opt(150, "raster resolution", min=10)
    fields: list[str] = opt(["ui_1", "ne", "Tev", "nu_an"], "profiles shown by default")


SECTIONS: dict[str, type] = {
    "paths": PathsSection,
    "thruster": ThrusterSection,
    "simulation": SimulationSection,
    "generate": GenerateSection,
    "normalize": NormalizeSection,
    "split": SplitSection,
    "model": ModelSection,
    "train": TrainSection,
    "sample": SampleSection,
    "evaluate": EvaluateSection,
    "plot": PlotSection,
}


@dataclass(frozen=True)
class Project:
    """The resolved project: every section, plus where it came from."""

    paths: PathsSection = field(default_factory=PathsSection)
    thruster: ThrusterSection = field(default_factory=ThrusterSection)
    simulation: SimulationSection = field(default_factory=SimulationSection)
    generate: GenerateSection = field(default_factory=GenerateSection)
    normalize: NormalizeSection = field(default_factory=NormalizeSection)
    split: SplitSection = field(default_factory=SplitSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    sample: SampleSection = field(default_factory=SampleSection)
    evaluate: EvaluateSection = field(default_factory=EvaluateSection)
    plot: PlotSection = field(default_factory=PlotSection)
    source: str = ""  # the project file read ("" = built-in defaults)
    root: str = "."  # folder relative paths are resolved against

    def path(self, relative: str) -> Path:
        """Resolve a project path against the project file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else Path(self.root) / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.paths.data)

    @property
    def run_dir(self) -> Path:
        return self.path(self.paths.runs) / self.paths.run_name

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain TOML-ready data (no source/root)."""
        return {name: _section_to_dict(getattr(self, name)) for name in SECTIONS}

    def replace(self, **sections: Any) -> Project:
        return dataclasses.replace(self, **sections)


def _section_to_dict(section: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if f.name == "params":
            value = {k: _prior_to_dict(p) for k, p in value.items()}
        out[f.name] = _copy(value)
    return out


def _prior_to_dict(prior: Prior) -> dict[str, Any]:
    keys = {"fixed": ["value"], "uniform": ["low", "high"], "loguniform": ["low", "high"]}
    out: dict[str, Any] = {"dist": prior.dist}
    for k in keys.get(prior.dist, ["mean", "std", "low", "high"]):
        v = getattr(prior, k)
        if isinstance(v, float) and math.isinf(v):
            continue
        out[k] = v
    return out


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def _suggest(word: str, options: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean '{match[0]}'?" if match else f"; valid keys: {', '.join(options)}"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (TOML ints are accepted as floats)."""
    origin = typing.get_origin(tp)
    bad = ProjectError(f"{where}{key} = {value!r} must be of type {_type_name(tp)}; fix it in the project file")
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise bad
        return [_coerce(v, item, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key, where)
            except ProjectError:
                continue
        raise bad
    raise bad  # pragma: no cover - unknown annotation


def _check_range(value: Any, meta: dict[str, Any], key: str) -> None:
    if "choices" in meta and value not in meta["choices"]:
        raise ProjectError(f"{key} = {value!r} is not allowed; choose one of: {', '.join(map(str, meta['choices']))}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and (value < lo or (meta.get("exclusive_min") and value == lo)):
            rel = ">" if meta.get("exclusive_min") else ">="
            raise ProjectError(f"{key} = {value!r} is out of range; it must be {rel} {lo}")
        if hi is not None and (value > hi or (meta.get("exclusive_max") and value == hi)):
            rel = "<" if meta.get("exclusive_max") else "<="
            raise ProjectError(f"{key} = {value!r} is out of range; it must be {rel} {hi}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ProjectError(f"{key} = {value!r} must be a finite number")


def _build_priors(table: Any, where: str) -> dict[str, Prior]:
    if not isinstance(table, dict):
        raise ProjectError(f"{where} must be a table of [generate.params.<name>] tables")
    priors: dict[str, Prior] = {}
    prior_keys = [f.name for f in dataclasses.fields(Prior)]
    for name, spec in table.items():
        key = f"{where}.{name}"
        if name not in PARAMETER_NAMES:
            raise ProjectError(f"unknown campaign parameter '{key}'{_suggest(name, PARAMETER_NAMES)}")
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ProjectError(f"{key} must be a table with a 'dist' key, "
                               "e.g. { dist = \"uniform\", low = 0, high = 1 }")
        kwargs: dict[str, Any] = {}
        for k, v in spec.items():
            if k not in prior_keys:
                raise ProjectError(f"unknown key '{key}.{k}'{_suggest(k, prior_keys)}")
            kwargs[k] = v if k == "dist" else _coerce(v, float, f"{key}.{k}", "")
        if not isinstance(kwargs["dist"], str):
            raise ProjectError(f"{key}.dist must be a string")
        prior = Prior(**kwargs)
        problems = prior.problems()
        if problems:
            raise ProjectError(f"{key}: {'; '.join(problems)}")
        priors[name] = prior
    return priors


def _merge_priors(base: dict[str, Prior], table: Any, where: str) -> dict[str, Any]:
    """A table with 'dist' replaces that prior; one without it changes some of its arguments."""
    if not isinstance(table, dict):
        raise ProjectError(f"{where} must be a table of [generate.params.<name>] tables")
    merged: dict[str, Any] = {k: _prior_to_dict(p) for k, p in base.items()}
    for name, spec in table.items():
        if isinstance(spec, dict) and "dist" not in spec and name in merged:
            merged[name] = {**merged[name], **spec}
        else:
            merged[name] = spec
    return merged


def _build_section(name: str, table: Any, base: Any) -> Any:
    cls = SECTIONS[name]
    if not isinstance(table, dict):
        raise ProjectError(f"[{name}] must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{name}.{key}"
        if key not in fields:
            raise ProjectError(f"unknown key '{full}'{_suggest(key, fields)}")
        if name == "generate" and key == "params":
            values[key] = _build_priors(_merge_priors(base.params, value, full), full)
            continue
        v = _coerce(value, hints[key], key, f"{name}.")
        _check_range(v, dict(fields[key].metadata), full)
        values[key] = v
    section = dataclasses.replace(base, **values)
    _check_section(name, section)
    return section


def _check_section(name: str, s: Any) -> None:
    """Cross-field checks that a single range cannot express."""
    if name == "split" and s.val_small + s.val_large >= 1.0:
        raise ProjectError(
            f"split.val_small + split.val_large = {s.val_small + s.val_large:g} leaves no training set; "
            "make their sum smaller than 1")
    if name == "model" and (not s.channel_mult or any(m < 1 for m in s.channel_mult)):
        raise ProjectError("model.channel_mult must be a non-empty list of positive integers")
    if name == "simulation" and s.min_dt_s > s.max_dt_s:
        raise ProjectError("simulation.min_dt_s must not exceed simulation.max_dt_s")
    if name == "normalize":
        for key in ("nu_an_max_range", "nu_an_min_range"):
            r = getattr(s, key)
            if len(r) != 2 or r[0] >= r[1]:
                raise ProjectError(f"normalize.{key} must be [low, high] with low < high")
        unknown = [f for f in s.log_fields if f not in s.fields]
        if unknown:
            raise ProjectError(f"normalize.log_fields names {unknown[0]!r}, which is not in normalize.fields")
    if name == "train" and not s.ema_stds:
        raise ProjectError("train.ema_stds must list at least one EMA length (e.g. [0.05, 0.1])")
    if name == "train" and any(not 0 < x < 0.3 for x in s.ema_stds):
        raise ProjectError("train.ema_stds values must lie in (0, 0.3)")
    if name == "evaluate" and (len(s.observe_z_channel_lengths) != 2
                               or s.observe_z_channel_lengths[0] >= s.observe_z_channel_lengths[1]):
        raise ProjectError("evaluate.observe_z_channel_lengths must be [start, end] with start < end")


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``section.key=value`` (value in TOML syntax; bare words are strings)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ProjectError(f"--set {text!r} must look like section.key=value, e.g. --set train.batch_size=64")
    lhs, rhs = text.split("=", 1)
    section, _, key = lhs.strip().partition(".")
    rhs = rhs.strip()
    try:
        value = tomllib.loads(f"v = {rhs}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs
    return section, key, value


def _nest(section: str, key: str, value: Any) -> dict[str, Any]:
    """``generate.params.anom_scale.high`` style keys become nested tables."""
    parts = key.split(".")
    table: dict[str, Any] = {parts[-1]: value}
    for p in reversed(parts[:-1]):
        table = {p: table}
    return {section: table}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def project_from_dict(data: dict[str, Any], *, source: str = "", root: str = ".") -> Project:
    """Validate a parsed TOML document against the defaults."""
    project = Project(source=source, root=root)
    sections: dict[str, Any] = {}
    for name, table in data.items():
        if name not in SECTIONS:
            raise ProjectError(f"unknown section [{name}]{_suggest(name, SECTIONS)}")
        sections[name] = _build_section(name, table, getattr(project, name))
    return project.replace(**sections)


def find_project_file(path: str | Path | None) -> Path | None:
    """The explicit path, else ./hallctl.toml if it exists, else None (built-in defaults)."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise ProjectError(f"project file {p} not found; create one with `hallctl init {p}`")
        return p
    default = Path(DEFAULT_PROJECT_FILE)
    return default if default.is_file() else None


def load_project(path: str | Path | None = None, overrides: typing.Sequence[str] = (),
                 extra: dict[str, Any] | None = None) -> Project:
    """Defaults < project file < ``overrides`` (``section.key=value``) < ``extra`` (named options).

    Args:
        path: project file; ``None`` looks for ./hallctl.toml, then uses the defaults.
        overrides: ``--set`` strings.
        extra: ``{"section": {"key": value}}`` from a command's named options (``None`` values skipped).

    Raises:
        ProjectError: malformed TOML, unknown section or key, bad type or range.
    """
    file = find_project_file(path)
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ProjectError(f"{file} is not valid TOML ({exc}); fix the syntax "
                               "or run `hallctl init` for a template") from None
        except OSError as exc:
            raise ProjectError(f"cannot read project file {file}: {exc.strerror}") from None
    for text in overrides:
        section, key, value = parse_override(text)
        data = _merge(data, _nest(section, key, value))
    for section, table in (extra or {}).items():
        for key, value in table.items():
            if value is not None:
                data = _merge(data, _nest(section, key, value))
    root = str(file.resolve().parent) if file is not None else "."
    return project_from_dict(data, source=str(file) if file else "", root=root)


def field_help(section: str, key: str) -> str:
    """The one-line description of ``section.key``."""
    for f in dataclasses.fields(SECTIONS[section]):
        if f.name == key:
            return str(f.metadata.get("help", ""))
    raise KeyError(f"{section}.{key}")
