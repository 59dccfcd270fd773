"""The project file: one TOML file shared by every subcommand.

The sections are the dataclasses of :mod:`hallctl.sections`; this module validates and merges.
Resolution order: built-in defaults < project file < command-line options (``--set a.b=v``).

    project = load_project("hallctl.toml", overrides=["train.batch_size=32"])
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallctl.errors import ProjectError
from hallctl.priors import Prior
from hallctl.sections import (
    PARAMETER_NAMES,
    SECTIONS,
    ClusterSection,
    ConditioningSection,
    EvaluateSection,
    GenerateSection,
    ModelSection,
    NormalizeSection,
    PathsSection,
    PlotSection,
    SampleSection,
    SimulationSection,
    SplitSection,
    ThrusterSection,
    TrainSection,
    _copy,
    default_priors,
)

__all__ = ["DEFAULT_PROJECT_FILE", "PARAMETER_NAMES", "SECTIONS", "ClusterSection", "ConditioningSection",
           "EvaluateSection", "GenerateSection", "ModelSection", "NormalizeSection", "PathsSection", "PlotSection",
           "Project", "SampleSection", "SimulationSection", "SplitSection", "ThrusterSection", "TrainSection",
           "check_range", "default_priors", "find_project_file", "load_project", "parse_override",
           "project_from_dict"]

DEFAULT_PROJECT_FILE = "hallctl.toml"


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
    conditioning: ConditioningSection = field(default_factory=ConditioningSection)
    train: TrainSection = field(default_factory=TrainSection)
    sample: SampleSection = field(default_factory=SampleSection)
    evaluate: EvaluateSection = field(default_factory=EvaluateSection)
    plot: PlotSection = field(default_factory=PlotSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    source: str = ""  # the project file read ("" = built-in defaults)
    root: str = "."  # folder relative paths are resolved against

    def path(self, relative: str) -> Path:
        """Resolve a project path against the project file's folder."""
        p = Path(relative).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else Path(self.root) / p))

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
    bad = ProjectError(f"{where}{key} = {value!r} must be of type {_type_name(tp)}; "
                       "fix it in the project file or the --set option")
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


def check_range(value: Any, meta: dict[str, Any], key: str) -> None:
    """Raise ProjectError (one line) when ``value`` breaks the choices or range of a field's metadata."""
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


REMOVED_KEYS = {
    "sample.mmps_eig_floor": "MMPS makes its covariance valid by itself (whitened, projected, float64, with the "
                             "training data's covariance where the network's is unreliable)",
}
"""Keys of earlier versions, with why they went (a clearer message than "unknown key")."""


def _build_section(name: str, table: Any, base: Any) -> Any:
    cls = SECTIONS[name]
    if not isinstance(table, dict):
        raise ProjectError(f"[{name}] must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{name}.{key}"
        if full in REMOVED_KEYS:
            raise ProjectError(f"'{full}' was removed: {REMOVED_KEYS[full]}; delete that line")
        if key not in fields:
            raise ProjectError(f"unknown key '{full}'{_suggest(key, fields)}")
        if name == "generate" and key == "params":
            values[key] = _build_priors(_merge_priors(base.params, value, full), full)
            continue
        v = _coerce(value, hints[key], key, f"{name}.")
        check_range(v, dict(fields[key].metadata), full)
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
    if name == "conditioning":
        for key in ("points", "z_range", "rel_noise", "scalar_rel_noise"):
            pair = getattr(s, key)
            if len(pair) != 2 or not pair[0] <= pair[1] or pair[0] < 0:
                raise ProjectError(f"conditioning.{key} must be [min, max] with 0 <= min <= max, got {pair}")
        if s.points[0] < 1 or s.z_range[1] > 1 or s.z_range[0] >= s.z_range[1] or min(s.rel_noise) <= 0 \
                or min(s.scalar_rel_noise) <= 0:
            raise ProjectError("conditioning: points start at 1, z_range lies in [0, 1] with start < end, "
                               "and noise levels are positive")
        if not s.fields and not s.scalars:
            raise ProjectError("conditioning needs at least one field or scalar to observe")
    if name == "train" and not s.ema_stds:
        raise ProjectError("train.ema_stds must list at least one EMA length (e.g. [0.05, 0.1])")
    if name == "train" and any(not 0 < x < 0.28 for x in s.ema_stds):
        raise ProjectError("train.ema_stds values must lie in (0, 0.28)")
    if name == "evaluate" and (len(s.observe_z_channel_lengths) != 2
                               or s.observe_z_channel_lengths[0] >= s.observe_z_channel_lengths[1]):
        raise ProjectError("evaluate.observe_z_channel_lengths must be [start, end] with start < end")
    if name == "evaluate" and (len(s.known_rel_noise) not in (1, len(s.known_scalars))
                               or any(not v > 0 for v in s.known_rel_noise)):
        raise ProjectError(f"evaluate.known_rel_noise needs one positive value, or one per known scalar "
                           f"({len(s.known_scalars)}), got {s.known_rel_noise}")


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
