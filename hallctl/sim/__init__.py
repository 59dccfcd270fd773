"""Native 1D quasineutral fluid Hall-thruster simulator (physics.md; HallThruster.jl v0.21.6).

Public entry points::

    from hallctl.sim import SimConfig, Thruster, simulate
    result = simulate(SimConfig.hall_diffusion(discharge_voltage_V=300.0))
"""

from hallctl.sim.config import SimConfig, Thruster
from hallctl.sim.result import PROFILE_UNITS, Result
from hallctl.sim.simulate import simulate

__all__ = ["PROFILE_UNITS", "Result", "SimConfig", "Thruster", "simulate"]
