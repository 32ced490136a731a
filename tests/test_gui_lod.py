"""Level of detail of the 3D view (issue 19, item 6; gui/lod.py): while the picture moves (a
drag, new frames) the spheres' mapper draws a fixed random subset of the spheres with
multisampling off, and the full set once the picture is still, exactly as before; new
positions reach the arrays drawn; the View menu's switch. Both back ends: the off-screen
images (anywhere) and the interactive VTK widget (an X server: Xvfb)."""
import os

import numpy as np
import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402
from vtkmodules.util.numpy_support import vtk_to_numpy  # noqa: E402

from gui.lod import DEPTH, light_count  # noqa: E402
from gui.view3d import ParticleView  # noqa: E402

N = 20000


def _packing(n, seed=1):
    """n spheres (radii 2-3 µm) at random in a cube at solid fraction 0.6."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(2e-6, 3e-6, n)
    L = (4.0 / 3.0 * np.pi * np.sum(r ** 3) / 0.6) ** (1.0 / 3.0)
    return {"x": rng.uniform(0.0, L, (n, 3)), "radius": r, "stress_vm": rng.uniform(0, 3e8, n),
            "material": rng.integers(0, 2, n)}, (L, L, L, False)


def _drawn(view, name=None):
    """What the spheres' mapper draws now: its points (k, 3), or the point array `name`."""
    pd = view.mapper.GetInput()
    if name is None:
        return vtk_to_numpy(pd.GetPoints().GetData())
    return vtk_to_numpy(pd.GetPointData().GetArray(name))


@pytest.fixture(params=["offscreen", "widget"])
def view(request, qtbot):
    """A view of N spheres coloured by stress, whose full frames count as slow (as under
    llvmpipe at 100k: the light copy is then used; on a GPU it would not be)."""
    widget = request.param == "widget"
    if widget:
        from PySide6.QtGui import QGuiApplication
        if not os.environ.get("DISPLAY") or QGuiApplication.platformName() != "xcb":
            pytest.skip("the VTK Qt widget needs an X server (Qt on xcb)")
    v = ParticleView(interactive=widget)
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    if widget:
        qtbot.waitExposed(v)
    v.set_materials(["A", "B"])
    v.color_combo.setCurrentText("von Mises stress")
    p, die = _packing(N)
    v.set_frame(p, {"die": die})
    qtbot.waitUntil(lambda: not v.lod.active, timeout=5000)
    v.lod.rate = 1e9                 # any full frame is slower than 1 / rate
    v.packing, v.die_box = p, die
    yield v
    v.finalize()


def _target(view):
    return view.vtk_widget if view.interactive else view.label


def test_a_drag_draws_the_light_copy_and_the_full_picture_after(view, qtbot):
    win = view._window()
    samples = win.GetMultiSamples()
    still = view.image()
    assert len(_drawn(view)) == N
    k = light_count(view.packing["x"], view.packing["radius"])
    assert 0.1 * N < k < 0.6 * N                      # a dense cube: ~DEPTH of ~15 layers

    at = QtCore.QPoint(200, 150)
    qtbot.mousePress(_target(view), QtCore.Qt.LeftButton, pos=at)
    assert view.lod.active
    assert view.lod.count == k and len(_drawn(view)) == k
    assert win.GetMultiSamples() == 0
    idx = view.lod.index
    assert len(np.unique(idx)) == k
    np.testing.assert_array_equal(_drawn(view), view.packing["x"][idx])
    np.testing.assert_array_equal(_drawn(view, "radius"), view.packing["radius"][idx])
    # the light copy still covers the packing: little background inside the cube's picture
    img = view._pixels()
    h, w, _ = img.shape
    centre = img[int(0.4 * h):int(0.6 * h), int(0.3 * w):int(0.5 * w)]
    assert (centre.min(axis=-1) > 250).mean() < 0.03

    qtbot.mouseRelease(_target(view), QtCore.Qt.LeftButton, pos=at)
    assert view.lod.active                            # the full picture after settle_ms
    qtbot.waitUntil(lambda: not view.lod.active, timeout=5000)
    assert len(_drawn(view)) == N
    assert win.GetMultiSamples() == samples
    np.testing.assert_array_equal(view.image(), still)   # the camera did not move


