"""ocp: optimal control problems transcribed by direct multiple shooting (CasADi) and solved by IPOPT."""

import os

# One OpenMP/BLAS thread per process unless the user set it: the toolkit runs its searches and sweeps in
# worker processes, and IPOPT's linear algebra starting a thread per core in each of them oversubscribes
# the machine (the default job's search: 64 s against 34 s on 2 cores, benchmarks/README.md). It must be
# set before CasADi's IPOPT and its OpenMP runtime are loaded, hence here.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from ocp.errors import ConfigError, OcpError, ProblemError, SolveError
from ocp.nlp.simulation import simulate
from ocp.problem.guess import InitialGuess, interpolate
from ocp.problem.integrators import (
    RK4,
    Euler,
    ExplicitRungeKutta,
    GaussLegendre,
    ImplicitCollocation,
    Midpoint,
    Radau,
    integrator,
)
from ocp.problem.interval_sizes import IntervalSizes
from ocp.problem.member_data import EnsembleData, SampledCost
from ocp.problem.method import DirectCollocation, MultipleShooting
from ocp.problem.problem import Problem
from ocp.problem.terms import Bounds, Constraint, FreeParameter, Horizon, L1Cost, Parameter
from ocp.search.multistart import multistart, random_starts
from ocp.search.plan import StopReason
from ocp.search.report import SearchReport
from ocp.search.settings import SearchSettings
from ocp.search.strategies import Initialization
from ocp.search.tasks import Hops
from ocp.solvers.gauss_newton import GaussNewton
from ocp.solvers.gradient_flow import GradientFlow, GradientFlowOptions
from ocp.solvers.ipopt import OCPSolver, SolverOptions, solve
from ocp.solvers.solution import Solution

__all__ = [
    "RK4",
    "Radau",
    "GaussLegendre",
    "ImplicitCollocation",
    "Bounds",
    "ConfigError",
    "Constraint",
    "EnsembleData",
    "Euler",
    "ExplicitRungeKutta",
    "FreeParameter",
    "GaussNewton",
    "GradientFlow",
    "GradientFlowOptions",
    "Hops",
    "Horizon",
    "InitialGuess",
    "Initialization",
    "L1Cost",
    "Midpoint",
    "MultipleShooting",
    "DirectCollocation",
    "OCPSolver",
    "OcpError",
    "Parameter",
    "Problem",
    "ProblemError",
    "SampledCost",
    "SearchReport",
    "SearchSettings",
    "Solution",
    "SolveError",
    "SolverOptions",
    "StopReason",
    "IntervalSizes",
    "integrator",
    "interpolate",
    "multistart",
    "random_starts",
    "simulate",
    "solve",
]
