"""3D view of the particles (VTK).

Spheres are drawn as ray-cast sphere impostors of a vtkPointGaussianMapper
(one screen-space quad per particle, radius = the particle radius), so 100,000
particles stay interactive; the points, radii and colours are written into the
existing VTK arrays in place at each frame (the pipeline is not rebuilt).
Colour by material (categorical, named), von Mises stress, lithiation, creep
strain, breakage generation or connectivity, with a colour bar; a clip plane
(normal +y, the viewer's depth axis) cuts away the front of the die; the die
walls are drawn as an outline.

The "contacts" layer (off by default; gui.contacts) draws the contact network: tubes
between the centres (2D: the flats as chords), radius and colour by normal force, with a
phase-pair filter; above CONTACT_LIMIT contacts it stays off unless "draw anyway" is
ticked, and the toolbar says so. The spheres turn translucent while it is shown. New
fragments (breakage generation risen since the last frame shown) flash for FLASH_MS.

Two back ends: the interactive QVTKRenderWindowInteractor needs a real X
server (or Xvfb) with OpenGL; without one (QT_QPA_PLATFORM=offscreen, or
DEMPACK_GUI_3D=offscreen) the same scene is rendered off screen into a QLabel,
rotated by dragging and zoomed by the wheel. DEMPACK_GUI_3D=widget forces the
widget.
"""
from __future__ import annotations

import os

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkOutlineSource
from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import (vtkActor, vtkPolyDataMapper, vtkRenderer,
                                         vtkRenderWindow, vtkTextActor, vtkWindowToImageFilter)
import vtkmodules.vtkInteractionStyle  # noqa: F401  (registers the trackball style)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL back end)
from vtkmodules.vtkRenderingOpenGL2 import vtkOpenGLPointGaussianMapper

from dempack.render import COLOURS, PALETTE, SHADER, front_view

from .contacts import (CONTACT_LIMIT, ContactLayer, contact_segments, drawable, pair_choices,
                       select_contacts)

# colour choices, material colours and the sphere shader: one home, shared with the
# off-screen renderer of movie export (dempack.render)
COLOR_BY = COLOURS            # label -> (array name, scale, unit)
MATERIAL_RGB = PALETTE
SPHERE_SHADER = SHADER
FLASH_MS = 1500              # how long a new fragment's highlight stays (ms)
SPHERE_OPACITY_WITH_CONTACTS = 0.3


def widget_backend_available() -> bool:
    """True when the interactive VTK widget can work (a windowing Qt platform)."""
    mode = os.environ.get("DEMPACK_GUI_3D", "auto")
    if mode == "widget":
        return True
    if mode == "offscreen":
        return False
    app = QtGui.QGuiApplication.instance()
    name = app.platformName() if app is not None else ""
    return name in ("xcb", "wayland", "windows", "cocoa")


_OFFSCREEN = []   # the process's one off-screen render window, made on first use


def _offscreen_window(renderer):
    """One off-screen render window for every off-screen view of the process, with
    `renderer` as its only renderer. Each window holds an OpenGL context (and Mesa's
    llvmpipe its own threads); a window per view, dozens of them in one process (the
    app's tests), crash Mesa under Xvfb. A view renders and reads its image back at once,
    so one window serves them all."""
    if not _OFFSCREEN:
        w = vtkRenderWindow()
        w.SetOffScreenRendering(1)
        _OFFSCREEN.append(w)
    w = _OFFSCREEN[0]
    rens = w.GetRenderers()
    if rens.GetNumberOfItems() != 1 or rens.GetFirstRenderer() is not renderer:
        r = rens.GetFirstRenderer()
        while r is not None:
            w.RemoveRenderer(r)
            r = rens.GetFirstRenderer()
        w.AddRenderer(renderer)
    return w


