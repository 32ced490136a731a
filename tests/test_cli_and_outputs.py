"""End to end with tiny runs (~60 particles, 5 MPa): the CLI and its output files,
reproducibility by seed, and checkpoint/resume equal to an uninterrupted run."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import dempack
from dempack.cli import main
from dempack.io import load_checkpoint
from dempack.io.tables import read_csv
from dempack.materials import load_materials
from dempack.runner import OutputWriters
from dempack.simulation import Simulation

MATERIALS = ["Se", "Mo6Se8"]  # of the quickstart
SNAPSHOT_ARRAYS = ("radius", "material", "velocity", "stress_vm")


def read_vtp(path) -> tuple[np.ndarray, dict]:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    r = vtkXMLPolyDataReader()
    r.SetFileName(str(path))
    r.Update()
    poly = r.GetOutput()
    pts = vtk_to_numpy(poly.GetPoints().GetData()) if poly.GetPoints() else np.zeros((0, 3))
    pd = poly.GetPointData()
    arrays = {pd.GetArrayName(k): vtk_to_numpy(pd.GetArray(k)) for k in range(pd.GetNumberOfArrays())}
    return pts, arrays


def pvd_entries(path) -> list[tuple[float, str]]:
    root = ET.parse(path).getroot()
    return [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]


def vtp_step(name: str) -> int:
    return int(Path(name).stem.split("_")[-1])


def strict_json(path):
    """Parse a JSON file as strict consumers do (jq, JavaScript): NaN and Infinity are
    not JSON, so they raise."""
    def reject(name):
        raise ValueError(f"{path}: {name} is not valid JSON")
    return json.loads(Path(path).read_text(), parse_constant=reject)


def csv_steps(path) -> np.ndarray:
    return read_csv(path)["step"].astype(int)


# ---------------------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, quickstart, tiny_set_args):
    """`dempack run quickstart --out DIR --quiet --set ...` (seed 1)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        rc = main(["run", str(quickstart), "--out", str(out), "--quiet", *tiny_set_args])
    return SimpleNamespace(rc=rc, out=out, stdout=so.getvalue(), stderr=se.getvalue())


@pytest.fixture(scope="module")
def api_run(tmp_path_factory, quickstart, tiny_overrides):
    """The same run through the Python API: run A of the resume test."""
    out = tmp_path_factory.mktemp("api") / "A"
    sc = dempack.load_scenario(quickstart, tiny_overrides)
    return dempack.run(sc, out_dir=out)


@pytest.fixture(scope="module")
def seed2_run(tmp_path_factory, quickstart, tiny_overrides):
    out = tmp_path_factory.mktemp("seed2") / "run"
    sc = dempack.load_scenario(quickstart, {**tiny_overrides, "run.seed": 2})
    return dempack.run(sc, out_dir=out)


RESUME_AT = 10_000  # a multiple of output_interval_steps (200), well before the end


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory, quickstart, tiny_overrides):
    """Run B: the same scenario stopped at RESUME_AT with a checkpoint, then resumed."""
    b = tmp_path_factory.mktemp("resume") / "B"
    b.mkdir()
    sc = dempack.load_scenario(quickstart, tiny_overrides)
    assert RESUME_AT % sc.run.output_interval_steps == 0
    sim = Simulation(sc, out_dir=b)
    OutputWriters(sim, b)
    sc.save(b / "scenario.toml")
    sim.run(steps=RESUME_AT)
    assert sim.step_count == RESUME_AT and not sim.done
    sim.write_checkpoint(b / "checkpoint.npz")
    return dempack.resume(b)


# ----------------------------------------------------------------------------- CLI run outputs


def test_cli_run_returns_0_and_reports(cli_run):
    assert cli_run.rc == 0, cli_run.stderr
    assert "quickstart: 60 particles" in cli_run.stdout
    assert "final porosity" in cli_run.stdout
    assert str(cli_run.out) in cli_run.stdout
    assert "running" not in cli_run.stderr  # --quiet: warnings and errors only


