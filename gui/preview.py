"""The set-up before Run: the packing a scenario will start from, built off the UI thread.

As soon as a scenario is loaded or edited, the window asks a PreviewBuilder for it.
The builder builds the very `Simulation` that Run would build (same scenario, same
seed: the same packing, `dempack.build.generate`) in a Python
thread, because the first build may compile numba kernels, and hands back a Preview:
the particles (positions, radii, materials), the die with the loose bed's height,
and a caption with the particle count and the size distribution of each material.
Requests are numbered; a newer request makes the older ones stale (only the last
one is built next, and results of a stale number are ignored). A SetupPreview
decides when the window asks (once the edits pause, never while a run or a run folder is
shown, above PREVIEW_MAX_PARTICLES only when asked) and draws what comes back.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from dempack.geometry import particle_volume
from dempack.scenario import ScenarioError
from PySide6 import QtCore

PREVIEW_DELAY_MS = 400   # after the last edit, build the set-up shown before Run
# above this many particles the set-up is built only when asked (Run → Build the set-up
# now): the insertion kernels hold Python's lock, ~1 s per 20,000 particles here
PREVIEW_MAX_PARTICLES = 100_000


@dataclass
class Preview:
    """arrays: x (n, 3) m, radius m, material (index); status: step 0, time_s 0, n, die
    (Lx, Ly, z_top m, periodic) as the live frames have; caption: text for the view."""
    arrays: dict
    status: dict
    caption: str
    materials: list


def describe(sim) -> Preview:
    """The Preview of a freshly built Simulation (its packing before any step)."""
    ps = sim.particles
    box = sim.box
    names = [m.name for m in sim.materials]
    arrays = {"x": ps.x.copy(), "radius": ps.R.copy(), "material": ps.material.copy()}
    Lx, Ly, zt = float(box.L[0]), float(box.L[1]), float(box.z_top)
    status = {"step": 0, "time_s": 0.0, "stage": "set-up", "n": int(ps.n), "die": box.die()}
    solid = float(np.sum(particle_volume(ps.R, box.dimension)))
    cell = "periodic cell" if box.periodic_xy else "die"
    section = (f"2D box {Lx * 1e6:.1f} µm wide (disks, plane strain)" if box.dimension == 2
               else f"{cell} {Lx * 1e6:.1f} × {Ly * 1e6:.1f} µm")
    lines = [f"Set-up before Run: {ps.n:,} particles",
             f"{section}, loose bed {zt * 1e6:.1f} µm high",
             f"(solid fraction {solid / (Lx * Ly * zt):.2f})", "diameters d10 / d50 / d90:"]
    for k, name in enumerate(names):
        d = 2e6 * ps.R[ps.material == k]
        if d.size:
            d10, d50, d90 = np.percentile(d, (10, 50, 90))
            lines.append(f"  {name}: {d.size:,}, {d10:.2f} / {d50:.2f} / {d90:.2f} µm")
        else:
            lines.append(f"  {name}: none")
    return Preview(arrays, status, "\n".join(lines), names)


def size_laws(scenario) -> str:
    """The particle count and each material's size law, from the scenario alone (what is
    shown instead of the packing when it is too large to build on each edit)."""
    lines = [f"{scenario.packing.particles:,} particles, diameters:"]
    for m in scenario.packing.materials:
        law = (f"log-normal, d50 {m.d50_um:g} µm, gsd {m.gsd:g}" if m.distribution == "lognormal"
               else f"uniform {m.d_min_um:g} – {m.d_max_um:g} µm")
        lines.append(f"  {m.material}: {law}")
    return "\n".join(lines)


class PreviewBuilder(QtCore.QObject):
    """request(scenario) -> request number; ready(number, Preview or Exception) is
    emitted from the builder thread (connect it queued: the window's slot runs on the
    UI thread). One build at a time; while one runs, only the newest request waits."""

    ready = QtCore.Signal(int, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.number = 0              # the newest request
        self._lock = threading.Lock()
        self._waiting = None         # (number, scenario) to build after the current one
        self._thread: threading.Thread | None = None

    def request(self, scenario) -> int:
        with self._lock:
            self.number += 1
            self._waiting = (self.number, scenario)
            if self._thread is None:
                self._start_next()
            return self.number

    def cancel(self) -> None:
        """Make every request stale (a run starts, a run folder opens)."""
        with self._lock:
            self.number += 1
            self._waiting = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build runs (at interpreter exit or in tests); False on timeout."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _start_next(self) -> None:        # with the lock held
        number, sc = self._waiting
        self._waiting = None
        self._thread = threading.Thread(target=self._build, args=(number, sc),
                                        name="dempack-preview", daemon=True)
        self._thread.start()

    def _build(self, number: int, scenario) -> None:
        try:
            from dempack.simulation import Simulation
            result = describe(Simulation(scenario))
        except Exception as e:  # ValueError (die too narrow), MaterialError, ...: shown as caption
            result = e
        try:
            self.ready.emit(number, result)
        except RuntimeError:     # the window (and this object) are gone
            pass
        with self._lock:
            self._thread = None
            if self._waiting is not None:
                self._start_next()


class SetupPreview(QtCore.QObject):
    """Owns the set-up a MainWindow shows before Run: when it is built, its state, drawing it."""

    def __init__(self, win, max_particles: int = PREVIEW_MAX_PARTICLES):
        super().__init__(win)
        self.win = win
        self.max_particles = max_particles
        self.builder = PreviewBuilder(self)
        self.builder.ready.connect(self._on_ready, QtCore.Qt.QueuedConnection)
        self.state = "none"      # building, shown, failed, invalid, skipped
        self._force = False      # build the next set-up whatever its size
        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._request)

    def _hidden(self) -> bool:
        """A run or a run folder is shown: no set-up now."""
        return self.win.thread is not None or self.win.folder is not None

    def schedule(self, delay_ms: int = PREVIEW_DELAY_MS, force: bool = False) -> None:
        """Build and draw the packing of the form's scenario after `delay_ms` without
        edits (not while a run or a run folder is shown); force: whatever its size."""
        if self._hidden():
            return
        self._force = force
        self.timer.start(delay_ms)

    def cancel(self) -> None:
        """No set-up now: the pending request is dropped, a build under way made stale."""
        self.timer.stop()
        self.builder.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        return self.builder.wait(timeout)

    def _request(self):
        if self._hidden():
            return
        force, self._force = self._force, False
        editor, view = self.win.editor, self.win.view
        if not editor.is_valid():
            self.builder.cancel()
            self.state = "invalid"
            view.set_caption("The scenario has problems (fields marked in red): its set-up "
                             "is not drawn." + (" Shown: the last valid one." if view.n else ""))
            return
        try:
            sc = editor.scenario()
        except ScenarioError:
            return
        if sc.packing.particles > self.max_particles and not force:
            self.builder.cancel()
            self.state = "skipped"
            view.clear()
            view.set_caption(size_laws(sc) + f"\nThe set-up of more than "
                             f"{self.max_particles:,} particles is built by Run, or by "
                             "Run → Build the set-up now.")
            return
        self.state = "building"
        view.set_caption("Building the set-up (the packing Run starts from)…")
        self.builder.request(sc)

    @QtCore.Slot(int, object)
    def _on_ready(self, number: int, result):
        if number != self.builder.number or self._hidden():
            return                                   # stale: edited again, running, replaying
        view = self.win.view
        if isinstance(result, Exception):
            self.state = "failed"
            view.clear()
            view.set_caption(f"The set-up cannot be built:\n{type(result).__name__}: {result}")
            return
        self.state = "shown"
        view.set_materials(result.materials)
        view.set_frame(result.arrays, result.status)
        view.set_caption(result.caption + "\nPress Run to start.")
        if self.win.state in ("idle", "finished", "stopped", "failed"):
            self.win.state_label.setText(f"set-up: {result.status['n']:,} particles — press Run")
