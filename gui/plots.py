"""Live pyqtgraph plots of the observables rows (DESIGN §3).

Each panel plots the row columns that match it (so columns added by other
parts of the engine — breakage, say — appear when present): porosity,
thickness, punch stress, contact ratio per phase pair, volume-weighted mean
von Mises stress per material, breakage. The x axis is physical time, cycles
(dempack.live adds `cycle_x`) or DEM steps. Export: PNG (all panels) and CSV
(every row, every column).
"""
from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

# (title, y label, scale, matcher) — matcher: a column name or a regex over names
PANELS = (
    ("Porosity", "porosity", 1.0, "porosity"),
    ("Thickness", "thickness (µm)", 1e6, "thickness_m"),
    ("Punch stress", "stack pressure (MPa)", 1e-6, "punch_stress_Pa"),
    ("Contact ratio per phase pair", "contact ratio", 1.0, re.compile(r"^contact_ratio:")),
    ("Mean von Mises stress", "σ_vM (MPa)", 1e-6, re.compile(r"^stress_vm_mean_Pa:")),
    ("Breakage", "fraction", 1.0,
     re.compile(r"^(broken_mass_fraction|relative_breakage)(:.*)?$")),
)
X_AXES = {"time": ("time_s", "physical time"), "cycle": ("cycle_x", "cycle"),
          "step": ("step", "DEM step")}
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")


def _columns_for(matcher, names):
    if isinstance(matcher, str):
        return [matcher] if matcher in names else []
    return [n for n in names if matcher.search(n)]


def _time_scale(t_max: float) -> tuple[float, str]:
    """(factor, unit) for a physical-time axis whose largest value is t_max seconds."""
    if t_max > 7200:
        return 1.0 / 3600.0, "h"
    if t_max < 1e-3:
        return 1e6, "µs"
    return 1.0, "s"