def test_timeseries_columns(cli_run):
    ts = read_csv(cli_run.out / "timeseries.csv")
    for col in ("step", "time_s", "porosity", "thickness_m", "punch_stress_Pa", "coordination"):
        assert col in ts, col
    for a in MATERIALS:
        assert f"stress_vm_mean_Pa:{a}" in ts
        for b in MATERIALS:
            assert f"contact_ratio:{a}-{b}" in ts
    steps = ts["step"].astype(int)
    assert steps[0] == 0
    assert np.all(np.diff(steps) > 0)
    assert np.all(steps[:-1] % 200 == 0)
    assert np.all(np.diff(ts["time_s"]) > 0)
    assert np.all((ts["porosity"] > 0) & (ts["porosity"] < 1))
    # the die was pressed: thinner and denser at the end
    assert ts["thickness_m"][-1] < ts["thickness_m"][0]
    assert ts["porosity"][-1] < ts["porosity"][0]


def test_summary_json(cli_run):
    s = strict_json(cli_run.out / "summary.json")
    for k in ("final", "run_time_s", "particles", "dt_s", "seed", "dempack_version"):
        assert k in s, k
    assert s["particles"] == 60
    assert s["seed"] == 1
    assert s["dempack_version"] == dempack.__version__
    assert s["dt_s"] > 0 and s["run_time_s"] > 0
    assert s["completed"] is True
    # the final values are the last row of the time series
    ts = read_csv(cli_run.out / "timeseries.csv")
    f = s["final"]
    assert f["step"] == s["steps"] == int(ts["step"][-1])
    for k in ("porosity", "thickness_m", "punch_stress_Pa", "coordination", "contact_ratio:Se-Mo6Se8"):
        assert f[k] == ts[k][-1], k
    # the servo reached its 5 MPa target (within its tolerance)
    assert s["stages"][0]["reached"] is True
    assert f["punch_stress_Pa"] == pytest.approx(5e6, rel=0.05)


def test_saved_scenario_loads_and_equals_the_run(cli_run, quickstart, tiny_overrides):
    saved = dempack.load_scenario(cli_run.out / "scenario.toml")
    expected = dempack.load_scenario(quickstart, tiny_overrides)
    assert saved.to_dict() == expected.to_dict()
    assert saved.packing.particles == 60


def test_checkpoint_written(cli_run):
    arrays, meta = load_checkpoint(cli_run.out / "checkpoint.npz")
    s = json.loads((cli_run.out / "summary.json").read_text())
    assert meta["step_count"] == s["steps"]
    assert arrays["p_x"].shape == (60, 3)
    # the metadata inside is strict JSON too (readable by any consumer)
    with np.load(cli_run.out / "checkpoint.npz") as z:
        json.loads(str(z["__meta__"]), parse_constant=lambda c: pytest.fail(f"{c} in meta"))


def test_checkpoint_metadata_round_trips_non_finite_floats(tmp_path):
    from dempack.io import save_checkpoint
    meta = {"rows": [{"t": float("nan"), "u": float("inf")}], "v": -float("inf"), "w": 1.5,
            "s": "nan"}
    save_checkpoint(tmp_path / "c.npz", {"a": np.arange(3)}, meta)
    with np.load(tmp_path / "c.npz") as z:
        json.loads(str(z["__meta__"]), parse_constant=lambda c: pytest.fail(f"{c} in meta"))
    arrays, back = load_checkpoint(tmp_path / "c.npz")
    assert np.isnan(back["rows"][0]["t"]) and back["rows"][0]["u"] == float("inf")
    assert back["v"] == -float("inf") and back["w"] == 1.5 and back["s"] == "nan"
    assert np.array_equal(arrays["a"], np.arange(3))


