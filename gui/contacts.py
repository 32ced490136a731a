"""The contact network layer of the 3D view (issue 19, item 4): force chains.

Each touching pair of a snapshot's contacts (`dempack.runner.snapshot_contacts`: i, j,
touching, F_n N, a m) is drawn as a tube whose radius and colour grow with its normal
force F_n (compression > 0):
- 3D: the segment from centre i to centre i + d_ij, d_ij = x_j − x_i at its minimum image
  in a periodic cell (so a contact across the cell's side is drawn from i outwards);
- 2D (die Ly = 0, disks in the x–z plane at y = 0): the contact flat as a chord, length 2a,
  centred at the contact point c = x_i + l_i n (l_i = (d² + R_i² − R_j²)/(2d), the
  radical line), along t = (−n_z, 0, n_x) ⟂ n.
The geometry (`contact_segments`) is plain numpy; `ContactLayer` holds the VTK pipeline
(vtkPolyData lines → vtkTubeFilter with the radius by absolute scalar → a mapper coloured
by F_n through its own lookup table and colour bar); `ContactControls` holds the view's
toolbar controls of the layer and decides what it draws of a frame.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkTubeFilter
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

# above this many contacts the layer stays off unless the user asks (view speed)
CONTACT_LIMIT = 20_000
# tube radii (fraction of the median particle radius) for F_n = 0 and F_n = max
TUBE_MIN, TUBE_MAX = 0.04, 0.30


def pair_label(a: str, b: str) -> str:
    """'Se–Mo6Se8': the phase-pair filter's name of materials a, b."""
    return f"{a}\u2013{b}"


def pair_choices(names: list[str]) -> list[tuple[str, tuple[int, int] | None]]:
    """The phase-pair filter's items: ('all', None), then (label, (m, k)) for m ≤ k."""
    out = [("all", None)]
    for m in range(len(names)):
        for k in range(m, len(names)):
            out.append((pair_label(names[m], names[k]), (m, k)))
    return out


def drawable(contacts: dict | None) -> bool:
    """The contacts carry the network (touching, F_n, a; runs since the contact layer)."""
    return contacts is not None and all(k in contacts for k in ("touching", "F_n", "a"))


def select_contacts(contacts: dict, material: np.ndarray, pair=None) -> np.ndarray:
    """Indexes of the rows to draw: touching pairs, of the phase pair (m, k) (either order)
    when given."""
    rows = np.flatnonzero(np.asarray(contacts["touching"], bool))
    if pair is not None and rows.size:
        mi = np.asarray(material)[contacts["i"][rows]].astype(int)
        mj = np.asarray(material)[contacts["j"][rows]].astype(int)
        m, k = pair
        rows = rows[((mi == m) & (mj == k)) | ((mi == k) & (mj == m))]
    return rows


def contact_segments(x, radius, contacts: dict, rows, die) -> tuple[np.ndarray, np.ndarray]:
    """End points (p0, p1), two (m, 3) arrays (m), of the contacts `rows`: centre i to
    the minimum image of centre j (3D), or the flat's chord of length 2a ⟂ the centre line
    in the x–z plane (2D, die Ly = 0). die: (Lx, Ly, z_top m, periodic)."""
    x = np.asarray(x, float)
    i = np.asarray(contacts["i"], np.int64)[rows]
    j = np.asarray(contacts["j"], np.int64)[rows]
    Lx, Ly, _, periodic = die
    d = x[j] - x[i]
    if periodic:
        for c, L in ((0, Lx), (1, Ly)):
            if L > 0.0:
                d[:, c] -= L * np.round(d[:, c] / L)
    if Ly > 0.0:
        return x[i], x[i] + d
    R = np.asarray(radius, float)
    dist = np.sqrt(np.sum(d * d, axis=1))
    safe = np.where(dist > 0.0, dist, 1.0)
    n = d / safe[:, None]
    li = (dist * dist + R[i] ** 2 - R[j] ** 2) / (2.0 * safe)
    c = x[i] + li[:, None] * n
    t = np.column_stack([-n[:, 2], np.zeros(len(n)), n[:, 0]])
    a = np.asarray(contacts["a"], float)[rows][:, None]
    p0, p1 = c - a * t, c + a * t
    p0[:, 1] = p1[:, 1] = 0.0           # the disks' plane
    return p0, p1


