"""The engine off the UI thread: a QObject living in a QThread.

The worker builds the Simulation (numba compiles on the first step — the
window shows it), then calls `sim.run(steps=k)` in chunks sized to take about
`chunk_seconds` of wall time, so pause and stop take effect within a chunk.
Frames come from `dempack.live.LiveBridge` (copied arrays, ≤ 30 Hz) and cross
to the UI thread as a queued Qt signal. pause()/resume()/stop() may be called
from any thread: they only set thread-safe flags (and `sim.stop()`, which the
engine checks at every step).
"""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

from PySide6 import QtCore

from dempack.live import LiveBridge


class SimWorker(QtCore.QObject):
    """Signals: frame(Frame), state(name, message), finished().

    States: building, compiling, running, paused, finished, stopped, failed."""

    frame = QtCore.Signal(object)
    state = QtCore.Signal(str, str)
    finished = QtCore.Signal()

    def __init__(self, scenario, out_dir=None, max_hz: float = 30.0, chunk_seconds: float = 0.1):
        super().__init__()
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.max_hz = max_hz
        self.chunk_seconds = chunk_seconds
        self.sim = None
        self.steps_per_s = 0.0
        self.current_state = "idle"
        self._pause = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()

    # ---------------------------------------------- control (any thread)
    def pause(self):
        self._pause.set()

    def resume(self):
        self._pause.clear()
        self._wake.set()

    def stop(self):
        self._stop.set()
        self._wake.set()
        sim = self.sim
        if sim is not None:
            sim.stop()

    def _set_state(self, name: str, msg: str = ""):
        self.current_state = name
        self.state.emit(name, msg)

    # ------------------------------------------------- the worker loop
    @QtCore.Slot()
    def run(self):
        writers = None
        try:
            self._set_state("building", "generating the packing")
            from dempack.simulation import Simulation
            sc = self.scenario
            sim = Simulation(sc, out_dir=self.out_dir)
            if self.out_dir is not None:  # the same folder as `dempack run --out`
                from dempack.runner import OutputWriters
                self.out_dir.mkdir(parents=True, exist_ok=True)
                sc.save(self.out_dir / "scenario.toml")
                writers = OutputWriters(sim, self.out_dir)
            bridge = LiveBridge(self.frame.emit, max_hz=self.max_hz)
            bridge.attach(sim)
            self.sim = sim
            if self._stop.is_set():
                sim.stop()
            self._set_state("compiling", "compiling numba kernels (first run only; cached after)")
            sim.run(steps=1)
            bridge.flush(sim)
            chunk = 10
            max_steps = sc.run.max_steps
            running = False
            while not sim.done and not self._stop.is_set():
                if max_steps and sim.step_count >= max_steps:
                    break
                if self._pause.is_set():
                    if self.current_state != "paused":
                        bridge.flush(sim)
                        self._set_state("paused", f"paused at step {sim.step_count}")
                        running = False
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                if not running:
                    self._set_state("running", "")
                    running = True
                t0 = time.perf_counter()
                s0 = sim.step_count
                sim.run(steps=chunk)
                dt = time.perf_counter() - t0
                done = sim.step_count - s0
                if done > 0 and dt > 0:
                    rate = done / dt
                    self.steps_per_s = rate if self.steps_per_s == 0 else 0.7 * self.steps_per_s + 0.3 * rate
                    chunk = int(min(max(self.steps_per_s * self.chunk_seconds, 1), 100_000))
            bridge.flush(sim)
            if writers is not None:
                if sim.done:
                    writers.finish()
                else:  # stopped: what a Ctrl-C leaves (checkpoint + summary), resumable
                    from dempack.io import write_json
                    writers.write_checkpoint(sim)
                    write_json(self.out_dir / "summary.json", sim.summary())
            if sim.done:
                self._set_state("finished", f"finished at step {sim.step_count}")
            else:
                self._set_state("stopped", f"stopped at step {sim.step_count}")
        except Exception as e:  # DivergenceError, ScenarioError, ...: shown in the window
            self._set_state("failed", f"{type(e).__name__}: {e}")
            traceback.print_exc()
        finally:
            self.finished.emit()