def test_pvd_lists_existing_vtp_files(cli_run):
    entries = pvd_entries(cli_run.out / "particles.pvd")
    assert len(entries) >= 2
    ts = read_csv(cli_run.out / "timeseries.csv")
    times = [t for t, _ in entries]
    assert times == sorted(times)
    for t, f in entries:
        assert f.endswith(".vtp")
        assert (cli_run.out / f).is_file(), f
        # the snapshot time is the physical time of that step in the CSV
        row = np.flatnonzero(ts["step"].astype(int) == vtp_step(f))
        assert row.size == 1, f
        assert t == pytest.approx(ts["time_s"][row[0]], rel=1e-8)
    assert len({f for _, f in entries}) == len(entries), "a snapshot is listed twice"


def test_vtp_readable_with_arrays(cli_run):
    entries = pvd_entries(cli_run.out / "particles.pvd")
    _, last = entries[-1]
    pts, arrays = read_vtp(cli_run.out / last)
    assert pts.shape == (60, 3)
    for name in SNAPSHOT_ARRAYS:
        assert name in arrays, name
        assert arrays[name].shape[0] == 60
    assert arrays["velocity"].shape == (60, 3)
    assert set(np.unique(arrays["material"])) == {0, 1}
    assert np.all(arrays["radius"] > 1e-6) and np.all(arrays["radius"] < 1e-5)
    assert np.all(arrays["stress_vm"] >= 0)
    # the final snapshot holds the final particle positions of the checkpoint
    ck, _ = load_checkpoint(cli_run.out / "checkpoint.npz")
    order = np.argsort(ck["p_pid"])
    np.testing.assert_array_equal(pts[np.argsort(arrays["id"])], ck["p_x"][order])


def test_vtp_stress_is_that_of_its_step(cli_run):
    """Volume-weighted mean of each snapshot's stress_vm per material equals the
    CSV's stress_vm_mean_Pa:M at the snapshot's step."""
    ts = read_csv(cli_run.out / "timeseries.csv")
    steps = ts["step"].astype(int)
    for _, f in pvd_entries(cli_run.out / "particles.pvd"):
        _, a = read_vtp(cli_run.out / f)
        row = np.flatnonzero(steps == vtp_step(f))[0]
        V = a["radius"] ** 3
        for k, name in enumerate(MATERIALS):
            sel = a["material"] == k
            mean = np.sum(V[sel] * a["stress_vm"][sel]) / np.sum(V[sel])
            assert mean == pytest.approx(ts[f"stress_vm_mean_Pa:{name}"][row], rel=1e-9, abs=1e-6), \
                (f, name)


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_results(cli_run, api_run):
    s1 = json.loads((cli_run.out / "summary.json").read_text())
    s2 = json.loads((api_run.out_dir / "summary.json").read_text())
    assert s1["final"] == s2["final"]
    assert s1["steps"] == s2["steps"]
    assert (cli_run.out / "timeseries.csv").read_text() == (api_run.out_dir / "timeseries.csv").read_text()


def test_different_seed_different_results(cli_run, seed2_run):
    s1 = json.loads((cli_run.out / "summary.json").read_text())
    s2 = json.loads((seed2_run.out_dir / "summary.json").read_text())
    assert s2["seed"] == 2
    assert s1["final"] != s2["final"]
    assert s1["final"]["porosity"] != s2["final"]["porosity"]
    assert (cli_run.out / "timeseries.csv").read_text() != (seed2_run.out_dir / "timeseries.csv").read_text()


# ------------------------------------------------------------------------------ resume