class ContactLayer:
    """VTK pipeline of the layer: `update(p0, p1, F_n, r_ref)` rebuilds the lines; the
    actor and its colour bar are added to a renderer by the view."""

    def __init__(self):
        self.poly = vtkPolyData()
        self.tubes = vtkTubeFilter()
        self.tubes.SetInputData(self.poly)
        self.tubes.SetNumberOfSides(8)
        self.tubes.SetVaryRadiusToVaryRadiusByAbsoluteScalar()
        self.tubes.CappingOn()
        self.lut = vtkLookupTable()
        self.lut.SetHueRange(0.12, 0.0)        # yellow (weak) → red (strong)
        self.lut.SetSaturationRange(0.35, 1.0)
        self.lut.SetValueRange(0.95, 0.55)
        self.lut.Build()
        self.mapper = vtkPolyDataMapper()
        self.mapper.SetInputConnection(self.tubes.GetOutputPort())
        self.mapper.SetLookupTable(self.lut)
        self.mapper.SetScalarModeToUsePointFieldData()
        self.mapper.SelectColorArray("F_n")
        self.mapper.ScalarVisibilityOn()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.actor.VisibilityOff()
        self.bar = vtkScalarBarActor()
        self.bar.SetLookupTable(self.lut)
        self.bar.SetTitle("normal force (\u00b5N)")
        self.bar.SetNumberOfLabels(4)
        self.bar.SetMaximumWidthInPixels(90)
        self.bar.SetBarRatio(0.25)
        self.bar.SetLabelFormat("%.3g")
        self.bar.GetPositionCoordinate().SetValue(0.02, 0.08)   # left, below the caption
        self.bar.GetPosition2Coordinate().SetValue(0.12, 0.6)
        for tp in (self.bar.GetLabelTextProperty(), self.bar.GetTitleTextProperty()):
            tp.SetColor(0.1, 0.1, 0.1)
            tp.ShadowOff()
            tp.ItalicOff()
            tp.BoldOff()
            tp.SetFontSize(13)
        self.bar.UnconstrainedFontSizeOn()
        self.bar.VisibilityOff()

    def update(self, p0: np.ndarray, p1: np.ndarray, fn: np.ndarray, r_ref: float,
               plane: bool = False) -> None:
        """Lines p0[k] → p1[k] (m), tube radius r_ref·(TUBE_MIN + (TUBE_MAX − TUBE_MIN)
        F/F_max) with F = max(F_n, 0), coloured by F_n in µN (plane, a 2D run: in N/m, the
        force per metre of the disks' thickness)."""
        m = len(p0)
        pts = np.empty((2 * m, 3))
        pts[0::2], pts[1::2] = p0, p1
        points = vtkPoints()
        points.SetDataTypeToDouble()
        points.SetData(numpy_to_vtk(pts, deep=1))
        lines = vtkCellArray()
        lines.SetData(numpy_to_vtkIdTypeArray(2 * np.arange(m + 1, dtype=np.int64), deep=1),
                      numpy_to_vtkIdTypeArray(np.arange(2 * m, dtype=np.int64), deep=1))
        self.poly.Initialize()
        self.poly.SetPoints(points)
        self.poly.SetLines(lines)
        f = np.maximum(np.asarray(fn, float), 0.0)
        fmax = float(f.max()) if m else 0.0
        rad = r_ref * (TUBE_MIN + (TUBE_MAX - TUBE_MIN) * (f / fmax if fmax > 0.0 else f))
        pd = self.poly.GetPointData()
        r = numpy_to_vtk(np.repeat(rad, 2), deep=1)
        r.SetName("tube_radius")
        pd.AddArray(r)
        pd.SetActiveScalars("tube_radius")
        scale = 1.0 if plane else 1e6
        self.bar.SetTitle("normal force (N/m)" if plane else "normal force (\u00b5N)")
        c = numpy_to_vtk(np.repeat(np.asarray(fn, float) * scale, 2), deep=1)
        c.SetName("F_n")
        pd.AddArray(c)
        hi = fmax * scale if fmax > 0.0 else 1.0
        self.lut.SetRange(0.0, hi)
        self.mapper.SetScalarRange(0.0, hi)
        self.tubes.SetRadius(r_ref * TUBE_MIN)
        self.poly.Modified()

    def n_lines(self) -> int:
        """Lines in the layer now (one per contact drawn)."""
        return int(self.poly.GetNumberOfLines())

    def segments(self) -> np.ndarray:
        """(m, 2, 3) m: the end points of the lines drawn."""
        pts = self.poly.GetPoints()
        if pts is None or self.n_lines() == 0:
            return np.zeros((0, 2, 3))
        from vtkmodules.util.numpy_support import vtk_to_numpy
        return np.array(vtk_to_numpy(pts.GetData()), float).reshape(-1, 2, 3)

    def show(self, on: bool) -> None:
        self.actor.SetVisibility(on)
        self.bar.SetVisibility(on)


