"""Simulation: owns the state and runs the loop.

Order of one step (HOOMD-style):
  1. updaters: the current protocol stage sets the punch velocity (and the
     lithiation while cycling);
  2. neighbour list: rebuilt when the skin is used up (particles re-sorted);
  3. one fused kernel (`integrate.step_serial` / `step_threaded`; on the steps that record
     no pair forces through `stepblock.kernel_step`, the blocks' compiled copy): each pair once
     (Hertz–Mindlin on the elastic overlap, plastic limit, flats), wall contacts,
     leapfrog integration; it records the pair forces on the steps whose stresses
     are read (an output row, a fracture test); the punch moves;
  4. physical time advances; the updaters, each on its trigger (dempack.pipeline):
     every `cycling.volume_update_interval` steps creep (`physics.creep`) and the
     swelling/volume-conserving radii (`physics.updates`), every
     `fracture.check_interval_steps` fracture;
  5. stage bookkeeping (`protocol.finish_stage` when a stage is done);
then, every `output_interval_steps`, the computes (observables) and the writers
(CSV row, VTK snapshot every k rows, checkpoint every k rows, GUI bridge), run by
`dempack.drive.drive` (in chunks of `Simulation.run`, `drive.run_steps`). The plain steps
between two trigger points run as one block inside numba (`dempack.stepblock`), with the
same operations in the same order as this method.

This module owns the step (`Simulation.step`) and the state it advances. The rest lives
with the concept it belongs to, and the Simulation keeps a one-line method of the old
name for each: `dempack.build` (scenario → state), `dempack.safety` (the divergence
guards, every step, at each neighbour-list rebuild and at each output row, and their
diagnosis, DivergenceError), `dempack.physics.updates` (the creep and volume updaters),
`dempack.observe` (the output row, the inertial number, the summary), `dempack.protocol`
(stage and half-cycle ends), `dempack.io.checkpoint` (save and restore).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import get_num_threads

from . import build, safety
from .build import rayleigh_time
from .contact.tables import contact_species
from .drive import run_steps
from .io import checkpoint
from .io.tables import RowLog
from .integrate import chunk_rows, contact_forces, step_serial, step_threaded
from .materials import load_materials
from .neighbors import build_contact_list
from .observe import inertial_number, observe_row, side_wall_stress, summary, true_porosity
from .physics import updates
from .protocol import finish_stage, half_cycle_end
from .safety import DivergenceError
from .scenario import Scenario
from .state import WALL_TOP
from .stepblock import kernel_step

# DivergenceError (dempack.safety) and rayleigh_time (dempack.build) are re-exported here
__all__ = ["DivergenceError", "Observer", "SERIAL_BELOW", "Simulation", "rayleigh_time"]

# auto threads: one below this many particles. Measured on the 2-core machine, quiet:
# a 2000-particle Se-Mo6Se8 cycling bed ran 1.26 ms/step with two threads, 1.74 with one.
SERIAL_BELOW = 1500


@dataclass
class Observer:
    """A callable run every `every` output rows: fn(sim, row)."""
    fn: object
    every: int = 1


class Simulation:
    """A DEM run built from a Scenario (`dempack.build`).

    Attributes: particles (ParticleState), contacts (ContactList), box (Box),
    materials (list of Material, index = particle material id) and the per-material
    arrays of `build.build_materials` (swelling, creep_A, ...), the contact parts of
    `build.build_contact_parts` (inelastic, contact_slots), dt (s), time (s, physical),
    step_count, stages (protocol), history (the observables rows) and cycle_rows (the
    half-cycle rows), each a `dempack.io.RowLog`: in memory for a run without writers,
    streamed to timeseries.csv / cycles.csv (only the last row in memory, the rest read
    back from the file) once `runner.OutputWriters` is attached, so that a long run's
    memory and checkpoints stay flat.
    """

    def __init__(self, scenario: Scenario, out_dir=None, _empty: bool = False):
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir is not None else None
        sc = scenario
        build.build_materials(self, load_materials())
        build.build_contact_parts(self)
        self.reference_thickness = None
        self.half_cycle_observers: list = []
        self.cycle_rows = RowLog()  # streamed to cycles.csv by runner.OutputWriters
        self._inertial_warned = None  # index of the last stage warned about (once per stage)
        self.rate_marks = None  # recent output rows for the inertial number (safety.rate_window)
        self._creep_time = 0.0  # physical time not yet applied to creep (s)
        self.cap_correction = None  # (2, N): volume and cover of intersecting caps (cached)
        self._radius_updates = 0
        self._cap_correction_list = None
        self.density_scaling = sc.numerics.density_scaling
        self.body = np.array([0.0, 0.0, -sc.numerics.si("gravity_m_s2")])
        self.rng = np.random.default_rng(sc.run.seed)
        self.step_count = 0
        self.time = 0.0
        self.history = RowLog()  # streamed to timeseries.csv by runner.OutputWriters
        self.stage_results: list[dict] = []
        self.observers: list[Observer] = []
        self.stage_index = 0
        self.last_punch_stress = 0.0
        self._max_drift = np.inf
        self._drift_limit = np.inf  # divergence bound on the step's drift (_set_drift_limit)
        self.last_checkpoint = None  # (path, step) of the last checkpoint written
        self._chunk_rows = None  # step_threaded's row chunks and per-thread sums
        self._pair_force = np.zeros((0, 3))  # pair forces recorded by the last step, for
        self._pair_force_of = None           # (contact list, step count) they belong to
        self._chunks = None
        self._scratch = np.zeros((0, 0))
        self._species_cache = None  # (material, generation, species) of _contact_species
        build.build_operations(self)  # stages, fracture, updaters and computes
        self.protocol_events: list = []     # protocol.Progress records of the last step
        self.snapshot_observers: list = []  # fn(sim): SnapshotAtFractions' writers
        self.outputs_written = 0
        self.stopped = False
        self.blocks = True  # run plain steps in numba blocks (dempack.stepblock); False: one by one
        self.wall_clock = 0.0
        if not _empty:
            self._generate()

    # ------------------------------------------------------------------ build
    def _generate(self) -> None:
        build.generate(self)

    @classmethod
    def from_particles(cls, scenario: Scenario, x, radii, material, width: float, z_top: float,
                       velocity=None) -> "Simulation":
        """A Simulation with hand-placed particles (SI): `build.from_particles`."""
        return build.from_particles(cls, scenario, x, radii, material, width, z_top, velocity)

    def _make_box(self, width: float, periodic: bool, z_top: float):
        return build.make_box(self, width, periodic, z_top)

    def _update_mass(self) -> None:
        build.update_mass(self)

    def _time_step(self, R=None) -> float:
        return build.time_step(self, R)

    def rayleigh_dt(self, R=None) -> float:
        """The automatic time step at radii R (s): `build.rayleigh_dt`."""
        return build.rayleigh_dt(self, R)

    def _final_radii(self) -> np.ndarray:
        return safety.final_radii(self)

    # --------------------------------------------------------------- queries
    @property
    def stage(self):
        return self.stages[self.stage_index] if self.stage_index < len(self.stages) else None

    @property
    def stage_label(self) -> str:
        st = self.stage
        return st.label if st is not None else "done"

    @property
    def done(self) -> bool:
        return self.stage is None

    def punch_stress(self) -> float:
        """Stress (Pa, compressive > 0) the particles put on the top punch."""
        return -float(np.sum(self.particles.wall_force[:, WALL_TOP, 2])) / self.box.area

    def side_wall_stress(self) -> float:
        """Mean normal stress (Pa) on the four side walls: `observe.side_wall_stress`."""
        return side_wall_stress(self)

    def inertial_number(self) -> float:
        """I = γ̇ d √(ρ/p), the quasi-static measure: `observe.inertial_number`."""
        return inertial_number(self)

    # ------------------------------------------------------------------ loop
    def step(self) -> None:
        """Advance one DEM step (see the module docstring for the order)."""
        ps, cl, box, t = self.particles, self.contacts, self.box, self.tables
        st = self.stage
        self.protocol_events = []
        if st is not None:
            st.update(self)
        if not (2.0 * self._max_drift <= self.skin):
            if not np.isfinite(self._max_drift) and self.step_count > 0:
                self._diverged("a particle position or velocity became NaN/inf")
            self._check_inside()
            self.contacts = cl = build_contact_list(ps, cl, box, self.skin)
            self._set_drift_limit()
            if self._drift.shape[0] != ps.n:
                self._drift = np.zeros(ps.n)
        L = box.L
        pos, vel, on = box.wall_arrays()
        # elastic runs (no hardness, no creep) take kernels compiled without the flats
        delta_flat, wall_delta_flat = (cl.delta_flat, ps.wall_delta_flat) if self.inelastic else (None, None)
        # record the pair forces of this step where an operation reads them after it (an
        # output row, a fracture test); other reads recompute them (pair_contact_forces)
        n1 = self.step_count + 1
        fbuf = None
        if self.pair_forces_wanted(n1):
            if self._pair_force.shape[0] != cl.n_pairs:
                self._pair_force = np.zeros((cl.n_pairs, 3))
            fbuf = self._pair_force.reshape(-1)
        mat, pair_cols, wall_cols, share = self._contact_species(t, ps)
        threads = get_num_threads()
        if fbuf is None and self.blocks:  # the blocks' compiled kernel (stepblock.kernel_step)
            drift, f_top = kernel_step(self, threads, mat, pair_cols, wall_cols, share,
                                       (pos, vel, on), (delta_flat, wall_delta_flat))
        elif threads == 1:  # one fused pass, each pair once (integrate.step_serial)
            drift, f_top = step_serial(
                ps.x, ps.v, ps.w, ps.R, ps.mass, ps.inertia, mat, ps.alive, cl.j,
                cl.row_start, cl.xi, delta_flat, ps.wall_xi, wall_delta_flat, ps.wall_force,
                cl.wall_touch, ps.force, ps.torque, pos, vel, on, pair_cols,
                wall_cols, self.contact_slots, self.body, self.dt, L, box.periodic_xy,
                cl.x_ref, cl.R_ref, ps.confinement, share, fbuf)
        else:  # each pair once, per-thread sums (integrate.step_threaded)
            chunks, scratch = self._thread_chunks(threads)
            drift, f_top = step_threaded(
                ps.x, ps.v, ps.w, ps.R, ps.mass, ps.inertia, mat, ps.alive, cl.j,
                cl.row_start, chunks, cl.xi, delta_flat, ps.wall_xi, wall_delta_flat, ps.wall_force,
                cl.wall_touch, ps.force, ps.torque, scratch, pos, vel, on, pair_cols,
                wall_cols, self.contact_slots, self.body, self.dt, L, box.periodic_xy,
                cl.x_ref, cl.R_ref, self._drift, ps.confinement, share, fbuf)
        # the forces recorded belong to this list and to the state after this step
        self._pair_force_of = (cl, n1) if fbuf is not None else None
        box.z_top += box.punch_velocity * self.dt
        self._max_drift = drift
        if not (drift <= self._drift_limit):  # also NaN: the divergence guard of each step
            self._runaway(drift)
        self.last_punch_stress = -f_top / box.area  # = punch_stress(), without a pass
        dt_phys = self.dt_phys
        self.step_count += 1
        self.time += dt_phys
        if dt_phys > self.dt:
            self._creep_time += dt_phys
        for op in self.updaters:
            if op.trigger(self.step_count):
                op.act(self)
        if st is not None:
            st.after_step(self)
            if st.done(self):
                self._finish_stage(st)
                if self.stage is not None:
                    self.stage.begin(self)

    def _thread_chunks(self, threads: int):
        """(chunk_start, scratch) of `integrate.step_threaded` for the current contact list
        and thread count; the scratch (threads, 6N) is zero between steps, so it is only
        reallocated when N or the thread count change."""
        rows = self.contacts.row_start
        if self._chunk_rows is not rows or self._chunks.shape[0] != threads + 1:
            self._chunks = chunk_rows(rows, threads)
            self._chunk_rows = rows  # held, so a new list can never look like this one
        n6 = 6 * self.particles.n
        if self._scratch.shape != (threads, n6):
            self._scratch = np.zeros((threads, n6))
        return self._chunks, self._scratch

    def pair_contact_forces(self) -> np.ndarray:
        """Force on i from j (P, 3) N of every candidate pair: the forces of the last step
        where it recorded them (the steps before an output row or a fracture test), else
        recomputed from the current state (integrate.contact_forces)."""
        if self._pair_force_of is not None:
            cl, n = self._pair_force_of
            if cl is self.contacts and n == self.step_count:
                return self._pair_force
        return contact_forces(self)

    @property
    def dt_phys(self) -> float:
        """Physical time (s) carried by one DEM step: the cycling protocol's
        increment while cycling, else the DEM time step itself."""
        st = self.stage
        return getattr(st, "dt_phys", self.dt) if st is not None else self.dt

    def pair_forces_wanted(self, step: int) -> bool:
        """True if an operation that reads the pair forces runs after step `step`: the
        integrator records them on exactly those steps (dempack.pipeline)."""
        return any(op.needs_pair_forces and op.trigger(step)
                   for op in (*self.updaters, *self.computes))

    # --------------------------------------------- physics updaters (physics.updates)
    def creep_step(self, dt_phys: float) -> None:
        """Advance creep by dt_phys (s) of physical time: `physics.updates.creep_step`."""
        updates.creep_step(self, dt_phys)

    def plane_strain_properties(self):
        """(E, ν, A, n, σ_ref) per particle, 2D mode: `physics.updates`."""
        return updates.plane_strain_properties(self)

    def true_porosity(self) -> float:
        """1 − Σ V_true / V_die: `observe.true_porosity`."""
        return true_porosity(self)

    def make_stress_free(self, sweeps: int = 5) -> None:
        """Zero every contact force at the present shape: `physics.updates`."""
        updates.make_stress_free(self, sweeps)

    def compact_agglomerates(self) -> None:
        """Heckel compaction of the porous agglomerates: `physics.updates`."""
        updates.compact_agglomerates(self)

    def update_radii(self) -> None:
        """Swelling and volume-conserving radii: `physics.updates.update_radii`."""
        updates.update_radii(self)

    # ---------------------------------------------------------- stage events
    def _contact_species(self, t, ps):
        """(per-particle row index, pair columns, wall columns, flat share) of the force
        kernels: the materials and their tables, or, where some material's fragments have a
        rolling friction of their own, the contact species (`contact.tables`, issue 16.2),
        recomputed when the particle arrays are replaced (fracture, cell sort, restore)."""
        if not t.fragment_species:
            return ps.material, t.pair_columns(), t.wall_columns(), self.flattening_share
        c = self._species_cache
        if c is None or c[0] is not ps.material or c[1] is not ps.generation:
            nm = t.E_star.shape[0]
            c = self._species_cache = (ps.material, ps.generation,
                                       contact_species(ps.material, ps.generation, nm))
        return (c[2],) + t.species_columns(self.flattening_share)

    def _after_particle_change(self, old_to_new) -> None:
        """Particles were removed/added (old_to_new from ParticleState.replace):
        rebuild the neighbour list now, carrying the surviving pairs' history,
        resize the per-particle buffers, and shorten dt if a new particle (at its
        mass-conserving size) needs it (unless numerics.dt_s fixes dt)."""
        ps = self.particles
        self.contacts = build_contact_list(ps, self.contacts.remapped(old_to_new), self.box,
                                           self.skin)
        self._set_drift_limit()
        self._drift = np.zeros(ps.n)
        self._max_drift = 0.0
        self._last_analysis = None
        self._connected = None
        self.dt = min(self.dt, self._time_step(self._final_radii()))

    def half_cycle_end(self, cycle: int, half: str) -> None:
        """Record one cycles.csv row, run the half-cycle observers: `protocol`."""
        half_cycle_end(self, cycle, half)

    def _finish_stage(self, st) -> None:
        finish_stage(self, st)

    # ----------------------------------------------------- safety (dempack.safety)
    def _check_inside(self) -> None:
        safety.check_inside(self)

    def _set_drift_limit(self) -> None:
        safety.set_drift_limit(self)

    def _runaway(self, drift: float) -> None:
        safety.runaway(self, drift)

    def _diverged(self, why: str, step: int | None = None) -> None:
        safety.diverged(self, why, step)

    def _dt_advice(self) -> str:
        return safety.dt_advice(self)

    def _checkpoint_advice(self) -> str:
        return safety.checkpoint_advice(self)

    # ------------------------------------------------------------------- run
    def observe(self) -> dict:
        """Compute one row of observables, check for divergence, run observers
        (`observe.observe_row`)."""
        return observe_row(self)

    def run(self, steps: int | None = None) -> None:
        """Run the protocol to its end (or `steps` more steps): `drive.run_steps`. Runs with
        writers, a progress bar, pause and stop: `dempack.drive.drive`."""
        run_steps(self, steps)

    def thread_count(self) -> int:
        """Numba threads for this run: run.threads, or when 0 (auto) all cores
        from SERIAL_BELOW particles up and one thread below (a parallel region
        costs more than it saves on small systems, and far more on a busy machine)."""
        import numba
        n = self.scenario.run.threads
        avail = numba.config.NUMBA_NUM_THREADS
        if n > 0:
            return min(n, avail)
        return 1 if self.particles.n < SERIAL_BELOW else avail

    def apply_thread_count(self) -> None:
        """Set numba's thread count (for the calling thread) to thread_count()."""
        import numba
        numba.set_num_threads(self.thread_count())

    def stop(self) -> None:
        self.stopped = True

    # ------------------------------------------------------------ summaries
    def summary(self) -> dict:
        """The run's summary (summary.json): `observe.summary`."""
        return summary(self)

    # ----------------------------------------------------------- checkpoints
    def checkpoint_arrays(self) -> tuple[dict, dict]:
        """(arrays, meta) of a checkpoint: `io.checkpoint.checkpoint_arrays`."""
        return checkpoint.checkpoint_arrays(self)

    def write_checkpoint(self, path=None) -> Path:
        """Write a checkpoint (default out_dir/checkpoint.npz): `io.checkpoint`."""
        return checkpoint.write_checkpoint(self, path)

    @classmethod
    def from_checkpoint(cls, scenario: Scenario, path, out_dir=None) -> "Simulation":
        """The Simulation saved in a checkpoint: `io.checkpoint.from_checkpoint`."""
        return checkpoint.from_checkpoint(cls, scenario, path, out_dir)
