"""Main window: scenario form | 3D view over live plots | status bar.

    dempack gui [SCENARIO | RUN_DIR]        (or: dempack-gui, python -m gui)
    dempack gui RUN_DIR --screenshot FILE.png [--frame K]

Run/Pause/Resume/Stop/Reset drive a SimWorker in a QThread; the window only
receives copied frames (dempack.live.LiveBridge) through queued signals, so it
stays responsive during numba compilation and long runs (gui/runcontrol.py).

Before Run, the view shows the set-up: the packing the scenario will start from,
built off the UI thread as soon as the scenario is loaded or edited (gui/preview.py).
A run folder (File → Open results…, or RUN_DIR on the command line) is replayed:
a time slider over its snapshots with play/pause, the plots of its time series with
a cursor at the snapshot shown, its summary and cycles table, and "Resume run",
which continues it from its checkpoint through the same worker and driver
(gui/results.py, gui/replay.py, dempack.io.rundir, dempack.restart).

The window lays out the widgets and composes the parts that own each concept: RunControl
(the run), ResultsController (the open run folder), SetupPreview (the set-up before Run),
Menus (actions, menus, toolbar), StatusBar, CompareController (comparison and exports).
Its methods and attributes of old (`win.run()`, `win.folder`, `win.state`, …) stay: a
line each that hands over to the part.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dempack.io.rundir import RunFolder, run_cases
from dempack.scenario import DEFAULT_SCENARIO, SCENARIO_DIR, ScenarioError

from .compare import CompareController
from .demos import demo_path
from .editor import ScenarioEditor, header_comment
from .menus import Menus
from .plots import PlotPanel
from .preview import PREVIEW_DELAY_MS, PREVIEW_MAX_PARTICLES, SetupPreview
from .replay import ReplayBar, ResultsPanel
from .results import ResultsController
from .runcontrol import RunControl
from .section import SectionPanel
from .status import StatusBar
from .view3d import COLOR_BY, ParticleView

ICON = Path(__file__).resolve().parents[1] / "assets" / "icons" / "dempack.svg"


class MainWindow(QtWidgets.QMainWindow):
    """The app. MainWindow(scenario_path) opens a scenario (default: quickstart) and shows
    its set-up; MainWindow(results=RUN_DIR) opens a run folder for replay.
    `interactive=False` replaces message boxes by status-bar messages (screenshots, tests)."""

    def __init__(self, scenario_path=None, results=None, interactive: bool = True):
        super().__init__()
        self.interactive = interactive
        self.setWindowTitle("dempack")
        if ICON.exists():
            self.setWindowIcon(QtGui.QIcon(str(ICON)))
        self.resize(1280, 800)
        self.out_dir: Path | None = None
        self._make_scenario_dock()
        self._make_centre()

        # --- left, a tab beside the scenario: an open run folder's summary and cycles table
        self.results_panel = ResultsPanel()
        self.results_dock = QtWidgets.QDockWidget("Run folder", self)
        self.results_dock.setObjectName("results_dock")
        self.results_dock.setWidget(self.results_panel)
        self.results_dock.setFeatures(self.scenario_dock.features())
        self.tabifyDockWidget(self.scenario_dock, self.results_dock)
        self.results_dock.hide()

        self.status_bar = StatusBar(self.statusBar())
        self.state_label = self.status_bar.state_label
        self.busy = self.status_bar.busy
        self.status_label = self.status_bar.status_label
        self.runs = RunControl(self)               # the run in the worker thread
        self.results = ResultsController(self)    # the open run folder and its replay
        self.setup = SetupPreview(self, max_particles=PREVIEW_MAX_PARTICLES)  # before Run
        self.menus = Menus(self)
        self.compare = CompareController(self)    # compare runs, study values, exports
        self.editor.validity_changed.connect(lambda ok: self.menus.update())
        self.editor.edited.connect(self._on_scenario_edited)

        self.open_scenario(scenario_path or DEFAULT_SCENARIO)
        if results is not None:
            self.open_results(results)

    def _make_scenario_dock(self) -> None:
        """Left: the scenario form over its explanation."""
        self.editor = ScenarioEditor()
        self.explain = QtWidgets.QTextBrowser()
        self.explain.setObjectName("explanation")
        left = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        left.addWidget(self.editor)
        left.addWidget(self.explain)
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 1)
        self.scenario_dock = dock = QtWidgets.QDockWidget("Scenario", self)
        dock.setObjectName("scenario_dock")
        dock.setWidget(left)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [380], QtCore.Qt.Horizontal)

    def _make_centre(self) -> None:
        """Centre: the 3D view (with the replay bar of an open run folder) above the plots
        and, with a run folder open, its section (virtual SEM)."""
        self.view = ParticleView()
        self.plots = PlotPanel()
        self.replay_bar = ReplayBar()
        self.replay_bar.hide()
        top = QtWidgets.QWidget()
        tv = QtWidgets.QVBoxLayout(top)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.setSpacing(0)
        tv.addWidget(self.view, 1)
        tv.addWidget(self.replay_bar)
        self.section_panel = SectionPanel()
        self.bottom_tabs = QtWidgets.QTabWidget()
        self.bottom_tabs.setObjectName("bottom_tabs")
        self.bottom_tabs.addTab(self.plots, "Plots")
        self.bottom_tabs.addTab(self.section_panel, "Section (virtual SEM)")
        self.bottom_tabs.setTabEnabled(1, False)
        self.bottom_tabs.setTabToolTip(1, "open a run folder with snapshots (File → Open "
                                          "results…) to see a section of its snapshots")
        centre = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        centre.addWidget(top)
        centre.addWidget(self.bottom_tabs)
        centre.setStretchFactor(0, 1)
        centre.setStretchFactor(1, 1)
        self.setCentralWidget(centre)

    # ------------------------------------------- the parts' state, read here
    @property
    def thread(self) -> QtCore.QThread | None:
        return self.runs.thread

    @property
    def worker(self):
        return self.runs.worker

    @property
    def state(self) -> str:
        return self.runs.state

    @property
    def last_status(self) -> dict:
        return self.runs.last_status

    @property
    def folder(self) -> RunFolder | None:
        return self.results.folder

    @property
    def shown_frame(self) -> int | None:
        return self.results.shown_frame

    @property
    def preview_state(self) -> str:
        return self.setup.state

    # --------------------------------------------------------- scenarios
    def open_scenario(self, path) -> None:
        try:
            self.editor.load(path)
        except ScenarioError as e:
            self.setup.state = "failed"
            self._warn("Invalid scenario", str(e))
            return
        text = header_comment(path)
        self.explain.setPlainText(text or f"{Path(path).name}")
        self.setWindowTitle(f"dempack — {Path(path).name}")
        self.results.leave()
        self.clear_results()
        self.setup.schedule(0)

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

    def _on_scenario_edited(self):
        """An edit in the form: the scenario is what the window shows again (an open run
        folder is closed), and its set-up is rebuilt once the edits pause."""
        if self.folder is not None:
            self.results.leave()
            self.clear_results()
            self.setWindowTitle("dempack — edited scenario")
        self.setup.schedule()

    def clear_results(self):
        """Empty the plots, the view and the status line (a run or a run folder is next)."""
        self.plots.clear()
        if hasattr(self, "compare"):
            self.compare.detach()
        self.view.clear()
        self.runs.forget_frames()
        self.status_label.setText("")

    def _warn(self, title: str, text: str) -> None:
        if self.interactive:
            QtWidgets.QMessageBox.warning(self, title, text)
        else:
            print(f"dempack gui: {title}: {text}", file=sys.stderr)
        self.state_label.setText(f"{title}: {text}"[:200])

    # ------------------------------------- the run (gui/runcontrol.py)
    def run(self) -> None:
        self.runs.run()

    def pause(self):
        self.runs.pause()

    def resume(self):
        self.runs.resume()

    def stop(self):
        self.runs.stop()

    def reset(self):
        self.runs.reset()

    def on_state(self, name: str, msg: str):
        self.runs.on_state(name, msg)

    def on_frame(self, frame):
        self.runs.on_frame(frame)

    def _draw_pending(self, force: bool = True):
        self.runs.draw_pending(force)

    def schedule_preview(self, delay_ms: int = PREVIEW_DELAY_MS, force: bool = False) -> None:
        self.setup.schedule(delay_ms, force)

    # ---------------------------------- run folders (gui/results.py)
    def open_results_dialog(self):
        self.results.open_dialog()

    def open_results(self, path, frame: int = -1) -> bool:
        return self.results.open(path, frame)

    def reload_results(self):
        self.results.reload()

    def close_results(self):
        self.results.close()

    def resume_results(self):
        self.results.resume()

    def snapshot_arrays(self, k: int) -> dict:
        return self.results.snapshot_arrays(k)

    def show_snapshot(self, k: int) -> None:
        self.results.show_snapshot(k)

    def show_step(self, step: int) -> None:
        self.results.show_step(step)

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
        self.replay_bar.pause()
        self.setup.cancel()
        self.runs.shutdown()
        self.setup.wait(60.0)       # a set-up being built (numba may compile): let it end
        self.section_panel.wait(60.0)
        self.view.finalize()
        super().closeEvent(e)


def main(argv=None) -> int:
    """dempack-gui / python -m gui: the arguments of `dempack gui` (dempack.cli.gui_arguments)."""
    from dempack.cli import gui_arguments
    p = argparse.ArgumentParser(prog="dempack gui", description="dempack desktop app")
    return launch(gui_arguments(p).parse_args(argv))


def launch(args) -> int:
    """Open the app as `dempack gui` was asked to (args: its parsed arguments)."""
    path = Path(args.path) if args.path else None
    if path is not None and not path.exists():
        print(f"dempack: error: {path}: no such file or folder", file=sys.stderr)
        return 2
    results = path if path is not None and path.is_dir() else None
    if results is not None:
        try:
            RunFolder(results)
        except ValueError as e:
            if not run_cases(results):
                print(f"dempack: error: {e}", file=sys.stderr)
                return 2
    elif path is not None:
        from dempack.scenario import load_scenario
        try:
            load_scenario(path)
        except ScenarioError as e:
            for line in e.lines():
                print(f"dempack: error: {' '.join(line.splitlines())}", file=sys.stderr)
            return 2
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("dempack")
    shot = args.screenshot is not None
    win = MainWindow(None if results is not None else path, interactive=not shot)
    if shot:
        win.resize(1280, 800)
    win.show()
    if results is not None:
        win.open_results(results, frame=args.frame)
    if shot:
        from .screenshot import save_window
        rc = save_window(app, win, args.screenshot, timeout=args.timeout)
        win.close()
        return rc
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
