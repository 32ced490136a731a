"""The parts of the 3D view's scene (gui/view3d.py), one class per concept.

ColourField: the colour of the spheres (the field chosen, its lookup table, the colour bar);
ClipPlane: the plane (normal +y, the viewer's depth axis) that cuts away the front of the
die; FragmentFlash: the glowing halo of new fragments; Camera: the front view of the die,
rotated and zoomed in the off-screen back end. The die outline and the caption are built by
`outline_actor` and `caption_actor`.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPolyData
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTextActor
from vtkmodules.vtkRenderingOpenGL2 import vtkOpenGLPointGaussianMapper

from dempack.render import COLOURS, PALETTE, front_view

FLASH_MS = 1500              # how long a new fragment's highlight stays (ms)


def outline_actor(source) -> vtkActor:
    """The die's walls as an outline (of a vtkOutlineSource), hidden until a die is known."""
    om = vtkPolyDataMapper()
    om.SetInputConnection(source.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(om)
    actor.GetProperty().SetColor(0.2, 0.2, 0.2)
    actor.GetProperty().SetLineWidth(2.0)
    actor.VisibilityOff()
    return actor


def caption_actor() -> vtkTextActor:
    """A caption in the top left corner (what is shown: the set-up before Run, a replay
    frame), hidden until set."""
    caption = vtkTextActor()
    caption.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    caption.GetPositionCoordinate().SetValue(0.01, 0.98)
    tp = caption.GetTextProperty()
    tp.SetColor(0.1, 0.1, 0.1)
    tp.SetFontSize(12)
    tp.SetVerticalJustificationToTop()
    tp.ShadowOff()
    caption.VisibilityOff()
    return caption


def _scalar_bar(lut) -> vtkScalarBarActor:
    bar = vtkScalarBarActor()
    bar.SetLookupTable(lut)
    bar.SetNumberOfLabels(5)
    bar.SetMaximumWidthInPixels(90)
    bar.SetBarRatio(0.25)
    for tp in (bar.GetLabelTextProperty(), bar.GetTitleTextProperty(),
               bar.GetAnnotationTextProperty()):
        tp.SetColor(0.1, 0.1, 0.1)
        tp.ShadowOff()
        tp.ItalicOff()
        tp.BoldOff()
        tp.SetFontSize(13)
    bar.UnconstrainedFontSizeOn()
    bar.SetLabelFormat("%.3g")
    bar.VisibilityOff()
    return bar


class ColourField:
    """Owns the colour of the spheres: the colour-by choice, its lookup table, the colour bar."""

    def __init__(self, mapper):
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName("color_by")
        self.combo.addItems(list(COLOURS))
        self.mapper = mapper
        self.lut = vtkLookupTable()
        mapper.SetLookupTable(self.lut)
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("color")
        mapper.ScalarVisibilityOn()
        self.scalar_bar = _scalar_bar(self.lut)

    def apply(self, arrays: dict, n: int, colour, material_names: list[str]) -> None:
        """Write the chosen field of `arrays` (n particles) into the VTK array `colour`
        and fit the lookup table: named categories for the material, else a blue-to-red
        scale over the values' range."""
        label = self.combo.currentText()
        name, scale, unit = COLOURS[label]
        vals = np.asarray(arrays.get(name, np.zeros(n)), float) * scale
        vtk_to_numpy(colour)[:] = vals
        colour.Modified()
        lut = self.lut
        if name == "material":
            nm = max(len(material_names), int(vals.max()) + 1 if vals.size else 1)
            lut.ResetAnnotations()
            lut.SetNumberOfTableValues(nm)
            for k in range(nm):
                lut.SetTableValue(k, *PALETTE[k % len(PALETTE)], 1.0)
                lut.SetAnnotation(k, material_names[k] if k < len(material_names) else str(k))
            lut.IndexedLookupOn()
            lo, hi = 0.0, nm - 1.0
        else:
            lut.IndexedLookupOff()
            lut.ResetAnnotations()
            lut.SetNumberOfTableValues(256)
            lut.SetHueRange(0.667, 0.0)
            lut.SetSaturationRange(1.0, 1.0)
            lut.SetValueRange(1.0, 1.0)
            lut.ForceBuild()
            lo = float(vals.min()) if vals.size else 0.0
            hi = float(vals.max()) if vals.size else 1.0
            if hi <= lo:
                hi = lo + (abs(lo) * 1e-3 or 1.0)
        lut.SetRange(lo, hi)
        self.mapper.SetScalarRange(lo, hi)
        self.scalar_bar.SetTitle(f"{label}" + (f" ({unit})" if unit else ""))
        self.scalar_bar.VisibilityOn()


class ClipPlane:
    """Owns the clip plane (normal +y) and its controls: cut away y below the slider."""

    def __init__(self, changed):
        self.box = QtWidgets.QCheckBox("clip")
        self.box.setToolTip("Cut away the front part of the die (y below the slider)")
        self.box.toggled.connect(lambda *_: changed())
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setMaximumWidth(120)
        self.slider.valueChanged.connect(lambda *_: changed())
        self.plane = vtkPlane()
        self.plane.SetNormal(0.0, 1.0, 0.0)

    def apply(self, mapper, die) -> None:
        """Clip `mapper` at the slider's depth of the die (Lx, Ly, z_top, periodic), or not."""
        mapper.RemoveAllClippingPlanes()
        if self.box.isChecked():
            Lx, Ly, zt, _ = die
            self.plane.SetOrigin(0.5 * Lx, Ly * self.slider.value() / 100.0, 0.5 * zt)
            mapper.AddClippingPlane(self.plane)


class FragmentFlash:
    """Owns the highlight of new fragments: the particles whose breakage generation rose
    since the last frame shown, a glowing halo (a Gaussian splat) for FLASH_MS."""

    def __init__(self, parent: QtCore.QObject, render):
        self._render = render
        self.previous = None     # (sorted ids, generation) of the last frame shown
        self.flashed = 0         # new fragments highlighted by the last frame
        self.poly = vtkPolyData()
        self.mapper = vtkOpenGLPointGaussianMapper()
        self.mapper.SetInputData(self.poly)
        self.mapper.SetScaleArray("radius")
        self.mapper.SetScaleFactor(2.0)
        self.mapper.EmissiveOn()
        self.mapper.ScalarVisibilityOff()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.actor.GetProperty().SetColor(1.0, 0.1, 0.9)
        self.actor.VisibilityOff()
        self.timer = QtCore.QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.end)

    def update(self, x: np.ndarray, arrays: dict) -> None:
        """Highlight for FLASH_MS the particles whose breakage generation rose since the
        last frame shown (a new id with generation > 0, or a known id's generation up)."""
        gen, ids = arrays.get("generation"), arrays.get("id")
        prev = self.previous
        self.flashed = 0
        if gen is None or ids is None:
            self.previous = None
            return
        gen, ids = np.asarray(gen), np.asarray(ids)
        order = np.argsort(ids, kind="stable")
        self.previous = (ids[order], gen[order])
        if prev is None or not len(prev[0]):
            return
        pid, pgen = prev
        pos = np.clip(np.searchsorted(pid, ids), 0, len(pid) - 1)
        known = pid[pos] == ids
        new = (gen > 0) & (~known | (gen > np.where(known, pgen[pos], 0)))
        self.flashed = int(new.sum())
        if not self.flashed:
            return
        pts = vtkPoints()
        pts.SetDataTypeToDouble()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(x[new], float), deep=1))
        self.poly.Initialize()
        self.poly.SetPoints(pts)
        r = numpy_to_vtk(np.ascontiguousarray(np.asarray(arrays["radius"], float)[new]), deep=1)
        r.SetName("radius")
        self.poly.GetPointData().AddArray(r)
        self.poly.Modified()
        self.actor.VisibilityOn()
        self.timer.start(FLASH_MS)

    def end(self, render: bool = True) -> None:
        self.timer.stop()
        if self.actor.GetVisibility():
            self.actor.VisibilityOff()
            if render:
                self._render()


