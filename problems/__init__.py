"""Learning problems posed as optimal control problems on top of `ocp` (see SCIENCE.md)."""
