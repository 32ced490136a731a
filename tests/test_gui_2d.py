"""The app shows a 2D run (issue 15, item 6): the disks in the x–z plane seen straight along
y, coloured by the same fields as a 3D run (von Mises stress, creep strain)."""
import os

import numpy as np
import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from dempack.io.rundir import RunFolder, read_vtp  # noqa: E402
from gui.app import MainWindow  # noqa: E402

from _rundirs import rve2d_run  # noqa: E402


@pytest.fixture(scope="module")
def rve_dir(tmp_path_factory):
    """A small 2D RVE run (grown, stress-free, one cycle) written by `dempack.run`."""
    return rve2d_run(tmp_path_factory.mktemp("gui_2d") / "run", particles=120,
                     steps_per_half_cycle=2000, press_steps=4000, hold_steps=500,
                     snapshot_every=2)


def test_app_shows_the_disks_of_a_2d_run_in_their_plane(qtbot, rve_dir):
    folder = RunFolder(rve_dir)
    assert folder.summary["dimension"] == 2
    Lx, Ly, zt, _ = folder.die(folder.snapshots[-1].step)
    assert Ly == 0.0                                      # the views draw the x–z plane
    w = MainWindow(interactive=False, results=rve_dir)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    k = len(folder.snapshots) - 1
    qtbot.waitUntil(lambda: w.shown_frame == k, timeout=10000)
    x, arrays = read_vtp(folder.snapshots[k].path)
    np.testing.assert_array_equal(w.view.positions(), x)
    assert np.all(x[:, 1] == 0.0)
    cam = w.view.renderer.GetActiveCamera()
    px, py, pz = cam.GetPosition()
    fx, fy, fz = cam.GetFocalPoint()
    # straight along +y onto the plane, centred on the box
    assert px == pytest.approx(Lx / 2) and pz == pytest.approx(zt / 2) and py < 0.0
    assert (fx, fy, fz) == pytest.approx((Lx / 2, 0.0, zt / 2))
    for label, name in (("von Mises stress", "stress_vm"), ("creep strain", "creep_strain")):
        w.view.color_combo.setCurrentText(label)
        lo, hi = w.view.mapper.GetScalarRange()
        vals = arrays[name] * (1e-6 if name == "stress_vm" else 1.0)
        assert lo == pytest.approx(vals.min()) and hi >= vals.max() - 1e-12 * abs(vals.max())
    img = w.view.image()
    assert img.ndim == 3 and img.std() > 0                # something is drawn
    # the section (virtual SEM) cuts 3D packings: for a 2D run it says so and tracks nothing
    assert "2D run" in w.section_panel.message and not w.section_panel.busy
    w.close()
