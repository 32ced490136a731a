"""CSV time series and JSON summaries."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np


def _clean(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.ndarray):
        return [_clean(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def write_json(path, data: dict) -> None:
    """Write `data` as indented JSON (numpy scalars converted, NaN → null), atomically."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


class CSVWriter:
    """Append rows (dicts) to a CSV file; the header is fixed by the first row.

    On resume (`keep_until_step`), rows with step > keep_until_step are dropped
    first so that a resumed run continues the file without duplicates.
    """

    def __init__(self, path, keep_until_step: int | None = None):
        self.path = Path(path)
        self.columns = None
        if keep_until_step is not None and self.path.exists():
            with self.path.open(newline="") as f:
                rows = list(csv.DictReader(f))
            if rows:
                self.columns = list(rows[0].keys())
            with self.path.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=self.columns or [])
                if self.columns:
                    w.writeheader()
                    for r in rows:
                        if int(r["step"]) <= keep_until_step:
                            w.writerow(r)
        elif self.path.exists():
            self.path.unlink()

    def write(self, row: dict) -> None:
        new = self.columns is None
        if new:
            self.columns = list(row.keys())
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow({k: (repr(float(v)) if isinstance(v, (float, np.floating)) else v)
                        for k, v in row.items()})


def read_csv(path) -> dict[str, np.ndarray]:
    """Read a dempack CSV into {column: array} (numeric where possible)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    if not rows:
        return out
    for k in rows[0]:
        col = [r[k] for r in rows]
        try:
            out[k] = np.array([float(c) for c in col])
        except ValueError:
            out[k] = np.array(col)
    return out
