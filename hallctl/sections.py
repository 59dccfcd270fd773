"""The sections of the project file: one frozen dataclass per TOML table.

Each field has a default and a one-line description (``metadata["help"]``), optional
``min``/``max``/``choices`` constraints, and a unit in its name. Loading and validation live in
:mod:`hallctl.project`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hallctl.priors import Prior

__all__ = [
    "FIXED_ANOM_MODELS",
    "PARAMETER_NAMES",
    "SECTIONS",
    "SIMULATION_KEYS_V2",
    "ClusterSection",
    "ConditioningSection",
    "EvaluateSection",
    "GenerateSection",
    "ModelSection",
    "NormalizeSection",
    "PathsSection",
    "PlotSection",
    "SampleSection",
    "SimulationSection",
    "SplitSection",
    "ThrusterSection",
    "TrainSection",
    "default_priors",
]


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


#: Anomalous models of [simulation] anom_model, with the number of anom_params each takes (None: any even
#: number, K positions then K coefficients).
FIXED_ANOM_MODELS: dict[str, int | None] = {"profile": 0, "TwoZoneBohm": 2, "Bohm": 1, "GaussianBohm": 4,
                                            "MultiLogBohm": None, "none": 0}
#: [simulation] keys added after campaigns existed: at their defaults they leave a campaign's identity unchanged.
SIMULATION_KEYS_V2 = ("anom_model", "anom_params", "pressure_shift", "background_pressure_Torr",
                      "background_temperature_K", "solve_plume", "landmark", "anode_boundary_condition",
                      "reaction_model")


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
    anom_model: str = opt("profile", "anomalous transport: profile (the six-parameter profile of the anom_* "
                          "parameters with GP noise; the only model a campaign draws), TwoZoneBohm, Bohm, "
                          "GaussianBohm, MultiLogBohm or none", choices=list(FIXED_ANOM_MODELS))
    anom_params: list[float] = opt([], "parameters of a fixed anom_model: TwoZoneBohm [c1, c2]; Bohm [c]; "
                                   "GaussianBohm [hall_min, hall_max, center_m, width_m]; MultiLogBohm "
                                   "[z_1 .. z_K, c_1 .. c_K] (K positions in m, then K coefficients)")
    pressure_shift: list[float] = opt([], "LogisticPressureShift of the anomalous model: [z0, dz, pstar_Torr, "
                                      "alpha] (empty: no shift)")
    background_pressure_Torr: float = opt(0.0, "facility background pressure (neutrals ingested at the anode; "
                                          "shifts the anomalous model with pressure_shift)", min=0.0)
    background_temperature_K: float = opt(100.0, "background-gas temperature", min=0.0, exclusive_min=True)
    solve_plume: bool = opt(False, "quasi-1D plume expansion beyond the channel exit")
    landmark: bool = opt(False, "LANDMARK benchmark mode (its boundary and loss switches, docs/physics.md §15)")
    anode_boundary_condition: str = opt("sheath", "anode boundary: sheath or dirichlet",
                                        choices=["sheath", "dirichlet"])
    reaction_model: str = opt("lookup", "ionization and excitation rates: lookup (xenon tables) or landmark",
                              choices=["lookup", "landmark"])
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
    """The research campaign's priors (docs/physics.md §10.1)."""
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
    executor: str = opt("threads", "where simulations run: threads (this machine) or dask (a dask.distributed "
                        "cluster: local worker processes, generate.scheduler, or dask_cluster)",
                        choices=["threads", "dask"])
    scheduler: str = opt("", "dask: address of a running scheduler, e.g. tcp://host:8786 (empty: start a cluster)")
    dask_cluster: str = opt("local", "dask without a scheduler: local (generate.threads worker processes), or "
                            "slurm / pbs through dask-jobqueue ([cluster]: array_size jobs of cpus_per_task cores)",
                            choices=["local", "slurm", "pbs"])
    seed: int = opt(0, "campaign seed; simulation i uses a seed derived from (seed, i)", min=0)
    shard_size: int = opt(32, "simulations per raw shard file", min=1)
    max_error_fraction: float = opt(0.0, "generate fails (exit 1) when more than this fraction of the simulations "
                                    "it ran raised an error (an exception, not a diverging run); errors are "
                                    "retried when the campaign resumes", min=0.0, max=1.0)
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
    """EDM2 1D U-Net (maps 1:1 onto hallctl.model.build.ModelConfig)."""

    channels: int = opt(64, "base width C_0", min=1)
    channel_mult: list[int] = opt([1, 2, 3, 4], "width multiplier per level (levels = its length)")
    num_blocks: int = opt(2, "residual blocks per level", min=1)
    attn_resolutions: list[int] = opt([16, 8], "lengths at which blocks use self-attention")
    channels_per_head: int = opt(32, "channels per attention head", min=1)
    dropout: float = opt(0.0, "dropout probability in residual blocks", min=0.0, max=1.0, exclusive_max=True)
    label_dim: int = opt(0, "length of a conditioning label vector (0 = unconditional)", min=0)
    label_dropout: float = opt(0.0, "per-example label dropout (classifier-free guidance)", min=0.0, max=1.0)
    sigma_data: float = opt(0.5, "data std the preconditioning assumes", min=0.0, exclusive_min=True)
    scalar_row_means: bool = opt(True, "scalar rows enter the network as their means, preconditioned at their "
                                 "effective noise sigma/sqrt(W)")
    P_mean: float = opt(-1.2, "mean of ln(sigma) during training")
    P_std: float = opt(1.2, "std of ln(sigma) during training", min=0.0, exclusive_min=True)
    uncertainty_weighting: bool = opt(True, "EDM2 learned per-noise-level loss weighting")
    derivative_loss_weight: float = opt(0.0, "weight h of the derivative (Sobolev) loss; 0 = off", min=0.0)


