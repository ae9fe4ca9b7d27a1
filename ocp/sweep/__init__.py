"""Sweeps over T, lambda or any config field: build once, warm-started chains, workers, resume.

    ocp sweep configs/sweep_T_l2.yaml --out results/sweep_T_l2 --workers 2
    ocp report results/sweep_T_l2

`grid.py` reads the grid, `config.py` the sweep config, `runner.py` runs the
chains on an executor (`ocp/executors.py`) with points solved by `worker.py`,
and `store.py` writes the directory.
"""

from ocp.sweep.config import SweepConfig, load_sweep
from ocp.sweep.grid import Grid, Point, parse_grid
from ocp.sweep.runner import SweepResult, report, run_sweep
from ocp.sweep.store import SweepStore

__all__ = [
    "Grid",
    "Point",
    "SweepConfig",
    "SweepResult",
    "SweepStore",
    "load_sweep",
    "parse_grid",
    "report",
    "run_sweep",
]