def test_a_drag_turns_the_camera_with_the_light_copy(view, qtbot):
    cam = view.renderer.GetActiveCamera()
    before = np.array(cam.GetPosition())
    t = _target(view)
    qtbot.mousePress(t, QtCore.Qt.LeftButton, pos=QtCore.QPoint(200, 150))
    for x in range(205, 260, 5):
        qtbot.mouseMove(t, pos=QtCore.QPoint(x, 150))
        assert view.lod.active and len(_drawn(view)) == view.lod.count < N
    qtbot.mouseRelease(t, QtCore.Qt.LeftButton, pos=QtCore.QPoint(260, 150))
    qtbot.waitUntil(lambda: not view.lod.active, timeout=5000)
    assert len(_drawn(view)) == N
    assert np.linalg.norm(np.array(cam.GetPosition()) - before) > 0


def test_new_positions_reach_the_drawn_arrays(view, qtbot):
    p = view.packing
    q = dict(p, x=p["x"] + 1e-7, radius=1.01 * p["radius"], stress_vm=p["stress_vm"][::-1].copy())
    view.set_frame(q, {"die": view.die_box})
    assert view.lod.active                           # a new frame: the light copy first
    idx = view.lod.index
    np.testing.assert_array_equal(_drawn(view), q["x"][idx])
    np.testing.assert_array_equal(_drawn(view, "radius"), q["radius"][idx])
    np.testing.assert_allclose(_drawn(view, "color"), 1e-6 * q["stress_vm"][idx])
    qtbot.waitUntil(lambda: not view.lod.active, timeout=5000)
    np.testing.assert_array_equal(_drawn(view), q["x"])
    np.testing.assert_array_equal(view.positions(), q["x"])
    # frames in a row stay light; more spheres (fragments) pick a new subset of them all
    x3 = np.concatenate([q["x"], q["x"][:100] + 1e-6])
    r = dict(q, x=x3, radius=np.concatenate([q["radius"], q["radius"][:100]]),
             stress_vm=np.concatenate([q["stress_vm"], q["stress_vm"][:100]]),
             material=np.concatenate([q["material"], q["material"][:100]]))
    view.set_frame(q, {"die": view.die_box})
    view.set_frame(r, {"die": view.die_box})
    assert view.lod.active and view.lod.index.max() >= N     # a subset of all N + 100
    np.testing.assert_array_equal(_drawn(view), x3[view.lod.index])
    qtbot.waitUntil(lambda: not view.lod.active, timeout=5000)
    np.testing.assert_array_equal(_drawn(view), x3)


def test_switched_off_every_frame_is_full(view, qtbot):
    view.set_level_of_detail(False)
    qtbot.mousePress(_target(view), QtCore.Qt.LeftButton, pos=QtCore.QPoint(200, 150))
    assert not view.lod.active and len(_drawn(view)) == N
    qtbot.mouseRelease(_target(view), QtCore.Qt.LeftButton, pos=QtCore.QPoint(200, 150))
    q = dict(view.packing, x=view.packing["x"] + 2e-7)
    view.set_frame(q, {"die": view.die_box})
    assert not view.lod.active
    np.testing.assert_array_equal(_drawn(view), q["x"])


def test_fast_full_frames_need_no_light_copy(view, qtbot):
    view.lod.rate = 1e-3             # any full frame is fast enough (a GPU)
    qtbot.mousePress(_target(view), QtCore.Qt.LeftButton, pos=QtCore.QPoint(200, 150))
    assert not view.lod.active and len(_drawn(view)) == N
    qtbot.mouseRelease(_target(view), QtCore.Qt.LeftButton, pos=QtCore.QPoint(200, 150))


def test_light_count_keeps_depth_spheres_per_line_of_sight():
    rng = np.random.default_rng(0)
    p, _ = _packing(100000)
    k = light_count(p["x"], p["radius"])
    L = p["x"].max() - p["x"].min()
    d = np.pi * np.sum(p["radius"] ** 2) / (1.5 * L * L)   # mean depth complexity of a cube
    assert k == pytest.approx(100000 * DEPTH / d, rel=0.1)
    # a 2D run (disks in the x-z plane): every disk is seen; keep them all
    x2 = np.column_stack([rng.uniform(0, 1e-3, 5000), np.zeros(5000), rng.uniform(0, 1e-3, 5000)])
    assert light_count(x2, np.full(5000, 5e-6)) == 5000
    assert light_count(np.zeros((0, 3)), np.zeros(0)) == 0


def test_view_menu_switch(qtbot, quickstart):
    from gui.app import MainWindow
    w = MainWindow(quickstart)
    qtbot.addWidget(w)
    act = w.act_lod
    menu = [m for m in w.menuBar().actions() if m.text() == "&View"][0].menu()
    assert act in menu.actions() and act.isCheckable() and act.isChecked()
    assert "subset" in act.toolTip() and w.view.lod.enabled
    act.trigger()
    assert not act.isChecked() and not w.view.lod.enabled
    act.trigger()
    assert w.view.lod.enabled
