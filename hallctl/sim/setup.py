"""Set-up of a simulation: grid, parameter vector, initial condition (docs/physics.md §2.3, §11.6, §12).

Everything here runs once per simulation in Python/NumPy; it resolves the configuration's model
choices into the packed arrays that the kernels read (:mod:`hallctl.sim.layout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hallctl.sim import layout as lay
from hallctl.sim.anomalous import AnomContext, TwoZoneBohm, anom_coefficients
from hallctl.sim.config import SimConfig
from hallctl.sim.constants import E_CHARGE, EPS_MACHINE, GAMMA_XE, K_B, M_E, M_XE, MOLAR_MASS_XE, R_0
from hallctl.sim.energy import gradient_weights, pressure_gradient
from hallctl.sim.heavy import work_rows
from hallctl.sim.rates import RateTables, build_rate_tables
from hallctl.sim.thruster import field_on_cells, linear_transition
from hallctl.sim.walls import WallSheath

__all__ = ["Grid", "SimArrays", "build_arrays", "build_grid", "initial_condition"]


@dataclass(frozen=True)
class Grid:
    """Even grid with one ghost cell per side (docs/physics.md §2.3).

    Attributes:
        z_edge: N+1 edges [m]; z_cell: N+2 centres incl. ghosts half a cell outside [m];
        dz_cell: N+2 cell widths (ghosts copy neighbours) [m]; dz_edge: N+1 centre spacings [m].
    """

    z_edge: np.ndarray
    z_cell: np.ndarray
    dz_cell: np.ndarray
    dz_edge: np.ndarray

    @property
    def num_cells(self) -> int:
        return self.z_edge.size - 1


def build_grid(domain_m: tuple[float, float], num_cells: int) -> Grid:
    """EvenGrid(N) on ``domain_m`` (docs/physics.md §2.3)."""
    z0, z1 = domain_m
    N = num_cells
    z_edge = np.array([z0 + (z1 - z0) * j / N for j in range(N + 1)])
    z_cell = np.empty(N + 2)
    z_cell[1:-1] = 0.5 * (z_edge[:-1] + z_edge[1:])
    z_cell[0] = z_edge[0] - 0.5 * (z_edge[1] - z_edge[0])
    z_cell[-1] = z_edge[-1] + 0.5 * (z_edge[-1] - z_edge[-2])
    dz_cell = np.empty(N + 2)
    dz_cell[1:-1] = np.diff(z_edge)
    dz_cell[0] = dz_cell[1]
    dz_cell[-1] = dz_cell[-2]
    dz_edge = np.diff(z_cell)
    return Grid(z_edge, z_cell, dz_cell, dz_edge)


@dataclass
class SimArrays:
    """All preallocated arrays of one simulation (shapes in :mod:`hallctl.sim.layout`)."""

    grid: Grid
    tables: RateTables
    U: np.ndarray
    U1: np.ndarray
    dU: np.ndarray
    F: np.ndarray
    W: np.ndarray
    AV: np.ndarray
    P: np.ndarray
    S: np.ndarray
    save_t: np.ndarray
    ser_id: np.ndarray
    ser_thrust: np.ndarray
    ser_ii: np.ndarray

    def kernel_args(self) -> tuple:
        """Positional arguments of :func:`hallctl.sim.solver.run_chunk` before ``t_stop``."""
        g, tb = self.grid, self.tables
        return (self.U, self.U1, self.dU, self.F, self.W, self.AV, g.z_cell, g.z_edge, g.dz_cell, g.dz_edge,
                self.P, self.S, tb.iz, tb.iz_energy_eV, tb.iz_reactant, tb.iz_product, tb.ex, tb.el,
                self.save_t, self.ser_id, self.ser_thrust, self.ser_ii)


def initial_condition(config: SimConfig, grid: Grid, U: np.ndarray, F: np.ndarray) -> None:
    """DefaultInitialization (docs/physics.md §12): fills U and nε, T_e, p_e, ∂p_e of F."""
    m = M_XE
    Lch = config.thruster.channel_length_m
    A_ch = config.thruster.channel_area_m2
    Vd = config.discharge_voltage_V
    mdot = config.anode_mass_flow_rate_kg_s
    un = config.neutral_velocity_m_s
    Te_a, Te_c = config.anode_Te_eV, config.cathode_Te_eV
    n_min, n_max = config.min_ion_density_m3, config.max_ion_density_m3
    z = grid.z_cell
    zg, ze = z[0], z[-1]
    z0, zN = config.domain_m
    scale = math.sqrt(Vd / 300.0) * (mdot / 5e-6)

    def rho_ion(zz: np.ndarray | float, Z: int) -> np.ndarray | float:
        return m * scale * (n_min + (n_max - n_min) * np.exp(-(((zz - zg - Lch / 2) / (Lch / 3)) ** 2))) / Z**2

    def u_ion(zz: np.ndarray | float, Z: int) -> np.ndarray:
        zz = np.asarray(zz, dtype=float)
        ua = -math.sqrt(Z * E_CHARGE * Te_a / m)
        uc = math.sqrt(2.0 * Z * E_CHARGE * Vd / m)
        u_in = ua + 2.0 / 3.0 * (uc - ua) * ((zz - zg) / Lch) ** 2
        u_exit = ua + 2.0 / 3.0 * (uc - ua)
        u_out = u_exit + (uc - u_exit) * (zz - (zg + Lch)) / (ze - (zg + Lch))
        return np.where(zz - zg < Lch, u_in, u_out)

    nZ = config.max_charge
    flux0 = 0.0
    for Z in range(1, nZ + 1):
        rho = rho_ion(z, Z)
        U[lay.row_rho(Z)] = rho
        U[lay.row_mom(Z)] = rho * u_ion(z, Z)
        flux0 += float(u_ion(0.0, Z)) * float(rho_ion(0.0, Z)) / un
    rho_a = mdot / (un * A_ch) - flux0
    rho_c = 0.01 * rho_a
    U[0] = 0.5 * (rho_a + rho_c + (rho_c - rho_a) * np.tanh((z - zg - Lch / 2) / (Lch / 24)))
    ne = sum(Z * U[lay.row_rho(Z)] / m for Z in range(1, nZ + 1))
    Tmax = config.max_Te_initial_eV
    Te = (Te_a + (Te_c - Te_a) * (z - z0) / (zN - z0)
          + (Tmax - 0.5 * (Te_a + Te_c)) * np.exp(-(((z - z0 - Lch) / (Lch / 3)) ** 2)))
    F[lay.TEV] = Te
    F[lay.NEPS] = 1.5 * ne * Te
    F[lay.PE] = F[lay.NEPS] if config.landmark else 2.0 / 3.0 * F[lay.NEPS]
    pressure_gradient(F[lay.PE], z, F[lay.GRAD_PE])


def _params(config: SimConfig, tables: RateTables, avg_start: int) -> np.ndarray:
    th = config.thruster
    P = np.zeros(lay.NUM_P)
    P[lay.P_N] = config.num_cells
    P[lay.P_NZ] = config.max_charge
    P[lay.P_MASS] = M_XE
    P[lay.P_INV_MASS] = 1.0 / M_XE
    P[lay.P_UN] = config.neutral_velocity_m_s
    P[lay.P_AN_SPEED] = math.sqrt(GAMMA_XE * R_0 * config.neutral_temperature_K / MOLAR_MASS_XE)
    P[lay.P_KTI_M] = K_B * config.ion_temperature_K / M_XE
    P[lay.P_AI_SPEED] = math.sqrt(GAMMA_XE * K_B * config.ion_temperature_K / M_XE)
    P[lay.P_TI_K] = config.ion_temperature_K
    P[lay.P_VD] = config.discharge_voltage_V
    P[lay.P_VCC] = config.cathode_coupling_voltage_V
    P[lay.P_MDOT] = config.anode_mass_flow_rate_kg_s
    # ingestion; upstream plugs the Torr number into p/(k_B T) as if it were Pa (docs/physics.md §8.1)
    rho_B = M_XE * config.background_pressure_Torr / (K_B * config.background_temperature_K)
    c_B = 0.25 * math.sqrt(8.0 * K_B * config.background_temperature_K / (math.pi * M_XE))
    P[lay.P_MDOT_INGEST] = config.neutral_ingestion_multiplier * rho_B * c_B * th.channel_area_m2
    P[lay.P_ACH] = th.channel_area_m2
    P[lay.P_DR] = th.channel_width_m
    P[lay.P_LCH] = th.channel_length_m
    P[lay.P_ELL] = config.transition_length
    P[lay.P_LANDMARK] = float(config.landmark)
    P[lay.P_RECON] = float(config.reconstruct)
    P[lay.P_SHEATH_BC] = float(config.anode_boundary_condition == "sheath" and not config.landmark)
    P[lay.P_TE_ANODE] = config.anode_Te_eV
    P[lay.P_TE_CATHODE] = config.cathode_Te_eV
    P[lay.P_TMIN] = config.min_Te_eV
    P[lay.P_THETA] = config.implicit_energy
    P[lay.P_EI_COLL] = float(config.electron_ion_collisions)
    P[lay.P_ION_WALL] = float(config.ion_wall_losses)
    P[lay.P_PLUME] = float(config.solve_plume)
    code, sigma0, eps_star, U_s, _, _ = config.wall_model.kernel_params()
    P[lay.P_WALL_MODEL] = code
    P[lay.P_SIGMA0] = sigma0
    P[lay.P_EPS_STAR] = eps_star
    P[lay.P_WALL_SCALE] = config.wall_model.loss_scale if isinstance(config.wall_model, WallSheath) else 1.0
    P[lay.P_WALL_U] = U_s
    P[lay.P_COND] = {"braginskii": lay.COND_BRAGINSKII, "mitchner": lay.COND_MITCHNER,
                   "landmark": lay.COND_LANDMARK}[config.conductivity_model]
    P[lay.P_ILIMIT] = config.current_limit_A
    P[lay.P_CFL] = config.cfl
    P[lay.P_MIN_DT] = config.min_dt_s
    P[lay.P_MAX_DT] = config.max_dt_s
    P[lay.P_DT_BASE] = config.dt_s
    P[lay.P_ADAPTIVE] = float(config.adaptive)
    P[lay.P_MAX_SMALL] = config.max_small_steps
    P[lay.P_NREACT] = tables.iz.shape[0]
    full = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    pairs = list(zip(tables.iz_reactant.tolist(), tables.iz_product.tolist(), strict=True))
    P[lay.P_XE_FULL] = float(pairs == full)
    P[lay.P_EX_ENERGY] = tables.ex_energy_eV
    P[lay.P_DURATION] = config.duration_s
    P[lay.P_AVG_START] = avg_start
    P[lay.P_NUM_SAVE] = config.num_save
    P[lay.P_GAMMA_MAX] = 1.0 - 8.3 * math.sqrt(M_E / M_XE)
    P[lay.P_SHIELDED] = float(config.thruster.shielded)
    P[lay.P_DIV_CORR] = float(config.apply_thrust_divergence_correction)
    return P


def build_arrays(config: SimConfig) -> SimArrays:
    """Grid, tables, parameters, fields and initial condition of ``config`` (no time stepping).

    Raises:
        SimulationInputError: a rate-table file named in the config is missing or malformed.
    """
    tables = build_rate_tables(max_charge=config.max_charge, reaction_model=config.reaction_model,
                               landmark_rates_file=config.landmark_rates_file,
                               reaction_rate_directories=config.reaction_rate_directories)
    grid = build_grid(config.domain_m, config.num_cells)
    N = config.num_cells
    n2 = N + 2
    nvar = 1 + 2 * config.max_charge
    th = config.thruster
    save_t = np.array([config.duration_s * k / (config.num_save - 1) for k in range(config.num_save)])
    save_t[-1] = config.duration_s
    avg_start = config.average_start_frame(save_t)
    P = _params(config, tables, avg_start)
    F = np.zeros((lay.NUM_F, n2))
    z = grid.z_cell
    F[lay.B] = field_on_cells(th, z, config.magnetic_field_scale)
    ell = config.transition_length
    Lch = th.channel_length_m
    F[lay.LT_IN] = [linear_transition(zz, Lch, ell, 1.0, 0.0) for zz in z]
    F[lay.LT_BETA] = [linear_transition(zz, Lch, ell, 1.0, config.electron_plume_loss_scale) for zz in z]
    wm = config.wall_model
    if hasattr(wm, "inner_loss_coeff"):
        F[lay.ALPHA_Z] = [linear_transition(zz, Lch, ell, wm.inner_loss_coeff, wm.outer_loss_coeff) for zz in z]
    omega_ce = E_CHARGE * F[lay.B] / M_E
    ctx = AnomContext(Lch, ell, config.background_pressure_Torr)
    F[lay.NU_AN_INIT] = anom_coefficients(TwoZoneBohm(1.0 / 160.0, 1.0 / 16.0), z, ctx) * omega_ce
    F[lay.NU_AN_MODEL] = anom_coefficients(config.anom_model, z, ctx) * omega_ce
    F[lay.NU_AN] = F[lay.NU_AN_INIT]
    F[lay.INV_DZC] = 1.0 / grid.dz_cell
    F[lay.GW0 : lay.GW2 + 1] = gradient_weights(grid.z_cell)
    F[lay.INV_DZE, : N + 1] = 1.0 / grid.dz_edge
    F[lay.AREA] = th.channel_area_m2
    F[lay.R_IN] = th.inner_radius_m
    F[lay.R_OUT] = th.outer_radius_m
    U = np.zeros((nvar, n2))
    initial_condition(config, grid, U, F)
    S = np.zeros(lay.NUM_S)
    S[lay.S_DT] = 100.0 * EPS_MACHINE if config.adaptive else config.dt_s
    S[lay.S_ITER] = -1.0
    ns = config.num_save
    return SimArrays(grid=grid, tables=tables, U=U, U1=U.copy(), dU=np.zeros_like(U), F=F,
                     W=np.zeros((work_rows(config.max_charge), n2)), AV=np.zeros((lay.NUM_AV, n2)), P=P, S=S,
                     save_t=save_t, ser_id=np.full(ns, np.nan), ser_thrust=np.full(ns, np.nan),
                     ser_ii=np.full(ns, np.nan))
