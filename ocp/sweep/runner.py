"""Running a sweep: chains of points, warm starts, workers, resume, records.

The runner drives every chain itself: it submits each chain's first unsolved
point, and when a point finishes it writes the point's record and submits
the chain's next point with that solution as the warm start. So the same
loop runs on every executor, a point's record is on disk as soon as it is
solved, and a re-run finds the last solution of an interrupted chain on disk
and warm-starts from it exactly as the uninterrupted run would have.

A point that fails (IPOPT, a non-finite objective, an exception) is recorded
with its status and message and the chain goes on from its last good
solution. A warm solve that runs longer than ``sweep.warm_limit`` times the
chain's last cold solve (`ocp.dispatch.time_limit`) is given up and the point
solved cold (`worker.py`). A point lost with a dead worker runs again alone,
and is recorded as failed only if its worker dies then (`ocp/dispatch.py`).
Points recorded as failed are final on a re-run unless ``retry_failed``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ocp.dispatch import Dispatch, time_limit
from ocp.errors import ConfigError
from ocp.executors import make_executor
from ocp.processes import interrupt_requested, sigint_flag
from ocp.progress import Progress
from ocp.run import registry
from ocp.run.memory import build_within_memory
from ocp.solvers.solution import Solution
from ocp.solvers.status import Status
from ocp.sweep.config import SweepConfig, validate_point
from ocp.sweep.grid import Point
from ocp.sweep.store import SweepStore
from ocp.sweep.worker import Outcome, PointTask, solve_point

log = logging.getLogger("ocp.sweep")  # shown by the CLI as [sweep] (`ocp/logs.py`)


class SweepState(StrEnum):
    """Where a sweep stands (sweep.json's ``status``); each point's outcome is its solve's `Status`."""

    RUNNING = "running"  # written before the first point: a directory left so was interrupted or killed
    FINISHED = "finished"
    FAILURES = "finished_with_failures"  # every point done, some failed (exit 1; --retry-failed)


@dataclass
class SweepResult:
    records: dict[str, dict[str, Any]]
    solved_now: int
    failed: int
    summary: dict[str, Any]


def run_sweep(
    config: SweepConfig,
    out: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
) -> SweepResult:
    store = SweepStore(out)
    digest = config.digest()
    store.claim(digest, str(config.path))
    records = store.finished()
    if retry_failed:
        records = {k: r for k, r in records.items() if r.get("success")}
    todo = [p for p in config.points if p.id not in records]
    prepared = {p.id: _prepare(config, p) for p in todo}  # every data file read, every problem posed: no solve yet
    begin = time.perf_counter()
    store.write_summary(_summary(config, digest, records, status=SweepState.RUNNING))
    pool = make_executor(executor, workers, scheduler)
    progress = Progress(log, len(config.points), "points", already=len(config.points) - len(todo))
    sweep = _Chains(config, store, records, prepared, pool, progress)
    log.info(
        f"{len(config.points)} points in {len(sweep.chains)} chains ({len(records)} already done), on {pool.describe}"
    )
    # in this process (one local worker) a solve must stop on Ctrl-C by a flag: CasADi swallows the interrupt
    in_process = pool.workers == 1 and executor == "local"
    try:
        with sigint_flag() if in_process else contextlib.nullcontext():
            sweep.run()
    except BaseException:  # Ctrl-C (or a bug): the finished points are recorded; end the workers without waiting
        pool.abort()
        raise
    finally:
        pool.close()
    failed = sum(not r["success"] for r in records.values())
    summary = _summary(config, digest, records, status=SweepState.FINISHED if failed == 0 else SweepState.FAILURES)
    this_run = {"points_solved": sweep.solved_now, "wall_s": time.perf_counter() - begin, "run_id": sweep.run_id}
    summary["this_run"] = this_run
    summary["fits"] = report(config, store, records)
    store.write_summary(summary)
    return SweepResult(records, sweep.solved_now, failed, summary)


class _Chains:
    """The sweep's chains in flight: each chain's next unfinished point is handed to the executor, warm-started
    from the chain's last good solution, and recorded (atomically, with the CSV) as it comes back."""

    def __init__(self, config: SweepConfig, store: SweepStore, records, prepared, pool, progress) -> None:
        self.config, self.store, self.records, self.prepared = config, store, records, prepared
        self.pool, self.progress = pool, progress
        self.chains: dict[int, list[Point]] = {}
        for point in sorted(config.points, key=lambda p: (p.chain, p.position)):
            self.chains.setdefault(point.chain, []).append(point)
        self.points = {point.id: point for point in config.points}
        # keyed by point id; `solve_point` returns every failure of a point's own, so an error is a lost worker
        self.jobs = Dispatch(pool, solve_point, on_lost=_say_lost, losses=(Exception,))
        self.solved_now = 0
        self.run_id = f"{socket.gethostname()}-{os.getpid()}-{int(time.time())}"

    def run(self) -> None:
        self.hand_out()
        while self.jobs.handed:
            if interrupt_requested():  # Ctrl-C between two in-process solves
                raise KeyboardInterrupt
            for handed, outcome, err in self.jobs.collect(timeout=None):
                self.collect(self.points[handed.key], outcome, err)
            self.hand_out()

    def hand_out(self) -> None:
        """Each chain's next point, unless a point lost with a dead worker waits to run alone (`ocp.dispatch`)."""
        if self.jobs.run_suspect_alone():
            return
        for chain in self.chains.values():
            self.submit_next(chain)

    def submit_next(self, chain: list[Point]) -> None:
        """The chain's first unfinished point, warm-started from its last good solution before it."""
        warm_from, cold_wall = None, None
        for point in chain:
            if point.id in self.records:
                if self.config.grid.warm_start and self.records[point.id].get("success"):
                    warm_from = point
                if not self.records[point.id].get("warm_start"):
                    cold_wall = self.records[point.id].get("wall_s")
                continue
            if point.id in self.jobs.running():
                return
            solution = self.store.solution(warm_from.id) if warm_from is not None else None
            limit = float("inf") if cold_wall is None else time_limit(self.config.grid.warm_limit, cold_wall)
            task = PointTask(point.id, self.config.point_config(point), solution, self.pool.workers > 1, limit)
            self.jobs.submit(point.id, task)
            return

    def collect(self, point: Point, outcome: Outcome | None, err: Exception | None) -> None:
        """A point back from its worker: recorded, and its chain goes on. A point lost with a dead worker
        comes back here only when it died alone (`ocp.dispatch`): then it is recorded as failed."""
        if err is not None:
            log.warning(
                f"{point.id}: its worker died again while it ran alone ({type(err).__name__}): recorded as failed"
            )
            outcome = Outcome(point.id, None, Status.WORKER_DIED, f"{type(err).__name__}: {err}", False, False, 0.0)
        record = _record(point, outcome, self.run_id)
        self.store.record(point.id, record, outcome.solution, outcome.log, outcome.files)
        self.records[point.id] = record
        self.solved_now += 1
        self.store.write_csv(list(self.records.values()), list(point.values))
        chain_left = max(sum(p.id not in self.records for p in chain) for chain in self.chains.values())
        wall = float(record.get("wall_s") or 0.0)
        # a chain's points run one after another: the time left is the mean point's x the larger of the
        # points left per worker and the longest chain left
        left = max((len(self.points) - len(self.records)) / max(1, self.pool.workers), chain_left)
        self.progress.finished(_line(point, record), failed=not record["success"], wall_s=wall, left=left)


def _say_lost(job, err: Exception) -> None:
    log.warning(f"{job.key}: its worker died ({type(err).__name__}); solving it again in a fresh worker, alone")


def report(config: SweepConfig, store: SweepStore, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The problem type's sweep-level fits and figures (its optional ``sweep_report``)."""
    hook = getattr(registry.get(config.problem), "sweep_report", None)
    if hook is None or not records:
        return {}
    good = [r for r in records.values() if r.get("success")]
    try:
        return hook(good, list(config.grid.axes) + list(config.grid.rules), store.dir)
    except Exception as err:  # plots and fits never cost the solved points
        return {"error": f"{type(err).__name__}: {err}"}


def _prepare(config: SweepConfig, point: Point) -> Any:
    """A point's run settings, after its problem was built once here (reads its data files)."""
    run, settings, ptype = validate_point(config, point)
    try:
        build_within_memory(ptype, settings, run)
    except ConfigError as err:
        raise ConfigError(f"sweep point {point.id} ({point.label()}): {err}") from None
    return run


def _record(point: Point, outcome: Outcome, run_id: str) -> dict[str, Any]:
    solution: Solution | None = outcome.solution
    record: dict[str, Any] = {
        "point": point.id,
        **point.values,
        "chain": point.chain,
        "position": point.position,
        "status": outcome.status,
        "success": bool(solution is not None and solution.success and outcome.status == solution.status),
        "message": outcome.message,
        "warm_start": outcome.warm,
        "built": outcome.built,
        "wall_s": outcome.wall_s,
        "run_id": run_id,
        **outcome.extra,
    }
    if solution is None:
        return record
    scalars = solution.scalars()  # the point's own status, message and success (above) win over the solve's
    record |= {k: v for k, v in scalars.items() if k not in ("status", "message", "success", "costs")}
    record |= scalars["costs"]
    return record | {k: v for k, v in outcome.report.items() if k not in record}


def _line(point: Point, record: dict[str, Any]) -> str:
    head = f"{point.id} ({point.label()}): {record['status']}"
    if "objective" not in record:
        return f"{head}: {record['message']}"
    start = "warm" if record["warm_start"] else "cold"
    return (
        f"{head}, objective {record['objective']:.6g}, {record['iterations']} its ({start}), {record['wall_s']:.1f} s"
    )


def _summary(
    config: SweepConfig, digest: str, records: dict[str, dict[str, Any]], status: SweepState
) -> dict[str, Any]:
    done = list(records.values())
    return {
        "config": str(config.path),
        "digest": digest,
        "problem": config.problem,
        "status": status,
        "grid": config.describe(),
        "base": config.base,
        "points": len(config.points),
        "finished": len(done),
        "failed": sum(not r["success"] for r in done),
        "builds": sum(bool(r.get("built")) for r in done),
        "iterations": sum(int(r.get("iterations") or 0) for r in done),  # the solvers': IPOPT's or gradient steps
        "first_order_iterations": sum(int(r.get("first_order_iterations") or 0) for r in done),
        "solve_time_s": sum(float(r.get("solve_time_s") or 0.0) for r in done),
        "warm_started": sum(bool(r.get("warm_start")) for r in done),
    }