@dataclass(frozen=True)
class ConditioningSection:
    """The amortized conditional model: the network also learns to take observation sets (docs/model.md §8.4).

    The keys other than ``enabled`` describe the observation sets it trains on, and so the ones it answers
    (others fall back to guidance)."""

    enabled: bool = opt(False, "train an amortized conditional model (posteriors with forward passes only)")
    fields: list[str] = opt(["ui_1", "ne", "Tev", "phi", "E", "nn"], "profile rows that may be observed; the "
                            "first is observed in every conditioned example")
    field_probability: float = opt(0.25, "probability that each further field is observed", min=0.0, max=1.0)
    points: list[int] = opt([5, 30], "[min, max] points per observed field")
    z_range: list[float] = opt([0.0, 1.0], "observed positions, as [start, end] fractions of the domain")
    rel_noise: list[float] = opt([0.02, 0.1], "[min, max] relative noise of profile observations (log-uniform)")
    scalars: list[str] = opt(["discharge_voltage_v", "anode_mass_flow_rate_kg_s", "discharge_current_A",
                              "thrust_N"], "scalar rows that may be observed")
    scalar_probability: float = opt(0.5, "probability that each scalar is observed", min=0.0, max=1.0)
    scalar_rel_noise: list[float] = opt([0.001, 0.05], "[min, max] relative noise of scalar observations")
    noise_floor: float = opt(0.1, "linear rows: the relative noise applies to at least this fraction of the "
                             "row's typical magnitude", min=0.0)
    dropout: float = opt(0.1, "probability that an example sees no observation (the model stays the prior)",
                         min=0.0, max=1.0)


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
    amortized: str = opt("auto", "auto: a run's amortized conditional model answers observations inside its "
                         "template (others use guidance); never: always guidance", choices=["auto", "never"])
    amortized_correction: str = opt("all", "MMPS with the training data's covariance (no backward pass) on top of "
                                    "the amortized model's estimate, for all observations (all; as accurate as "
                                    "MMPS on the reference project), the scalar ones only, or none",
                                    choices=["all", "scalars", "none"])
    sigma_min: float = opt(0.002, "smallest noise level", min=0.0, exclusive_min=True)
    sigma_max: float = opt(80.0, "largest noise level", min=0.0, exclusive_min=True)
    rho: float = opt(7.0, "schedule exponent", min=0.0, exclusive_min=True)
    churn: float = opt(0.0, "stochastic churn S_churn (0 = deterministic)", min=0.0)
    mmps_jacobian: str = opt("auto", "MMPS covariance: auto (the training data's Gaussian covariance at large sigma "
                             "and where the network's is inconsistent), network, or data (no backward passes)",
                             choices=["auto", "network", "data"])
    mmps_network_sigma: float = opt(1.0, "MMPS auto: the largest sigma at which the network's Jacobian is used",
                                    min=0.0)
    seed: int = opt(0, "sampling seed", min=0)
    device: str = opt("auto", "device: auto, cpu, cuda or mps")
    tag: str = opt("", "output name samples/<tag>.h5 (default: from the observation file)")


