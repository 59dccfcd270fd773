"""Sampling and inverse problems with a trained denoiser (model.md §7–8).

- ``schedule``: EDM noise levels; ``solvers``: Euler, RK2 (Heun/midpoint/Ralston), DPM-Solver++(2M);
- ``sampler``: :func:`sample`, the loop with churn, per-sample seeds, NFE counting;
- ``operator``: the sparse observation operator; ``observations``: observation CSV → normalized
  observations + operator, and the fit report;
- ``guidance``: MMPS, variance-inflated DPS, fixed rows, scalar-row projection (denoiser wrappers).

Loading models and files other than observation CSVs, and denormalization, live elsewhere.
"""

from hallctl.sample.guidance import DPS, MMPS, FixedRows, ProjectRows
from hallctl.sample.observations import (
    FitReport,
    Observation,
    Observations,
    build_observations,
    fit_report,
    read_observations,
)
from hallctl.sample.operator import SparseObservationOperator, interpolation_terms, row_mean_terms
from hallctl.sample.sampler import SampleNoise, SampleResult, SamplingError, integrate, sample, sample_seed
from hallctl.sample.schedule import edm_sigmas
from hallctl.sample.solvers import RK2, SOLVERS, DPMSolver2M, Euler, make_solver

__all__ = [
    "DPS",
    "MMPS",
    "RK2",
    "SOLVERS",
    "DPMSolver2M",
    "Euler",
    "FitReport",
    "FixedRows",
    "Observation",
    "Observations",
    "ProjectRows",
    "SampleNoise",
    "SampleResult",
    "SamplingError",
    "SparseObservationOperator",
    "build_observations",
    "edm_sigmas",
    "fit_report",
    "integrate",
    "interpolation_terms",
    "make_solver",
    "read_observations",
    "row_mean_terms",
    "sample",
    "sample_seed",
]