@pytest.mark.portability
def test_resume_reproduces_uninterrupted_run(api_run, resumed_run):
    A, B = api_run, resumed_run
    pa, pb = A.sim.particles, B.sim.particles
    assert pa.n == pb.n == 60
    ia, ib = np.argsort(pa.pid), np.argsort(pb.pid)
    for name in ("x", "v", "w", "R", "mass", "material", "force", "wall_xi", "wall_force"):
        assert np.array_equal(getattr(pa, name)[ia], getattr(pb, name)[ib]), name
    assert A.sim.step_count == B.sim.step_count
    assert A.sim.time == B.sim.time
    assert A.sim.box.z_top == B.sim.box.z_top
    # NaN (a tortuosity where nothing percolates) never equals itself: compare with numpy's
    # assert_equal, which matches NaN with NaN in nested dicts and lists
    np.testing.assert_equal(A.summary["final"], B.summary["final"])
    np.testing.assert_equal(A.summary["stages"], B.summary["stages"])
    sa, sb = (strict_json(R.out_dir / "summary.json") for R in (A, B))
    assert sa["final"] == sb["final"]
    # the time series: no duplicated steps, identical rows
    steps_b = csv_steps(B.out_dir / "timeseries.csv")
    assert len(np.unique(steps_b)) == len(steps_b)
    assert RESUME_AT in steps_b
    assert (A.out_dir / "timeseries.csv").read_text() == (B.out_dir / "timeseries.csv").read_text()
    for k in ("porosity", "punch_stress_Pa"):
        assert np.array_equal(A.timeseries[k], B.timeseries[k]), k
    # the snapshot index continues without gaps or repeats
    assert pvd_entries(A.out_dir / "particles.pvd") == pvd_entries(B.out_dir / "particles.pvd")
    for _, f in pvd_entries(B.out_dir / "particles.pvd"):
        assert (B.out_dir / f).is_file()


@pytest.mark.portability
def test_resumed_snapshot_positions_match(api_run, resumed_run):
    """Snapshots written after the resume hold the same points as run A's."""
    after = [f for _, f in pvd_entries(resumed_run.out_dir / "particles.pvd")
             if vtp_step(f) > RESUME_AT]
    assert after
    for f in (after[0], after[-1]):
        pa, aa = read_vtp(api_run.out_dir / f)
        pb, ab = read_vtp(resumed_run.out_dir / f)
        np.testing.assert_array_equal(pa[np.argsort(aa["id"])], pb[np.argsort(ab["id"])])


@pytest.mark.portability
def test_resumed_snapshots_have_all_arrays(resumed_run):
    for _, f in pvd_entries(resumed_run.out_dir / "particles.pvd"):
        _, a = read_vtp(resumed_run.out_dir / f)
        for name in SNAPSHOT_ARRAYS + ("coordination",):
            assert name in a, (f, name)


@pytest.fixture
def finished_resumed(resumed_run, tmp_path):
    """`dempack run --resume DIR` on a copy of the finished run B."""
    import shutil

    d = tmp_path / "B"
    shutil.copytree(resumed_run.out_dir, d)
    before = {n: (d / n).read_text() for n in ("timeseries.csv", "particles.pvd", "summary.json")}
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        rc = main(["run", "--resume", str(d), "--quiet"])
    return SimpleNamespace(rc=rc, out=d, before=before, stdout=so.getvalue(), stderr=se.getvalue())


@pytest.mark.portability
def test_cli_resume_of_finished_run(finished_resumed):
    """Nothing is left to do: exit 0, same time series and final values."""
    r = finished_resumed
    assert r.rc == 0, r.stderr
    assert "final porosity" in r.stdout
    assert (r.out / "timeseries.csv").read_text() == r.before["timeseries.csv"]
    s0 = json.loads(r.before["summary.json"])
    s1 = json.loads((r.out / "summary.json").read_text())
    assert s1["final"] == s0["final"] and s1["steps"] == s0["steps"]


def test_cli_resume_of_finished_run_keeps_int_step(finished_resumed):
    s1 = json.loads((finished_resumed.out / "summary.json").read_text())
    assert isinstance(s1["final"]["step"], int)


def test_cli_resume_of_finished_run_keeps_pvd(finished_resumed):
    assert (finished_resumed.out / "particles.pvd").read_text() == finished_resumed.before["particles.pvd"]


# ------------------------------------------------------------------ snapshot at every output


@pytest.fixture(scope="module")
def every_output_run(tmp_path_factory, quickstart, tiny_overrides):
    """A short run (stopped by run.max_steps) with a snapshot at every output row."""
    out = tmp_path_factory.mktemp("snap") / "run"
    sc = dempack.load_scenario(quickstart, {**tiny_overrides, "run.snapshot_every_outputs": 1,
                                            "run.max_steps": 1000})
    return dempack.run(sc, out_dir=out)


