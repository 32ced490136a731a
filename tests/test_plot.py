"""`dempack plot`: PNGs of a run folder and of a sweep folder; the arrays handed to
matplotlib (Series data and the axes' lines) are compared with the CSV files."""
from __future__ import annotations

import csv
import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import dempack
from dempack.cli import main
from dempack.plot import cycles_figure, plot_results, sweep_figure, timeseries_figure
from dempack.sweep import read_sweep_csv, write_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _csv_columns(path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [r[k] for r in rows] for k in rows[0]}


def _axis(fig, title):
    for ax in fig.axes:
        if ax.get_title() == title:
            return ax
    raise AssertionError(f"no panel {title!r}: {[a.get_title() for a in fig.axes]}")


def _assert_png(path: Path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, quickstart, tiny_overrides):
    out = tmp_path_factory.mktemp("plot") / "run"
    dempack.run(dempack.load_scenario(quickstart, tiny_overrides), out_dir=out)
    return out


def test_timeseries_plot_data_is_the_csv(run_dir):
    from dempack.io.tables import read_csv
    fig, data = timeseries_figure(read_csv(run_dir / "timeseries.csv"))
    raw = _csv_columns(run_dir / "timeseries.csv")
    t_us = np.array(raw["time_s"], dtype=float) * 1e6  # a pressing run lasts microseconds
    por = np.array(raw["porosity"], dtype=float)
    ax = _axis(fig, "porosity")
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), np.column_stack([t_us, por]))
    ax = _axis(fig, "punch stress (MPa)")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.array(raw["punch_stress_Pa"], float) / 1e6,
                               rtol=1e-15)
    ax = _axis(fig, "contact ratio")
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["Se-Se", "Se-Mo6Se8", "Mo6Se8-Se", "Mo6Se8-Mo6Se8"]
    for ln in ax.lines:
        np.testing.assert_array_equal(ln.get_ydata(), np.array(raw[f"contact_ratio:{ln.get_label()}"],
                                                               dtype=float))
    ax = _axis(fig, "mean von Mises stress (MPa)")
    assert [ln.get_label() for ln in ax.lines] == ["Se", "Mo6Se8"]
    assert set(data) >= {"porosity", "thickness (µm)", "contact ratio"}


def test_cycles_plot_puts_charge_ends_at_half_cycles(tmp_path):
    f = tmp_path / "cycles.csv"
    f.write_text("cycle,half,step,time_s,porosity,thickness_m,thickness_change,punch_stress_Pa,"
                 "contact_ratio:Se-Se,stress_vm_mean_Pa:Se\n"
                 "1,discharge,10,36000.0,0.20,3.0e-5,0.05,1.0e8,0.30,2.0e7\n"
                 "1,charge,20,64000.0,0.22,2.9e-5,0.01,0.9e8,0.25,1.0e6\n"
                 "2,discharge,30,100000.0,0.18,3.1e-5,0.07,1.1e8,0.40,2.5e7\n")
    from dempack.io.tables import read_csv
    fig, _ = cycles_figure(read_csv(f))
    ax = _axis(fig, "thickness change (%)")
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[1.0, 5.0], [1.5, 1.0], [2.0, 7.0]])
    ax = _axis(fig, "mean von Mises stress (MPa)")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [20.0, 1.0, 25.0])


@pytest.fixture
def sweep_dir(tmp_path):
    """A hand-made sweep.csv: pressure × Se fraction (zipped with Mo6Se8) × 2 seeds, one
    failed case whose (absent) metrics must not enter the means."""
    rows = []
    por = {(100, 0.3): (0.30, 0.34), (100, 0.6): (0.20, 0.22), (360, 0.3): (0.10, 0.12),
           (360, 0.6): (0.05, 0.09)}
    for (p, se), vals in por.items():
        for seed, v in zip((1, 2), vals):
            rows.append({"case": f"p{p}_se{se}_s{seed}", "pressing.0.pressure_MPa": p,
                         "packing.materials.0.weight_fraction": se,
                         "packing.materials.1.weight_fraction": round(1 - se, 6), "seed": seed,
                         "status": "ok", "error": "", "porosity": v, "punch_stress_Pa": p * 1e6,
                         "stress_vm_mean_Pa:Se": 1e6 * (v + p)})
    rows.append({"case": "p360_se0.6_s3", "pressing.0.pressure_MPa": 360,
                 "packing.materials.0.weight_fraction": 0.6,
                 "packing.materials.1.weight_fraction": 0.4, "seed": 3, "status": "failed",
                 "error": "DivergenceError: boom"})
    d = tmp_path / "sweep"
    d.mkdir()
    write_table(d / "sweep.csv", rows)
    return d


