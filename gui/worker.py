"""The engine off the UI thread: a QObject living in a QThread.

The worker builds the Simulation and its writers, then hands them to the one driver
the CLI and the Python API use, `dempack.drive.drive`: it runs the protocol in chunks
of about `chunk_seconds` of wall time, so pause and stop take effect within a chunk,
and leaves the run folder complete, or resumable when stopped. This module adds only
the Qt plumbing: frames come from `dempack.live.LiveBridge` (copied arrays, ≤ 30 Hz)
and cross to the UI thread as a queued Qt signal, and so do the driver's states.
pause()/resume()/stop() may be called from any thread: they only set thread-safe
flags (`dempack.drive.RunControl`).
"""
from __future__ import annotations

import traceback
from pathlib import Path

from PySide6 import QtCore

from dempack.drive import RunControl, drive
from dempack.live import LiveBridge


class SimWorker(QtCore.QObject):
    """Signals: frame(Frame), state(name, message), finished().

    States: building, compiling, running, paused, finished, stopped, failed.
    With resume=True the worker continues the run folder out_dir from its checkpoint
    (`dempack.restart`: the semantics of `dempack.resume`) instead of building a new
    Simulation; the driver is the same."""

    frame = QtCore.Signal(object)
    state = QtCore.Signal(str, str)
    finished = QtCore.Signal()

    def __init__(self, scenario, out_dir=None, max_hz: float = 30.0, chunk_seconds: float = 0.1,
                 resume: bool = False):
        """scenario: a Scenario to run from the start; or resume=True (scenario None) to
        continue the run in out_dir from its checkpoint, as `dempack.resume` does."""
        super().__init__()
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.resume_run = resume
        if resume and self.out_dir is None:
            raise ValueError("SimWorker(resume=True) needs the run folder (out_dir)")
        self.max_hz = max_hz
        self.sim = None
        self.bridge = None
        self.with_contacts = False
        self.control = RunControl(on_state=self._set_state, chunk_seconds=chunk_seconds)
        self.current_state = "idle"

    @property
    def steps_per_s(self) -> float:
        return self.control.steps_per_s

    # ---------------------------------------------- control (any thread)
    def pause(self):
        self.control.pause()

    def set_contacts(self, on: bool) -> None:
        """Send the contact network with each frame (the view's contact layer) or not; a
        plain flag the bridge reads at its next frame."""
        self.with_contacts = bool(on)
        if self.bridge is not None:
            self.bridge.with_contacts = self.with_contacts

    def resume(self):
        self.control.resume()

    def stop(self):
        self.control.stop()

    def _set_state(self, name: str, msg: str = ""):
        self.current_state = name
        self.state.emit(name, msg)

    # ------------------------------------------------- the worker loop
    @QtCore.Slot()
    def run(self):
        try:
            if self.resume_run:
                sim, writers = self._restart()
            else:
                sim, writers = self._build()
            bridge = self.bridge = LiveBridge(self.frame.emit, max_hz=self.max_hz,
                                              with_contacts=self.with_contacts)
            bridge.attach(sim)
            self.sim = sim
            try:
                drive(sim, writers, self.control, on_pause=lambda: bridge.flush(sim))
            finally:
                bridge.flush(sim)
        except Exception as e:  # DivergenceError, ScenarioError, ...: shown in the window
            self._set_state("failed", f"{type(e).__name__}: {e}")
            traceback.print_exc()
        finally:
            self.finished.emit()

    def _build(self):
        self._set_state("building", "generating the packing")
        from dempack.simulation import Simulation
        sc = self.scenario
        sim = Simulation(sc, out_dir=self.out_dir)
        writers = None
        if self.out_dir is not None:  # the same folder as `dempack run --out`
            from dempack.runner import OutputWriters
            self.out_dir.mkdir(parents=True, exist_ok=True)
            sc.save(self.out_dir / "scenario.toml")
            writers = OutputWriters(sim, self.out_dir)
        return sim, writers

    def _restart(self):
        """The run folder's checkpoint, continued (dempack.restart); the rows it has
        already written go to the window first, so its plots continue them."""
        self._set_state("building", f"reading the checkpoint of {self.out_dir.name}")
        from dempack.io.rundir import RunFolder
        from dempack.live import Frame
        from dempack.restart import restart
        sim, writers = restart(self.out_dir)
        self.scenario = sim.scenario
        rows = RunFolder(self.out_dir).rows(until_step=sim.step_count)
        self.frame.emit(Frame(rows=rows, arrays=LiveBridge.arrays(sim, self.with_contacts),
                              status=LiveBridge.status(sim)))
        return sim, writers
