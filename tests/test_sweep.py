"""Parameter sweeps on a Dask LocalCluster (2 workers) with tiny cases (~60 particles):
the rows of sweep.csv, invalid cases recorded as failed, resume (nothing re-run),
the same case through the sweep and through `dempack run`, and sweep-file errors."""
from __future__ import annotations

import csv
import io
import json
import os
import textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

import dempack
from dempack.cli import main
from dempack.runner import OutputWriters
from dempack.simulation import Simulation
from dempack.sweep import (TIMING_FIELDS, SweepError, case_name, load_sweep, run_case,
                           run_sweep)

PRESSURES = [4, 6]  # MPa, 2 × 2 seeds = 4 valid cases
SEEDS = [1, 2]
# Se/Mo6Se8 weight fractions zipped: (0.4, 0.6) is valid, (0.5, 0.6) sums to 1.1 → invalid
ZIP_SE, ZIP_MSE = [0.4, 0.5], [0.6, 0.6]
P_KEY = "pressing.0.pressure_MPa"
SE_KEY, MSE_KEY = "packing.materials.0.weight_fraction", "packing.materials.1.weight_fraction"


def _fixed(tiny_overrides):
    return {k: v for k, v in tiny_overrides.items() if k != P_KEY}


def _sweep_text(base_rel: str, fixed: dict) -> str:
    lines = ["[sweep]", f'base = "{base_rel}"', f"seeds = {SEEDS}", "", "[sweep.set]"]
    lines += [f'"{k}" = {v!r}' for k, v in fixed.items()]
    lines += ["", "[sweep.grid]", f'"{P_KEY}" = {PRESSURES}', "", "[[sweep.zip]]",
              f'"{SE_KEY}" = {ZIP_SE}', f'"{MSE_KEY}" = {ZIP_MSE}', ""]
    return "\n".join(lines)


def _expected_name(p, se, mse, seed):
    return f"pressure_MPa={p}__Se.weight_fraction={se:g}__Mo6Se8.weight_fraction={mse:g}__seed={seed}"


def _read_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _summary(folder) -> dict:
    s = json.loads((Path(folder) / "summary.json").read_text())
    for k in TIMING_FIELDS:
        s.pop(k)
    return s


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory, quickstart, tiny_overrides):
    """`dempack sweep sweep.toml --out OUT --workers 2` (first invocation)."""
    d = tmp_path_factory.mktemp("sweep")
    sweep_file = d / "spec" / "sweep.toml"
    sweep_file.parent.mkdir()
    base_rel = os.path.relpath(quickstart, sweep_file.parent)  # relative to the sweep file
    sweep_file.write_text(_sweep_text(base_rel, _fixed(tiny_overrides)))
    out = d / "out"
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        rc = main(["sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet"])
    return SimpleNamespace(rc=rc, out=out, file=sweep_file, stdout=so.getvalue(),
                           stderr=se.getvalue(), rows=_read_rows(out / "sweep.csv"))