def test_sweep_plot_mean_and_std_over_seeds(sweep_dir):
    cols, varied = read_sweep_csv(sweep_dir / "sweep.csv")
    assert varied == ["pressing.0.pressure_MPa", "packing.materials.0.weight_fraction",
                      "packing.materials.1.weight_fraction"]
    fig, data = sweep_figure(cols, varied, "pressing.0.pressure_MPa")
    series = data["final porosity"]
    # Mo6Se8 fraction follows the Se fraction (zipped): one line per Se fraction only
    assert [s.label for s in series] == ["materials.0.weight_fraction=0.3",
                                         "materials.0.weight_fraction=0.6"]
    s03, s06 = series
    np.testing.assert_allclose(s03.x, [100, 360])
    np.testing.assert_allclose(s03.y, [0.32, 0.11])
    np.testing.assert_allclose(s06.y, [0.21, 0.07])  # failed seed 3 left out
    np.testing.assert_allclose(s03.yerr, [np.std([0.30, 0.34], ddof=1), np.std([0.10, 0.12], ddof=1)])
    np.testing.assert_allclose(s06.yerr, [np.std([0.20, 0.22], ddof=1), np.std([0.05, 0.09], ddof=1)])
    ax = _axis(fig, "final porosity")
    # what matplotlib holds: errorbar containers (data line, caps, bar segments)
    line0, _, (bars0,) = ax.containers[0]
    np.testing.assert_allclose(line0.get_xydata(), [[100, 0.32], [360, 0.11]])
    np.testing.assert_allclose(ax.containers[1][0].get_xydata(), [[100, 0.21], [360, 0.07]])
    seg = np.array(bars0.get_segments())  # one vertical bar per x: mean - std .. mean + std
    np.testing.assert_allclose(seg[:, 0, 1], s03.y - s03.yerr)
    np.testing.assert_allclose(seg[:, 1, 1], s03.y + s03.yerr)
    np.testing.assert_allclose(_axis(fig, "punch stress (MPa)").containers[0][0].get_ydata(),
                               [100, 360])
    # the other way round: vs Se fraction, one line per pressure
    fig, data = sweep_figure(cols, varied, "packing.materials.0.weight_fraction")
    assert [s.label for s in data["final porosity"]] == ["pressure_MPa=100", "pressure_MPa=360"]
    np.testing.assert_allclose(data["final porosity"][1].y, [0.11, 0.07])
    np.testing.assert_allclose(data["von Mises Se (MPa)"][1].y, [360.11, 360.07])


def test_plot_command_on_a_sweep_folder(sweep_dir):
    so = io.StringIO()
    with redirect_stdout(so):
        assert main(["plot", str(sweep_dir)]) == 0
    files = sorted((sweep_dir / "figures").glob("*.png"))
    # the Mo6Se8 fraction follows the Se fraction: no figure of its own
    assert [f.name for f in files] == ["sweep_vs_packing.materials.0.weight_fraction.png",
                                       "sweep_vs_pressing.0.pressure_MPa.png"]
    for f in files:
        _assert_png(f)
        assert str(f) in so.getvalue()


def test_plot_command_on_a_run_folder(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("vtk", "*.npz"))
    (run / "cycles.csv").write_text("cycle,half,step,time_s,porosity\n1,discharge,1,1.0,0.3\n"
                                    "1,charge,2,2.0,0.31\n")
    out = tmp_path / "figs"
    with redirect_stdout(io.StringIO()):
        assert main(["plot", str(run), "--out", str(out)]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["cycles.png", "timeseries.png"]
    for f in out.iterdir():
        _assert_png(f)
    assert plot_results(run, tmp_path / "again") == [tmp_path / "again" / "timeseries.png",
                                                     tmp_path / "again" / "cycles.png"]


def test_plot_command_on_an_empty_folder(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "neither a run folder" in capsys.readouterr().err


def test_discharge_ends_figure_is_the_csv_with_the_study_stars(tmp_path):
    """Fig. 4d/e style: for each run, the discharge-end rows only, contact ratios of the
    lithiating phase in %, mean von Mises stress in GPa; the study's values as stars at their
    cycles (assets/study_reference.toml: Se–Se 70.5 % at cycle 1, 84.4 % at cycle 20)."""
    from dempack.plot import discharge_ends_figure, plot_discharge_ends
    from dempack.reference import load_reference
    head = ("cycle,half,step,contact_ratio:Se-Se,contact_ratio:Se-Mo6Se8,"
            "contact_ratio:Mo6Se8-Se,lithiation_mean:Se,lithiation_mean:Mo6Se8,"
            "stress_vm_mean_Pa:Se,stress_vm_mean_Pa:Mo6Se8\n")
    runs = {}
    for name, k in (("a", 1.0), ("b", 2.0)):
        d = tmp_path / name
        d.mkdir()
        (d / "cycles.csv").write_text(
            head + f"1,discharge,10,{0.4 * k},0.5,0.6,1.0,0.0,{1e8 * k},5e8\n"
            f"1,charge,20,0.1,0.2,0.2,0.22,0.0,9e7,0\n"
            f"2,discharge,30,{0.45 * k},0.55,0.6,1.0,0.0,{1.2e8 * k},6e8\n")
        from dempack.io.tables import read_csv
        runs[name] = read_csv(d / "cycles.csv")
    fig, data = discharge_ends_figure(runs, load_reference())
    labels = [s.label for s in data["contact ratio (%)"]]
    assert labels == ["a: Se–Se", "a: Se–Mo6Se8", "b: Se–Se", "b: Se–Mo6Se8"]  # Mo6Se8 does not lithiate
    s = data["contact ratio (%)"][2]
    np.testing.assert_allclose(s.x, [1, 2])
    np.testing.assert_allclose(s.y, [80.0, 90.0])
    s = data["mean von Mises stress (GPa)"][0]
    np.testing.assert_allclose(s.y, [0.1, 0.12])
    stars = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("study Fig. 4d")]
    pts = sorted((float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in stars)
    assert (1.0, 70.5) in pts and (20.0, 84.4) in pts
    out = plot_discharge_ends([tmp_path / "a", tmp_path / "b"], tmp_path / "f.png")
    assert out.is_file() and out.stat().st_size > 0