@dataclass(frozen=True)
class EvaluateSection:
    """Held-out evaluation: truths, synthetic observations, metrics."""

    dataset: str = opt("val_large", "split whose simulations are the truths (never the one training validated on)",
                       choices=["val_small", "val_large"])
    num_truths: int = opt(16, "held-out simulations evaluated", min=1)
    num_samples: int = opt(32, "posterior samples per truth", min=2)
    observe_field: str = opt("ui_1", "observed profile")
    observe_points: int = opt(15, "observation points", min=1)
    observe_z_channel_lengths: list[float] = opt([0.6, 3.0], "observed range, in channel lengths")
    observe_rel_noise: float = opt(0.05, "relative noise of the profile observations", min=0.0,
                                   exclusive_min=True)
    observe_noise_floor: float = opt(0.1, "linear rows: the relative noise applies to at least this fraction of "
                                     "the row's typical magnitude (from the normalization table)", min=0.0)
    known_scalars: list[str] = opt(["discharge_voltage_v", "anode_mass_flow_rate_kg_s"],
                                   "scalar rows observed (known operating parameters)")
    known_rel_noise: list[float] = opt([0.004, 0.002], "relative noise of each known scalar (one value for all); "
                                       "default: 1 V at 270 V and 0.01 mg/s at 5.16 mg/s")
    seed: int = opt(0, "seed of the observation noise", min=0)


@dataclass(frozen=True)
class PlotSection:
    """Figures."""

    format: str = opt("png", "default figure format", choices=["png", "pdf", "svg"])
    dpi: int = opt(150, "raster resolution", min=10)
    fields: list[str] = opt(["ui_1", "ne", "Tev", "nu_an"], "profiles shown by default")


@dataclass(frozen=True)
class ClusterSection:
    """Past one machine: the Slurm job array that `hallctl generate --emit-slurm` writes."""

    array_size: int = opt(16, "array tasks: the campaign is split into this many parts (--shard i/N)", min=1)
    cpus_per_task: int = opt(8, "cores per task (its generate threads)", min=1)
    time: str = opt("04:00:00", "wall-time limit per task (Slurm --time)")
    account: str = opt("", "Slurm account (empty: the cluster's default)")
    partition: str = opt("", "Slurm partition (empty: the cluster's default)")
    memory: str = opt("", "memory per task, e.g. 8G (empty: the cluster's default)")
    sbatch_options: list[str] = opt([], "further sbatch options, one per item, e.g. \"--qos=normal\"")
    setup: list[str] = opt([], "shell lines each task runs first, e.g. \"source ~/venvs/hallctl/bin/activate\"")
    log_dir: str = opt("logs", "folder of the tasks' output files (relative to the project file)")


SECTIONS: dict[str, type] = {
    "paths": PathsSection,
    "thruster": ThrusterSection,
    "simulation": SimulationSection,
    "generate": GenerateSection,
    "normalize": NormalizeSection,
    "split": SplitSection,
    "model": ModelSection,
    "conditioning": ConditioningSection,
    "train": TrainSection,
    "sample": SampleSection,
    "evaluate": EvaluateSection,
    "plot": PlotSection,
    "cluster": ClusterSection,
}
