"""Output files: the CSV convention (empty field = no value, floats exact), no column
dropped, atomic whole-file writes, and a row cut by a kill dropped on resume."""
from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import dempack
from dempack.io import atomic as atomic_mod
from dempack.io import write_json, write_vtp
from dempack.io.tables import CSVWriter, read_csv, write_table
from dempack.io.vtk import PVDCollection
from dempack.runner import OutputWriters, _columns
from dempack.simulation import Observer, Simulation


def _rows():
    """Rows as a run makes them: a column 'late:X' appears at step 2 (a material that
    exists only after fracture), a text column, NaN, inf and awkward floats."""
    rng = np.random.default_rng(0)
    rows = []
    for step in range(6):
        r = {"step": step, "time_s": step * 3.5713867914657065e-10 + 1e-300 * step,
             "stage": "press 5 MPa, then hold" if step < 4 else "done",
             "porosity": float(rng.random()), "tortuosity": math.nan if step % 2 else 1.0 / 3.0}
        if step >= 2:
            r["late:X"] = float(rng.normal()) * 10.0 ** int(rng.integers(-300, 300))
        if step >= 4:
            r["inf_col"] = math.inf if step == 4 else -math.inf
        rows.append(r)
    return rows


def _write(path, rows, keep=None):
    w = CSVWriter(path, keep_until_step=keep)
    for r in rows:
        w.write(r)
    return w


def test_a_column_that_appears_later_is_written_not_dropped(tmp_path):
    rows = _rows()
    _write(tmp_path / "t.csv", rows)
    t = read_csv(tmp_path / "t.csv")
    assert list(t) == ["step", "time_s", "stage", "porosity", "tortuosity", "late:X", "inf_col"]
    # earlier rows have no value (NaN) in the late columns; later rows have theirs, exactly
    assert np.all(np.isnan(t["late:X"][:2]))
    assert [float(x) for x in t["late:X"][2:]] == [r["late:X"] for r in rows[2:]]
    assert np.all(np.isnan(t["inf_col"][:4]))
    assert list(t["inf_col"][4:]) == [math.inf, -math.inf]