class PlotPanel(QtWidgets.QWidget):
    """Six live plots; add_rows(rows) appends, redraw happens on a ≤ 10 Hz timer.

    A cursor (a vertical line in every panel) marks one moment of the run
    (set_cursor(step, time_s): the snapshot a replay shows); a click in a panel
    emits clicked_step(step of the row nearest to the click)."""

    clicked_step = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        v = QtWidgets.QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("x axis:"))
        self.x_combo = QtWidgets.QComboBox()
        self.x_combo.setObjectName("x_axis")
        self.x_combo.addItems(list(X_AXES))
        self.x_combo.currentTextChanged.connect(self._relabel)
        bar.addWidget(self.x_combo)
        bar.addStretch(1)
        v.addLayout(bar)
        self.layout_widget = pg.GraphicsLayoutWidget()
        v.addWidget(self.layout_widget, 1)
        self.plots = []
        for k, (title, ylabel, _scale, _m) in enumerate(PANELS):
            p = self.layout_widget.addPlot(row=k // 3, col=k % 3, title=title)
            p.setLabel("left", ylabel)
            p.getAxis("left").enableAutoSIPrefix(False)  # units are in the labels
            p.showGrid(x=True, y=True, alpha=0.3)
            p.addLegend(offset=(5, 5), labelTextSize="7pt")
            self.plots.append(p)
        self.cursor: tuple[int, float] | None = None      # (step, time_s)
        self.cursor_lines = [pg.InfiniteLine(angle=90, movable=False,
                                             pen=pg.mkPen("#444444", width=1.5,
                                                          style=QtCore.Qt.DashLine))
                             for _ in self.plots]
        for p, line in zip(self.plots, self.cursor_lines):
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
        self.layout_widget.scene().sigMouseClicked.connect(self._on_click)
        self.curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self.rows: list[dict] = []
        self._dirty = False
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self._relabel()

    def clear(self):
        self.rows = []
        for p, line in zip(self.plots, self.cursor_lines):
            p.clear()
            if p.legend is not None:
                p.legend.clear()
            p.addItem(line, ignoreBounds=True)
        self.curves.clear()
        self.set_cursor(None)
        self._dirty = False

    def add_rows(self, rows: list[dict]):
        if rows:
            self.rows.extend(rows)
            self._dirty = True

    def x_values(self) -> tuple[np.ndarray, str]:
        key = X_AXES[self.x_combo.currentText()][0]
        x = np.array([r.get(key, np.nan) for r in self.rows], float)
        label = X_AXES[self.x_combo.currentText()][1]
        if key == "time_s":
            factor, unit = _time_scale(float(np.nanmax(x)) if x.size else 1.0)
            return x * factor, f"{label} ({unit})"
        return x, label

    def _relabel(self, *_):
        _, label = self.x_values()
        for p in self.plots:
            p.setLabel("bottom", label)
        self._dirty = True
        self._place_cursor()

    # ------------------------------------------------------------ cursor
    def set_cursor(self, step: int | None, time_s: float | None = None) -> None:
        """Mark the moment (step, physical time s) in every panel; None hides the cursor."""
        self.cursor = None if step is None else (int(step), float(time_s))
        self._place_cursor()

    def cursor_x(self) -> float | None:
        """The cursor's position on the current x axis (its unit), or None."""
        if self.cursor is None:
            return None
        step, t = self.cursor
        key = X_AXES[self.x_combo.currentText()][0]
        if key == "step":
            return float(step)
        if key == "time_s":
            times = [r.get("time_s", np.nan) for r in self.rows] or [t]
            return t * _time_scale(float(np.nanmax(np.array(times, float))))[0]
        steps = np.array([r.get("step", np.nan) for r in self.rows], float)
        xs = np.array([r.get(key, np.nan) for r in self.rows], float)
        ok = np.isfinite(steps) & np.isfinite(xs)
        return float(np.interp(step, steps[ok], xs[ok])) if ok.any() else None

    def _place_cursor(self) -> None:
        x = self.cursor_x()
        for line in self.cursor_lines:
            line.setVisible(x is not None)
            if x is not None:
                line.setValue(x)

    def _on_click(self, ev) -> None:
        if not self.rows:
            return
        pos = ev.scenePos()
        for p in self.plots:
            if p.sceneBoundingRect().contains(pos):
                x_click = p.vb.mapSceneToView(pos).x()
                x, _ = self.x_values()
                ok = np.isfinite(x)
                if ok.any():
                    k = int(np.flatnonzero(ok)[np.argmin(np.abs(x[ok] - x_click))])
                    self.clicked_step.emit(int(self.rows[k]["step"]))
                return

    def columns(self) -> dict[int, list[str]]:
        """Panel index -> row columns plotted there."""
        names = list(self.rows[-1]) if self.rows else []
        return {k: _columns_for(m, names) for k, (_t, _y, _s, m) in enumerate(PANELS)}

    def redraw(self):
        if not self._dirty:
            return
        self._dirty = False
        x, label = self.x_values()
        self.plots[0].setLabel("bottom", label)
        for k, cols in self.columns().items():
            scale = PANELS[k][2]
            for c in cols:
                y = np.array([_num(r.get(c)) for r in self.rows], float) * scale
                curve = self.curves.get((k, c))
                if curve is None:
                    n = sum(1 for key in self.curves if key[0] == k)
                    name = c.split(":", 1)[1] if ":" in c else (c if len(cols) > 1 else None)
                    curve = self.plots[k].plot(pen=pg.mkPen(COLORS[n % len(COLORS)], width=2),
                                               name=name)
                    self.curves[(k, c)] = curve
                ok = np.isfinite(x) & np.isfinite(y)
                curve.setData(x[ok], y[ok])
            self.plots[k].setLabel("bottom", label)
        self._place_cursor()   # the time axis' unit may have changed with the new rows

    def curve_data(self, panel: int, column: str):
        """(x, y) currently drawn for `column` in panel `panel` (for tests and scripts)."""
        self.redraw()
        c = self.curves.get((panel, column))
        return (np.array([]), np.array([])) if c is None else c.getData()

    # ------------------------------------------------------------ export
    def export_png(self, path) -> None:
        from pyqtgraph.exporters import ImageExporter
        self.redraw()
        ex = ImageExporter(self.layout_widget.scene())
        ex.parameters()["width"] = max(1200, int(self.layout_widget.width()))
        ex.export(str(path))

    def export_csv(self, path) -> None:
        """Every row with every column (SI units and the CSV convention of
        timeseries.csv, dempack.io.tables; plus cycle_x)."""
        from dempack.io.tables import write_table
        write_table(path, self.rows)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan
