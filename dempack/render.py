"""Off-screen pictures of the particles, with VTK alone (no Qt, no display: DESIGN §9).

    r = SnapshotRenderer(960, 720, colour="material", materials=["Se", "Mo6Se8"])
    img = r.render(x, arrays, die=(Lx, Ly, z_top), caption="snapshot 3/40")   # (720, 960, 3) uint8

The scene is the app's 3D view (gui/view3d.py) drawn the same way: spheres as shaded
impostors of a vtkPointGaussianMapper (radius = the particle radius), coloured by material
(categorical) or by a point array on a blue-to-red scale with a colour bar, the die as an
outline, a front view looking along +y with z up, and an optional clip plane (normal +y)
through the middle of the die. Used by `dempack export --movie` (dempack.export).
"""
from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkOutlineSource
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import (vtkActor, vtkPolyDataMapper, vtkRenderer,
                                         vtkRenderWindow, vtkTextActor, vtkWindowToImageFilter)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL back end)
from vtkmodules.vtkRenderingOpenGL2 import vtkOpenGLPointGaussianMapper

# colour choice -> (snapshot point array, scale, unit): the app's choices (gui/view3d.COLOR_BY)
COLOURS = {
    "material": ("material", 1.0, ""),
    "von Mises stress": ("stress_vm", 1e-6, "MPa"),
    "lithiation": ("lithiation", 1.0, ""),
    "creep strain": ("creep_strain", 1.0, ""),
    "confinement pressure": ("confinement", 1e-6, "MPa"),
    "breakage generation": ("generation", 1.0, ""),
    "connectivity": ("connected", 1.0, "0 none 1 e- 2 ion 3 both"),
}
PALETTE = ((0.85, 0.65, 0.13), (0.25, 0.45, 0.75), (0.80, 0.30, 0.30), (0.35, 0.65, 0.35),
           (0.55, 0.40, 0.70), (0.55, 0.55, 0.55), (0.95, 0.55, 0.75), (0.10, 0.75, 0.75))
# the impostor quad shaded as a lit sphere (normal z = sqrt(1 - r²))
SHADER = ("//VTK::Color::Impl\n"
          "float dist = dot(offsetVCVSOutput.xy, offsetVCVSOutput.xy);\n"
          "if (dist > 1.0) { discard; }\n"
          "float shade = 0.35 + 0.65 * sqrt(1.0 - dist);\n"
          "ambientColor *= shade;\ndiffuseColor *= shade;\n")
# half-size of the triangle each splat is drawn on, in radii: SHADER keeps the unit disc, so
# 1.25 covers it with a margin (>= 0.7 px from 3 px radii on: multisampled edges unclipped);
# VTK's default 3 (a Gaussian's 3 sigma) fills and discards 5.8x the fragments
SPLAT_BOUND = 1.25


def colour_values(arrays: dict, colour: str, n: int) -> np.ndarray:
    """The values a colour choice maps (scaled to its unit; zeros when the array is absent)."""
    if colour not in COLOURS:
        raise ValueError(f"colour {colour!r} unknown; choose from: {', '.join(COLOURS)}")
    name, scale, _ = COLOURS[colour]
    return np.asarray(arrays.get(name, np.zeros(n)), float) * scale


def front_view(renderer, die) -> None:
    """Point the renderer's camera at the die (Lx, Ly, z_top m): a front view along +y with
    z up, from slightly right and above; straight along y for a 2D run (Ly = 0: disks in the
    x–z plane). The 3D view of the app (gui/view3d.py) uses the same."""
    Lx, Ly, zt = (float(v) for v in die[:3])
    cam = renderer.GetActiveCamera()
    c = (0.5 * Lx, 0.5 * Ly, 0.5 * zt)
    cam.SetFocalPoint(*c)
    if Ly == 0.0:
        cam.SetPosition(c[0], -2.5 * max(Lx, zt), c[2])
    else:
        cam.SetPosition(c[0] + 0.6 * Lx, c[1] - 2.5 * max(Lx, zt), c[2] + 0.8 * zt)
    cam.SetViewUp(0.0, 0.0, 1.0)
    renderer.ResetCamera()
    cam.Zoom(1.05)


