"""`dempack compare RUN_A RUN_B` (issue 19 item 3): the difference table of two runs' cycles.csv
at each half-cycle end, checked against differences computed here from the files with the csv
module; the overlay figure holds both runs' lines and the study's markers."""
import csv
import math

import numpy as np
import pytest

from dempack.cli import main
from dempack.compare import compare, load_run, overlay_figure
from dempack.reference import load_reference

from _rundirs import finished_run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_overrides):
    root = tmp_path_factory.mktemp("compare")
    return (finished_run(root / "seed1", tiny_overrides, seed=1),
            finished_run(root / "seed2", tiny_overrides, seed=2))


def _cycles(path):
    with open(path / "cycles.csv", newline="") as f:
        return list(csv.DictReader(f))


def _float(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def test_compare_table_holds_the_differences_of_the_two_cycles_files(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert "2 half-cycle ends compared" in capsys.readouterr().out
    with open(out / "compare.csv", newline="") as f:
        table = list(csv.DictReader(f))
    ra, rb = _cycles(a), _cycles(b)
    assert len(ra) == len(rb) == 2
    numeric = [c for c in ra[0] if c not in ("cycle", "half", "stage")]
    assert len(table) == 2 * len(numeric)
    got = {(r["cycle"], r["half"], r["column"]): r for r in table}
    checked = 0
    for xa, xb in zip(ra, rb):
        assert (xa["cycle"], xa["half"]) == (xb["cycle"], xb["half"])
        for c in numeric:
            r = got[(xa["cycle"], xa["half"], c)]
            va, vb = _float(xa[c]), _float(xb[c])
            if math.isnan(va) or math.isnan(vb):
                assert r["B_minus_A"] == ""
                continue
            assert _float(r["A"]) == va and _float(r["B"]) == vb, c
            assert _float(r["B_minus_A"]) == pytest.approx(vb - va, rel=1e-12, abs=1e-300), c
            if va != 0:
                assert _float(r["relative"]) == pytest.approx((vb - va) / abs(va), rel=1e-12), c
            checked += 1
    assert checked > 40
    # the two seeds differ somewhere that matters
    por = [r for r in table if r["column"] == "porosity"]
    assert any(_float(r["B_minus_A"]) != 0 for r in por)
    md = (out / "compare.md").read_text()
    assert "## cycle 1, discharge end" in md and "| porosity |" in md
    assert "Fig. 4d" in md and "70.5" in md                 # the study's values beside
    assert (out / "compare.png").stat().st_size > 10_000


def test_overlay_figure_has_both_runs_lines_and_the_markers(two_runs):
    a, b = two_runs
    runs = [load_run(a, "A"), load_run(b, "B")]
    fig, data = overlay_figure(runs, "cycles", reference=load_reference())
    panel = data["porosity"]
    x_expected = np.array([0.5, 1.0])                      # discharge end, charge end of cycle 1
    for run, path in zip(("A", "B"), two_runs):
        s = next(s for s in panel if s.label == f"{run}: porosity")
        np.testing.assert_array_equal(s.x, x_expected)
        np.testing.assert_array_equal(s.y, [float(r["porosity"]) for r in _cycles(path)])
    ax = next(ax for ax in fig.axes if ax.get_title() == "porosity")
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"A: porosity", "B: porosity"}
    assert lines["A: porosity"].get_linestyle() != lines["B: porosity"].get_linestyle()
    np.testing.assert_array_equal(lines["B: porosity"].get_ydata(), panel[1].y)
    # Se stress at the first cycle (Fig. 4e, 0.099 GPa) as a marker at x = 1 in MPa
    ax = next(ax for ax in fig.axes if ax.get_title().startswith("mean von Mises"))
    star = [ln for ln in ax.get_lines() if ln.get_label().startswith("study Fig. 4e")]
    assert len(star) == 1 and star[0].get_marker() == "*" and star[0].get_linestyle() == "None"
    assert list(star[0].get_xdata()) == [1.0] and list(star[0].get_ydata()) == [pytest.approx(99.0)]
    # the 20th-cycle markers are left out of a one-cycle run
    assert not any("84.4" in ln.get_label() for ax in fig.axes for ln in ax.get_lines())
    # over time: the same runs' lines, no markers at the wrong place
    fig, data = overlay_figure(runs, "timeseries", x="time")
    assert {s.label for s in data["porosity"]} == {"A: porosity", "B: porosity"}


def test_compare_refuses_a_run_without_cycles(two_runs, tmp_path):
    with pytest.raises(ValueError, match="not a run folder"):
        compare(two_runs[0], tmp_path)
