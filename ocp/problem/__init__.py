"""The description of an optimal control problem: states, controls, costs, constraints, horizon,
parameters, sizes per interval (`interval_sizes.py`), the time grid and integrators, and initial guesses.
Nothing here knows about NLPs or solvers (docs/architecture.md)."""
