"""The results table: one Parquet file per finished run under ``<out>/runs/``, each written atomically.

Why a file per row: a Parquet file cannot be appended to, and a file half-written when the sweep is killed must not
take the earlier rows with it. Each row is written under a temporary name and renamed into place (atomic on one
filesystem), so the table holds exactly the runs that finished, and a resumed sweep skips their ids. Only the
driver writes (workers return rows), so there is never a second writer. ``pandas.read_parquet`` also reads the
folder; :meth:`ResultsTable.load` reads file by file because columns differ between runs (parameters keep their
own types, a failed run has no metric columns).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mm_strategy.research.runner import STATUS_ERROR

RUNS_DIR = "runs"
SUFFIX = ".parquet"


class ResultsTable:
    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / RUNS_DIR
        self.path.mkdir(parents=True, exist_ok=True)

    def append(self, row: dict) -> None:
        """Write one run's row; a row for the same run id (a retried failure) replaces the old one."""
        final = self.path / f"{row['run_id']}{SUFFIX}"
        partial = self.path / f".{row['run_id']}{SUFFIX}.partial"
        pq.write_table(pa.Table.from_pylist([row]), partial)
        os.replace(partial, final)

    def finished_ids(self, include_failed: bool = True) -> set[str]:
        """Ids of the runs with a row; without ``include_failed``, only those that succeeded."""
        rows = self.records(["status"])
        return {run_id for run_id, row in rows.items() if include_failed or row["status"] != STATUS_ERROR}

    def records(self, columns: list[str]) -> dict[str, dict[str, object]]:
        """``{run_id: {column: value}}`` for every row, reading only ``columns`` (a column a row lacks is left out
        of its dict: rows written before a column existed)."""
        rows = {}
        for file in self._files():
            names = set(pq.read_schema(file).names)
            table = pq.read_table(file, columns=[c for c in columns if c in names])
            rows[file.name.removesuffix(SUFFIX)] = {c: table[c][0].as_py() for c in table.column_names}
        return rows

    def load(self, run_ids: set[str] | None = None) -> pd.DataFrame:
        """The rows (all, or those of ``run_ids``: the current plan's) as one frame, in no particular order."""
        files = [f for f in self._files() if run_ids is None or f.name.removesuffix(SUFFIX) in run_ids]
        frames = [pq.read_table(f).to_pandas() for f in files]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _files(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