class SnapshotRenderer:
    """An off-screen VTK scene of width × height pixels (see the module docstring).
    `value_range`: fixed (lo, hi) of a continuous colour (default: each frame's own)."""

    def __init__(self, width: int = 960, height: int = 720, colour: str = "material",
                 materials=(), clip: bool = False, value_range=None):
        colour_values({}, colour, 0)                          # checks the choice
        self.colour, self.materials, self.clip = colour, list(materials), clip
        self.value_range = value_range
        self.renderer = ren = vtkRenderer()
        ren.SetBackground(1.0, 1.0, 1.0)
        self.poly = vtkPolyData()
        self.mapper = m = vtkOpenGLPointGaussianMapper()
        m.SetInputData(self.poly)
        m.SetScaleArray("radius")
        m.SetScaleFactor(1.0)
        m.EmissiveOff()
        m.SetSplatShaderCode(SHADER)
        m.SetBoundScale(SPLAT_BOUND)
        self.lut = vtkLookupTable()
        m.SetLookupTable(self.lut)
        m.SetScalarModeToUsePointFieldData()
        m.SelectColorArray("colour")
        m.ScalarVisibilityOn()
        actor = vtkActor()
        actor.SetMapper(m)
        ren.AddActor(actor)
        self.outline = vtkOutlineSource()
        om = vtkPolyDataMapper()
        om.SetInputConnection(self.outline.GetOutputPort())
        box = vtkActor()
        box.SetMapper(om)
        box.GetProperty().SetColor(0.2, 0.2, 0.2)
        box.GetProperty().SetLineWidth(2.0)
        ren.AddActor(box)
        self.bar = vtkScalarBarActor()
        self.bar.SetLookupTable(self.lut)
        self.bar.SetNumberOfLabels(5)
        self.bar.SetMaximumWidthInPixels(90)
        self.bar.SetBarRatio(0.25)
        self.bar.SetLabelFormat("%.3g")
        self.bar.UnconstrainedFontSizeOn()
        self.caption = vtkTextActor()
        self.caption.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        self.caption.GetPositionCoordinate().SetValue(0.01, 0.98)
        for tp in (self.bar.GetLabelTextProperty(), self.bar.GetTitleTextProperty(),
                   self.bar.GetAnnotationTextProperty(), self.caption.GetTextProperty()):
            tp.SetColor(0.1, 0.1, 0.1)
            tp.ShadowOff()
            tp.ItalicOff()
            tp.BoldOff()
            tp.SetFontSize(13)
        self.caption.GetTextProperty().SetVerticalJustificationToTop()
        ren.AddViewProp(self.bar)
        ren.AddViewProp(self.caption)
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(1)
        self.window.AddRenderer(ren)
        self.window.SetSize(int(width), int(height))
        self.plane = vtkPlane()
        self.plane.SetNormal(0.0, 1.0, 0.0)
        self.camera_die = None

    def close(self) -> None:
        """Release the off-screen window's graphics resources now (not whenever Python
        collects it, which may be while another OpenGL context is current)."""
        self.window.Finalize()

    def set_camera(self, die) -> None:
        """Front view (along +y, z up) framing the die (Lx, Ly, z_top m); kept for later frames.
        Ly = 0: a 2D run (disks in the x–z plane at y = 0), seen straight along y."""
        Lx, Ly, zt = (float(v) for v in die[:3])
        self.camera_die = (Lx, Ly, zt)
        self.outline.SetBounds(0.0, Lx, 0.0, Ly, 0.0, zt)
        front_view(self.renderer, (Lx, Ly, zt))

    def _colours(self, arrays: dict, n: int) -> tuple[np.ndarray, float, float]:
        vals = colour_values(arrays, self.colour, n)
        lut = self.lut
        lut.ResetAnnotations()
        if self.colour == "material":
            nm = max(len(self.materials), int(vals.max()) + 1 if n else 1)
            lut.SetNumberOfTableValues(nm)
            for k in range(nm):
                lut.SetTableValue(k, *PALETTE[k % len(PALETTE)], 1.0)
                lut.SetAnnotation(k, self.materials[k] if k < len(self.materials) else str(k))
            lut.IndexedLookupOn()
            return vals, 0.0, nm - 1.0
        lut.IndexedLookupOff()
        lut.SetNumberOfTableValues(256)
        lut.SetHueRange(0.667, 0.0)
        lut.ForceBuild()
        lo, hi = self.value_range or ((vals.min(), vals.max()) if n else (0.0, 1.0))
        lo, hi = float(lo), float(hi)
        return vals, lo, (hi if hi > lo else lo + (abs(lo) * 1e-3 or 1.0))

    def render(self, x, arrays: dict, die=None, caption: str = "") -> np.ndarray:
        """Draw the particles at positions x (n, 3) m with the snapshot's point arrays
        (`radius` m, and the colour's array); returns the picture, (height, width, 3) uint8,
        top row first."""
        x = np.ascontiguousarray(x, float)
        n = len(x)
        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(x, deep=1))
        self.poly.Initialize()
        self.poly.SetPoints(pts)
        pd = self.poly.GetPointData()
        vals, lo, hi = self._colours(arrays, n)
        for name, v in (("radius", arrays["radius"]), ("colour", vals)):
            a = numpy_to_vtk(np.ascontiguousarray(v, dtype=float), deep=1)
            a.SetName(name)
            pd.AddArray(a)
        self.lut.SetRange(lo, hi)
        self.mapper.SetScalarRange(lo, hi)
        unit = COLOURS[self.colour][2]
        self.bar.SetTitle(self.colour + (f" ({unit})" if unit else ""))
        if die is None:
            hi_x = (x + np.asarray(arrays["radius"], float)[:, None]).max(0) if n else np.ones(3)
            die = tuple(hi_x)
        if self.camera_die is None:
            self.set_camera(die)
        self.mapper.RemoveAllClippingPlanes()
        if self.clip:
            Lx, Ly, zt = self.camera_die
            self.plane.SetOrigin(0.5 * Lx, 0.5 * Ly, 0.5 * zt)
            self.mapper.AddClippingPlane(self.plane)
        self.caption.SetInput(caption or " ")
        self.poly.Modified()
        self.window.Render()
        f = vtkWindowToImageFilter()
        f.SetInput(self.window)
        f.ReadFrontBufferOff()
        f.Update()
        out = f.GetOutput()
        w, h, _ = out.GetDimensions()
        img = vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
        return np.ascontiguousarray(img[::-1])
