"""Sampling and inverse problems with a trained denoiser (docs/model.md §7–8).

Composed, azula-style: the caller builds a denoiser, a :class:`Conditioning` and a step rule, and
:func:`sample` runs them::

    conditioning = Conditioning("mmps", observations, projected=scalar_rows)
    result = sample(precond, conditioning, make_solver("heun"), num_samples=64, shape=(C, W))

- ``schedule``: EDM noise levels; ``solvers``: Euler, RK2 (Heun/midpoint/Ralston), DPM-Solver++(2M),
  by name in ``SOLVERS``;
- ``guidance``: MMPS, variance-inflated DPS (by name in ``GUIDANCE``), fixed rows, scalar-row
  projection (denoiser wrappers); ``conditioning``: how they compose;
- ``sampler``: :func:`sample`, the loop with churn, per-sample seeds, NFE counting;
- ``operator``: the sparse observation operator; ``observations``: observation CSV → normalized
  observations + operator, and the fit report;
- ``draw``: a trained model sampled from named settings, in physical units.
"""

from hallctl.sample.conditioning import FIXED_SIGMA, Conditioning
from hallctl.sample.guidance import DPS, GUIDANCE, MMPS, FixedRows, GuidanceOptions, ProjectRows
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
from hallctl.sample.schedule import Schedule, edm_sigmas
from hallctl.sample.solvers import RK2, SOLVERS, DPMSolver2M, Euler, make_solver

__all__ = [
    "DPS",
    "FIXED_SIGMA",
    "GUIDANCE",
    "MMPS",
    "RK2",
    "SOLVERS",
    "Conditioning",
    "DPMSolver2M",
    "Euler",
    "FitReport",
    "FixedRows",
    "GuidanceOptions",
    "Observation",
    "Observations",
    "ProjectRows",
    "SampleNoise",
    "SampleResult",
    "SamplingError",
    "Schedule",
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
