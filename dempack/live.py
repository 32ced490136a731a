"""Live bridge: one more writer that hands copied snapshots to a callback.

The desktop app (gui/) feeds on this observer, so a headless run and a GUI run
share one path (DESIGN §6): the engine calls `LiveBridge.__call__(sim, row)` at
every output interval; the bridge keeps every row and, at most `max_hz` times
per second of wall time, calls `callback(frame)` with a `Frame` holding the new
rows, a copy of the particle arrays and a status dict. Copies, so that the
receiver (another thread) never sees arrays the engine is still writing.
No Qt here: the engine stays Qt-free.

    bridge = LiveBridge(print_frame, max_hz=30)
    bridge.attach(sim)            # sim.observers.append(Observer(bridge, 1))
    sim.run(steps=1000); bridge.flush(sim)
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    """What the bridge hands over.

    rows: observables rows (dicts, SI units) recorded since the previous frame,
      each with `cycle_x` added (cycles elapsed as a real number, 0 before cycling);
    arrays: per-particle arrays of alive particles — `x` (n, 3) m, `radius` m,
      `material`, `stress_vm` Pa, `lithiation`, `creep_strain`, `generation`, ...
      (see dempack.runner.snapshot_arrays), and `contacts` (a dict: i, j, delta_flat,
      share_i, touching, F_n N, a m; dempack.runner.snapshot_contacts) while the bridge's
      `with_contacts` is set; None if `with_arrays` is False;
    status: step, time_s, stage, cycle, half, cycle_x, n, die (Lx, Ly, z_top m,
      periodic), remaining_steps (estimate or None), done.
    """
    rows: list = field(default_factory=list)
    arrays: dict | None = None
    status: dict = field(default_factory=dict)


def cycle_position(sim) -> tuple[int, str, float]:
    """(cycle number, half-cycle name, cycles elapsed as a real number).

    Within a half-cycle the fraction is the lithiation travelled so far:
    discharge (c − c_lo)/(1 − c_lo), charge (1 − c)/(1 − c_res)."""
    st = sim.stage
    cyc = None
    for s in sim.stages:
        if getattr(s, "kind", "") == "cycling":
            cyc = s
    if cyc is None or not cyc.started:
        return 0, "", 0.0
    if cyc.done(sim):
        return cyc.cycles, "done", float(cyc.cycles)
    half = cyc.half
    if cyc.rest_left > 0:
        f = 1.0
    elif half % 2 == 0:
        lo = cyc.c_res if half > 0 else _initial_c(sim)
        f = (cyc.c - lo) / (1.0 - lo) if lo < 1.0 else 1.0
    else:
        f = (1.0 - cyc.c) / (1.0 - cyc.c_res) if cyc.c_res < 1.0 else 1.0
    f = min(max(f, 0.0), 1.0)
    name = "rest" if cyc.rest_left > 0 else cyc.half_name
    return (cyc.cycle if st is cyc else cyc.cycles), name, 0.5 * (half + f)


def _initial_c(sim) -> float:
    return float(sim.scenario.cycling.initial_lithiation)


def remaining_steps(sim) -> int | None:
    """Estimated DEM steps left, or None while a stage of unknown length runs
    (a servo or displacement-rate pressing stage ends when its target is met).
    Cycling: each remaining half-cycle takes about (1 − c_res)/dc steps plus the rest
    (dc the current lithiation step: fixed, or the quasi-static rule's)."""
    if sim.done:
        return 0
    total = 0
    for k in range(sim.stage_index, len(sim.stages)):
        s = sim.stages[k]
        if getattr(s, "kind", "") == "cycling":
            _, _, x = cycle_position(sim) if k == sim.stage_index else (0, "", 0.0)
            halves_left = 2 * s.cycles - 2.0 * x
            per_half = (1.0 - s.c_res) / s.dc + s.rest_steps
            total += int(halves_left * per_half)
        else:
            return None
    return total


class LiveBridge:
    """Observer that forwards copied rows and snapshots to `callback(frame)` at
    most `max_hz` times per second (wall clock). `with_arrays=False` sends only
    rows and status (cheap plots without a 3D view). `with_contacts` (off by default, a
    plain attribute the receiver may flip while the run goes on: the contact layer) adds
    the contact network to the arrays, O(pairs) numpy work per frame."""

    def __init__(self, callback, max_hz: float = 30.0, with_arrays: bool = True,
                 with_contacts: bool = False):
        if max_hz <= 0:
            raise ValueError(f"LiveBridge: max_hz = {max_hz!r}: must be > 0")
        self.callback = callback
        self.min_interval = 1.0 / max_hz
        self.with_arrays = with_arrays
        self.with_contacts = with_contacts
        self._pending: list[dict] = []
        self._last_emit = -np.inf
        self.frames_sent = 0

    def attach(self, sim, every: int = 1) -> "LiveBridge":
        from .simulation import Observer
        sim.observers.append(Observer(self, every))
        return self

    def __call__(self, sim, row: dict) -> None:
        r = dict(row)
        r["cycle_x"] = cycle_position(sim)[2]
        self._pending.append(r)
        if _time.perf_counter() - self._last_emit >= self.min_interval:
            self.flush(sim)

    def flush(self, sim) -> None:
        """Send a frame now (pending rows, current particles), even if none are pending."""
        self._last_emit = _time.perf_counter()
        rows, self._pending = self._pending, []
        self.frames_sent += 1
        arrays = self.arrays(sim, self.with_contacts) if self.with_arrays else None
        self.callback(Frame(rows=rows, arrays=arrays, status=self.status(sim)))

    @staticmethod
    def arrays(sim, contacts: bool = False) -> dict:
        """Copies of the snapshot arrays of the alive particles, with `x`; with
        contacts, `contacts` too (new arrays, dempack.runner.snapshot_contacts)."""
        from .runner import snapshot_arrays, snapshot_contacts
        ps = sim.particles
        out = {k: np.array(v, copy=True) for k, v in snapshot_arrays(sim).items()}
        out["x"] = np.array(ps.x[ps.alive], copy=True)
        if contacts:
            out["contacts"] = snapshot_contacts(sim)
        return out

    @staticmethod
    def status(sim) -> dict:
        cycle, half, x = cycle_position(sim)
        box = sim.box
        return {"step": sim.step_count, "time_s": sim.time, "stage": sim.stage_label,
                "cycle": cycle, "half": half, "cycle_x": x, "n": int(np.sum(sim.particles.alive)),
                "die": box.die(),
                "remaining_steps": remaining_steps(sim), "done": sim.done}