class Camera:
    """Owns the view's camera: the front view of the die, framed again when the die's height
    changes by more than 30 %; rotation and zoom of the off-screen back end."""

    def __init__(self, renderer, die):
        self.renderer = renderer
        self.die = die           # the die the camera was last framed on
        self.framed = False      # framed since the view was cleared

    def frame(self, die) -> None:
        """Front view (looking along +y, z up) of the whole die; straight along y for a 2D
        run (Ly = 0: disks in the x–z plane)."""
        self.die = die
        front_view(self.renderer, die)

    def follow(self, die) -> None:
        """Frame the die if not framed yet, or if its height changed by more than 30 %
        since (loose insertion -> pressed bed)."""
        if not self.framed or abs(die[2] - self.die[2]) > 0.3 * self.die[2]:
            self.frame(die)
            self.framed = True

    def rotate(self, dx: float, dy: float) -> None:
        """A drag of (dx, dy) pixels."""
        cam = self.renderer.GetActiveCamera()
        cam.Azimuth(-0.4 * dx)
        cam.Elevation(0.4 * dy)
        cam.OrthogonalizeViewUp()

    def zoom(self, notches: float) -> None:
        """Wheel notches (120ths of the angle delta): in by 10 % a notch."""
        self.renderer.GetActiveCamera().Dolly(1.1 ** notches)
        self.renderer.ResetCameraClippingRange()
