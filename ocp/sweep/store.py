"""A sweep's directory: one record per finished point, written atomically, and the tables over them.

    DIR/sweep.json          grid, config digest, counts, timings, fits
    DIR/sweep.csv           one row per finished point
    DIR/points/pNNNN.json   a point's record (written last: its presence means "done")
    DIR/points/pNNNN/       solution.npz, the problem type's plots, solve.log

Every file is written to a temporary name and renamed, so a sweep killed at
any moment leaves only whole files. A directory holds one sweep: a config
with another digest is refused (`SweepStore.claim`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from ocp.errors import ConfigError
from ocp.files import to_json, write_atomic
from ocp.solvers.solution import Solution

CSV_FIRST = ("point", "status", "success", "objective", "loss", "regularization", "iterations", "solve_time_s")


class SweepStore:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.points_dir = self.dir / "points"

    def claim(self, digest: str, config_path: str) -> None:
        """Use this directory for the sweep with ``digest``; refuse one holding another sweep."""
        existing = self.read_summary()
        if existing is not None and existing.get("digest") != digest:
            raise ConfigError(
                f"{self.dir} holds the results of a different sweep config (digest {existing.get('digest')}, "
                f"from {existing.get('config')}; this one is {digest}): nothing was changed there. "
                f"Give another --out, or delete that directory to start over"
            )

    def read_summary(self) -> dict[str, Any] | None:
        path = self.dir / "sweep.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_atomic(self.dir / "sweep.json", to_json(summary))

    def finished(self) -> dict[str, dict[str, Any]]:
        """Records of the points already done, by point id."""
        if not self.points_dir.is_dir():
            return {}
        return {p.stem: json.loads(p.read_text()) for p in sorted(self.points_dir.glob("p*.json"))}

    def point_dir(self, point_id: str) -> Path:
        return self.points_dir / point_id

    def solution(self, point_id: str) -> Solution | None:
        path = self.point_dir(point_id) / "solution.npz"
        return Solution.load(path) if path.is_file() else None

    def record(
        self, point_id: str, record: dict[str, Any], solution: Solution | None, log: str, files: dict[str, bytes]
    ) -> None:
        """A finished point: its solution, figures and log first, the record last (it marks the point done)."""
        directory = self.point_dir(point_id)
        directory.mkdir(parents=True, exist_ok=True)
        if solution is not None:
            solution.save(directory / "solution.npz")
        for name, content in files.items():
            write_atomic(directory / name, content)
        write_atomic(directory / "solve.log", log)
        write_atomic(self.points_dir / f"{point_id}.json", to_json(record))

    def write_csv(self, records: list[dict[str, Any]], axes: list[str]) -> None:
        """sweep.csv: the swept fields, then the standard columns, then every other scalar of the records."""
        columns = list(axes) + [c for c in CSV_FIRST if c not in axes]
        for record in records:
            for key, value in record.items():
                if key not in columns and _scalar(value):
                    columns.append(key)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
        writer.writeheader()
        for record in sorted(records, key=lambda r: r["point"]):
            writer.writerow({k: _cell(record.get(k)) for k in columns})
        write_atomic(self.dir / "sweep.csv", buffer.getvalue())


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return "" if value is None else value
