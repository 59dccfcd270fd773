"""Figures: samples with uncertainty bands, parameter posteriors, training curves, datasets,
single simulations, calibration. Each ``figure_*`` function returns a matplotlib Figure; ``save``
writes it (PNG, PDF or SVG by extension) under a temporary name and renames it."""

from hallctl.plot.style import save

__all__ = ["save"]
