"""Native 1D quasineutral fluid Hall-thruster simulator (docs/physics.md; HallThruster.jl v0.21.6).

Public entry points::

    from hallctl.sim import SimConfig, Thruster, simulate
    result = simulate(SimConfig.hall_diffusion(discharge_voltage_V=300.0))
    result.status, result.performance["thrust_N"], result.interior("Tev")

Modules: ``config`` (SimConfig, model dataclasses), ``thruster``, ``anomalous``, ``walls``,
``rates``, ``constants`` (physics), ``heavy``/``boundaries``/``electrons``/``energy``/``solver``
(numba kernels), ``setup`` and ``simulate`` (driver), ``result``, ``hallthruster_json`` (inputs).
"""

from hallctl.sim.config import SimConfig, Thruster
from hallctl.sim.hallthruster_json import load_hallthruster_json
from hallctl.sim.result import PROFILE_UNITS, Result
from hallctl.sim.simulate import simulate

__all__ = ["PROFILE_UNITS", "Result", "SimConfig", "Thruster", "load_hallthruster_json", "simulate"]
