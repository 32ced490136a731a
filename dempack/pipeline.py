"""Operations of a step and the triggers that say on which steps they run (HOOMD-style).

A step runs, in this order (`Simulation.step`): the stage updater (punch, lithiation),
the integrator, then the physics updaters below; every output interval the computes
(observables) and the writers (observers of the computes) run (`Simulation.run`).
Each operation declares its trigger and whether it reads the pair forces of the step
it runs after: the integrator records the pair forces exactly on the steps where some
such operation fires (`Simulation.pair_forces_wanted`), so no consumer ever reads
forces recomputed from a state that has moved on (the error 8d83523 fixed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    """Fires on the steps that are multiples of `period` (step counts after the step);
    `period` an int, or a function returning it (read at each step: a scenario key that
    a script may change during a run)."""

    period: object

    def __call__(self, step: int) -> bool:
        k = self.period() if callable(self.period) else self.period
        return step % k == 0

    def next_after(self, step: int) -> int:
        """The first step after `step` on which it fires."""
        k = self.period() if callable(self.period) else self.period
        return (step // k + 1) * k


class Never:
    """Fires on no step (an operation that is switched off)."""

    def __call__(self, step: int) -> bool:
        return False

    def next_after(self, step: int) -> float:
        return math.inf


class Operation:
    """An updater or compute: `trigger(step)` says whether `act(sim)` runs after that
    step; `needs_pair_forces`: it reads the pair forces of that step; `at_end`: a compute
    that also runs after the protocol's last step."""

    trigger = Never()
    needs_pair_forces = False
    at_end = False  # also runs after the step that ends the protocol (the last row)

    def act(self, sim) -> None:
        raise NotImplementedError

    def next_trigger(self, step: int):
        """The first step after `step` on which it may fire (math.inf: none), None where it
        cannot say: the blocks of steps (`dempack.stepblock`) end before that step."""
        nxt = getattr(self.trigger, "next_after", None)
        return nxt(step) if nxt is not None else None


class VolumeUpdate(Operation):
    """Every `cycling.volume_update_interval` steps: creep over the physical time
    accumulated since the last update (`physics.creep`; where a material has a creep law,
    also with its rate set to zero, as the particle law carries the volume constraint of
    confined particles), the compaction of porous agglomerates (`physics.agglomerate`), then
    the swelling and volume-conserving radii (`physics.volume`)."""

    def __init__(self, sim):
        cycling = sim.scenario.cycling
        self.trigger = Periodic(lambda: cycling.volume_update_interval)

    def act(self, sim) -> None:
        if sim._creep_time > 0.0 and sim.has_creep_law:
            sim.creep_step(sim._creep_time)
        sim._creep_time = 0.0
        sim.compact_agglomerates()  # porous agglomerates (physics.agglomerate), before the radii
        sim.update_radii()


class FractureUpdate(Operation):
    """Every `fracture.check_interval_steps`, while fracture is on (a material may be
    made breakable during a run): grow fresh fragments and replace the particles whose
    characteristic stress reached their strength (`physics.fracture`); the stresses come
    from the pair forces of that step."""

    def __init__(self, sim):
        self.fracture = sim.fracture
        self.trigger = Periodic(sim.fracture.interval)

    @property
    def needs_pair_forces(self) -> bool:
        return self.fracture.active

    def act(self, sim) -> None:
        if self.fracture.active:
            self.fracture.step(sim)


class ObserveRow(Operation):
    """Every `run.output_interval_steps`: one row of observables (`Simulation.observe`),
    which runs the writers; the particle stresses come from the pair forces."""

    needs_pair_forces = True
    at_end = True

    def __init__(self, sim):
        run = sim.scenario.run
        self.trigger = Periodic(lambda: run.output_interval_steps)

    def act(self, sim) -> None:
        sim.observe()


class SnapshotAtFractions(Operation):
    """A VTK snapshot (`Simulation.snapshot_observers`) at the step where the cycling
    protocol first reaches a fraction of a half-cycle listed in
    `run.snapshot_at_half_cycle_fractions` (0 = the half-cycle's start, 1 = its end; read
    at each step): the trigger asks the step's `protocol.Progress` records
    (`Simulation.protocol_events`), so it fires exactly there, whatever the output
    interval. Its stresses come from forces recomputed at the current state
    (`Simulation.pair_contact_forces`), so it asks the integrator for nothing."""

    def __init__(self, sim):
        run = self.run = sim.scenario.run
        self.trigger = lambda step: step == sim.step_count and any(
            ev.reached(f) for ev in sim.protocol_events
            for f in run.snapshot_at_half_cycle_fractions)

    def next_trigger(self, step: int):
        """No step count says when: it fires on the protocol's events. The blocks of steps
        stop short of the listed fractions themselves (`protocol.CyclingStage`), and the
        events of a block's last step are asked after it (`drive.run_steps`)."""
        return math.inf

    def act(self, sim) -> None:
        from .observe import analyse
        sim._last_analysis = analyse(sim)
        sim._connected = None
        for fn in sim.snapshot_observers:
            fn(sim)
