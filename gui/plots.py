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


class PlotPanel(QtWidgets.QWidget):
    """Six live plots; add_rows(rows) appends, redraw happens on a ≤ 10 Hz timer."""

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
        for p in self.plots:
            p.clear()
            if p.legend is not None:
                p.legend.clear()
        self.curves.clear()
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
            if x.size and np.nanmax(x) > 7200:
                return x / 3600.0, label + " (h)"
            if x.size and np.nanmax(x) < 1e-3:
                return x * 1e6, label + " (µs)"
            return x, label + " (s)"
        return x, label

    def _relabel(self, *_):
        _, label = self.x_values()
        for p in self.plots:
            p.setLabel("bottom", label)
        self._dirty = True

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
