"""Compare two runs, the study's values, figure and movie export in the app (issue 19 items 3, 5).

File → Compare with run…: a second run folder (B) beside the open one (A). The plots overlay
B's rows (dashed, the colour of the same series of A; legends "run name: series"); the run
folder's panel gets a "Compare" tab (dempack.compare.cycle_differences: every cycles.csv
column at each half-cycle end, A, B, B − A, relative) and a "Study" tab (the study's values
beside each run's value at their cycle, dempack.reference.reference_rows). View → Study
values on the plots: the values of assets/study_reference.toml with a cycle, as star markers
in the panels of their column, at the end of their cycle on the current x axis (left out
beyond the last cycle the runs reached). File → Export figure… saves the plots (A, B, the
markers, the current x axis) as PNG or SVG at a chosen DPI, and File → Export movie… the
replay as GIF or MP4, both through dempack.export (the same functions as `dempack export`).

The window calls CompareController.attach() after it opened a run folder, detach() when it
clears the plots and close() when it closes the folder.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from dempack.compare import RunData, cycle_differences, marker_x, run_names
from dempack.export import export_figure, export_movie
from dempack.io.rundir import RunFolder
from dempack.reference import ReferenceError, load_reference, reference_rows

from .plots import COLORS, PANELS, X_AXES, _columns_for, _num, _time_scale


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def fill_table(table: QtWidgets.QTableWidget, rows: list[dict], cols: list[str],
               headers: list[str] | None = None) -> None:
    """Rows (dicts) into a read-only table; each cell keeps its value (UserRole)."""
    table.clear()
    table.setColumnCount(len(cols))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(headers or cols)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            item = QtWidgets.QTableWidgetItem(_fmt(r.get(c)))
            item.setData(QtCore.Qt.UserRole, r.get(c))
            table.setItem(i, j, item)
    table.resizeColumnsToContents()


def table_rows(table: QtWidgets.QTableWidget, cols: list[str]) -> list[dict]:
    """A table filled by fill_table back as row dicts (for tests and scripts)."""
    return [{c: table.item(i, j).data(QtCore.Qt.UserRole) for j, c in enumerate(cols)}
            for i in range(table.rowCount())]


def _table() -> QtWidgets.QTableWidget:
    t = QtWidgets.QTableWidget()
    t.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
    t.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
    return t


COMPARE_COLS = ["cycle", "half", "column", "A", "B", "B_minus_A", "relative"]
STUDY_COLS = ["figure", "quantity", "study", "unit", "approximate", "column", "cycle"]


class CompareController(QtCore.QObject):
    """The comparison, the study's markers and the exports of a MainWindow (see the module
    docstring). `run_b` is the compared run (RunData) or None."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.run_b: RunData | None = None
        self.names = ("A", "B")
        self.reference = None
        self.curves_b: dict[tuple[int, str], pg.PlotDataItem] = {}
        self.markers: list[tuple[int, object, pg.ScatterPlotItem]] = []
        self.compare_table = _table()
        self.compare_table.setObjectName("compare_table")
        self.study_table = _table()
        self.study_table.setObjectName("study_table")
        self._make_actions()
        win.plots.x_combo.currentTextChanged.connect(lambda *_: self._update_data())

    # ------------------------------------------------------------ actions
    def _make_actions(self) -> None:
        w = self.win

        def act(text, slot, name, checkable=False):
            a = QtGui.QAction(text, w)
            a.setObjectName(name)
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            return a

        self.act_compare = act("Compare with run…", self.compare_dialog, "compare_with")
        self.act_close = act("Close comparison", self.close_comparison, "close_comparison")
        self.act_markers = act("Study values on the plots", self.show_markers, "study_markers", True)
        self.act_figure = act("Export figure (PNG/SVG, DPI)…", self.export_figure_dialog,
                              "export_figure")
        self.act_movie = act("Export movie (GIF/MP4)…", self.export_movie_dialog, "export_movie")
        file_menu = w.menuBar().actions()[0].menu()
        before = w.act_quit
        file_menu.insertActions(before, [self.act_compare, self.act_close])
        file_menu.insertSeparator(before)
        file_menu.insertActions(before, [self.act_figure, self.act_movie])
        file_menu.insertSeparator(before)
        view = w.menuBar().addMenu("&View")
        view.addAction(self.act_markers)
        self.update_actions()

    def update_actions(self) -> None:
        has_a = self.win.folder is not None
        self.act_compare.setEnabled(has_a)
        self.act_close.setEnabled(self.run_b is not None)
        self.act_movie.setEnabled(has_a and bool(self.win.folder.snapshots) if has_a else False)

    # --------------------------------------------------------- life cycle
    def attach(self) -> None:
        """A run folder (A) was opened: draw B and the markers again on the new plots."""
        self.detach()
        if self.run_b is not None:
            self._draw_b()
            self._fill_compare()
        self._draw_markers()
        self._fill_study()
        self.update_actions()

    def detach(self) -> None:
        """The plots were cleared (their items went with them)."""
        self.curves_b.clear()
        self.markers.clear()

    def close(self) -> None:
        """The run folder was closed: the comparison ends."""
        self.close_comparison()
        self.update_actions()

    # --------------------------------------------------------- comparison
    def compare_dialog(self) -> None:
        w = self.win
        start = str(w.folder.path.parent) if w.folder is not None else ""
        d = QtWidgets.QFileDialog.getExistingDirectory(w, "Compare with run folder", start)
        if d:
            self.compare_with(d)

    def compare_with(self, path) -> bool:
        """Open run folder `path` as B beside the open run folder A."""
        w = self.win
        if w.folder is None:
            w._warn("Compare", "open a run folder first (File → Open results…)")
            return False
        try:
            folder = RunFolder(path)
        except (FileNotFoundError, ValueError) as e:
            w._warn("Cannot compare", str(e))
            return False
        self.close_comparison()
        self.names = tuple(run_names([w.folder.path, folder.path]))
        self.run_b = RunData.from_folder(folder, self.names[1])
        self._draw_b()
        self._fill_compare()
        self._fill_study()
        self.update_actions()
        w.state_label.setText(f"comparing {self.names[0]} (solid) with {self.names[1]} (dashed)")
        return True

    def close_comparison(self) -> None:
        for (k, _c), curve in self.curves_b.items():
            self.win.plots.plots[k].removeItem(curve)
        self.curves_b.clear()
        self.run_b = None
        panel = self.win.results_panel
        for t in (self.compare_table,):
            i = panel.indexOf(t)
            if i >= 0:
                panel.removeTab(i)
        self._rename_legends()
        self._fill_study()
        self.update_actions()

    def _x(self, rows: list[dict]) -> np.ndarray:
        """x of rows on the panel's current axis (time in the unit of A's axis)."""
        plots = self.win.plots
        key = X_AXES[plots.x_combo.currentText()][0]
        x = np.array([_num(r.get(key)) for r in rows], float)
        if key == "time_s":
            t = np.array([_num(r.get("time_s")) for r in plots.rows], float)
            x = x * _time_scale(float(np.nanmax(t)) if t.size else 1.0)[0]
        return x

    def _draw_b(self) -> None:
        plots, rows = self.win.plots, self.run_b.rows
        names = list(dict.fromkeys(k for r in rows for k in r))
        for k, (_t, _y, scale, matcher) in enumerate(PANELS):
            cols_a = plots.columns().get(k, [])
            for c in _columns_for(matcher, names):
                j = cols_a.index(c) if c in cols_a else len(cols_a) + len(
                    [key for key in self.curves_b if key[0] == k])
                pen = pg.mkPen(COLORS[j % len(COLORS)], width=2, style=QtCore.Qt.DashLine)
                curve = pg.PlotDataItem(pen=pen)
                plots.plots[k].addItem(curve)
                self.curves_b[(k, c)] = curve
        self._update_data()
        self._rename_legends()

    def _update_data(self) -> None:
        if self.run_b is not None and self.curves_b:
            x = self._x(self.run_b.rows)
            for (k, c), curve in self.curves_b.items():
                y = np.array([_num(r.get(c)) for r in self.run_b.rows], float) * PANELS[k][2]
                ok = np.isfinite(x) & np.isfinite(y)
                curve.setData(x[ok], y[ok])
        self._place_markers()

    def _rename_legends(self) -> None:
        """Legends name the runs when two are shown ("A: Se-Se"), the series alone otherwise."""
        plots = self.win.plots
        a, b = self.names
        for k, p in enumerate(plots.plots):
            if p.legend is None:
                continue
            p.legend.clear()
            entries = [(curve, c) for (kk, c), curve in plots.curves.items() if kk == k]
            many = len(entries) > 1
            for curve, c in entries:
                label = c.split(":", 1)[1] if ":" in c else c
                if self.run_b is not None:
                    p.legend.addItem(curve, f"{a}: {label}")
                elif many:
                    p.legend.addItem(curve, label)
            for (kk, c), curve in self.curves_b.items():
                if kk == k:
                    p.legend.addItem(curve, f"{b}: {c.split(':', 1)[1] if ':' in c else c}")
            for kk, v, item in self.markers:
                if kk == k:
                    p.legend.addItem(item, f"study {v.label()}")

    def _fill_compare(self) -> None:
        folder = self.win.folder
        a, b = self.names
        rows = cycle_differences(folder.cycle_rows(), self.run_b.cycles)
        fill_table(self.compare_table, rows, COMPARE_COLS,
                   ["cycle", "half", "column", f"A: {a}", f"B: {b}", "B − A", "(B − A)/|A|"])
        self.compare_table.setToolTip(f"every cycles.csv column at each half-cycle end: "
                                      f"A = {folder.path}, B = {self.run_b.path}")
        panel = self.win.results_panel
        if panel.indexOf(self.compare_table) < 0:
            panel.addTab(self.compare_table, "Compare")

    # ------------------------------------------------------ study values
    def _load_reference(self):
        if self.reference is None:
            try:
                self.reference = load_reference()
            except ReferenceError as e:
                self.win._warn("Study values", str(e))
                return None
        return self.reference

    def _fill_study(self) -> None:
        panel = self.win.results_panel
        folder = self.win.folder
        ref = self._load_reference() if folder is not None else None
        if ref is None:
            return
        runs = {self.names[0] if self.run_b is not None else folder.path.name:
                (folder.materials, folder.cycle_rows())}
        if self.run_b is not None:
            runs[self.names[1]] = (self.run_b.materials, self.run_b.cycles)
        rows = reference_rows(ref, runs)
        fill_table(self.study_table, rows, STUDY_COLS + list(runs))
        self.study_table.setToolTip("the study's values (assets/study_reference.toml) and each "
                                    "run's value at the end of that cycle, in the same unit")
        if panel.indexOf(self.study_table) < 0:
            panel.addTab(self.study_table, "Study")

    def show_markers(self, on: bool) -> None:
        self.act_markers.setChecked(bool(on))
        self._draw_markers()

    def _draw_markers(self) -> None:
        plots = self.win.plots
        for k, _v, item in self.markers:
            plots.plots[k].removeItem(item)
        self.markers.clear()
        folder = self.win.folder
        if self.act_markers.isChecked() and folder is not None and self._load_reference():
            for v in self.reference.markers(folder.materials):
                for k, (_t, _y, _s, matcher) in enumerate(PANELS):
                    if _columns_for(matcher, [v.column]):
                        item = pg.ScatterPlotItem(symbol="star", size=16,
                                                  brush=pg.mkBrush("#ffd700"),
                                                  pen=pg.mkPen("k", width=1))
                        plots.plots[k].addItem(item)
                        self.markers.append((k, v, item))
        self._place_markers()
        self._rename_legends()

    def _place_markers(self) -> None:
        """Each marker at the end of its cycle on the current x axis, hidden beyond the last
        cycle run A (or B) reached."""
        plots = self.win.plots
        key = X_AXES[plots.x_combo.currentText()][0]
        runs = [self.run_b.rows] if self.run_b is not None else []
        reached = max([np.nanmax([_num(r.get("cycle_x")) for r in rows] or [0.0])
                       for rows in [plots.rows] + runs] or [0.0])
        for k, v, item in self.markers:
            x = marker_x(v, plots.rows, key) if v.cycle <= reached else None
            if x is not None and key == "time_s":
                x = self._x([{"time_s": x}])[0]
            item.setData([x] if x is not None else [], [v.si * PANELS[k][2]] if x is not None else [])

    # ------------------------------------------------------------ exports
    def export_figure_dialog(self) -> None:
        w = self.win
        path, _ = QtWidgets.QFileDialog.getSaveFileName(w, "Export figure", "plots.png",
                                                        "PNG (*.png);;SVG (*.svg)")
        if not path:
            return
        dpi, ok = QtWidgets.QInputDialog.getInt(w, "Export figure", "Resolution (dots per inch):",
                                                150, 30, 1200)
        if ok:
            self.export_figure(path, dpi)

    def export_figure(self, path, dpi: int = 150):
        """The plots as shown (run A's rows, or the live run's; B; the study markers; the
        current x axis) as a PNG or SVG at `dpi` (dempack.export.export_figure)."""
        w = self.win
        if not w.plots.rows:
            w._warn("Export figure", "nothing plotted yet")
            return None
        folder = w.folder
        name = self.names[0] if self.run_b is not None else (
            folder.path.name if folder is not None else "run")
        a = RunData(name, folder.path if folder is not None else w.out_dir or name,
                    folder.materials if folder is not None else w.view.material_names,
                    w.plots.rows, folder.cycle_rows() if folder is not None else [])
        runs = [a] + ([self.run_b] if self.run_b is not None else [])
        ref = self._load_reference() if self.act_markers.isChecked() else None
        try:
            out = export_figure(runs, path, dpi=dpi, table="timeseries",
                                x=w.plots.x_combo.currentText(), reference=ref or False)
        except (OSError, ValueError) as e:
            w._warn("Export figure", str(e))
            return None
        w.state_label.setText(f"figure written: {out} ({dpi} dpi)")
        return out

    def export_movie_dialog(self) -> None:
        w = self.win
        if w.folder is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            w, "Export movie", f"{w.folder.path.name}.gif", "GIF (*.gif);;MP4 (*.mp4)")
        if path:
            self.export_movie(path)

    def export_movie(self, path, size=(960, 720)):
        """The replay of the open run folder, one frame per snapshot, rendered off screen in
        the view's colour and clip, at the replay bar's speed (dempack.export.export_movie)."""
        w = self.win
        if w.folder is None:
            return None
        from gui.replay import FPS
        fps = FPS[w.replay_bar.fps.currentIndex()]
        dlg = None
        if w.interactive:
            dlg = QtWidgets.QProgressDialog("Rendering the snapshots…", "Cancel", 0,
                                            len(w.folder.snapshots), w)
            dlg.setWindowModality(QtCore.Qt.WindowModal)
            dlg.setMinimumDuration(300)

        def progress(k, n):
            if dlg is not None:
                dlg.setValue(k)
                QtWidgets.QApplication.processEvents()
                return not dlg.wasCanceled()
            return True

        try:
            out = export_movie(w.folder.path, path, fps=fps, size=size,
                               colour=w.view.color_combo.currentText(),
                               clip=w.view.clip_box.isChecked(), progress=progress)
        except InterruptedError:
            w.state_label.setText("movie export cancelled")
            return None
        except (OSError, ValueError) as e:
            w._warn("Export movie", str(e))
            return None
        finally:
            if dlg is not None:
                dlg.close()
        w.state_label.setText(f"movie written: {out}")
        return out
