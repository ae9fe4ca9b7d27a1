"""Learning problems posed as optimal control problems on top of `ocp` (see docs/science.md)."""
