"""ocp: optimal control problems transcribed by direct multiple shooting (CasADi) and solved by IPOPT."""

from .errors import ConfigError, OcpError, ProblemError, SolveError
from .gradient_flow import GradientFlow, GradientFlowOptions
from .guess import InitialGuess, interpolate
from .integrators import RK4, Euler, ExplicitRungeKutta, Midpoint, integrator
from .method import MultipleShooting
from .problem import Bounds, Constraint, EnsembleData, FreeParameter, Horizon, L1Cost, Parameter, Problem
from .simulation import simulate
from .solution import Solution
from .solver import OCPSolver, SolverOptions, solve
from .stages import Stages

__all__ = [
    "RK4",
    "Bounds",
    "ConfigError",
    "Constraint",
    "EnsembleData",
    "Euler",
    "ExplicitRungeKutta",
    "FreeParameter",
    "GradientFlow",
    "GradientFlowOptions",
    "Horizon",
    "InitialGuess",
    "L1Cost",
    "Midpoint",
    "MultipleShooting",
    "OCPSolver",
    "OcpError",
    "Parameter",
    "Problem",
    "ProblemError",
    "Solution",
    "SolveError",
    "SolverOptions",
    "Stages",
    "integrator",
    "interpolate",
    "simulate",
    "solve",
]