def test_sweep_csv_has_one_row_per_case_in_order(sweep_run):
    assert sweep_run.rc == 1, sweep_run.stderr  # some cases failed (on purpose)
    names = [r["case"] for r in sweep_run.rows]
    expected = [_expected_name(p, se, mse, s) for p in PRESSURES
                for se, mse in zip(ZIP_SE, ZIP_MSE) for s in SEEDS]
    assert names == expected
    with open(sweep_run.out / "sweep.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:7] == ["case", P_KEY, SE_KEY, MSE_KEY, "seed", "status", "error"]
    assert "8 cases: 4 run, 0 already complete, 4 failed" in sweep_run.stdout


def test_valid_cases_ok_and_rows_equal_their_summaries(sweep_run):
    ok = [r for r in sweep_run.rows if float(r[SE_KEY]) == 0.4]
    assert len(ok) == 4
    for r in ok:
        assert r["status"] == "ok" and r["error"] == ""
        folder = sweep_run.out / r["case"]
        s = json.loads((folder / "summary.json").read_text())
        assert s["completed"] is True and s["seed"] == int(r["seed"])
        assert s["particles"] == int(r["particles"]) == 60
        for k in ("porosity", "thickness_m", "punch_stress_Pa", "coordination",
                  "contact_ratio:Se-Mo6Se8", "stress_vm_mean_Pa:Se"):
            assert float(r[k]) == s["final"][k], k
        assert float(r["stage0:porosity"]) == s["stages"][0]["porosity"]
        # the varied pressure reached this case: the servo holds its target (5 % band)
        target = float(r[P_KEY]) * 1e6
        assert float(r["punch_stress_Pa"]) == pytest.approx(target, rel=0.05)
        saved = dempack.load_scenario(folder / "scenario.toml")
        assert saved.pressing[0].pressure_MPa == float(r[P_KEY])
        assert saved.run.seed == int(r["seed"])
        assert saved.packing.materials[0].weight_fraction == 0.4
    # seeds give different packings; pressures give different final states
    por = {(r[P_KEY], r["seed"]): float(r["porosity"]) for r in ok}
    assert len(set(por.values())) == 4


def test_invalid_cases_recorded_as_failed_without_folders(sweep_run):
    bad = [r for r in sweep_run.rows if float(r[SE_KEY]) == 0.5]
    assert len(bad) == 4
    for r in bad:
        assert r["status"] == "failed"
        assert "weight_fraction values sum to 1.1" in r["error"]
        assert str(sweep_run.file) in r["error"] and r["case"] in r["error"]
        assert r["porosity"] == ""
        assert not (sweep_run.out / r["case"]).exists()


def test_second_invocation_runs_nothing(sweep_run):
    before = {r["case"]: (sweep_run.out / r["case"] / "summary.json").stat().st_mtime_ns
              for r in sweep_run.rows if r["status"] == "ok"}
    # an unreachable scheduler: contacting it would fail, so nothing may be submitted
    res = run_sweep(sweep_run.file, sweep_run.out, scheduler="tcp://127.0.0.1:9", progress=False)
    assert res.ran == []
    assert sorted(res.skipped) == sorted(before)
    assert len(res.failed) == 4
    after = {c: (sweep_run.out / c / "summary.json").stat().st_mtime_ns for c in before}
    assert after == before
    assert _read_rows(sweep_run.out / "sweep.csv") == sweep_run.rows


def test_same_case_via_sweep_and_via_dempack_run(sweep_run, tmp_path, quickstart, tiny_overrides):
    case = _expected_name(6, 0.4, 0.6, 2)
    sets = {**_fixed(tiny_overrides), P_KEY: 6, SE_KEY: 0.4, MSE_KEY: 0.6, "run.seed": 2}
    args = []
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    out = tmp_path / "single"
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert main(["run", str(quickstart), "--out", str(out), "--quiet", *args]) == 0
    a, b = _summary(sweep_run.out / case), _summary(out)
    assert a == b
    assert (sweep_run.out / case / "scenario.toml").read_text() == (out / "scenario.toml").read_text()
    assert (sweep_run.out / case / "timeseries.csv").read_text() == (out / "timeseries.csv").read_text()


def test_interrupted_case_continues_from_its_checkpoint(sweep_run, tmp_path):
    """A case folder with a mid-run checkpoint (no complete summary) is resumed, and ends
    exactly where the uninterrupted case ended."""
    case = _expected_name(4, 0.4, 0.6, 1)
    sc = dempack.load_scenario(sweep_run.out / case / "scenario.toml")
    folder = tmp_path / case
    folder.mkdir()
    sim = Simulation(sc, out_dir=folder)
    OutputWriters(sim, folder)
    sc.save(folder / "scenario.toml")
    sim.run(steps=10_000)
    assert not sim.done
    sim.write_checkpoint(folder / "checkpoint.npz")
    r = run_case(sc.to_dict(), sc.source, str(folder), threads=1)
    assert r["status"] == "ok", r["error"]
    a, b = _summary(sweep_run.out / case), _summary(folder)
    assert a == b


def test_run_case_failure_is_returned_not_raised(tmp_path, quickstart, tiny_overrides):
    sc = dempack.load_scenario(quickstart, tiny_overrides)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    r = run_case(sc.to_dict(), sc.source, str(blocker / "case"), threads=1)
    assert r["status"] == "failed" and r["summary"] is None
    assert "Error" in r["error"].split(":")[0]


# ------------------------------------------------------------------------ sweep-file checks


@pytest.fixture
def sweep_file(tmp_path, quickstart):
    def _write(body: str) -> Path:
        f = tmp_path / "s.toml"
        f.write_text(f'[sweep]\nbase = "{quickstart}"\n' + textwrap.dedent(body))
        return f
    return _write


@pytest.mark.parametrize("body, key, allowed", [
    ('seeds = 0\n', "sweep.seeds", "count >= 1"),
    ('seeds = [1, 1]\n', "sweep.seeds", "distinct"),
    ('colour = 1\n', "sweep.colour", "allowed: base, seeds"),
    ('[sweep.grid]\n"pressing.0.pressur_MPa" = [1, 2]\n', "pressur_MPa", "allowed: mode"),
    ('[sweep.grid]\n"packing.foo.0.x" = [1]\n', "packing.foo.0.x", "pressing.I.key"),
    ('[sweep.grid]\n"run.seed" = [1, 2]\n', "run.seed", "sweep.seeds"),
    ('[sweep.grid]\n"packing.particles" = []\n', "packing.particles", "non-empty list"),
    ('[sweep.set]\n"packing.particles" = 5\n[sweep.grid]\n"packing.particles" = [1]\n',
     "packing.particles", "give each key once"),
    ('[[sweep.zip]]\n"packing.materials.0.weight_fraction" = [0.3, 0.4]\n'
     '"packing.materials.1.weight_fraction" = [0.7]\n', "sweep.zip[0]", "equal length"),
])
def test_bad_sweep_files_name_file_key_and_allowed(sweep_file, body, key, allowed):
    f = sweep_file(body)
    with pytest.raises(SweepError) as e:
        load_sweep(f)
    msg = str(e.value)
    assert str(f) in msg and key in msg and allowed in msg, msg


def test_missing_base_is_reported(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nbase = "nowhere.toml"\n')
    with pytest.raises(SweepError, match=r"sweep.base.*nowhere.toml.*no such file"):
        load_sweep(f)
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "sweep.base" in se.getvalue()


def test_grid_times_zip_times_seeds_and_stable_names(sweep_file):
    f = sweep_file('''seeds = 3
        [sweep.grid]
        "pressing.0.pressure_MPa" = [100, 200]
        "packing.particles" = [50, 70]
        [[sweep.zip]]
        "packing.materials.0.weight_fraction" = [0.3, 0.5, 0.6]
        "packing.materials.1.weight_fraction" = [0.7, 0.5, 0.4]
    ''')
    sw = load_sweep(f)
    assert sw.seeds == [1, 2, 3]  # from the base's run.seed = 1
    cases = sw.cases()
    assert len(cases) == 2 * 2 * 3 * 3
    assert all(c.error is None for c in cases)
    combos = {(c.values["pressing.0.pressure_MPa"], c.values["packing.particles"],
               c.values["packing.materials.0.weight_fraction"], c.seed) for c in cases}
    assert len(combos) == len(cases)
    for c in cases:
        m = c.scenario.packing.materials
        assert m[0].weight_fraction + m[1].weight_fraction == pytest.approx(1.0)
        assert c.scenario.pressing[0].pressure_MPa == c.values["pressing.0.pressure_MPa"]
        assert c.scenario.run.seed == c.seed
    assert cases[0].name == ("pressure_MPa=100__particles=50__Se.weight_fraction=0.3__"
                             "Mo6Se8.weight_fraction=0.7__seed=1")
    assert [c.name for c in load_sweep(f).cases()] == [c.name for c in cases]
    long = case_name({f"k{i}": 0.123456 for i in range(20)}, 1)
    assert len(long) <= 120 and long != case_name({f"k{i}": 0.123457 for i in range(20)}, 1)


def test_shipped_se_fraction_sweep():
    from dempack.scenario import SCENARIO_DIR
    sw = load_sweep(SCENARIO_DIR / "sweep_se_fraction.toml")
    assert sw.base == SCENARIO_DIR / "press_se60mse.toml"
    cases = sw.cases()
    assert len(cases) == 4 * 4 * 3 and all(c.error is None for c in cases)
    for c in cases:
        sc = c.scenario
        assert len(sc.pressing) == 1  # [sweep.set] replaced the base's three stages
        assert sc.pressing[0].pressure_MPa == c.values["pressing.0.pressure_MPa"]
        se, mse = sc.packing.materials
        assert (se.material, mse.material) == ("Se", "Mo6Se8")
        assert se.weight_fraction + mse.weight_fraction == pytest.approx(1.0)
        assert 0.3 <= se.weight_fraction <= 0.6
    assert {c.values["pressing.0.pressure_MPa"] for c in cases} == {100, 180, 270, 360}
    # --seeds and --set of the CLI
    quick = load_sweep(SCENARIO_DIR / "sweep_se_fraction.toml", {"packing.particles": 150}, seeds=1)
    assert [c.scenario.packing.particles for c in quick.cases()] == [150] * 16