def test_csv_convention_empty_field_is_no_value_and_floats_are_exact(tmp_path):
    rows = _rows()
    _write(tmp_path / "t.csv", rows)
    text = (tmp_path / "t.csv").read_bytes().decode()
    lines = text.split("\r\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2      # header + rows, CRLF each
    assert lines[0] == "step,time_s,stage,porosity,tortuosity,late:X,inf_col"
    # step 1: NaN tortuosity and the two columns it does not have are empty fields;
    # floats are repr, text with a comma is quoted
    r = rows[1]
    assert lines[2] == f'1,{r["time_s"]!r},"press 5 MPa, then hold",{r["porosity"]!r},,,'
    r = rows[4]
    assert lines[5] == f'4,{r["time_s"]!r},done,{r["porosity"]!r},{1 / 3!r},{r["late:X"]!r},inf'
    assert "nan" not in text.lower()
    t = read_csv(tmp_path / "t.csv")
    for i, r in enumerate(rows):
        for k in ("time_s", "porosity", "tortuosity"):
            v = t[k][i]
            assert (math.isnan(v) and math.isnan(r[k])) or v == r[k], (i, k)   # bit-exact
    assert list(t["stage"]) == [r["stage"] for r in rows]                      # comma quoted


def test_write_table_uses_the_same_convention(tmp_path):
    rows = _rows()
    write_table(tmp_path / "w.csv", rows)
    _write(tmp_path / "c.csv", rows)
    assert (tmp_path / "w.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()


def test_a_row_cut_by_a_kill_is_ignored_and_dropped_on_resume(tmp_path):
    rows = _rows()
    _write(tmp_path / "full.csv", rows)
    full = (tmp_path / "full.csv").read_bytes()
    for k in range(1, len(rows) - 1):
        # what a kill leaves: the file as it was after row k, plus part of row k+1's line
        p = tmp_path / f"cut{k}.csv"
        _write(p, rows[:k + 1])
        whole = p.read_bytes()
        nxt = full.split(b"\r\n")[k + 2]
        for cut in (1, len(nxt) // 2, len(nxt), len(nxt) + 1):   # +1: CR written, LF not
            p.write_bytes(whole + (nxt + b"\r")[:cut])
            t = read_csv(p)
            assert len(t["step"]) == k + 1, (k, cut)
            # resume from the checkpoint at step k-1 (the kill came after row k): the rows
            # after it are dropped, the cut line too, and the file continues exactly
            w = CSVWriter(p, keep_until_step=k - 1)
            assert read_csv(p)["step"].tolist() == list(range(k))
            for r in rows[k:]:
                w.write(r)
            assert p.read_bytes() == full, (k, cut)


def test_resume_from_every_step_reproduces_the_widened_file(tmp_path):
    """Kill after any row, resume from any earlier checkpoint: byte-identical file,
    whether the widening happened before or after the checkpoint."""
    rows = _rows()
    _write(tmp_path / "full.csv", rows)
    full = (tmp_path / "full.csv").read_bytes()
    p = tmp_path / "r.csv"
    for killed_after in range(len(rows)):
        for ck in range(killed_after + 1):
            _write(p, rows[:killed_after + 1])
            w = CSVWriter(p, keep_until_step=ck)
            for r in rows[ck + 1:]:
                w.write(r)
            assert p.read_bytes() == full, (killed_after, ck)


def test_a_new_observable_mid_run_reaches_the_csv_and_the_api(tmp_path, quickstart, tiny_overrides):
    """End to end: an observable that first appears at step 400 (as a material's columns
    after fracture would) is in timeseries.csv and in Result.timeseries, NaN before."""
    sc = dempack.load_scenario(quickstart, {**tiny_overrides, "run.max_steps": 1000})
    sim = Simulation(sc, out_dir=tmp_path)

    def late(sim, row):
        if sim.step_count >= 400:
            row["late_observable"] = sim.step_count * 0.1

    sim.observers.append(Observer(late, 1))      # runs before the writers' observers
    writers = OutputWriters(sim, tmp_path)
    sim.run()
    writers.finish()
    t = read_csv(tmp_path / "timeseries.csv")
    assert t["step"].tolist() == [0, 200, 400, 600, 800, 1000]
    expected = [math.nan, math.nan, 40.0, 60.0, 80.0, 100.0]
    np.testing.assert_array_equal(t["late_observable"], expected)
    np.testing.assert_array_equal(_columns(sim.history)["late_observable"], expected)
    # the other columns are untouched by the widening: the same as the in-memory rows
    np.testing.assert_array_equal(t["porosity"], [r["porosity"] for r in sim.history])


# ------------------------------------------------------------------------- atomic writes


class Killed(BaseException):
    """Stands for SIGKILL between writing the temporary file and renaming it."""


def _kill_at_rename(monkeypatch):
    def die(src, dst):
        raise Killed
    monkeypatch.setattr(atomic_mod.os, "replace", die)


def _writers(tmp_path):
    """(name, write-old, write-new) for each whole-file output."""
    sc = dempack.load_scenario(dempack.scenario.DEFAULT_SCENARIO)
    sc2 = dempack.load_scenario(dempack.scenario.DEFAULT_SCENARIO, {"run.seed": 7})
    pts = np.random.default_rng(1).random((5, 3))
    pvd = tmp_path / "particles.pvd"
    return [
        ("summary.json", lambda p: write_json(p, {"a": 1.0}), lambda p: write_json(p, {"a": 2.0})),
        ("scenario.toml", sc.save, sc2.save),
        ("particles.pvd", lambda p: PVDCollection(pvd, [(0.0, "a.vtp")]).write(),
         lambda p: PVDCollection(pvd, [(0.0, "a.vtp"), (1.0, "b.vtp")]).write()),
        ("s.vtp", lambda p: write_vtp(p, pts, {"r": np.ones(5)}),
         lambda p: write_vtp(p, pts[:3], {"r": np.ones(3)})),
        ("sweep.csv", lambda p: write_table(p, [{"a": 1.0}]), lambda p: write_table(p, [{"a": 2.0}])),
        ("cycles.csv", lambda p: _write(p, [{"step": 0, "a": 1.0}]),
         lambda p: CSVWriter(p, keep_until_step=0).write({"step": 1, "a": 1.0, "b": 2.0})),
    ]


def test_a_kill_before_the_rename_leaves_the_previous_complete_file(tmp_path, monkeypatch):
    for name, old, new in _writers(tmp_path):
        p = tmp_path / name
        old(p)
        before = p.read_bytes()
        with monkeypatch.context() as m:
            _kill_at_rename(m)
            with pytest.raises(Killed):
                new(p)
        assert p.read_bytes() == before, name
        assert not atomic_mod.temporary_path(p).exists(), name
        new(p)                                   # not killed: the new content arrives whole
        assert p.read_bytes() != before, name
    ET.parse(tmp_path / "particles.pvd")


def test_the_temporary_file_is_complete_before_the_rename(tmp_path, monkeypatch):
    """At the rename, the temporary file in the same folder already holds the whole
    new content: the rename is the only moment the target changes."""
    seen = {}
    real = os.replace

    def spy(src, dst):
        seen[os.path.basename(dst)] = (os.path.dirname(src), open(src, "rb").read())
        real(src, dst)

    monkeypatch.setattr(atomic_mod.os, "replace", spy)
    for name, _, new in _writers(tmp_path):
        new(tmp_path / name)
        folder, content = seen[name]
        assert folder == str(tmp_path), name
        # (a CSV row is then appended to the renamed file, as one line)
        assert (tmp_path / name).read_bytes().startswith(content), name
