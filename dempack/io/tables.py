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

Reading rows back (`RowLog`, `parse_cell`): a field reads back as the value written —
digits as an int, `True`/`False` as a bool, any other number as the float it was
(`repr` round-trips), other text as text, and an empty field as None (no value).

JSON: `write_json` writes strict JSON (NaN and ±inf become null), atomically.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
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
        self.rows = 0  # data rows in the file
        self.last_record: list[str] | None = None  # the fields of the last one (resume)
        if keep_until_step is not None and self.path.exists():
            header, records = _read_records(self.path)
            if header is None:
                self.path.unlink()
                return
            i = header.index("step")
            kept = [r for r in records if int(float(r[i])) <= keep_until_step]
            self._set_columns(header)
            atomic_write(self.path, _format([header] + kept))
            self.rows = len(kept)
            self.last_record = kept[-1] if kept else None
        elif self.path.exists():
            self.path.unlink()

    def write(self, row: dict) -> None:
        self.rows += 1
        if self.columns is None:
            self._set_columns(list(row))
            atomic_write(self.path, _format([self.columns, self._record(row)]))
            return
        new = [k for k in row if k not in self._known]
        if new:
            self._widen(new, row.get("step"))
        with self.path.open("a", encoding="utf-8", newline="") as f:
            f.write(_format([self._record(row)]))

    def read_rows(self) -> list[dict]:
        """The file's rows, read back (`parse_cell`): every column in each row."""
        if self.rows == 0 or not self.path.exists():
            return []
        header, records = _read_records(self.path)
        return [_parse_record(header, r) for r in records]

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


_INT = re.compile(r"[+-]?[0-9]+")


def parse_cell(text: str):
    """One CSV field read back as the value `format_cell` wrote: "" → None (no value),
    digits → int, True/False → bool, a number → float (exact: floats are written as
    repr, which always holds '.', 'e', 'inf' or 'nan'), anything else → str."""
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text)
    except ValueError:
        return text


def _parse_record(header: list[str], record: list[str]) -> dict:
    return {k: parse_cell(record[j] if j < len(record) else "") for j, k in enumerate(header)}


class RowLog:
    """The rows of a table (the observables of timeseries.csv, the half-cycle rows of
    cycles.csv) as a Simulation records them: `append(row)`, `len`, iteration,
    indexing (`log[-1]` is the last row).

    - In memory (`RowLog()`): a list of the rows; used where no file holds them (a run
      without an output folder).
    - Streamed (`RowLog(writer)`, a `CSVWriter`): the file is the table. Only the last
      row is held in memory (what the loop, the progress bar and the summary's final
      row need), so memory stays flat however long the run; reading any other row
      (iteration, `rows()`, indexing) reads the file back (`parse_cell`: the values
      written, an empty field as None). The writer writes each row after the
      Simulation appends it (an observer, which may add columns to the row first); a
      row appended but not yet written (the row of a run stopped for divergence) is
      read from memory. On resume the writer keeps the file's rows up to the
      checkpoint's step and the log continues after them.
    """

    def __init__(self, writer: "CSVWriter | None" = None):
        self.writer = writer
        self._rows: list[dict] | None = [] if writer is None else None
        self._last: dict | None = None
        self._count = 0
        if writer is not None:
            self._count = writer.rows
            if writer.last_record is not None:
                self._last = _parse_record(writer.columns, writer.last_record)

    @property
    def streamed(self) -> bool:
        return self.writer is not None

    def append(self, row: dict) -> None:
        if self._rows is not None:
            self._rows.append(row)
        else:
            self._last = row
            self._count += 1

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else self._count

    def __bool__(self) -> bool:
        return len(self) > 0

    def rows(self) -> list[dict]:
        """Every row, in order (a new list; streamed: read from the file)."""
        if self._rows is not None:
            return list(self._rows)
        rows = self.writer.read_rows()
        if len(rows) < self._count:  # the last row is not written (yet)
            rows.append(self._last)
        return rows

    def __iter__(self):
        return iter(self.rows())

    def __getitem__(self, i):
        if self._rows is not None:
            return self._rows[i]
        if isinstance(i, int) and i in (-1, self._count - 1) and self._count:
            return self._last
        return self.rows()[i]

    def __repr__(self) -> str:
        where = f"streamed to {self.writer.path}" if self.writer is not None else "in memory"
        return f"<RowLog: {len(self)} rows, {where}>"


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
