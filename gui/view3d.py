"""3D view of the particles (VTK).

Spheres are drawn as ray-cast sphere impostors of a vtkPointGaussianMapper
(one screen-space quad per particle, radius = the particle radius), so 100,000
particles stay interactive; the points, radii and colours are written into the
existing VTK arrays in place at each frame (the pipeline is not rebuilt). Each splat is
drawn on a triangle of SPLAT_BOUND radii (VTK's default of 3 fills and discards 5.8x the
pixels). While the picture moves (rotate, zoom, new frames) and the full picture is slow to
draw, a light copy is drawn instead: a random subset of the spheres without multisampling,
then the full picture once still (gui/lod.py, View → Fast rotate).
Colour by material (categorical, named), von Mises stress, lithiation, creep
strain, breakage generation or connectivity, with a colour bar; a clip plane
(normal +y, the viewer's depth axis) cuts away the front of the die; the die
walls are drawn as an outline.

The "contacts" layer (off by default; gui.contacts) draws the contact network: tubes
between the centres (2D: the flats as chords), radius and colour by normal force, with a
phase-pair filter; above CONTACT_LIMIT contacts it stays off unless "draw anyway" is
ticked, and the toolbar says so. The spheres turn translucent while it is shown. New
fragments (breakage generation risen since the last frame shown) flash for FLASH_MS.
The view holds the spheres and the back end; the scene's other parts have their own
classes: the colours, the clip plane, the flash and the camera in gui/scene.py, the
contact layer's controls in gui/contacts.py (ContactControls).

Two back ends: the interactive QVTKRenderWindowInteractor needs a real X
server (or Xvfb) with OpenGL; without one (QT_QPA_PLATFORM=offscreen, or
DEMPACK_GUI_3D=offscreen) the same scene is rendered off screen into a QLabel,
rotated by dragging and zoomed by the wheel. DEMPACK_GUI_3D=widget forces the
widget.
"""
from __future__ import annotations

import os
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkFiltersSources import vtkOutlineSource
from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingCore import (vtkActor, vtkRenderer, vtkRenderWindow,
                                         vtkWindowToImageFilter)
import vtkmodules.vtkInteractionStyle  # noqa: F401  (registers the trackball style)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL back end)
from vtkmodules.vtkRenderingOpenGL2 import vtkOpenGLPointGaussianMapper

from dempack.render import COLOURS, PALETTE, SHADER, SPLAT_BOUND

from .contacts import ContactControls
from .lod import LevelOfDetail
from .scene import Camera, ClipPlane, ColourField, FragmentFlash, caption_actor, outline_actor

# colour choices, material colours and the sphere shader: one home, shared with the
# off-screen renderer of movie export (dempack.render)
COLOR_BY = COLOURS            # label -> (array name, scale, unit)
MATERIAL_RGB = PALETTE
SPHERE_SHADER = SHADER
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
        self.view.lod.interaction_started()

    def mouseMoveEvent(self, e):
        if self._last is None:
            return
        d = e.position() - self._last
        self._last = e.position()
        self.view.camera.rotate(d.x(), d.y())
        self.view.render()

    def mouseReleaseEvent(self, e):
        self._last = None
        self.view.lod.interaction_ended()

    def wheelEvent(self, e):
        self.view.lod.begin()
        self.view.camera.zoom(e.angleDelta().y() / 120.0)
        self.view.render()
        self.view.lod.end()

    def resizeEvent(self, e):
        super().resizeEvent(e)
        self.view.render()


