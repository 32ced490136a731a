"""Long runs stay flat (issue 18.5, DESIGN §10 "Memory"): with an output folder the
observables rows and the half-cycle rows live in timeseries.csv and cycles.csv, not in
memory or in the checkpoint; the API reads them back.

The independent expectation is the same run without a folder, which keeps every row in
memory: same seed and one thread give the same run bit for bit (tests/test_determinism.py),
so the rows read back from the files must equal the in-memory rows exactly (floats are
written as repr, which reads back to the same double).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import dempack
from dempack.io import CSVWriter, RowLog, load_checkpoint
from dempack.io.tables import format_cell, parse_cell
from dempack.scenario import Scenario
from _build import scenario

pytestmark = pytest.mark.portability


def _cycling(cycles: int) -> Scenario:
    sc = scenario(("Se", "Mo6Se8"), particles=60,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 2.0, "hold_steps": 200}],
                  run={"output_interval_steps": 250, "max_overlap_ratio": 0.6,
                       "snapshot_every_outputs": 0, "checkpoint_every_outputs": 1,
                       "threads": 1})
    d = sc.to_dict()
    d["cycling"] = {"cycles": cycles, "c_rate": 1.0, "steps_per_half_cycle": 1000,
                    "volume_update_interval": 5}
    d["stack"] = {"mode": "servo", "pressure_MPa": 50, "speed_m_per_s": 2.0}
    return Scenario(d, "test")


def _same(a, b) -> bool:
    """Equal values, NaN (in memory) and None (an empty CSV field) both 'no value'."""
    na = a is None or (isinstance(a, float) and math.isnan(a))
    nb = b is None or (isinstance(b, float) and math.isnan(b))
    return (na and nb) or (type(a) is type(b) and a == b)


def _rows_equal(mem: list[dict], back: list[dict]) -> None:
    assert len(mem) == len(back)
    for r, s in zip(mem, back):
        for k in set(r) | set(s):
            assert _same(r.get(k), s.get(k)), (r.get("step"), k, r.get(k), s.get(k))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same two-cycle run without and with an output folder, and the folder's
    checkpoints' metadata at the end of each half-cycle."""
    out = tmp_path_factory.mktemp("streamed")
    mem = dempack.run(_cycling(2))
    sc = _cycling(2)
    metas = {}

    def grab(sim, row):  # after the writers (checkpoint every row): this row's checkpoint
        metas[(row["cycle"], row["half"])] = load_checkpoint(out / "checkpoint.npz")[1]

    from dempack.runner import OutputWriters, _finish
    from dempack.simulation import Simulation
    sc.save(out / "scenario.toml")
    sim = Simulation(sc, out_dir=out)
    writers = OutputWriters(sim, out)
    sim.half_cycle_observers.append(lambda s, row: writers.write_checkpoint(s))
    sim.half_cycle_observers.append(grab)
    disk = _finish(sim, writers, out, False)
    return mem, disk, metas


def test_with_a_folder_only_the_last_row_is_in_memory(runs):
    mem, disk, _ = runs
    assert not mem.sim.history.streamed and not mem.sim.cycle_rows.streamed
    h = disk.sim.history
    assert h.streamed and disk.sim.cycle_rows.streamed
    assert h._rows is None and len(h) == len(mem.sim.history) > 20
    assert h[-1] is h._last  # the one row held: what the loop and the summary read
    assert len(disk.sim.cycle_rows) == 4


def test_rows_read_back_from_the_files_equal_the_in_memory_run(runs):
    mem, disk, _ = runs
    _rows_equal(list(mem.sim.history), disk.table())
    _rows_equal(list(mem.sim.cycle_rows), disk.sim.cycle_rows.rows())
    assert list(disk.timeseries) == list(mem.timeseries)
    for k, v in mem.timeseries.items():
        if v.dtype.kind == "f":
            np.testing.assert_array_equal(disk.timeseries[k], v, err_msg=k)
        else:
            assert [str(x) for x in disk.timeseries[k]] == [str(x) for x in v], k
    assert json.loads(json.dumps(disk.summary["final"], default=str)) is not None
    _rows_equal(mem.summary["cycles"], disk.summary["cycles"])
    saved = json.loads((disk.out_dir / "summary.json").read_text())
    assert [r["step"] for r in saved["cycles"]] == [r["step"] for r in mem.summary["cycles"]]


def test_checkpoints_do_not_grow_with_the_cycles(runs):
    """The checkpoint holds the state, not the tables: its metadata at the end of the
    fourth half-cycle is no larger than at the end of the first by as much as one
    cycles.csv row (it would carry three more if the rows were in it)."""
    mem, _, metas = runs
    first = len(json.dumps(metas[(1, "discharge")]))
    last = len(json.dumps(metas[(2, "charge")]))
    one_row = min(len(json.dumps({k: format_cell(v) for k, v in r.items()}))
                  for r in mem.sim.cycle_rows)
    assert "cycle_rows" not in metas[(2, "charge")]
    assert last - first < one_row, (first, last, one_row)


@pytest.mark.parametrize("value", [0, -7, 12345678901234, 0.1, -2.5e-300, 1e16, 3.0,
                                   math.inf, -math.inf, 5e-324, True, False,
                                   "cycle 1 discharge", "Se-Mo6Se8"])
def test_a_field_reads_back_as_the_value_written(value):
    back = parse_cell(format_cell(value))
    assert type(back) is type(value) and back == value


def test_no_value_reads_back_as_none():
    assert parse_cell(format_cell(math.nan)) is None
    assert parse_cell(format_cell(None)) is None


def test_a_streamed_log_counts_a_row_not_yet_written(tmp_path):
    """The Simulation appends a row before its writer (an observer) writes it; a row of
    a run stopped in between (divergence) is read from memory."""
    w = CSVWriter(tmp_path / "t.csv")
    log = RowLog(w)
    for s in range(3):
        log.append({"step": s, "x": s * 0.5})
        w.write({"step": s, "x": s * 0.5})
    log.append({"step": 3, "x": math.nan})
    assert len(log) == 4 and [r["step"] for r in log] == [0, 1, 2, 3]
    assert log[1] == {"step": 1, "x": 0.5} and log[-1]["step"] == 3
    # resumed at step 1: the file keeps its rows up to there and the log continues
    again = RowLog(CSVWriter(tmp_path / "t.csv", keep_until_step=1))
    assert len(again) == 2 and again[-1] == {"step": 1, "x": 0.5}
    assert [r["step"] for r in again.rows()] == [0, 1]
