"""The run of the main window: Run/Pause/Resume/Stop/Reset drive a SimWorker in a QThread.

The window only receives copied frames (dempack.live.LiveBridge) through queued signals, so
it stays responsive during numba compilation and long runs: the rows go to the plots at
once, the status line follows each frame, and the 3D view draws the newest frame at most
30 times a second (less when a draw is slow). A run folder resumed from its checkpoint runs
through the same worker and is replayed again when the run ends.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore

from .worker import SimWorker

VIEW_INTERVAL_MS = 33     # ≤ 30 Hz redraws of the 3D view


class RunControl(QtCore.QObject):
    """Owns the worker thread of a MainWindow: starting a run (new or resumed), pausing,
    resuming, stopping, resetting it, its state and the live frames it sends."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.thread: QtCore.QThread | None = None
        self.worker: SimWorker | None = None
        self.state = "idle"
        # how the last run ended (finished, stopped, failed), kept when a resumed run's
        # folder is replayed and `state` goes back to idle; None while a run goes on
        self.last_outcome: str | None = None
        self.last_status: dict = {}
        self.pending_arrays = None          # (arrays, status) of the newest frame not drawn
        self.resumed_folder: Path | None = None   # replayed again when its run ends
        self.preview_after_run = False      # Reset during a run: the set-up once it stopped
        win.view.contacts_toggled.connect(self._on_contacts_toggled)
        self.view_timer = QtCore.QTimer(self)
        self.view_timer.setInterval(VIEW_INTERVAL_MS)
        self._last_draw_end = self._last_draw_cost = 0.0
        self.view_timer.timeout.connect(lambda: self.draw_pending(force=False))
        self.view_timer.start()

    # ------------------------------------------------------------ commands
    def run(self) -> None:
        """Run the form's scenario from the start (into the output folder when "write
        outputs" is ticked)."""
        w = self.win
        if self.thread is not None:
            return
        errors = w.editor.validate()
        if errors:
            w.state_label.setText("fix the scenario first")
            return
        sc = w.editor.scenario()
        w.results.leave()
        w.clear_results()
        w.view.set_materials([m.material for m in sc.packing.materials])
        out = w.out_dir if w.write_box.isChecked() else None
        self.start(SimWorker(sc, out_dir=out))

    def start(self, worker: SimWorker, resumed_folder: Path | None = None) -> None:
        """Run `worker` in a new QThread (a run from the start, or `resumed_folder`
        resumed from its checkpoint)."""
        w = self.win
        self.resumed_folder = resumed_folder
        w.setup.cancel()
        self.worker = worker
        worker.set_contacts(w.view.contacts_wanted())
        self.thread = QtCore.QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.frame.connect(self.on_frame)
        self.worker.state.connect(self.on_state)
        self.worker.finished.connect(self.thread.quit)
        self.thread.finished.connect(self._thread_done)
        self.state = "building"
        self.last_outcome = None
        self.thread.start()
        w.menus.update()

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
        w = self.win
        self.stop()
        self.resumed_folder = None
        w.results.leave()
        w.clear_results()
        if self.thread is None:
            self.state = "idle"
            w.state_label.setText("idle")
            w.setup.schedule(0)
        else:
            self.preview_after_run = True
        w.menus.update()

    def shutdown(self) -> None:
        """The window closes: stop the run and wait for its thread (at most 10 s)."""
        if self.thread is not None:
            self.worker.stop()
            self.thread.quit()
            self.thread.wait(10000)

    def forget_frames(self) -> None:
        """The results are cleared: no frame waits to be drawn, no status is kept."""
        self.pending_arrays = None
        self.last_status = {}

    def _on_contacts_toggled(self, on: bool) -> None:
        """The contact layer switched: a live run sends the contacts with its frames."""
        if self.worker is not None:
            self.worker.set_contacts(on)

    def _thread_done(self):
        w = self.win
        self.thread.deleteLater()
        self.thread = None
        self.worker = None
        w.status_bar.busy.hide()
        w.menus.update()
        if self.resumed_folder is not None:     # a resumed run: replay its whole folder
            folder, self.resumed_folder = self.resumed_folder, None
            w.results.open(folder)
        elif self.preview_after_run:
            w.setup.schedule(0)
        self.preview_after_run = False

    # ------------------------------------------------------ worker signals
    @QtCore.Slot(str, str)
    def on_state(self, name: str, msg: str):
        w = self.win
        self.state = name
        if name in ("finished", "stopped", "failed"):
            self.last_outcome = name
        w.status_bar.show_state(name, msg)
        worker = self.worker
        if (name in ("finished", "stopped") and worker is not None
                and worker.out_dir is not None and self.resumed_folder is None):
            w.state_label.setText(w.state_label.text() + f" — replay {worker.out_dir.name}: "
                                  "File → Open results…")
        w.menus.update()

    @QtCore.Slot(object)
    def on_frame(self, frame):
        w = self.win
        w.plots.add_rows(frame.rows)
        if frame.arrays is not None:
            self.pending_arrays = (frame.arrays, frame.status)
        self.last_status = frame.status
        rate = self.worker.steps_per_s if self.worker is not None else 0.0
        w.status_bar.show_live(frame.status, rate)

    def draw_pending(self, force: bool = True):
        """Draw the newest frame. From the timer (force=False) a frame waits until
        twice the last draw time has passed, so that a slow renderer (software GL,
        100,000 particles) never takes more than a third of the UI thread."""
        if self.pending_arrays is None:
            return
        now = time.perf_counter()
        if not force and now - self._last_draw_end < 2.0 * self._last_draw_cost:
            return
        arrays, status = self.pending_arrays
        self.pending_arrays = None
        self.win.view.set_frame(arrays, status)
        self._last_draw_end = time.perf_counter()
        self._last_draw_cost = self._last_draw_end - now
