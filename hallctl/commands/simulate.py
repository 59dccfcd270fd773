"""``hallctl simulate``: one simulation from the project's nominal point or a HallThruster.jl input."""

from __future__ import annotations

from pathlib import Path

from hallctl.commands.common import provenance
from hallctl.commands.generate import campaign_plan
from hallctl.data.simulation import to_simulation_file, write_csv
from hallctl.data.store import write_simulation
from hallctl.errors import ProjectError
from hallctl.generate.plan import nominal_job, sim_config_for
from hallctl.project import PARAMETER_NAMES, Project
from hallctl.report import Reporter
from hallctl.sim import Result, simulate

__all__ = ["JSON_KEYS", "parse_params", "run", "write_csv"]

JSON_KEYS = ("thrust_N", "discharge_current_A", "ion_current_A", "anode_efficiency", "mass_utilization",
             "current_utilization", "max_Te_eV", "z_max_Te_m", "max_E_V_m", "z_max_E_m")


def parse_params(items: list[str]) -> dict[str, float]:
    """``name=value`` strings → floats, names checked against the campaign parameters."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ProjectError(f"--param {item!r} must look like name=value, e.g. discharge_voltage_v=300")
        if name not in PARAMETER_NAMES:
            raise ProjectError(f"--param: unknown parameter '{name}'; valid: {', '.join(PARAMETER_NAMES)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise ProjectError(f"--param {name}={value!r}: the value must be a number") from None
    return out


def run(project: Project, *, params: dict[str, float] | None = None, seed: int | None = None,
        hallthruster_json: Path | None = None, output: Path | None = None,
        report: Reporter | None = None) -> tuple[Result, dict[str, float]]:
    """Run one simulation; write it to ``output`` (HDF5) when given.

    Returns:
        The solver Result and the campaign parameters used ({} for a HallThruster.jl input).
    """
    if hallthruster_json is not None:
        if params:
            raise ProjectError("--param cannot be combined with --hallthruster-json; edit the JSON input instead")
        from hallctl.sim.hallthruster_json import load_hallthruster_json

        config, used = load_hallthruster_json(hallthruster_json), {}
    else:
        plan = campaign_plan(project)
        job = nominal_job(plan, params, seed=seed)
        config, used = sim_config_for(plan, job), job.params
    result = simulate(config, report=report)
    if output is not None:
        extra = {"hallthruster_json": str(hallthruster_json) if hallthruster_json else None}
        prov = provenance(project if hallthruster_json is None else None, seed=seed, command="simulate", extra=extra)
        write_simulation(output, to_simulation_file(result, used), prov)
    return result, used
