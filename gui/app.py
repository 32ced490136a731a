"""Main window: scenario form | 3D view over live plots | status bar.

    dempack gui [SCENARIO | RUN_DIR]        (or: dempack-gui, python -m gui)
    dempack gui RUN_DIR --screenshot FILE.png [--frame K]

Run/Pause/Resume/Stop/Reset drive a SimWorker in a QThread; the window only
receives copied frames (dempack.live.LiveBridge) through queued signals, so it
stays responsive during numba compilation and long runs.

Before Run, the view shows the set-up: the packing the scenario will start from,
built off the UI thread as soon as the scenario is loaded or edited (gui/preview.py).
A run folder (File → Open results…, or RUN_DIR on the command line) is replayed:
a time slider over its snapshots with play/pause, the plots of its time series with
a cursor at the snapshot shown, its summary and cycles table, and "Resume run",
which continues it from its checkpoint through the same worker and driver
(gui/replay.py, dempack.io.rundir, dempack.restart).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dempack.io.rundir import RunFolder, read_contacts, read_vtp, run_cases
from dempack.scenario import DEFAULT_SCENARIO, SCENARIO_DIR, ScenarioError

from .compare import CompareController
from .demos import DEMOS, demo_path
from .editor import ScenarioEditor, header_comment, scenario_files
from .plots import PlotPanel
from .preview import PreviewBuilder, size_laws
from .replay import ReplayBar, ResultsPanel, space_shortcut
from .section import SectionPanel
from .view3d import COLOR_BY, ParticleView
from .worker import SimWorker

PREVIEW_DELAY_MS = 400   # after the last edit, build the set-up shown before Run
# above this many particles the set-up is built only when asked (Run → Build the set-up
# now): the insertion kernels hold Python's lock, ~1 s per 20,000 particles here
PREVIEW_MAX_PARTICLES = 100_000
FRAME_CACHE = 8          # snapshots kept in memory while replaying

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
        self.scenario_dock = dock = QtWidgets.QDockWidget("Scenario", self)
        dock.setObjectName("scenario_dock")
        dock.setWidget(left)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [380], QtCore.Qt.Horizontal)

        # --- centre: 3D view (with the replay bar of an open run folder) above plots
        self.view = ParticleView()
        self.view.contacts_toggled.connect(self._on_contacts_toggled)
        self.plots = PlotPanel()
        self.replay_bar = ReplayBar()
        self.replay_bar.hide()
        top = QtWidgets.QWidget()
        tv = QtWidgets.QVBoxLayout(top)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.setSpacing(0)
        tv.addWidget(self.view, 1)
        tv.addWidget(self.replay_bar)
        # below the view: the plots, and with a run folder open its section (virtual SEM)
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

        # --- left, a tab beside the scenario: an open run folder's summary and cycles table
        self.results_panel = ResultsPanel()
        self.results_dock = QtWidgets.QDockWidget("Run folder", self)
        self.results_dock.setObjectName("results_dock")
        self.results_dock.setWidget(self.results_panel)
        self.results_dock.setFeatures(self.scenario_dock.features())
        self.tabifyDockWidget(self.scenario_dock, self.results_dock)
        self.results_dock.hide()
        self.folder: RunFolder | None = None
        self.shown_frame: int | None = None
        self._frame_cache: dict[int, dict] = {}
        self._frame_target = 0
        self._frame_scheduled = False
        self._resumed_folder: Path | None = None
        self._preview_after_run = False
        self._row_steps: list[int] = []
        self._row_stages: list[str] = []
        self.replay_bar.frame_requested.connect(self._on_frame_requested)
        self.replay_bar.resume_requested.connect(self.resume_results)
        self.replay_bar.close_requested.connect(self.close_results)
        self.results_panel.step_requested.connect(self.show_step)
        self.plots.clicked_step.connect(self.show_step)
        self.space = space_shortcut(self, self.replay_bar)
        self.space.setEnabled(False)

        # --- the set-up before Run (built off the UI thread)
        self.preview = PreviewBuilder(self)
        self.preview.ready.connect(self._on_preview, QtCore.Qt.QueuedConnection)
        self.preview_state = "none"      # building, shown, failed, invalid, skipped
        self._force_preview = False      # build the next set-up whatever its size
        self.preview_timer = QtCore.QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.timeout.connect(self._request_preview)

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
        self.compare = CompareController(self)    # compare runs, study values, exports
        self.editor.validity_changed.connect(lambda ok: self._update_actions())
        self.editor.edited.connect(self._on_scenario_edited)
        self.view_timer = QtCore.QTimer(self)
        self.view_timer.setInterval(33)  # ≤ 30 Hz redraws of the 3D view
        self._last_draw_end = self._last_draw_cost = 0.0
        self.view_timer.timeout.connect(lambda: self._draw_pending(force=False))
        self.view_timer.start()

        self.open_scenario(scenario_path or DEFAULT_SCENARIO)
        if results is not None:
            self.open_results(results)

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
        self.act_open_results = act("Open results…", self.open_results_dialog,
                                    SP.SP_DirOpenIcon, "Ctrl+Shift+O", "open_results")
        self.act_reload_results = act("Reload results", self.reload_results, None, "Ctrl+R",
                                      "reload_results")
        self.act_close_results = act("Close results", self.close_results, None, None,
                                     "close_results")
        self.act_resume_run = act("Resume run from checkpoint", self.resume_results,
                                  SP.SP_MediaSeekForward, None, "resume_run")
        self.act_build_setup = act("Build the set-up now", lambda: self.schedule_preview(0, True),
                                   None, None, "build_setup")
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
        m.addActions([self.act_open_results, self.act_reload_results, self.act_close_results])
        m.addSeparator()
        m.addActions([self.act_png, self.act_csv, self.act_view_png])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = self.menuBar().addMenu("&Run")
        m.addActions([self.act_run, self.act_pause, self.act_resume, self.act_stop, self.act_reset])
        m.addSeparator()
        m.addActions([self.act_build_setup, self.act_resume_run])
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
        tb.addActions([self.act_open, self.act_save, self.act_open_results])
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
        f = self.folder
        self.act_open_results.setEnabled(not busy)
        self.act_reload_results.setEnabled(not busy and f is not None)
        self.act_close_results.setEnabled(f is not None)
        ok, why = self._resumable()
        self.act_resume_run.setEnabled(not busy and ok)
        self.act_resume_run.setToolTip(why)
        self.replay_bar.set_resumable(not busy and ok, why)

    # --------------------------------------------------------- scenarios
    def open_scenario(self, path) -> None:
        try:
            self.editor.load(path)
        except ScenarioError as e:
            self.preview_state = "failed"
            self._warn("Invalid scenario", str(e))
            return
        text = header_comment(path)
        self.explain.setPlainText(text or f"{Path(path).name}")
        self.setWindowTitle(f"dempack — {Path(path).name}")
        self._leave_results()
        self._clear_results()
        self.schedule_preview(0)

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
        self._leave_results()
        self._clear_results()
        self.view.set_materials([m.material for m in sc.packing.materials])
        out = self.out_dir if self.write_box.isChecked() else None
        self._start(SimWorker(sc, out_dir=out))

    def _start(self, worker: SimWorker) -> None:
        """Run `worker` in a new QThread (a run from the start, or a resumed run folder)."""
        self.preview.cancel()
        self.preview_timer.stop()
        self.worker = worker
        worker.set_contacts(self.view.contacts_wanted())
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

    def _on_contacts_toggled(self, on: bool) -> None:
        """The contact layer switched: a live run sends the contacts with its frames."""
        if self.worker is not None:
            self.worker.set_contacts(on)

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
        """Stop the run (if any) and clear the results; Run starts a fresh Simulation.
        The view then shows the set-up again (once the run has stopped)."""
        self.stop()
        self._resumed_folder = None
        self._leave_results()
        self._clear_results()
        if self.thread is None:
            self.state = "idle"
            self.state_label.setText("idle")
            self.schedule_preview(0)
        else:
            self._preview_after_run = True
        self._update_actions()

    def _thread_done(self):
        self.thread.deleteLater()
        self.thread = None
        self.worker = None
        self.busy.hide()
        self._update_actions()
        if self._resumed_folder is not None:     # a resumed run: replay its whole folder
            folder, self._resumed_folder = self._resumed_folder, None
            self.open_results(folder)
        elif getattr(self, "_preview_after_run", False):
            self.schedule_preview(0)
        self._preview_after_run = False

    def _clear_results(self):
        self.plots.clear()
        if hasattr(self, "compare"):
            self.compare.detach()
        self.view.clear()
        self._pending_arrays = None
        self.last_status = {}
        self.status_label.setText("")

    # ------------------------------------------------- set-up before Run
    def _on_scenario_edited(self):
        """An edit in the form: the scenario is what the window shows again (an open run
        folder is closed), and its set-up is rebuilt once the edits pause."""
        if self.folder is not None:
            self._leave_results()
            self._clear_results()
            self.setWindowTitle("dempack — edited scenario")
        self.schedule_preview()

    def schedule_preview(self, delay_ms: int = PREVIEW_DELAY_MS, force: bool = False) -> None:
        """Build and draw the packing of the form's scenario after `delay_ms` without
        edits (not while a run or a run folder is shown); force: whatever its size."""
        if self.thread is not None or self.folder is not None:
            return
        self._force_preview = force
        self.preview_timer.start(delay_ms)

    def _request_preview(self):
        if self.thread is not None or self.folder is not None:
            return
        force, self._force_preview = self._force_preview, False
        if not self.editor.is_valid():
            self.preview.cancel()
            self.preview_state = "invalid"
            self.view.set_caption("The scenario has problems (fields marked in red): its set-up "
                                  "is not drawn." + (" Shown: the last valid one."
                                                      if self.view.n else ""))
            return
        try:
            sc = self.editor.scenario()
        except ScenarioError:
            return
        if sc.packing.particles > PREVIEW_MAX_PARTICLES and not force:
            self.preview.cancel()
            self.preview_state = "skipped"
            self.view.clear()
            self.view.set_caption(size_laws(sc) + f"\nThe set-up of more than "
                                  f"{PREVIEW_MAX_PARTICLES:,} particles is built by Run, or by "
                                  "Run → Build the set-up now.")
            return
        self.preview_state = "building"
        self.view.set_caption("Building the set-up (the packing Run starts from)…")
        self.preview.request(sc)

    @QtCore.Slot(int, object)
    def _on_preview(self, number: int, result):
        if number != self.preview.number or self.thread is not None or self.folder is not None:
            return                                   # stale: edited again, running, replaying
        if isinstance(result, Exception):
            self.preview_state = "failed"
            self.view.clear()
            self.view.set_caption(f"The set-up cannot be built:\n{type(result).__name__}: {result}")
            return
        self.preview_state = "shown"
        self.view.set_materials(result.materials)
        self.view.set_frame(result.arrays, result.status)
        self.view.set_caption(result.caption + "\nPress Run to start.")
        if self.state in ("idle", "finished", "stopped", "failed"):
            self.state_label.setText(f"set-up: {result.status['n']:,} particles — press Run")

    # ------------------------------------------------------- run folders
    def open_results_dialog(self):
        start = self.folder.path.parent if self.folder else (self.out_dir or Path.cwd())
        d = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Open results (a run folder, or a sweep folder)", str(start))
        if d:
            self.open_results(d)

    def _warn(self, title: str, text: str) -> None:
        if self.interactive:
            QtWidgets.QMessageBox.warning(self, title, text)
        else:
            print(f"dempack gui: {title}: {text}", file=sys.stderr)
        self.state_label.setText(f"{title}: {text}"[:200])

    def open_results(self, path, frame: int = -1) -> bool:
        """Open a run folder (or a case of a sweep folder: the user picks one; the first
        when not interactive) and show snapshot `frame` (negative: from the end)."""
        if self.thread is not None:
            self._warn("Run in progress", "stop the run before opening a run folder")
            return False
        path = Path(path)
        try:
            folder = RunFolder(path)
        except FileNotFoundError as e:
            self._warn("Cannot open results", str(e))
            return False
        except ValueError as e:
            cases = run_cases(path)
            if not cases:
                self._warn("Cannot open results", str(e))
                return False
            case = cases[0]
            if self.interactive and len(cases) > 1:
                name, ok = QtWidgets.QInputDialog.getItem(
                    self, "Open a sweep case", f"{path.name} holds {len(cases)} runs:",
                    [c.name for c in cases], 0, False)
                if not ok:
                    return False
                case = path / name
            folder = RunFolder(case)
        self.preview.cancel()
        self.preview_timer.stop()
        try:
            self.editor.load(folder.scenario_path)     # the scenario as run (edit it to run anew)
        except ScenarioError as e:
            self.state_label.setText(f"scenario.toml not loaded in the form: {e}"[:200])
        self.editor.source = str(folder.scenario_path)
        self.folder = folder
        self.setWindowTitle(f"dempack — results: {folder.path}")
        self._clear_results()
        self.view.set_materials(folder.materials)
        rows = folder.rows()
        self.plots.add_rows(rows)
        self.plots.redraw()
        self._row_steps = [r["step"] for r in rows]
        self._row_stages = [str(r.get("stage", "")) for r in rows]
        self.results_panel.set_summary(folder.summary, folder.path)
        cycles = folder.cycle_rows()
        self.results_panel.set_cycles(cycles)
        self.explain.setPlainText(self._folder_text(folder, len(rows), len(cycles)))
        self._frame_cache.clear()
        self.shown_frame = None
        n = len(folder.snapshots)
        self.section_panel.set_folder(folder)
        self.bottom_tabs.setTabEnabled(1, n > 0)
        self.replay_bar.set_count(n)
        self.replay_bar.show()
        self.results_dock.show()
        self.results_dock.raise_()
        self.space.setEnabled(True)
        self.state = "idle"
        self.state_label.setText(f"results: {folder.path.name}")
        self._update_actions()
        self.compare.attach()
        if n:
            k = min(max(frame if frame >= 0 else n + frame, 0), n - 1)
            self.replay_bar.slider.blockSignals(True)
            self.replay_bar.set_frame(k)
            self.replay_bar.slider.blockSignals(False)
            self.show_snapshot(k)
        else:
            self.view.set_caption(f"{folder.path.name}: no snapshots in particles.pvd (a run with "
                                  "run.snapshot_every_outputs = 0 writes none)")
            self.replay_bar.label.setText("no snapshots")
        return True

    @staticmethod
    def _folder_text(folder: RunFolder, nrows: int, ncycles: int) -> str:
        s = folder.summary
        state = ("It ran to the end of its protocol." if folder.completed else
                 "It has not finished (stopped, interrupted, or still running): "
                 + ("Resume run continues it from its checkpoint." if folder.has_checkpoint
                    else "it has no checkpoint to resume from."))
        return (f"Run folder {folder.path}\n\n{len(folder.snapshots)} snapshots, {nrows} rows "
                f"in timeseries.csv, {ncycles} half-cycle ends in cycles.csv"
                + (f", {s.get('steps', 0):,} steps" if s else "") + f". {state}\n\n"
                "Drag the slider (or press Space to play) to replay the snapshots; the plots' "
                "dashed cursor follows. Click a plot, or double-click a row of the cycles "
                "table, to jump to that moment. Editing the scenario closes the folder and "
                "shows the set-up of the edited scenario.")

    def reload_results(self):
        """Read the open run folder again (a run still writing it has gone on)."""
        if self.folder is not None:
            k = self.replay_bar.frame
            at_end = k >= len(self.folder.snapshots) - 1
            self.open_results(self.folder.path, -1 if at_end else k)

    def _leave_results(self):
        """Hide the replay (the folder stays on disk; the view and plots are kept)."""
        if self.folder is None:
            return
        self.replay_bar.pause()
        self.replay_bar.hide()
        self.results_dock.hide()
        self.space.setEnabled(False)
        self.folder = None
        self.shown_frame = None
        self.plots.set_cursor(None)
        self._frame_cache.clear()
        self.section_panel.set_folder(None)
        self.bottom_tabs.setCurrentIndex(0)
        self.bottom_tabs.setTabEnabled(1, False)
        self.compare.close()
        self._update_actions()

    def close_results(self):
        """Close the run folder: the view shows the set-up of the form's scenario."""
        if self.folder is None:
            return
        self._leave_results()
        self._clear_results()
        self.setWindowTitle(f"dempack — {Path(self.editor.source).name}")
        self.state_label.setText("idle")
        self.schedule_preview(0)

    def _resumable(self) -> tuple[bool, str]:
        f = self.folder
        if f is None:
            return False, "open a run folder first (File → Open results…)"
        if not f.has_checkpoint:
            return False, "this run folder has no checkpoint.npz"
        if f.completed:
            return False, "this run finished: nothing to resume"
        if not f.summary:
            return True, ("continue this run from its checkpoint (as `dempack run --resume`); "
                          "it has no summary.json: it may still be running elsewhere")
        return True, "continue this run from its checkpoint (as `dempack run --resume`)"

    def resume_results(self):
        """Continue the open run folder from its checkpoint in the worker thread (the
        semantics of `dempack.resume`); when it ends, the folder is replayed again."""
        ok, why = self._resumable()
        if not ok or self.thread is not None:
            if not ok:
                self._warn("Cannot resume", why)
            return
        folder = self.folder
        if self.interactive and not folder.summary:
            ask = QtWidgets.QMessageBox.question(
                self, "Resume run", f"{folder.path} has no summary.json: its run may still be "
                "running (in a terminal, or a sweep). Two runs writing one folder spoil it.\n\n"
                "Resume it here?")
            if ask != QtWidgets.QMessageBox.Yes:
                return
        self._leave_results()
        self._clear_results()
        self.view.set_materials(folder.materials)
        self._resumed_folder = folder.path
        self.setWindowTitle(f"dempack — resuming {folder.path}")
        self._start(SimWorker(None, out_dir=folder.path, resume=True))

    # ----------------------------------------------------------- replay
    def _on_frame_requested(self, k: int):
        """Slider moved: draw snapshot k once the event loop is free (moves made while a
        slow frame is drawn collapse into the last one)."""
        self._frame_target = k
        if not self._frame_scheduled:
            self._frame_scheduled = True
            QtCore.QTimer.singleShot(0, self._show_target)

    def _show_target(self):
        self._frame_scheduled = False
        if self.folder is not None:
            self.show_snapshot(self._frame_target)

    def snapshot_arrays(self, k: int) -> dict:
        """Snapshot k of the open folder as the view's arrays (x plus the .vtp's point
        arrays, read with vtk's XML reader, and `contacts`: its contacts_<step>.npz, None
        where missing or unreadable); the last few are cached."""
        if k in self._frame_cache:
            return self._frame_cache[k]
        snap = self.folder.snapshots[k]
        x, arrays = read_vtp(snap.path)
        arrays["x"] = x
        try:
            arrays["contacts"] = read_contacts(snap.contacts_path)
        except ValueError:
            arrays["contacts"] = None
        if len(self._frame_cache) >= FRAME_CACHE:
            self._frame_cache.pop(next(iter(self._frame_cache)))
        self._frame_cache[k] = arrays
        return arrays

    def show_snapshot(self, k: int) -> None:
        """Draw snapshot k of the open run folder and put the plots' cursor at its time."""
        folder = self.folder
        snap = folder.snapshots[k]
        try:
            arrays = self.snapshot_arrays(k)
        except (OSError, ValueError) as e:
            self.view.set_caption(f"snapshot {k + 1}: {e}")
            return
        die = folder.die(snap.step)
        x, r = arrays["x"], arrays.get("radius")
        if die[0] <= 0.0 and len(x):           # no summary.json yet: the particles' extent
            hi = (x + (r[:, None] if r is not None else 0.0)).max(0)
            die = (float(hi[0]), float(hi[1]), die[2] or float(hi[2]), False)
        status = {"step": snap.step, "time_s": snap.time_s, "die": die, "n": len(x)}
        self.view.set_frame(arrays, status)
        self.shown_frame = k
        self.plots.set_cursor(snap.step, snap.time_s)
        self.section_panel.set_frame(k)
        stage = self._stage_at(snap.step)
        n = len(folder.snapshots)
        self.replay_bar.label.setText(f"{k + 1}/{n}  ·  t {fmt_time(snap.time_s)}  ·  "
                                      f"step {snap.step:,}  ·  {stage}")
        self.view.set_caption(f"{folder.path.name}: snapshot {k + 1}/{n}\n"
                              f"t = {fmt_time(snap.time_s)}, step {snap.step:,}\n{stage}")
        self.status_label.setText(f"replay  |  snapshot {k + 1}/{n}  |  step {snap.step:,}  |  "
                                  f"t {fmt_time(snap.time_s)}  |  {stage}  |  {len(x):,} particles")

    def _stage_at(self, step: int) -> str:
        import bisect
        i = bisect.bisect_right(self._row_steps, step) - 1
        return self._row_stages[i] if 0 <= i < len(self._row_stages) else ""

    def show_step(self, step: int) -> None:
        """Show the snapshot nearest to DEM step `step` (a plot click, a cycles row)."""
        if self.folder is None or not self.folder.snapshots:
            return
        steps = [s.step for s in self.folder.snapshots]
        k = min(range(len(steps)), key=lambda i: abs(steps[i] - step))
        self.replay_bar.set_frame(k)

    @QtCore.Slot(str, str)
    def on_state(self, name: str, msg: str):
        self.state = name
        self.state_label.setText(name + (f": {msg}" if msg else ""))
        self.busy.setVisible(name in ("building", "compiling"))
        if name == "failed":
            self.status_label.setText(msg[:200])
        w = self.worker
        if (name in ("finished", "stopped") and w is not None and w.out_dir is not None
                and self._resumed_folder is None):
            self.state_label.setText(self.state_label.text() + f" — replay {w.out_dir.name}: "
                                     "File → Open results…")
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
        self.replay_bar.pause()
        self.preview_timer.stop()
        self.preview.cancel()
        if self.thread is not None:
            self.worker.stop()
            self.thread.quit()
            self.thread.wait(10000)
        self.preview.wait(60.0)      # a set-up being built (numba may compile): let it end
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