class _ImageLabel(QtWidgets.QLabel):
    """Off-screen back end: shows rendered images; drag rotates, wheel zooms."""

    def __init__(self, view):
        super().__init__()
        self.view = view
        self._last = None
        self.setAlignment(QtCore.Qt.AlignCenter)
        self.setMinimumSize(200, 150)
        self.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Ignored)

    def mousePressEvent(self, e):
        self._last = e.position()

    def mouseMoveEvent(self, e):
        if self._last is None:
            return
        d = e.position() - self._last
        self._last = e.position()
        cam = self.view.renderer.GetActiveCamera()
        cam.Azimuth(-0.4 * d.x())
        cam.Elevation(0.4 * d.y())
        cam.OrthogonalizeViewUp()
        self.view.render()

    def mouseReleaseEvent(self, e):
        self._last = None

    def wheelEvent(self, e):
        self.view.renderer.GetActiveCamera().Dolly(1.1 ** (e.angleDelta().y() / 120.0))
        self.view.renderer.ResetCameraClippingRange()
        self.view.render()

    def resizeEvent(self, e):
        super().resizeEvent(e)
        self.view.render()


class ParticleView(QtWidgets.QWidget):
    """set_frame(arrays, status) updates the scene; material names via set_materials().
    arrays["contacts"] (optional): the snapshot's contacts (dempack.io.rundir.read_contacts,
    or the live bridge's with_contacts) for the contact layer; contacts_toggled(bool) says
    when the layer is switched, so a live run starts or stops sending them."""

    contacts_toggled = QtCore.Signal(bool)

    def __init__(self, parent=None, interactive: bool | None = None):
        super().__init__(parent)
        self.material_names: list[str] = []
        self.n = 0
        self.arrays = None
        self.contact_limit = CONTACT_LIMIT
        self.contact_count = 0            # contacts the layer would draw (after the filter)
        self._prev_generation = None      # (sorted ids, generation) of the last frame shown
        self.flashed = 0                  # new fragments highlighted by the last frame
        v = QtWidgets.QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("colour:"))
        self.color_combo = QtWidgets.QComboBox()
        self.color_combo.setObjectName("color_by")
        self.color_combo.addItems(list(COLOR_BY))
        self.color_combo.currentTextChanged.connect(lambda *_: self.refresh_colors())
        bar.addWidget(self.color_combo)
        self.clip_box = QtWidgets.QCheckBox("clip")
        self.clip_box.setToolTip("Cut away the front part of the die (y below the slider)")
        self.clip_box.toggled.connect(lambda *_: self._update_clip())
        bar.addWidget(self.clip_box)
        self.clip_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.clip_slider.setRange(0, 100)
        self.clip_slider.setValue(50)
        self.clip_slider.setMaximumWidth(120)
        self.clip_slider.valueChanged.connect(lambda *_: self._update_clip())
        bar.addWidget(self.clip_slider)
        self.contacts_box = QtWidgets.QCheckBox("contacts")
        self.contacts_box.setObjectName("contacts")
        self.contacts_box.setToolTip("Draw the contact network: tubes between the centres (2D: the "
                                     "flats as chords), width and colour by normal force")
        self.contacts_box.toggled.connect(self._on_contacts_toggled)
        bar.addWidget(self.contacts_box)
        self.pair_combo = QtWidgets.QComboBox()
        self.pair_combo.setObjectName("contact_pairs")
        self.pair_combo.setToolTip("Draw only the contacts of one phase pair")
        self.pair_combo.currentIndexChanged.connect(lambda *_: self.update_contacts())
        self.pair_combo.setEnabled(False)
        bar.addWidget(self.pair_combo)
        self.contacts_anyway = QtWidgets.QCheckBox()
        self.contacts_anyway.setObjectName("contacts_anyway")
        self.contacts_anyway.toggled.connect(lambda *_: self.update_contacts())
        self.contacts_anyway.setVisible(False)
        bar.addWidget(self.contacts_anyway)
        self.contacts_note = QtWidgets.QLabel()
        self.contacts_note.setObjectName("contacts_note")
        self.contacts_note.setVisible(False)
        bar.addWidget(self.contacts_note)
        reset = QtWidgets.QPushButton("Reset camera")
        reset.clicked.connect(self.reset_camera)
        bar.addWidget(reset)
        bar.addStretch(1)
        v.addLayout(bar)
        self._set_pair_choices()

        # --- scene
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(1.0, 1.0, 1.0)
        self.points = vtkPoints()
        self.points.SetDataTypeToDouble()
        self.poly = vtkPolyData()
        self.poly.SetPoints(self.points)
        self.mapper = vtkOpenGLPointGaussianMapper()
        self.mapper.SetInputData(self.poly)
        self.mapper.SetScaleArray("radius")
        self.mapper.SetScaleFactor(1.0)
        self.mapper.EmissiveOff()
        self.mapper.SetSplatShaderCode(SPHERE_SHADER)
        self.lut = vtkLookupTable()
        self.mapper.SetLookupTable(self.lut)
        self.mapper.SetScalarModeToUsePointFieldData()
        self.mapper.SelectColorArray("color")
        self.mapper.ScalarVisibilityOn()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.renderer.AddActor(self.actor)
        self.outline = vtkOutlineSource()
        om = vtkPolyDataMapper()
        om.SetInputConnection(self.outline.GetOutputPort())
        self.outline_actor = vtkActor()
        self.outline_actor.SetMapper(om)
        self.outline_actor.GetProperty().SetColor(0.2, 0.2, 0.2)
        self.outline_actor.GetProperty().SetLineWidth(2.0)
        self.outline_actor.VisibilityOff()
        self.renderer.AddActor(self.outline_actor)
        self.scalar_bar = vtkScalarBarActor()
        self.scalar_bar.SetLookupTable(self.lut)
        self.scalar_bar.SetNumberOfLabels(5)
        self.scalar_bar.SetMaximumWidthInPixels(90)
        self.scalar_bar.SetBarRatio(0.25)
        for tp in (self.scalar_bar.GetLabelTextProperty(), self.scalar_bar.GetTitleTextProperty(),
                   self.scalar_bar.GetAnnotationTextProperty()):
            tp.SetColor(0.1, 0.1, 0.1)
            tp.ShadowOff()
            tp.ItalicOff()
            tp.BoldOff()
            tp.SetFontSize(13)
        self.scalar_bar.UnconstrainedFontSizeOn()
        self.scalar_bar.SetLabelFormat("%.3g")
        self.scalar_bar.VisibilityOff()
        self.renderer.AddViewProp(self.scalar_bar)
        # a caption in the top left corner (what is shown: the set-up before Run, a replay frame)
        self.caption = vtkTextActor()
        self.caption.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        self.caption.GetPositionCoordinate().SetValue(0.01, 0.98)
        tp = self.caption.GetTextProperty()
        tp.SetColor(0.1, 0.1, 0.1)
        tp.SetFontSize(12)
        tp.SetVerticalJustificationToTop()
        tp.ShadowOff()
        self.caption.VisibilityOff()
        self.renderer.AddViewProp(self.caption)
        self.contact_layer = ContactLayer()
        self.renderer.AddActor(self.contact_layer.actor)
        self.renderer.AddViewProp(self.contact_layer.bar)
        # new fragments: a glowing halo (the mapper's own Gaussian splat) for FLASH_MS
        self.flash_poly = vtkPolyData()
        self.flash_mapper = vtkOpenGLPointGaussianMapper()
        self.flash_mapper.SetInputData(self.flash_poly)
        self.flash_mapper.SetScaleArray("radius")
        self.flash_mapper.SetScaleFactor(2.0)
        self.flash_mapper.EmissiveOn()
        self.flash_mapper.ScalarVisibilityOff()
        self.flash_actor = vtkActor()
        self.flash_actor.SetMapper(self.flash_mapper)
        self.flash_actor.GetProperty().SetColor(1.0, 0.1, 0.9)
        self.flash_actor.VisibilityOff()
        self.renderer.AddActor(self.flash_actor)
        self.flash_timer = QtCore.QTimer(self)
        self.flash_timer.setSingleShot(True)
        self.flash_timer.timeout.connect(self._end_flash)
        self.clip_plane = vtkPlane()
        self.clip_plane.SetNormal(0.0, 1.0, 0.0)
        self.die = (1.0, 1.0, 1.0, False)
        self._camera_die = self.die

        self.interactive = widget_backend_available() if interactive is None else interactive
        self.vtk_widget = None
        if self.interactive:
            try:
                from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
                self.vtk_widget = QVTKRenderWindowInteractor(self)
                self.render_window = self.vtk_widget.GetRenderWindow()
                self.render_window.AddRenderer(self.renderer)
                from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
                self.vtk_widget.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
                v.addWidget(self.vtk_widget, 1)
                self.vtk_widget.Initialize()
            except Exception as e:  # no usable GL: fall back to off-screen images
                print(f"dempack gui: interactive 3D view unavailable ({e}); using off-screen rendering")
                self.interactive = False
                self.vtk_widget = None
        if not self.interactive:
            self.render_window = None       # the process's shared off-screen window (_window)
            self.label = _ImageLabel(self)
            self.label.setObjectName("offscreen_view")
            v.addWidget(self.label, 1)
        self._camera_set = False

    def finalize(self) -> None:
        """Release the render window's OpenGL resources while its context is valid (on
        close), rather than when Python happens to collect the widget."""
        if self.vtk_widget is not None:
            self.vtk_widget.Finalize()

    # ------------------------------------------------------------ data
    def set_materials(self, names: list[str]) -> None:
        self.material_names = list(names)
        self._set_pair_choices()
        self.refresh_colors()

    def _set_pair_choices(self) -> None:
        """The phase-pair filter's items from the material names (the choice kept by name)."""
        keep = self.pair_combo.currentText()
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        for label, pair in pair_choices(self.material_names):
            self.pair_combo.addItem(label, pair)
        k = self.pair_combo.findText(keep)
        self.pair_combo.setCurrentIndex(max(k, 0))
        self.pair_combo.blockSignals(False)

    def set_caption(self, text: str, render: bool = True) -> None:
        """Text in the top left corner of the view ('' hides it)."""
        self.caption.SetInput(text or " ")
        self.caption.SetVisibility(bool(text))
        if render:
            self.render()

    def caption_text(self) -> str:
        return self.caption.GetInput() if self.caption.GetVisibility() else ""

    def positions(self) -> np.ndarray:
        """Positions of the particles in the scene now, (n, 3) m (a copy of VTK's points)."""
        pts = self.poly.GetPoints()
        if self.n == 0 or pts is None or pts.GetData() is None:
            return np.zeros((0, 3))
        return np.array(vtk_to_numpy(pts.GetData()), float)

    def clear(self) -> None:
        self.arrays = None
        self.n = 0
        self.poly.Initialize()
        self.points = vtkPoints()
        self.points.SetDataTypeToDouble()
        self.poly.SetPoints(self.points)
        self._camera_set = False
        self.outline_actor.VisibilityOff()
        self.scalar_bar.VisibilityOff()
        self.caption.VisibilityOff()
        self._prev_generation = None
        self._end_flash(render=False)
        self.update_contacts(render=False)
        self.render()

    def set_frame(self, arrays: dict, status: dict | None = None) -> None:
        """Update positions, radii and colours in place (new arrays only when n changes)."""
        x = np.ascontiguousarray(arrays["x"], dtype=float)
        n = x.shape[0]
        self.arrays = arrays
        pd = self.poly.GetPointData()
        if n != self.n or pd.GetArray("radius") is None:
            self.points.SetData(numpy_to_vtk(x, deep=1))
            r = numpy_to_vtk(np.ascontiguousarray(arrays["radius"], float), deep=1)
            r.SetName("radius")
            pd.AddArray(r)
            c = numpy_to_vtk(np.zeros(n), deep=1)
            c.SetName("color")
            pd.AddArray(c)
            self.n = n
        else:
            vtk_to_numpy(self.points.GetData())[:] = x
            self.points.GetData().Modified()
            self.points.Modified()
            ra = pd.GetArray("radius")
            vtk_to_numpy(ra)[:] = arrays["radius"]
            ra.Modified()
        if status is not None and "die" in status:
            self.die = status["die"]
            Lx, Ly, zt, _ = self.die
            self.outline.SetBounds(0.0, Lx, 0.0, Ly, 0.0, zt)
            self.outline_actor.VisibilityOn()
        self.poly.Modified()
        self._update_clip(render=False)
        self.refresh_colors(render=False)
        self._flash_new_fragments(x, arrays)
        self.update_contacts(render=False)
        if not self._camera_set or self._die_changed():
            self.reset_camera(render=False)
            self._camera_set = True
        self.render()

    def refresh_colors(self, render: bool = True) -> None:
        if self.arrays is None:
            return
        label = self.color_combo.currentText()
        name, scale, unit = COLOR_BY[label]
        vals = np.asarray(self.arrays.get(name, np.zeros(self.n)), float) * scale
        col = self.poly.GetPointData().GetArray("color")
        vtk_to_numpy(col)[:] = vals
        col.Modified()
        lut = self.lut
        if name == "material":
            nm = max(len(self.material_names), int(vals.max()) + 1 if vals.size else 1)
            lut.ResetAnnotations()
            lut.SetNumberOfTableValues(nm)
            for k in range(nm):
                lut.SetTableValue(k, *MATERIAL_RGB[k % len(MATERIAL_RGB)], 1.0)
                lut.SetAnnotation(k, self.material_names[k] if k < len(self.material_names) else str(k))
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
        if render:
            self.render()

    # -------------------------------------------------------- contacts
    def _on_contacts_toggled(self, on: bool) -> None:
        self.update_contacts()
        self.contacts_toggled.emit(on)

    def contacts_wanted(self) -> bool:
        """The contact layer is switched on (a live run should send the contacts)."""
        return self.contacts_box.isChecked()

    def contacts_shown(self) -> bool:
        """The contact layer is drawn now."""
        return bool(self.contact_layer.actor.GetVisibility())

    def update_contacts(self, render: bool = True) -> None:
        """Rebuild the contact layer from the frame's contacts: the touching pairs of the
        chosen phase pair, unless they are more than `contact_limit` and "draw anyway" is
        not ticked; the toolbar's note says why nothing is drawn."""
        on = self.contacts_box.isChecked()
        self.pair_combo.setEnabled(on)
        note, count, rows = "", 0, None
        c = self.arrays.get("contacts") if (on and self.arrays is not None) else None
        if on and self.arrays is not None:
            if "contacts" not in self.arrays:
                note = "contacts: they come with the next frame"
            elif c is None:
                note = "no contacts file for this snapshot"
            elif not drawable(c):
                note = "this run's contacts files hold flats only (written before the layer)"
            else:
                rows = select_contacts(c, self.arrays["material"], self.pair_combo.currentData())
                count = len(rows)
        over = count > self.contact_limit
        self.contacts_anyway.setVisible(over)
        if over:
            self.contacts_anyway.setText(f"{count:,} contacts: layer off above "
                                         f"{self.contact_limit / 1000:g}k for view speed; "
                                         "tick to draw anyway")
        draw = rows is not None and (not over or self.contacts_anyway.isChecked())
        layer = self.contact_layer
        if draw:
            p0, p1 = contact_segments(self.arrays["x"], self.arrays["radius"], c, rows, self.die)
            r = np.asarray(self.arrays["radius"], float)
            layer.update(p0, p1, np.asarray(c["F_n"], float)[rows],
                         float(np.median(r)) if r.size else 1.0, plane=self.die[1] == 0.0)
            note = f"{count:,} contacts"
        else:
            e = np.zeros((0, 3))
            layer.update(e, e, np.zeros(0), 1.0)
        self.contact_count = count
        self.contacts_note.setText(note)
        self.contacts_note.setVisible(bool(note))
        layer.show(draw)
        self.actor.GetProperty().SetOpacity(SPHERE_OPACITY_WITH_CONTACTS if draw else 1.0)
        if render:
            self.render()

    # -------------------------------------------------------- breakage
    def _flash_new_fragments(self, x: np.ndarray, arrays: dict) -> None:
        """Highlight for FLASH_MS the particles whose breakage generation rose since the
        last frame shown (a new id with generation > 0, or a known id's generation up)."""
        gen, ids = arrays.get("generation"), arrays.get("id")
        prev = self._prev_generation
        self.flashed = 0
        if gen is None or ids is None:
            self._prev_generation = None
            return
        gen, ids = np.asarray(gen), np.asarray(ids)
        order = np.argsort(ids, kind="stable")
        self._prev_generation = (ids[order], gen[order])
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
        self.flash_poly.Initialize()
        self.flash_poly.SetPoints(pts)
        r = numpy_to_vtk(np.ascontiguousarray(np.asarray(arrays["radius"], float)[new]), deep=1)
        r.SetName("radius")
        self.flash_poly.GetPointData().AddArray(r)
        self.flash_poly.Modified()
        self.flash_actor.VisibilityOn()
        self.flash_timer.start(FLASH_MS)

    def _end_flash(self, render: bool = True) -> None:
        self.flash_timer.stop()
        if self.flash_actor.GetVisibility():
            self.flash_actor.VisibilityOff()
            if render:
                self.render()

    def _update_clip(self, render: bool = True) -> None:
        self.mapper.RemoveAllClippingPlanes()
        if self.clip_box.isChecked():
            Lx, Ly, zt, _ = self.die
            self.clip_plane.SetOrigin(0.5 * Lx, Ly * self.clip_slider.value() / 100.0, 0.5 * zt)
            self.mapper.AddClippingPlane(self.clip_plane)
        if render:
            self.render()

    # ---------------------------------------------------------- camera
    def _die_changed(self) -> bool:
        """The die height changed by more than 30 % since the camera was set
        (loose insertion -> pressed bed): frame it again."""
        return abs(self.die[2] - self._camera_die[2]) > 0.3 * self._camera_die[2]

    def reset_camera(self, render: bool = True) -> None:
        """Front view (looking along +y, z up) of the whole die; straight along y for a 2D
        run (Ly = 0: disks in the x–z plane)."""
        self._camera_die = self.die
        front_view(self.renderer, self.die)
        if render:
            self.render()

    def render(self) -> None:
        if not self.isVisible() and self.interactive:
            return
        if self.interactive:
            # render now only into an exposed native window; otherwise let Qt paint it when
            # it is (rendering into a window X has not mapped yet crashes Mesa under Xvfb)
            handle = self.vtk_widget.windowHandle()
            if handle is not None and handle.isExposed():
                self.render_window.Render()
            else:
                self.vtk_widget.update()
            return
        w, h = max(self.label.width(), 50), max(self.label.height(), 50)
        win = self._window()
        win.SetSize(w, h)
        win.Render()
        img = self.image()
        hgt, wid, _ = img.shape
        q = QtGui.QImage(img.data, wid, hgt, 3 * wid, QtGui.QImage.Format_RGB888).copy()
        self.label.setPixmap(QtGui.QPixmap.fromImage(q))

    def image(self) -> np.ndarray:
        """The current render as an (h, w, 3) uint8 array (top row first)."""
        f = vtkWindowToImageFilter()
        f.SetInput(self._window())
        f.ReadFrontBufferOff()
        f.Update()
        out = f.GetOutput()
        w, h, _ = out.GetDimensions()
        a = vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
        return np.ascontiguousarray(a[::-1])

    def _window(self):
        """The render window this view draws into: its widget's, or the shared off-screen one
        with this view's renderer attached."""
        if self.interactive:
            return self.render_window
        return _offscreen_window(self.renderer)

    def export_png(self, path) -> None:
        win = self._window()
        win.Render()
        f = vtkWindowToImageFilter()
        f.SetInput(win)
        f.ReadFrontBufferOff()
        f.Update()
        w = vtkPNGWriter()
        w.SetFileName(str(path))
        w.SetInputConnection(f.GetOutputPort())
        w.Write()
