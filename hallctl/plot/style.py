"""One clean, publication-ready style for every hallctl figure, and the atomic ``save``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from hallctl.data.store import atomic_write
from hallctl.errors import DataError

__all__ = ["LABELS", "axis_label", "new_figure", "save"]

FORMATS = (".png", ".pdf", ".svg")

STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.25, "grid.linewidth": 0.5, "lines.linewidth": 1.4, "figure.dpi": 100,
    "savefig.bbox": "tight", "legend.frameon": False,
}

#: Axis labels of the usual rows: symbol and unit.
LABELS = {
    "B": r"$B$ [T]", "nu_e": r"$\nu_e$ [s$^{-1}$]", "nu_an": r"$\nu_{an}$ [s$^{-1}$]", "nn": r"$n_n$ [m$^{-3}$]",
    "ne": r"$n_e$ [m$^{-3}$]", "ni_1": r"$n_{i,1}$ [m$^{-3}$]", "ni_2": r"$n_{i,2}$ [m$^{-3}$]",
    "ni_3": r"$n_{i,3}$ [m$^{-3}$]", "ui_1": r"$u_{i,1}$ [km/s]", "ui_2": r"$u_{i,2}$ [km/s]",
    "ui_3": r"$u_{i,3}$ [km/s]", "ue": r"$u_e$ [km/s]", "phi": r"$\phi$ [V]", "E": r"$E$ [kV/m]",
    "Tev": r"$T_e$ [eV]", "pe": r"$p_e$ [eV m$^{-3}$]", "grad_pe": r"$\partial_z p_e$ [eV m$^{-4}$]",
    "inverse_hall": r"$\Omega_e^{-1}$", "anom_inverse_hall": r"$\nu_{an}/\omega_{ce}$",
    "nu_iz": r"$\nu_{iz}$ [s$^{-1}$]", "discharge_current_A": r"$I_d$ [A]", "thrust_N": "thrust [mN]",
    "discharge_voltage_v": r"$V_d$ [V]", "anode_mass_flow_rate_kg_s": r"$\dot m_a$ [mg/s]",
}
#: Display scale of some rows (plotted value = physical × scale).
SCALES = {"ui_1": 1e-3, "ui_2": 1e-3, "ui_3": 1e-3, "ue": 1e-3, "E": 1e-3, "thrust_N": 1e3,
          "anode_mass_flow_rate_kg_s": 1e6}
#: Rows best shown on a log axis.
LOG_ROWS = {"B", "nu_e", "nu_an", "nn", "ne", "ni_1", "ni_2", "ni_3", "pe", "inverse_hall", "anom_inverse_hall",
            "nu_iz"}


def axis_label(name: str, unit: str = "") -> str:
    return LABELS.get(name, f"{name} [{unit}]" if unit else name)


def new_figure(n_panels: int, *, cols: int = 2, width: float = 7.0, panel_height: float = 2.2
               ) -> tuple[Figure, list]:
    """A figure with ``n_panels`` axes on a grid of ``cols`` columns (extra axes hidden)."""
    plt.rcParams.update(STYLE)
    cols = max(1, min(cols, n_panels))
    rows = (n_panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_height * rows + 0.4), squeeze=False,
                             layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def save(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the extension) atomically, then close it."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise DataError(f"cannot write a figure to {target}: use a .png, .pdf or .svg file name")
    with atomic_write(target) as tmp:
        fig.savefig(tmp, format=target.suffix.lower()[1:], dpi=dpi)
    plt.close(fig)
    return target