class ParticleView(QtWidgets.QWidget):
    """set_frame(arrays, status) updates the scene; material names via set_materials().
    arrays["contacts"] (optional): the snapshot's contacts (dempack.io.rundir.read_contacts,
    or the live bridge's with_contacts) for the contact layer; contacts_toggled(bool) says
    when the layer is switched, so a live run starts or stops sending them. The scene's
    parts: ColourField, ClipPlane, FragmentFlash, Camera (gui/scene.py), ContactControls
    (gui/contacts.py); the view holds the spheres and draws into its back end."""

    contacts_toggled = QtCore.Signal(bool)

    def __init__(self, parent=None, interactive: bool | None = None):
        super().__init__(parent)
        self.material_names: list[str] = []
        self.n = 0
        self.arrays = None
        self.die = (1.0, 1.0, 1.0, False)
        self._make_scene()
        v = QtWidgets.QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(self._make_toolbar())
        self._make_backend(v, interactive)

    def _make_toolbar(self) -> QtWidgets.QHBoxLayout:
        """colour | clip, depth | contacts, phase pair, draw anyway, note | Reset camera."""
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("colour:"))
        bar.addWidget(self.color_combo)
        bar.addWidget(self.clip_box)
        bar.addWidget(self.clip_slider)
        for w in self.contacts.widgets():
            bar.addWidget(w)
        reset = QtWidgets.QPushButton("Reset camera")
        reset.clicked.connect(self.reset_camera)
        bar.addWidget(reset)
        bar.addStretch(1)
        return bar

    def _make_scene(self) -> None:
        """The renderer: the spheres, the die outline, the colour bars, the caption, the
        contact layer and the halo of new fragments."""
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
        self.mapper.SetBoundScale(SPLAT_BOUND)
        self.colours = ColourField(self.mapper)
        self.color_combo, self.lut = self.colours.combo, self.colours.lut
        self.scalar_bar = self.colours.scalar_bar
        self.color_combo.currentTextChanged.connect(lambda *_: self.refresh_colors())
        self.clip = ClipPlane(self._update_clip)
        self.clip_box, self.clip_slider, self.clip_plane = (self.clip.box, self.clip.slider,
                                                            self.clip.plane)
        self.contacts = ContactControls(self._on_contacts_toggled, self.update_contacts)
        self.contacts_box, self.pair_combo = self.contacts.box, self.contacts.pair_combo
        self.contacts_anyway, self.contacts_note = self.contacts.anyway, self.contacts.note
        self.contact_layer = self.contacts.layer
        self.contacts.set_pair_choices(self.material_names)
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.renderer.AddActor(self.actor)
        self.outline = vtkOutlineSource()
        self.outline_actor = outline_actor(self.outline)
        self.renderer.AddActor(self.outline_actor)
        self.renderer.AddViewProp(self.scalar_bar)
        self.caption = caption_actor()
        self.renderer.AddViewProp(self.caption)
        self.renderer.AddActor(self.contact_layer.actor)
        self.renderer.AddViewProp(self.contact_layer.bar)
        self.flash = FragmentFlash(self, self.render)
        self.flash_actor = self.flash.actor
        self.renderer.AddActor(self.flash_actor)
        self.camera = Camera(self.renderer, self.die)
        self.lod = LevelOfDetail(self.mapper, self.poly, self._window, self.render, self)
        self._render_t0 = 0.0

    def _make_backend(self, layout, interactive: bool | None) -> None:
        """The interactive VTK widget, or (no usable GL, no windowing platform) the
        off-screen images in a QLabel."""
        self.interactive = widget_backend_available() if interactive is None else interactive
        self.vtk_widget = None
        self.style = None            # the widget's interactor style
        if self.interactive:
            try:
                from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
                self.vtk_widget = QVTKRenderWindowInteractor(self)
                self.render_window = self.vtk_widget.GetRenderWindow()
                self.render_window.AddRenderer(self.renderer)
                from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
                self.style = vtkInteractorStyleTrackballCamera()
                self.style.AddObserver("StartInteractionEvent", self.lod.interaction_started)
                self.style.AddObserver("EndInteractionEvent", self.lod.interaction_ended)
                self.vtk_widget.SetInteractorStyle(self.style)
                self.lod.rate = self.vtk_widget.GetDesiredUpdateRate()
                self.render_window.AddObserver("StartEvent", self._render_started)
                self.render_window.AddObserver("EndEvent", self._render_ended)
                layout.addWidget(self.vtk_widget, 1)
                self.vtk_widget.Initialize()
            except Exception as e:  # no usable GL: fall back to off-screen images
                print(f"dempack gui: interactive 3D view unavailable ({e}); using off-screen rendering")
                self.interactive = False
                self.vtk_widget = None
        if not self.interactive:
            self.render_window = None       # the process's shared off-screen window (_window)
            self.label = _ImageLabel(self)
            self.label.setObjectName("offscreen_view")
            layout.addWidget(self.label, 1)

    def finalize(self) -> None:
        """Release the render window's OpenGL resources while its context is valid (on
        close), rather than when Python happens to collect the widget."""
        if self.vtk_widget is not None:
            self.vtk_widget.Finalize()

    # ---------------------------------------------- the parts' state, read here
    @property
    def flashed(self) -> int:
        """New fragments highlighted by the last frame."""
        return self.flash.flashed

    @property
    def contact_limit(self) -> int:
        return self.contacts.limit

    @contact_limit.setter
    def contact_limit(self, value: int) -> None:
        self.contacts.limit = value

    @property
    def contact_count(self) -> int:
        """Contacts the layer would draw (after the filter)."""
        return self.contacts.count

    # ------------------------------------------------------------ data
    def set_materials(self, names: list[str]) -> None:
        self.material_names = list(names)
        self.contacts.set_pair_choices(self.material_names)
        self.refresh_colors()

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
        self.lod.settle(render=False)
        self.arrays = None
        self.n = 0
        self.poly.Initialize()
        self.points = vtkPoints()
        self.points.SetDataTypeToDouble()
        self.poly.SetPoints(self.points)
        self.camera.framed = False
        self.outline_actor.VisibilityOff()
        self.scalar_bar.VisibilityOff()
        self.caption.VisibilityOff()
        self.flash.previous = None
        self.flash.end(render=False)
        self.update_contacts(render=False)
        self.render()

    def set_frame(self, arrays: dict, status: dict | None = None) -> None:
        """Update positions, radii and colours in place (new arrays only when n changes)
        and draw them: the light copy first where the full picture is slow (gui/lod.py),
        the full picture once no new frame came for its settle time."""
        self.lod.begin()
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
        self.flash.update(x, arrays)
        self.update_contacts(render=False)
        self.camera.follow(self.die)
        self.render()
        self.lod.end()

    def refresh_colors(self, render: bool = True) -> None:
        if self.arrays is None:
            return
        self.colours.apply(self.arrays, self.n, self.poly.GetPointData().GetArray("color"),
                           self.material_names)
        if self.lod.active:
            self.lod.sync()
        if render:
            self.render()

    # -------------------------------------------------------- contacts
    def _on_contacts_toggled(self, on: bool) -> None:
        self.update_contacts()
        self.contacts_toggled.emit(on)

    def contacts_wanted(self) -> bool:
        """The contact layer is switched on (a live run should send the contacts)."""
        return self.contacts.wanted()

    def contacts_shown(self) -> bool:
        """The contact layer is drawn now."""
        return self.contacts.shown()

    def update_contacts(self, render: bool = True) -> None:
        """Rebuild the contact layer from the frame's contacts (ContactControls.update);
        the spheres turn translucent while it is drawn."""
        draw = self.contacts.update(self.arrays, self.die)
        self.actor.GetProperty().SetOpacity(SPHERE_OPACITY_WITH_CONTACTS if draw else 1.0)
        if render:
            self.render()

    # ----------------------------------------------------- clip, camera
    def _update_clip(self, render: bool = True) -> None:
        self.clip.apply(self.mapper, self.die)
        if render:
            self.render()

    def reset_camera(self, render: bool = True) -> None:
        """Front view (looking along +y, z up) of the whole die; straight along y for a 2D
        run (Ly = 0: disks in the x–z plane)."""
        self.camera.frame(self.die)
        if render:
            self.render()

    # ------------------------------------------------------------ drawing
    def set_level_of_detail(self, on: bool) -> None:
        """Draw a light copy while the picture moves (gui/lod.py), or always the full one."""
        self.lod.set_enabled(on)

    def _render_started(self, *_) -> None:
        self._render_t0 = time.perf_counter()

    def _render_ended(self, *_) -> None:
        """Note how long a full-quality frame takes (the light copy is drawn when slow)."""
        if not self.lod.active:
            self.lod.full_render_s = time.perf_counter() - self._render_t0

    def render(self, still: bool = False) -> None:
        """Draw the scene; `still`: the full picture even while it moves (a screenshot)."""
        if still:
            self.lod.settle(render=False)
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
        self._render_started()
        win.Render()
        self._render_ended()
        img = self._pixels(rerender=False)
        hgt, wid, _ = img.shape
        q = QtGui.QImage(img.data, wid, hgt, 3 * wid, QtGui.QImage.Format_RGB888).copy()
        self.label.setPixmap(QtGui.QPixmap.fromImage(q))

    def image(self) -> np.ndarray:
        """The current render as an (h, w, 3) uint8 array (top row first): the full picture."""
        self.lod.settle(render=False)
        return self._pixels()

    def _pixels(self, rerender: bool = True) -> np.ndarray:
        """The window's picture as drawn now, (h, w, 3) uint8: rendered again, or (just
        rendered) read back as it is."""
        f = vtkWindowToImageFilter()
        f.SetInput(self._window())
        f.ReadFrontBufferOff()
        if not rerender:
            f.ShouldRerenderOff()
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
        self.lod.settle(render=False)
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