def test_every_output_run_snapshots(every_output_run):
    out = every_output_run.out_dir
    steps = csv_steps(out / "timeseries.csv")
    assert list(steps) == [0, 200, 400, 600, 800, 1000]
    files = [f for _, f in pvd_entries(out / "particles.pvd")]
    assert sorted({vtp_step(f) for f in files}) == list(steps)
    for f in files:
        pts, a = read_vtp(out / f)
        assert pts.shape == (60, 3) and "radius" in a and "velocity" in a


def test_pvd_has_no_duplicate_when_last_output_is_a_snapshot(every_output_run):
    files = [f for _, f in pvd_entries(every_output_run.out_dir / "particles.pvd")]
    assert len(files) == len(set(files)), files


def test_snapshot_stresses_are_the_recorded_ones(every_output_run):
    """Step 0: the inserted packing does not overlap, so no particle touches and none is
    stressed. Later snapshots: each material's volume-weighted mean of the snapshot's
    von Mises stress is the time series' stress_vm_mean_Pa of the same step."""
    out = every_output_run.out_dir
    ts = read_csv(out / "timeseries.csv")
    names = [m.name for m in every_output_run.sim.materials]
    entries = pvd_entries(out / "particles.pvd")
    _, a0 = read_vtp(out / entries[0][1])
    assert vtp_step(entries[0][1]) == 0
    assert np.all(a0["stress_vm"] == 0.0) and np.all(a0["coordination"] == 0)
    loaded = 0
    for _, f in entries[1:]:
        _, a = read_vtp(out / f)
        row = int(np.flatnonzero(ts["step"] == vtp_step(f))[0])
        for k, name in enumerate(names):
            sel = a["material"] == k
            w = a["radius"][sel] ** 3
            mean = np.sum(w * a["stress_vm"][sel]) / np.sum(w)
            assert mean == pytest.approx(ts[f"stress_vm_mean_Pa:{name}"][row], rel=1e-6), (f, name)
            loaded += mean > 0
    assert loaded > 0  # the bed was pressed: some snapshot carries stress


# ------------------------------------------------------------------------------ other commands


def test_materials_command(capsys):
    assert main(["materials"]) == 0
    out = capsys.readouterr().out
    for name in load_materials():
        assert name in out
    for unit in ("kg/m3", "GPa", "MPa"):
        assert unit in out


@pytest.mark.parametrize("bad, expected", [
    ("run.bogus=1", "run.bogus: unknown key"),
    ("nosuch.key=1", "unknown section 'nosuch'"),
    ("packing.particles=-1", "packing.particles = -1"),
    ("packing.particles", "expected key=value"),
])
def test_cli_bad_set_returns_2(quickstart, tmp_path, capsys, bad, expected):
    out = tmp_path / "never"
    assert main(["run", str(quickstart), "--out", str(out), "--quiet", "--set", bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dempack: error:")
    assert expected in err
    assert not out.exists()


def test_cli_missing_file_returns_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml: scenario file not found" in err


def test_checkpoint_written_before_the_flat_rename_still_loads(cli_run, tmp_path):
    """Checkpoints from before `dcr` was named `delta_flat` (2026-12-07) load with the
    current names: the same flats, nothing lost."""
    with np.load(cli_run.out / "checkpoint.npz") as z:
        stored = {k: z[k] for k in z.files}
    old = {("c_dcr" if k == "c_delta_flat" else "p_wall_dcr" if k == "p_wall_delta_flat" else k): v
           for k, v in stored.items()}
    assert "c_dcr" in old and "c_delta_flat" not in old
    np.savez(tmp_path / "old.npz", **old)
    arrays, _ = load_checkpoint(tmp_path / "old.npz")
    assert np.array_equal(arrays["c_delta_flat"], stored["c_delta_flat"])
    assert np.array_equal(arrays["p_wall_delta_flat"], stored["p_wall_delta_flat"])
