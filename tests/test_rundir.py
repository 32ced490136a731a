"""A run folder read back (dempack.io.rundir) and continued (dempack.restart): what the
app's replay and its "Resume run" rest on. No Qt here."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import dempack
from dempack.drive import drive
from dempack.io.rundir import RunFolder, is_run_folder, read_vtp, run_cases
from dempack.io.tables import read_csv
from dempack.restart import restart

from _rundirs import STOP_AT, cycling_scenario, stopped_run, vtp_points


@pytest.fixture(scope="module")
def cycling_run(tmp_path_factory, tiny_overrides):
    return dempack.run(cycling_scenario(tiny_overrides),
                       out_dir=tmp_path_factory.mktemp("rundir") / "run")


def test_run_folder_reads_what_the_run_wrote(cycling_run):
    res = cycling_run
    rf = RunFolder(res.out_dir)
    assert rf.completed and rf.has_checkpoint and rf.materials == ["Se", "Mo6Se8"]
    # the snapshots are particles.pvd's entries, in order, with their steps
    root = ET.parse(res.out_dir / "particles.pvd").getroot()
    entries = [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]
    assert len(rf.snapshots) == len(entries) > 10
    for s, (t, f) in zip(rf.snapshots, entries):
        assert s.time_s == t and s.path == rf.path / f
        assert s.step == int(f.split("_")[-1].split(".")[0])
    # a snapshot holds the positions and arrays written; the last one is the final state
    ps = res.sim.particles
    x, arrays = read_vtp(rf.snapshots[-1].path)
    assert rf.snapshots[-1].step == res.sim.step_count
    np.testing.assert_array_equal(x, ps.x[ps.alive])
    np.testing.assert_array_equal(arrays["radius"], ps.R[ps.alive])
    p, r = vtp_points(rf.snapshots[3].path)
    x3, a3 = rf.read_snapshot(3)
    np.testing.assert_array_equal(x3, p)
    np.testing.assert_array_equal(a3["radius"], r)
    # the tables: every row and column of the CSV files
    rows = rf.rows()
    cols = read_csv(res.out_dir / "timeseries.csv")
    assert [r["step"] for r in rows] == [int(s) for s in cols["step"]]
    np.testing.assert_array_equal([r["porosity"] for r in rows], cols["porosity"])
    assert [r["stage"] for r in rows] == list(cols["stage"])
    assert rf.rows(with_cycle_x=False)[0].keys() == cols.keys()
    assert len(rf.cycle_rows()) == 2 == len(read_csv(res.out_dir / "cycles.csv")["step"])
    assert rf.summary == json.loads((res.out_dir / "summary.json").read_text())
    # die at a snapshot: the summary's width, the punch at that step
    w, _, z_top, periodic = rf.die(rf.snapshots[-1].step)
    assert w == res.sim.box.L[0] and z_top == pytest.approx(res.sim.box.z_top) and not periodic


def test_cycles_elapsed_run_from_0_to_the_cycle_count(cycling_run):
    rf = RunFolder(cycling_run.out_dir)
    rows = rf.rows()
    x = np.array([r["cycle_x"] for r in rows])
    cycling = np.array([r["stage"].startswith("cycle") for r in rows])
    assert np.all(np.diff(x) >= 0)
    assert np.all(x[:np.argmax(cycling)] == 0)            # pressing: before the first cycle
    ends = {r["step"]: r for r in rf.cycle_rows()}
    for r in rows:
        if r["step"] in ends:                               # half-cycle ends at 0.5 and 1
            assert r["cycle_x"] == pytest.approx(0.5 if ends[r["step"]]["half"] == "discharge"
                                                 else 1.0)
    assert x[-1] == pytest.approx(1.0)


def test_not_a_run_folder(tmp_path, cycling_run):
    with pytest.raises(FileNotFoundError):
        RunFolder(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a run folder"):
        RunFolder(tmp_path)
    sweep = tmp_path / "sweep"                       # a sweep folder: one run folder per case
    shutil.copytree(cycling_run.out_dir, sweep / "case_b")
    shutil.copytree(cycling_run.out_dir, sweep / "case_a")
    assert not is_run_folder(sweep) and is_run_folder(sweep / "case_a")
    assert run_cases(sweep) == [sweep / "case_a", sweep / "case_b"]
    with pytest.raises(ValueError, match="2 run folders"):
        RunFolder(sweep)


def test_restart_then_drive_is_dempack_resume(tmp_path, tiny_overrides, cycling_run):
    """The app's way to continue a stopped run (restart + the one driver) leaves the folder
    exactly as `dempack.resume` does, which is the uninterrupted run's folder."""
    a = stopped_run(tmp_path / "a", tiny_overrides)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    assert not RunFolder(a).completed and RunFolder(a).has_checkpoint
    ra = dempack.resume(a)
    sim, writers = restart(b)
    assert sim.step_count == STOP_AT
    assert [r["step"] for r in sim.history] == [r["step"] for r in ra.sim.history][:len(sim.history)]
    assert "cycle_x" not in sim.history[0]
    drive(sim, writers)
    assert sim.done and sim.step_count == ra.sim.step_count
    for name in ("timeseries.csv", "cycles.csv", "particles.pvd"):
        assert (a / name).read_text() == (b / name).read_text(), name
        assert (a / name).read_text() == (cycling_run.out_dir / name).read_text(), name
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert sa["final"] == sb["final"] and sa["cycles"] == sb["cycles"] and sb["completed"]
