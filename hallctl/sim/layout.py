"""Row indices of the kernels' packed arrays.

The kernels work on a few preallocated 2-D float64 arrays whose rows are named here (numba
treats these module-level integers as compile-time constants):

* ``U[nvar, N+2]`` — conserved heavy state: row 0 ρ_n, then (ρ_Z, (ρu)_Z) for Z = 1..max_charge
  (:func:`row_rho`, :func:`row_mom`).
* ``F[NUM_F, N+2]`` — per-cell fields, ghosts included (names below).
* ``P[NUM_P]`` — scalar parameters (SI; flags as 0.0/1.0).
* ``S[NUM_S]`` — scalar state carried between chunks of the time loop.
* ``AV[NUM_AV, N+2]`` — running sums of the saved frames for the time average.
* ``W[heavy.work_rows(nZ), N+2]`` — scratch of the heavy-species right-hand side.
"""

__all__ = ["row_mom", "row_rho"]


def row_rho(Z: int) -> int:
    """Row of ρ_Z in ``U`` (Z ≥ 1)."""
    return 2 * Z - 1


def row_mom(Z: int) -> int:
    """Row of (ρu)_Z in ``U`` (Z ≥ 1)."""
    return 2 * Z


# ---- F: per-cell fields --------------------------------------------------------------------
(B, NE, NI_SUM, JI, ZEFF, MEFF, UI_BAR, NN, TEV, NEPS, PE, GRAD_PE, KIN, UE, EF, PHI, MU,
 NU_AN, NU_EN, NU_EI, NU_WALL, NU_EW, NU_CLASS, NU_IZ, NU_EX, NU_E, INEL_IZ, W_WALL, KAPPA,
 AREA, DADZ, DLNA, TAN_DIV, R_IN, R_OUT, EPS, LT_IN, LT_BETA, ALPHA_Z, NU_AN_MODEL, NU_AN_INIT,
 NU_IW1, NU_IW2, NU_IW3, WORK1, WORK2, TRI_A, TRI_B, TRI_C, TRI_D, TRI_X, TRI_W,
 INV_DZC, INV_DZE, GW0, GW1, GW2, INV_NE, OMEGA2, WORK3, WORK4, ZN_WALL,
 NUM_F) = range(63)
# GW0..GW2: weights of the three-point gradient at each cell (energy.gradient_weights)
# INV_DZC: 1/dz_cell (N+2 entries); INV_DZE: 1/dz_edge (first N+1 entries)
# WORK1..WORK4, TRI_*: scratch of the electron kernels; ZN_WALL: Σ_Z Z^(3/2) ρ_Z (wall flux, §7.2)

# ---- P: scalar parameters ------------------------------------------------------------------
(P_N, P_NZ, P_MASS, P_UN, P_AN_SPEED, P_KTI_M, P_AI_SPEED, P_TI_K, P_VD, P_VCC, P_MDOT,
 P_MDOT_INGEST, P_ACH, P_DR, P_LCH, P_ELL, P_LANDMARK, P_RECON, P_SHEATH_BC, P_TE_ANODE,
 P_TE_CATHODE, P_TMIN, P_THETA, P_EI_COLL, P_ION_WALL, P_PLUME, P_WALL_MODEL, P_SIGMA0,
 P_EPS_STAR, P_WALL_SCALE, P_WALL_U, P_COND, P_ILIMIT, P_CFL, P_MIN_DT, P_MAX_DT, P_DT_BASE,
 P_ADAPTIVE, P_MAX_SMALL, P_NREACT, P_EX_ENERGY, P_DURATION, P_AVG_START, P_NUM_SAVE,
 P_GAMMA_MAX, P_SHIELDED, P_DIV_CORR, P_INV_MASS, P_XE_FULL,
 NUM_P) = range(50)
# P_XE_FULL: 1 when the reactions are exactly Xe 0→1, 0→2, 0→3, 1→2, 1→3, 2→3 in this order

COND_BRAGINSKII, COND_MITCHNER, COND_LANDMARK = 0, 1, 2

# ---- S: scalar state -----------------------------------------------------------------------
(S_T, S_DT, S_ITER, S_ID, S_VS, S_SAVE_IDX, S_SMALL, S_UNIFORM, S_STEPS, S_DT_NEXT, S_DT_IZ,
 S_DT_E, S_DT_U, S_NAVG, S_FAIL_T, S_FAIL_CODE, S_AVG_ID, S_AVG_DT,
 NUM_S) = range(19)

# failure codes returned by the time loop (docs/physics.md §11.7)
OK, DONE, FAIL_HEAVY, FAIL_CURRENT, FAIL_TE, FAIL_PHI, FAIL_DT = 0, 1, 2, 3, 4, 5, 6

# ---- AV: time-average sums -----------------------------------------------------------------
(A_B, A_NU_E, A_NU_AN, A_NU_EN, A_NU_EI, A_NU_IZ, A_NU_EX, A_NU_WALL, A_NU_CLASS, A_MU, A_NN,
 A_NE, A_NI1, A_NI2, A_NI3, A_UI1, A_UI2, A_UI3, A_NIUI1, A_NIUI2, A_NIUI3, A_UE, A_JI, A_PHI,
 A_EF, A_TEV, A_PE, A_GRAD_PE, A_AREA, A_TAN, A_DADZ,
 NUM_AV) = range(32)
