"""Physical constants and xenon propellant data (docs/physics.md §1).

Every value is in SI units unless its name says otherwise; energies of reactions are in eV.
"""

__all__ = [
    "EPS_MACHINE",
    "E_CHARGE",
    "GAMMA_XE",
    "K_B",
    "LANDMARK_ELASTIC_M3_S",
    "LANDMARK_EXCITATION_EV",
    "LANDMARK_IONIZATION_EV",
    "MIN_NUMBER_DENSITY_M3",
    "MOLAR_MASS_XE",
    "M_E",
    "M_XE",
    "N_A",
    "R_0",
    "XE_EXCITATION_EV",
    "XE_IONIZATION_EV",
]

E_CHARGE = 1.602176634e-19
"""Elementary charge e [C]."""

M_E = 9.10938356e-31
"""Electron mass m_e [kg] (this exact value, as upstream)."""

K_B = 1.380649e-23
"""Boltzmann constant k_B [J/K]."""

N_A = 6.02214076e26
"""Avogadro's number per **kilo**mole [1/kmol], so m = M / N_A with M in g/mol."""

R_0 = K_B * N_A
"""Universal gas constant R_0 = k_B N_A [J/(kmol K)]."""

MOLAR_MASS_XE = 131.293
"""Xenon molar mass M [g/mol]."""

M_XE = MOLAR_MASS_XE / N_A
"""Xenon atom mass m [kg] (= 2.1801715574645584e-25)."""

GAMMA_XE = 5.0 / 3.0
"""Adiabatic index γ of xenon, used for the neutral and ion wave speeds."""

MIN_NUMBER_DENSITY_M3 = 1.0
"""Floor of every heavy-species number density [1/m^3] (docs/physics.md §8.3)."""

EPS_MACHINE = 2.220446049250313e-16
"""Double-precision machine epsilon; the first time step is 100 ε (docs/physics.md §11.4)."""

XE_IONIZATION_EV = {
    (0, 1): 12.1298437,
    (0, 2): 33.1048437,
    (0, 3): 64.1548427,  # sic, last digit as in the upstream table (docs/physics.md §1)
    (1, 2): 20.975,
    (1, 3): 52.025,
    (2, 3): 31.05,
}
"""Energy cost [eV] of Xe^(a+) -> Xe^(b+) keyed by (a, b) for the Lookup reaction model."""

XE_EXCITATION_EV = 8.32
"""Lumped excitation energy of xenon [eV]."""

LANDMARK_IONIZATION_EV = 12.12
"""Ionization energy of the LANDMARK reaction model [eV] (docs/physics.md §15)."""

LANDMARK_EXCITATION_EV = 8.32
"""Excitation energy of the LANDMARK reaction model [eV]."""

LANDMARK_ELASTIC_M3_S = 2.5e-13
"""Constant electron-neutral elastic rate coefficient of the LANDMARK model [m^3/s]."""
