"""The app's comparison of two runs, the study's markers, and the figure and movie exports
(issue 19 items 3, 5), headless (QT_QPA_PLATFORM=offscreen: the 3D view renders off screen)."""
import os

import numpy as np
import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from dempack.compare import cycle_differences  # noqa: E402
from dempack.io.rundir import RunFolder  # noqa: E402
from gui.app import MainWindow  # noqa: E402
from gui.compare import COMPARE_COLS, table_rows  # noqa: E402
from gui.plots import PANELS  # noqa: E402

from _rundirs import finished_run  # noqa: E402


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_overrides):
    root = tmp_path_factory.mktemp("gui_compare")
    return (finished_run(root / "first", tiny_overrides, seed=1),
            finished_run(root / "second", tiny_overrides, seed=3))


@pytest.fixture
def win(qtbot, two_runs):
    w = MainWindow(interactive=False, results=two_runs[0])
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    return w


def _panel(title):
    return next(k for k, p in enumerate(PANELS) if p[0] == title)


def test_second_run_is_overlaid_and_tabled(win, two_runs):
    a, b = two_runs
    c = win.compare
    assert not c.act_close.isEnabled() and c.act_compare.isEnabled()
    assert c.compare_with(b)
    rows_b = RunFolder(b).rows()
    k = _panel("Porosity")
    win.plots.x_combo.setCurrentText("step")
    x, y = c.curves_b[(k, "porosity")].getData()
    np.testing.assert_array_equal(x, [r["step"] for r in rows_b])
    np.testing.assert_array_equal(y, [r["porosity"] for r in rows_b])
    # A solid, B dashed, same colour; legends with the run names
    pa = win.plots.curves[(k, "porosity")].opts["pen"]
    pb = c.curves_b[(k, "porosity")].opts["pen"]
    assert pa.style() != pb.style() and pa.color().name() == pb.color().name()
    names = [item.text for _s, item in win.plots.plots[k].legend.items]
    assert names == ["first: porosity", "second: porosity"]
    kc = _panel("Contact ratio per phase pair")
    names = [item.text for _s, item in win.plots.plots[kc].legend.items]
    assert "first: Se-Se" in names and "second: Se-Se" in names
    # the Compare tab: the engine's differences of the two cycles.csv, side by side
    expected = cycle_differences(RunFolder(a).cycle_rows(), RunFolder(b).cycle_rows())
    got = table_rows(c.compare_table, COMPARE_COLS)
    assert len(got) == len(expected) > 40
    for g, e in zip(got, expected):
        assert (g["cycle"], g["half"], g["column"]) == (e["cycle"], e["half"], e["column"])
        if np.isfinite(e["B_minus_A"]):
            assert g["B_minus_A"] == e["B_minus_A"] == e["B"] - e["A"]
    panel = win.results_panel
    assert panel.tabText(panel.indexOf(c.compare_table)) == "Compare"
    # the time axis: B in A's unit
    win.plots.x_combo.setCurrentText("time")
    x, _ = c.curves_b[(k, "porosity")].getData()
    t = np.array([r["time_s"] for r in rows_b])
    assert x[-1] == pytest.approx(t[-1] / 3600.0)              # hours: a cycling run
    c.close_comparison()
    assert not c.curves_b and panel.indexOf(c.compare_table) < 0
    names = [item.text for _s, item in win.plots.plots[k].legend.items]
    assert names == []                                         # a lone series: no legend


def test_study_markers_and_study_tab(win):
    c = win.compare
    k = _panel("Mean von Mises stress")
    win.plots.x_combo.setCurrentText("cycle")
    c.show_markers(True)
    marks = [(v, item) for kk, v, item in c.markers if kk == k]
    assert {v.name for v, _ in marks} == {"stress_vm_se_cycle1", "stress_vm_se_cycle20"}
    shown = {v.name: item.getData() for v, item in marks}
    x, y = shown["stress_vm_se_cycle1"]
    assert list(x) == [1.0] and list(y) == [pytest.approx(99.0)]    # 0.099 GPa in MPa, cycle 1
    assert len(shown["stress_vm_se_cycle20"][0]) == 0               # a one-cycle run: not drawn
    names = [item.text for _s, item in win.plots.plots[k].legend.items]
    assert any(n.startswith("study Fig. 4e: 0.099 GPa") for n in names)
    # no LiCoO2 in this run: no LiCoO2 marker
    assert not any("lco" in v.name for _k, v, _i in c.markers)
    # on the step axis the cycle-1 marker sits at the step where cycle 1 ends
    win.plots.x_combo.setCurrentText("step")
    x, _ = dict((v.name, item.getData()) for v, item in marks)["stress_vm_se_cycle1"]
    end = RunFolder(win.folder.path).cycle_rows()[-1]["step"]
    assert x[0] == pytest.approx(end, abs=200)
    c.show_markers(False)
    assert not c.markers
    study = c.study_table
    headers = [study.horizontalHeaderItem(j).text() for j in range(study.columnCount())]
    assert headers[:3] == ["figure", "quantity", "study"]
    assert study.rowCount() >= 8


def test_export_figure_and_movie_from_the_app(win, two_runs, tmp_path):
    from PIL import Image
    import imageio.v3 as iio
    c = win.compare
    c.compare_with(two_runs[1])
    c.show_markers(True)
    win.plots.x_combo.setCurrentText("cycle")
    png = c.export_figure(tmp_path / "plots.png", dpi=90)
    with Image.open(png) as im:
        assert im.info["dpi"] == pytest.approx((90, 90), abs=0.05)
        from dempack.export import FIGSIZE
        assert im.size == (round(FIGSIZE[0] * 90), round(FIGSIZE[1] * 90))
    assert c.export_figure(tmp_path / "plots.svg", dpi=90).stat().st_size > 10_000
    win.view.color_combo.setCurrentText("von Mises stress")
    gif = c.export_movie(tmp_path / "replay.gif", size=(120, 90))
    frames = iio.imread(gif, index=None)
    assert frames.shape[:3] == (len(win.folder.snapshots), 90, 120)
