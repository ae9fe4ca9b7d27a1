"""Where a solve starts and how many solves run: start strategies (`strategies.py`), the multi-start and
global search (`multistart.py`), its plan of start tasks and hops (`plan.py`) and the estimate of the
minima not yet seen (`basins.py`) (docs/architecture.md)."""