class ContactControls:
    """Owns the 3D view's contact layer and its toolbar controls: on/off, the phase-pair
    filter, "draw anyway" above the limit, and the note that says what is drawn."""

    def __init__(self, toggled, changed):
        self.limit = CONTACT_LIMIT
        self.count = 0                # contacts the layer would draw (after the filter)
        self.layer = ContactLayer()
        self.box = QtWidgets.QCheckBox("contacts")
        self.box.setObjectName("contacts")
        self.box.setToolTip("Draw the contact network: tubes between the centres (2D: the "
                            "flats as chords), width and colour by normal force")
        self.box.toggled.connect(toggled)
        self.pair_combo = QtWidgets.QComboBox()
        self.pair_combo.setObjectName("contact_pairs")
        self.pair_combo.setToolTip("Draw only the contacts of one phase pair")
        self.pair_combo.currentIndexChanged.connect(lambda *_: changed())
        self.pair_combo.setEnabled(False)
        self.anyway = QtWidgets.QCheckBox()
        self.anyway.setObjectName("contacts_anyway")
        self.anyway.toggled.connect(lambda *_: changed())
        self.anyway.setVisible(False)
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("contacts_note")
        self.note.setVisible(False)

    def widgets(self) -> list[QtWidgets.QWidget]:
        """The controls, in their order on the toolbar."""
        return [self.box, self.pair_combo, self.anyway, self.note]

    def set_pair_choices(self, names: list[str]) -> None:
        """The phase-pair filter's items from the material names (the choice kept by name)."""
        combo = self.pair_combo
        keep = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        for label, pair in pair_choices(names):
            combo.addItem(label, pair)
        k = combo.findText(keep)
        combo.setCurrentIndex(max(k, 0))
        combo.blockSignals(False)

    def wanted(self) -> bool:
        """The layer is switched on (a live run should send the contacts)."""
        return self.box.isChecked()

    def shown(self) -> bool:
        """The layer is drawn now."""
        return bool(self.layer.actor.GetVisibility())

    def update(self, arrays: dict | None, die) -> bool:
        """Rebuild the layer from the frame's contacts (arrays["contacts"]): the touching
        pairs of the chosen phase pair, unless they are more than `limit` and "draw anyway"
        is not ticked; the note says why nothing is drawn. True when the layer is drawn."""
        on = self.box.isChecked()
        self.pair_combo.setEnabled(on)
        note, count, rows = "", 0, None
        c = arrays.get("contacts") if (on and arrays is not None) else None
        if on and arrays is not None:
            if "contacts" not in arrays:
                note = "contacts: they come with the next frame"
            elif c is None:
                note = "no contacts file for this snapshot"
            elif not drawable(c):
                note = "this run's contacts files hold flats only (written before the layer)"
            else:
                rows = select_contacts(c, arrays["material"], self.pair_combo.currentData())
                count = len(rows)
        over = count > self.limit
        self.anyway.setVisible(over)
        if over:
            self.anyway.setText(f"{count:,} contacts: layer off above {self.limit / 1000:g}k "
                                "for view speed; tick to draw anyway")
        draw = rows is not None and (not over or self.anyway.isChecked())
        layer = self.layer
        if draw:
            p0, p1 = contact_segments(arrays["x"], arrays["radius"], c, rows, die)
            r = np.asarray(arrays["radius"], float)
            layer.update(p0, p1, np.asarray(c["F_n"], float)[rows],
                         float(np.median(r)) if r.size else 1.0, plane=die[1] == 0.0)
            note = f"{count:,} contacts"
        else:
            e = np.zeros((0, 3))
            layer.update(e, e, np.zeros(0), 1.0)
        self.count = count
        self.note.setText(note)
        self.note.setVisible(bool(note))
        layer.show(draw)
        return draw
