"""Main window: scenario form | 3D view over live plots | status bar.

    dempack gui [SCENARIO]        (or: dempack-gui, python -m gui)

Run/Pause/Resume/Stop/Reset drive a SimWorker in a QThread; the window only
receives copied frames (dempack.live.LiveBridge) through queued signals, so it
stays responsive during numba compilation and long runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dempack.scenario import DEFAULT_SCENARIO, SCENARIO_DIR, ScenarioError

from .demos import DEMOS, demo_path
from .editor import ScenarioEditor, header_comment, scenario_files
from .plots import PlotPanel
from .view3d import COLOR_BY, ParticleView
from .worker import SimWorker

ICON = Path(__file__).resolve().parents[1] / "assets" / "icons" / "dempack.svg"


def fmt_time(t: float) -> str:
    """Physical time with a readable unit."""
    if t >= 3600.0:
        return f"{t / 3600.0:.2f} h"
    if t >= 1.0:
        return f"{t:.1f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.2f} µs"


def fmt_duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, scenario_path=None):
        super().__init__()
        self.setWindowTitle("dempack")
        if ICON.exists():
            self.setWindowIcon(QtGui.QIcon(str(ICON)))
        self.resize(1280, 800)
        self.thread: QtCore.QThread | None = None
        self.worker: SimWorker | None = None
        self.out_dir: Path | None = None
        self.last_status: dict = {}
        self.state = "idle"
        self._pending_arrays = None

        # --- left: scenario form + explanation
        self.editor = ScenarioEditor()
        self.explain = QtWidgets.QTextBrowser()
        self.explain.setObjectName("explanation")
        left = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        left.addWidget(self.editor)
        left.addWidget(self.explain)
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 1)
        dock = QtWidgets.QDockWidget("Scenario", self)
        dock.setObjectName("scenario_dock")
        dock.setWidget(left)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [380], QtCore.Qt.Horizontal)

        # --- centre: 3D view above plots
        self.view = ParticleView()
        self.plots = PlotPanel()
        centre = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        centre.addWidget(self.view)
        centre.addWidget(self.plots)
        centre.setStretchFactor(0, 1)
        centre.setStretchFactor(1, 1)
        self.setCentralWidget(centre)

        # --- status bar
        sb = self.statusBar()
        self.state_label = QtWidgets.QLabel("idle")
        self.state_label.setObjectName("state")
        self.busy = QtWidgets.QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setObjectName("run_status")
        sb.addWidget(self.state_label)
        sb.addWidget(self.busy)
        sb.addPermanentWidget(self.status_label)

        self._make_actions()
        self.editor.validity_changed.connect(lambda ok: self._update_actions())
        self.view_timer = QtCore.QTimer(self)
        self.view_timer.setInterval(33)  # ≤ 30 Hz redraws of the 3D view
        self._last_draw_end = self._last_draw_cost = 0.0
        self.view_timer.timeout.connect(lambda: self._draw_pending(force=False))
        self.view_timer.start()

        self.open_scenario(scenario_path or DEFAULT_SCENARIO)

    # ----------------------------------------------------------- actions
    def _make_actions(self):
        st = self.style()

        def act(text, slot, icon=None, shortcut=None, name=None):
            a = QtGui.QAction(text, self)
            if icon is not None:
                a.setIcon(st.standardIcon(icon))
            if shortcut:
                a.setShortcut(shortcut)
            a.setObjectName(name or text.lower().replace(" ", "_").strip("."))
            a.triggered.connect(slot)
            return a

        SP = QtWidgets.QStyle.StandardPixmap
        self.act_new = act("New", self.new_scenario, SP.SP_FileIcon, "Ctrl+N")
        self.act_open = act("Open…", self.open_dialog, SP.SP_DialogOpenButton, "Ctrl+O", "open")
        self.act_save = act("Save as…", self.save_dialog, SP.SP_DialogSaveButton, "Ctrl+S", "save")
        self.act_outdir = act("Output folder…", self.choose_out_dir, None, None, "output_folder")
        self.act_run = act("Run", self.run, SP.SP_MediaPlay, "F5")
        self.act_pause = act("Pause", self.pause, SP.SP_MediaPause, "F6")
        self.act_resume = act("Resume", self.resume, SP.SP_MediaSeekForward, "F7")
        self.act_stop = act("Stop", self.stop, SP.SP_MediaStop, "F8")
        self.act_reset = act("Reset", self.reset, SP.SP_BrowserReload, "F9")
        self.act_png = act("Export plots as PNG…", self.export_plots_png, None, None, "export_png")
        self.act_csv = act("Export plots as CSV…", self.export_plots_csv, None, None, "export_csv")
        self.act_view_png = act("Export 3D view as PNG…", self.export_view_png, None, None,
                                "export_view_png")
        self.act_quit = act("Quit", self.close, None, "Ctrl+Q")

        m = self.menuBar().addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        ready = m.addMenu("Open ready scenario")
        for p in scenario_files():
            a = ready.addAction(p.stem)
            a.triggered.connect(lambda _=False, p=p: self.open_scenario(p))
        m.addActions([self.act_save, self.act_outdir])
        m.addSeparator()
        m.addActions([self.act_png, self.act_csv, self.act_view_png])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = self.menuBar().addMenu("&Run")
        m.addActions([self.act_run, self.act_pause, self.act_resume, self.act_stop, self.act_reset])
        m = self.menuBar().addMenu("&Demonstrations")
        self.demo_actions = []
        for title, fname, colour in DEMOS:
            a = m.addAction(title)
            a.triggered.connect(lambda _=False, f=fname, c=colour: self.open_demo(f, c))
            self.demo_actions.append(a)
        m = self.menuBar().addMenu("&Help")
        m.addAction("About dempack", self.about)

        tb = self.addToolBar("Run")
        tb.setObjectName("run_toolbar")
        tb.addActions([self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_run, self.act_pause, self.act_resume, self.act_stop, self.act_reset])
        tb.addSeparator()
        self.write_box = QtWidgets.QCheckBox("write outputs")
        self.write_box.setToolTip("Write timeseries.csv, vtk/, checkpoint, summary.json like "
                                  "`dempack run --out` into the output folder")
        self.write_box.toggled.connect(self._on_write_toggled)
        tb.addWidget(self.write_box)
        self.out_label = QtWidgets.QLabel("")
        tb.addWidget(self.out_label)
        self._update_actions()

    def _update_actions(self):
        busy = self.thread is not None
        s = self.state
        self.act_run.setEnabled(not busy and self.editor.is_valid())
        self.act_pause.setEnabled(busy and s in ("running", "compiling", "building"))
        self.act_resume.setEnabled(busy and s == "paused")
        self.act_stop.setEnabled(busy)
        self.act_reset.setEnabled(True)
        self.editor.setEnabled(not busy)
        for a in self.demo_actions:
            a.setEnabled(not busy)

    # --------------------------------------------------------- scenarios
    def open_scenario(self, path) -> None:
        try:
            self.editor.load(path)
        except ScenarioError as e:
            QtWidgets.QMessageBox.warning(self, "Invalid scenario", str(e))
            return
        text = header_comment(path)
        self.explain.setPlainText(text or f"{Path(path).name}")
        self.setWindowTitle(f"dempack — {Path(path).name}")
        self._clear_results()

    def open_demo(self, filename: str, colour: str | None = None) -> None:
        self.open_scenario(demo_path(filename))
        if colour in COLOR_BY:
            self.view.color_combo.setCurrentText(colour)
        self.state_label.setText("demonstration loaded: press Run")

    def new_scenario(self):
        self.open_scenario(DEFAULT_SCENARIO)
        self.editor.source = "<new>"
        self.setWindowTitle("dempack — new scenario")

    def open_dialog(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scenario", str(SCENARIO_DIR),
                                                        "Scenario (*.toml)")
        if path:
            self.open_scenario(path)

    def save_dialog(self):
        if not self.editor.is_valid():
            QtWidgets.QMessageBox.warning(self, "Invalid scenario", "\n".join(self.editor.errors))
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save scenario", str(Path.cwd()),
                                                        "Scenario (*.toml)")
        if path:
            self.editor.save(path)

    def choose_out_dir(self):
        d = QtWidgets.QFileDialog.getExistingDirectory(self, "Output folder", str(Path.cwd()))
        if d:
            self.set_out_dir(d)

    def set_out_dir(self, d) -> None:
        self.out_dir = Path(d) if d else None
        self.out_label.setText(f" → {self.out_dir}" if self.out_dir else "")
        self.write_box.setChecked(self.out_dir is not None)

    def _on_write_toggled(self, on: bool):
        if on and self.out_dir is None:
            self.choose_out_dir()
            if self.out_dir is None:
                self.write_box.setChecked(False)

    # ------------------------------------------------------------ running
    def run(self) -> None:
        if self.thread is not None:
            return
        errors = self.editor.validate()
        if errors:
            self.state_label.setText("fix the scenario first")
            return
        sc = self.editor.scenario()
        self._clear_results()
        self.view.set_materials([m.material for m in sc.packing.materials])
        out = self.out_dir if self.write_box.isChecked() else None
        self.worker = SimWorker(sc, out_dir=out)
        self.thread = QtCore.QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.frame.connect(self.on_frame)
        self.worker.state.connect(self.on_state)
        self.worker.finished.connect(self.thread.quit)
        self.thread.finished.connect(self._thread_done)
        self._t_start = time.perf_counter()
        self.state = "building"
        self.thread.start()
        self._update_actions()

    def pause(self):
        if self.worker is not None:
            self.worker.pause()

    def resume(self):
        if self.worker is not None:
            self.worker.resume()

    def stop(self):
        if self.worker is not None:
            self.worker.stop()

    def reset(self):
        """Stop the run (if any) and clear the results; Run starts a fresh Simulation."""
        self.stop()
        self._clear_results()
        if self.thread is None:
            self.state = "idle"
            self.state_label.setText("idle")
        self._update_actions()

    def _thread_done(self):
        self.thread.deleteLater()
        self.thread = None
        self.worker = None
        self.busy.hide()
        self._update_actions()

    def _clear_results(self):
        self.plots.clear()
        self.view.clear()
        self.last_status = {}
        self.status_label.setText("")

    @QtCore.Slot(str, str)
    def on_state(self, name: str, msg: str):
        self.state = name
        self.state_label.setText(name + (f": {msg}" if msg else ""))
        self.busy.setVisible(name in ("building", "compiling"))
        if name == "failed":
            self.status_label.setText(msg[:200])
        self._update_actions()

    @QtCore.Slot(object)
    def on_frame(self, frame):
        self.plots.add_rows(frame.rows)
        if frame.arrays is not None:
            self._pending_arrays = (frame.arrays, frame.status)
        self.last_status = frame.status
        self._show_status(frame.status)

    def _draw_pending(self, force: bool = True):
        """Draw the newest frame. From the timer (force=False) a frame waits until
        twice the last draw time has passed, so that a slow renderer (software GL,
        100,000 particles) never takes more than a third of the UI thread."""
        if self._pending_arrays is None:
            return
        now = time.perf_counter()
        if not force and now - self._last_draw_end < 2.0 * self._last_draw_cost:
            return
        arrays, status = self._pending_arrays
        self._pending_arrays = None
        self.view.set_frame(arrays, status)
        self._last_draw_end = time.perf_counter()
        self._last_draw_cost = self._last_draw_end - now

    def _show_status(self, s: dict):
        rate = self.worker.steps_per_s if self.worker is not None else 0.0
        parts = [f"step {s['step']:,}", f"t {fmt_time(s['time_s'])}", s["stage"]]
        if s.get("cycle") and not s["stage"].startswith("cycle"):
            parts.append(f"cycle {s['cycle']} {s['half']}")
        parts.append(f"{rate:,.0f} steps/s" if rate else "– steps/s")
        rem = s.get("remaining_steps")
        if s.get("done"):
            parts.append("done")
        elif rem is not None and rate > 0:
            parts.append(f"ETA {fmt_duration(rem / rate)}")
        else:
            parts.append("ETA – (pressing to target)")
        parts.append(f"{s['n']:,} particles")
        self.status_label.setText("  |  ".join(parts))

    # ------------------------------------------------------------ export
    def export_plots_png(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Plots as PNG", "plots.png", "PNG (*.png)")
        if path:
            self.plots.export_png(path)

    def export_plots_csv(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Rows as CSV", "timeseries.csv", "CSV (*.csv)")
        if path:
            self.plots.export_csv(path)

    def export_view_png(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "3D view as PNG", "particles.png", "PNG (*.png)")
        if path:
            self.view.export_png(path)

    def about(self):
        QtWidgets.QMessageBox.about(
            self, "dempack", "dempack: discrete-element simulation of all-solid-state battery "
            "cathode powders (pressing, swelling, creep, fracture).\n\nThe same engine runs "
            "headless with `dempack run`; this window is a thin layer over it.")

    def closeEvent(self, e):
        if self.thread is not None:
            self.worker.stop()
            self.thread.quit()
            self.thread.wait(10000)
        super().closeEvent(e)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dempack gui", description="dempack desktop app")
    p.add_argument("scenario", nargs="?", help="scenario TOML file to open")
    args = p.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("dempack")
    win = MainWindow(args.scenario)
    win.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
