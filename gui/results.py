"""The run folder open in the main window (File → Open results…, or RUN_DIR on the command line).

A run folder is replayed: a time slider over its snapshots with play/pause (gui/replay.py),
the plots of its time series with a cursor at the snapshot shown, its summary and cycles
table, its section (gui/section.py), and "Resume run", which continues it from its
checkpoint through the window's worker and driver (dempack.io.rundir, dempack.restart).
A sweep folder opens one of its cases.
"""
from __future__ import annotations

import bisect
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from dempack.io.rundir import RunFolder, read_contacts, read_vtp, run_cases
from dempack.scenario import ScenarioError

from .replay import space_shortcut
from .status import fmt_time
from .worker import SimWorker

FRAME_CACHE = 8          # snapshots kept in memory while replaying


def folder_text(folder: RunFolder, nrows: int, ncycles: int) -> str:
    """The explanation shown beside an open run folder."""
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


class ResultsController(QtCore.QObject):
    """Owns the open run folder of a MainWindow: opening, reloading, closing and resuming
    it, and replaying its snapshots (the snapshot shown, a small cache of them)."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.folder: RunFolder | None = None
        self.shown_frame: int | None = None
        self._frame_cache: dict[int, dict] = {}
        self._frame_target = 0
        self._frame_scheduled = False
        self._row_steps: list[int] = []
        self._row_stages: list[str] = []
        win.replay_bar.frame_requested.connect(self._on_frame_requested)
        win.replay_bar.resume_requested.connect(self.resume)
        win.replay_bar.close_requested.connect(self.close)
        win.results_panel.step_requested.connect(self.show_step)
        win.plots.clicked_step.connect(self.show_step)
        self.space = space_shortcut(win, win.replay_bar)
        self.space.setEnabled(False)

    # -------------------------------------------------------- open, close
    def open_dialog(self):
        w = self.win
        start = self.folder.path.parent if self.folder else (w.out_dir or Path.cwd())
        d = QtWidgets.QFileDialog.getExistingDirectory(
            w, "Open results (a run folder, or a sweep folder)", str(start))
        if d:
            self.open(d)

    def _pick_folder(self, path: Path) -> RunFolder | None:
        """The run folder at `path`, or a case of the sweep folder at `path` (the user picks
        one; the first when not interactive); None, said why, when there is none."""
        w = self.win
        try:
            return RunFolder(path)
        except FileNotFoundError as e:
            w._warn("Cannot open results", str(e))
            return None
        except ValueError as e:
            cases = run_cases(path)
            if not cases:
                w._warn("Cannot open results", str(e))
                return None
            case = cases[0]
            if w.interactive and len(cases) > 1:
                name, ok = QtWidgets.QInputDialog.getItem(
                    w, "Open a sweep case", f"{path.name} holds {len(cases)} runs:",
                    [c.name for c in cases], 0, False)
                if not ok:
                    return None
                case = path / name
            return RunFolder(case)

    def open(self, path, frame: int = -1) -> bool:
        """Open a run folder (or a case of a sweep folder: the user picks one; the first
        when not interactive) and show snapshot `frame` (negative: from the end)."""
        w = self.win
        if w.thread is not None:
            w._warn("Run in progress", "stop the run before opening a run folder")
            return False
        folder = self._pick_folder(Path(path))
        if folder is None:
            return False
        w.setup.cancel()
        try:
            w.editor.load(folder.scenario_path)     # the scenario as run (edit it to run anew)
        except ScenarioError as e:
            w.state_label.setText(f"scenario.toml not loaded in the form: {e}"[:200])
        w.editor.source = str(folder.scenario_path)
        self.folder = folder
        w.setWindowTitle(f"dempack — results: {folder.path}")
        w.clear_results()
        w.view.set_materials(folder.materials)
        rows = folder.rows()
        w.plots.add_rows(rows)
        w.plots.redraw()
        self._row_steps = [r["step"] for r in rows]
        self._row_stages = [str(r.get("stage", "")) for r in rows]
        w.results_panel.set_summary(folder.summary, folder.path)
        cycles = folder.cycle_rows()
        w.results_panel.set_cycles(cycles)
        w.explain.setPlainText(folder_text(folder, len(rows), len(cycles)))
        self._frame_cache.clear()
        self.shown_frame = None
        n = len(folder.snapshots)
        w.section_panel.set_folder(folder)
        w.bottom_tabs.setTabEnabled(1, n > 0)
        w.replay_bar.set_count(n)
        w.replay_bar.show()
        w.results_dock.show()
        w.results_dock.raise_()
        self.space.setEnabled(True)
        w.runs.state = "idle"
        w.state_label.setText(f"results: {folder.path.name}")
        w.menus.update()
        w.compare.attach()
        if n:
            k = min(max(frame if frame >= 0 else n + frame, 0), n - 1)
            w.replay_bar.slider.blockSignals(True)
            w.replay_bar.set_frame(k)
            w.replay_bar.slider.blockSignals(False)
            self.show_snapshot(k)
        else:
            w.view.set_caption(f"{folder.path.name}: no snapshots in particles.pvd (a run with "
                               "run.snapshot_every_outputs = 0 writes none)")
            w.replay_bar.label.setText("no snapshots")
        return True

    def reload(self):
        """Read the open run folder again (a run still writing it has gone on)."""
        if self.folder is not None:
            k = self.win.replay_bar.frame
            at_end = k >= len(self.folder.snapshots) - 1
            self.open(self.folder.path, -1 if at_end else k)

    def leave(self):
        """Hide the replay (the folder stays on disk; the view and plots are kept)."""
        if self.folder is None:
            return
        w = self.win
        w.replay_bar.pause()
        w.replay_bar.hide()
        w.results_dock.hide()
        self.space.setEnabled(False)
        self.folder = None
        self.shown_frame = None
        w.plots.set_cursor(None)
        self._frame_cache.clear()
        w.section_panel.set_folder(None)
        w.bottom_tabs.setCurrentIndex(0)
        w.bottom_tabs.setTabEnabled(1, False)
        w.compare.close()
        w.menus.update()

    def close(self):
        """Close the run folder: the view shows the set-up of the form's scenario."""
        if self.folder is None:
            return
        w = self.win
        self.leave()
        w.clear_results()
        w.setWindowTitle(f"dempack — {Path(w.editor.source).name}")
        w.state_label.setText("idle")
        w.setup.schedule(0)

    # ------------------------------------------------------------ resume
    def resumable(self) -> tuple[bool, str]:
        """Whether the open folder can be resumed, and why (the action's tooltip)."""
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

    def resume(self):
        """Continue the open run folder from its checkpoint in the worker thread (the
        semantics of `dempack.resume`); when it ends, the folder is replayed again."""
        w = self.win
        ok, why = self.resumable()
        if not ok or w.thread is not None:
            if not ok:
                w._warn("Cannot resume", why)
            return
        folder = self.folder
        if w.interactive and not folder.summary:
            ask = QtWidgets.QMessageBox.question(
                w, "Resume run", f"{folder.path} has no summary.json: its run may still be "
                "running (in a terminal, or a sweep). Two runs writing one folder spoil it.\n\n"
                "Resume it here?")
            if ask != QtWidgets.QMessageBox.Yes:
                return
        self.leave()
        w.clear_results()
        w.view.set_materials(folder.materials)
        w.setWindowTitle(f"dempack — resuming {folder.path}")
        w.runs.start(SimWorker(None, out_dir=folder.path, resume=True), folder.path)

    # ------------------------------------------------------------ replay
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
        w, folder = self.win, self.folder
        snap = folder.snapshots[k]
        try:
            arrays = self.snapshot_arrays(k)
        except (OSError, ValueError) as e:
            w.view.set_caption(f"snapshot {k + 1}: {e}")
            return
        die = folder.die(snap.step)
        x, r = arrays["x"], arrays.get("radius")
        if die[0] <= 0.0 and len(x):           # no summary.json yet: the particles' extent
            hi = (x + (r[:, None] if r is not None else 0.0)).max(0)
            die = (float(hi[0]), float(hi[1]), die[2] or float(hi[2]), False)
        status = {"step": snap.step, "time_s": snap.time_s, "die": die, "n": len(x)}
        w.view.set_frame(arrays, status)
        self.shown_frame = k
        w.plots.set_cursor(snap.step, snap.time_s)
        w.section_panel.set_frame(k)
        stage = self._stage_at(snap.step)
        n = len(folder.snapshots)
        w.replay_bar.label.setText(f"{k + 1}/{n}  ·  t {fmt_time(snap.time_s)}  ·  "
                                   f"step {snap.step:,}  ·  {stage}")
        w.view.set_caption(f"{folder.path.name}: snapshot {k + 1}/{n}\n"
                           f"t = {fmt_time(snap.time_s)}, step {snap.step:,}\n{stage}")
        w.status_label.setText(f"replay  |  snapshot {k + 1}/{n}  |  step {snap.step:,}  |  "
                               f"t {fmt_time(snap.time_s)}  |  {stage}  |  {len(x):,} particles")

    def _stage_at(self, step: int) -> str:
        i = bisect.bisect_right(self._row_steps, step) - 1
        return self._row_stages[i] if 0 <= i < len(self._row_stages) else ""

    def show_step(self, step: int) -> None:
        """Show the snapshot nearest to DEM step `step` (a plot click, a cycles row)."""
        if self.folder is None or not self.folder.snapshots:
            return
        steps = [s.step for s in self.folder.snapshots]
        k = min(range(len(steps)), key=lambda i: abs(steps[i] - step))
        self.win.replay_bar.set_frame(k)
