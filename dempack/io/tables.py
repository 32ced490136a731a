"""CSV tables (timeseries.csv, cycles.csv, sweep.csv, the app's CSV export) and
JSON summaries.

CSV convention, the same for every CSV that dempack writes:
- RFC 4180: comma-separated, the header on the first line, one record per line
  ending in CRLF (the csv module's default), fields quoted only where needed.
- Numbers: floats as `repr` (the shortest text that reads back to the same
  double, so a value survives write → read exactly and a resumed run's file is
  byte-identical to an uninterrupted one); integers as digits; ±infinity as
  `inf` / `-inf`.
- **An empty field means "no value"**: the column did not exist yet when the row
  was written (a material that appears only after fracture, an observable added
  later), the row has no entry for it, or its value is undefined (NaN, e.g. a
  tortuosity where nothing percolates; None). `read_csv` reads it as NaN (as an
  empty string in a text column); pandas.read_csv and numpy.genfromtxt do too.
- Columns are never dropped: a row that brings a new column rewrites the file
  (atomically, `dempack.io.atomic`) with the new column appended to the header,
  and the earlier rows get an empty field there.
- Rows are appended as one complete line each (one write call). A last line
  without its line end is a row cut short by a kill: `read_csv` ignores it and
  a resumed `CSVWriter` removes it.

JSON: `write_json` writes strict JSON (NaN and ±inf become null), atomically.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path

import numpy as np

from .atomic import atomic_write

log = logging.getLogger(__name__)


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
    atomic_write(path, json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")


def format_cell(v) -> str:
    """One CSV field by the module's convention: float → repr, NaN/None → "" (no
    value), ±inf → inf/-inf, integers as digits, text with line breaks flattened
    (a record is always one line)."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return "" if math.isnan(v) else repr(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v).replace("\r", " ").replace("\n", " ")


def _format(records) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(records)
    return buf.getvalue()


def _read_records(path) -> tuple[list[str] | None, list[list[str]]]:
    """(header, records) of the complete lines of a CSV file; a last line without
    its line end (cut by a kill) is left out. (None, []) if no complete header."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        text = f.read()
    rows = list(csv.reader(io.StringIO(text[:text.rfind("\n") + 1])))
    if not rows:
        return None, []
    return rows[0], rows[1:]


def write_table(path, rows: list[dict]) -> None:
    """Write rows (dicts; columns in first-seen order, a row's missing ones empty)
    to a CSV file atomically."""
    cols: list[str] = []
    seen: set[str] = set()
    for r in rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                cols.append(k)
    atomic_write(path, _format([cols] + [[format_cell(r.get(k)) for k in cols] for r in rows]))


class CSVWriter:
    """Append rows (dicts) to a CSV file, one complete line per row; a row with a
    column not seen before widens the header (the file is rewritten atomically,
    earlier rows empty there), so no value is ever dropped.

    keep_until_step (resume): keep the existing file's complete rows with
    step ≤ keep_until_step and drop the rest (and a cut last line), so that a
    resumed run continues the file exactly as an uninterrupted run writes it.
    Without it an existing file is replaced.
    """

    def __init__(self, path, keep_until_step: int | None = None):
        self.path = Path(path)
        self.columns: list[str] | None = None
        self._known: set[str] = set()
        if keep_until_step is not None and self.path.exists():
            header, records = _read_records(self.path)
            if header is None:
                self.path.unlink()
                return
            i = header.index("step")
            kept = [r for r in records if int(float(r[i])) <= keep_until_step]
            self._set_columns(header)
            atomic_write(self.path, _format([header] + kept))
        elif self.path.exists():
            self.path.unlink()

    def write(self, row: dict) -> None:
        if self.columns is None:
            self._set_columns(list(row))
            atomic_write(self.path, _format([self.columns, self._record(row)]))
            return
        new = [k for k in row if k not in self._known]
        if new:
            self._widen(new, row.get("step"))
        with self.path.open("a", encoding="utf-8", newline="") as f:
            f.write(_format([self._record(row)]))

    def _set_columns(self, columns: list[str]) -> None:
        self.columns = list(columns)
        self._known = set(columns)

    def _record(self, row: dict) -> list[str]:
        return [format_cell(row.get(k)) for k in self.columns]

    def _widen(self, new: list[str], step) -> None:
        _, records = _read_records(self.path)
        self._set_columns(self.columns + new)
        n = len(self.columns)
        atomic_write(self.path, _format([self.columns] + [r + [""] * (n - len(r)) for r in records]))
        log.info("%s: new column%s %s from step %s on; the %d earlier row%s have no value "
                 "there (empty field)", self.path.name, "s" if len(new) > 1 else "",
                 ", ".join(new), step, len(records), "s" if len(records) != 1 else "")


def read_csv(path) -> dict[str, np.ndarray]:
    """Read a dempack CSV into {column: array}: float arrays where every non-empty
    field is a number (an empty field, "no value", is NaN), text arrays otherwise.
    A last line cut short (no line end) is ignored. {} if there are no rows."""
    header, records = _read_records(path)
    out = {}
    if not records:
        return out
    for j, k in enumerate(header):
        col = [r[j] if j < len(r) else "" for r in records]
        try:
            out[k] = np.array([float(c) if c != "" else math.nan for c in col])
        except ValueError:
            out[k] = np.array(col)
    return out
