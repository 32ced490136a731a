"""Level of detail of the 3D view (gui/view3d.py) while it moves.

Every sphere of the view is a shaded impostor splat drawn with the window's multisampling
(4 samples under Mesa); Mesa's software rasteriser (llvmpipe, no GPU) then needs about a
second a frame at 100,000 particles, nearly all of it filling pixels. While the picture
moves, LevelOfDetail swaps the spheres' mapper onto a light copy of the scene: a fixed
random subset of the spheres (same radii, colours and shading) with multisampling off; once
the picture has been still for SETTLE_MS, the full picture is drawn once. The picture moves
while the user rotates or zooms (the interactor style's StartInteractionEvent ..
EndInteractionEvent, as a vtkLODActor switches on the render window's DesiredUpdateRate;
a drag or the wheel in the off-screen back end) and while new frames arrive (set_frame).

The light copy is used only when the last full-quality frame took longer than the frame
time wanted while moving (1 / `rate`, the interactor's DesiredUpdateRate, 15 /s): on a
real GPU the full picture stays. The subset keeps enough spheres that a line of sight
through the packing still meets DEPTH spheres on average, so that the packing's surface
stays closed (uncovered fraction e^-DEPTH): k = n min(1, DEPTH / d), d = pi sum r^2 / (S/4)
the depth complexity of all n spheres (S the surface of their bounding box; S/4 a convex
body's mean projected area, Cauchy's formula); at most MAX_POINTS. A 2D run (disks,
d ~ 2) keeps them all and only loses the multisampling.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPolyData

SETTLE_MS = 300         # still this long (ms) after the last move or frame: the full picture
DEPTH = 5.0             # spheres a line of sight meets on average in the light copy
MAX_POINTS = 60000      # spheres in the light copy at most
RATE = 15.0             # frames per second wanted while moving (VTK's DesiredUpdateRate)


def light_count(x: np.ndarray, radius: np.ndarray, depth: float = DEPTH,
                cap: int = MAX_POINTS) -> int:
    """Spheres to keep of n at positions x (n, 3) m with radii (n,) m so that a line of
    sight through them meets `depth` of them on average (see the module docstring)."""
    n = len(radius)
    if n == 0:
        return 0
    ext = x.max(axis=0) - x.min(axis=0) + 2.0 * float(radius.max())
    area = 0.5 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[2] * ext[0])   # S / 4
    d = np.pi * float(np.dot(radius, radius)) / area if area > 0 else 0.0
    k = n if d <= depth else int(np.ceil(n * depth / d))
    return min(k, cap)


class LevelOfDetail:
    """The light copy of the spheres and when it is drawn (see the module docstring).

    mapper: the spheres' mapper; full: the polydata it draws at full quality (points,
    point arrays "radius" and "color"); window(): the render window drawn into;
    render(): draws the view. `enabled` is the user's choice (View → Fast rotate);
    `active`: the light copy is drawn now; `count`: its spheres; `full_render_s`: the wall
    time of the last full-quality frame (ParticleView measures it)."""

    def __init__(self, mapper, full: vtkPolyData, window, render, parent: QtCore.QObject):
        self.mapper, self.full = mapper, full
        self._window, self._render = window, render
        self.enabled = True
        self.active = False
        self.interacting = False
        self.rate = RATE
        self.depth = DEPTH
        self.settle_ms = SETTLE_MS
        self.full_render_s = 0.0
        self.index = np.zeros(0, np.int64)   # the full arrays' rows in the light copy
        self._order = np.zeros(0, np.int64)  # a fixed random order of the n spheres
        self._samples = None                 # the window's multisamples at full quality
        self.poly = vtkPolyData()
        self.timer = QtCore.QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.settle)

    @property
    def count(self) -> int:
        return len(self.index)

    def wanted(self) -> bool:
        """The light copy would be drawn while moving: switched on, and the last full
        frame took longer than 1 / rate."""
        return (self.enabled and self.full.GetNumberOfPoints() > 0
                and self.full_render_s * self.rate > 1.0)

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if not on:
            self.settle()

    # ------------------------------------------------------------ moving
    def begin(self) -> bool:
        """The picture starts to move (or a new frame came): draw the light copy if wanted.
        True when it is drawn."""
        self.timer.stop()
        if self.active or not self.wanted():
            return self.active
        self._choose()
        self.sync()
        self.mapper.SetInputData(self.poly)
        win = self._window()
        self._samples = win.GetMultiSamples()
        win.SetMultiSamples(0)
        self.active = True
        return True

    def end(self) -> None:
        """The picture stopped moving: the full picture after settle_ms, unless it moves
        again (or the user still holds it)."""
        if self.active and not self.interacting:
            self.timer.start(self.settle_ms)

    def interaction_started(self, *_) -> None:
        self.interacting = True
        self.begin()

    def interaction_ended(self, *_) -> None:
        self.interacting = False
        self.end()

    def settle(self, render: bool = True) -> None:
        """Back to the full picture (and draw it)."""
        self.timer.stop()
        if not self.active:
            return
        self.mapper.SetInputData(self.full)
        if self._samples is not None:
            self._window().SetMultiSamples(self._samples)
        self.active = False
        if render:
            self._render()

    # ------------------------------------------------------------ data
    def _choose(self) -> None:
        """The subset: the first k of a fixed random order of the n spheres (a new order
        only when n changes), in index order."""
        full = self.full
        n = full.GetNumberOfPoints()
        if len(self._order) != n:
            self._order = np.random.default_rng(0).permutation(n)
        x = vtk_to_numpy(full.GetPoints().GetData())
        r = vtk_to_numpy(full.GetPointData().GetArray("radius"))
        self.index = np.sort(self._order[:light_count(x, r, self.depth)])

    def sync(self) -> None:
        """Copy the subset's positions, radii and colours from the full arrays (new VTK
        arrays only when the subset's size changes). Call after the full ones changed."""
        if len(self._order) != self.full.GetNumberOfPoints():
            self._choose()
        idx, k = self.index, len(self.index)
        full, pd = self.full.GetPointData(), self.poly.GetPointData()
        src = {"radius": full.GetArray("radius"), "color": full.GetArray("color")}
        pts = self.poly.GetPoints()
        if pts is None or pts.GetNumberOfPoints() != k:
            pts = vtkPoints()
            pts.SetDataTypeToDouble()
            pts.SetData(numpy_to_vtk(np.zeros((k, 3)), deep=1))
            self.poly.SetPoints(pts)
            for name in src:
                a = numpy_to_vtk(np.zeros(k), deep=1)
                a.SetName(name)
                pd.AddArray(a)
        np.take(vtk_to_numpy(self.full.GetPoints().GetData()), idx, axis=0,
                out=vtk_to_numpy(pts.GetData()))
        pts.GetData().Modified()
        pts.Modified()
        for name, a in src.items():
            dst = pd.GetArray(name)
            np.take(vtk_to_numpy(a), idx, out=vtk_to_numpy(dst))
            dst.Modified()
        self.poly.Modified()
