"""Blocks of steps inside numba between trigger points (issue 17; DESIGN §10).

Python runs only where something happens: a neighbour-list rebuild, an updater or compute
on its trigger (the volume update, fracture, an output row), a step whose pair forces are
read, a half-cycle end, a stage end. The steps between two such points are *plain*: the
stage's control sets the punch velocity (`boundary.punch_velocity`), the fused force and
integration kernel runs (`integrate.step_serial` / `step_threaded`), the punch moves, the
clocks advance and the stage counts its step. `run_block` runs up to `n` plain steps in
one call to a numba loop (`block_serial` / `block_threaded`, nogil so the app's UI thread
stays live), with exactly the floating-point operations, in the same order, of as many
calls of `Simulation.step`: results are bit-identical (tests/test_stepblock.py).

The loop stops before a step that is not plain (the skin is used up, the cycling step
that ends a half-cycle or comes within one step of a fraction listed in
`run.snapshot_at_half_cycle_fractions`, a displacement-rate stage's porosity test) and after
a step that ends the stage or whose drift breaks the divergence bound; `Simulation.step`
takes it from there. Stages and controllers that a block does not know (growth, a rest, the adaptive
lithiation step, a lithiation rule other than the uniform one) run step by step as before.

The packed stage (float64 array of STAGE_FIELDS, `protocol.Stage.block_pack`) and clock
(CLOCK_FIELDS) carry the scalars a step changes; the packed controller is
`boundary.CONTROL_FIELDS`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .boundary import C_MEAN, punch_velocity
from .integrate import step_serial, step_threaded

# packed stage
(S_KIND, S_STEPS, S_MAX_STEPS, S_HELD, S_HOLD_STEPS, S_TOLERANCE, S_TARGET, S_N, S_POROSITY,
 S_C, S_DC, S_C_RES, S_DISCHARGE, S_C_BEFORE, S_STOP_C) = range(15)
STAGE_FIELDS = 15
STAGE_SERVO, STAGE_RATE, STAGE_COUNTED, STAGE_CYCLING = range(4)
# packed clock
(K_Z_TOP, K_PUNCH_VELOCITY, K_PUNCH_STRESS, K_MAX_DRIFT, K_TIME, K_CREEP_TIME, K_DT_PHYS,
 K_AREA, K_SKIN, K_DRIFT_LIMIT, K_F_TOP) = range(11)
CLOCK_FIELDS = 11
# n of a block function that asks for one bare kernel call (`kernel_step`)
KERNEL_ONLY = -1
# the longest block (steps): a stop or pause is seen within one block
BLOCK_STEPS = 2000
# why a block stopped
DONE_ALL, NOT_PLAIN, STAGE_DONE, RUNAWAY = range(4)


@njit(cache=True, inline="always")
def _before_step(stage, clock):
    """True if the next step is plain (module docstring); for a cycling stage, the
    lithiation it reaches (else the current one)."""
    if not (2.0 * clock[K_MAX_DRIFT] <= clock[K_SKIN]):
        return False, 0.0
    kind = int(stage[S_KIND])
    if kind == STAGE_CYCLING:  # S_STOP_C: a listed snapshot fraction ahead (CyclingStage)
        if stage[S_DISCHARGE] != 0.0:
            c = min(1.0, stage[S_C] + stage[S_DC])
            return not (c >= 1.0 or c >= stage[S_STOP_C]), c
        c = max(stage[S_C_RES], stage[S_C] - stage[S_DC])
        return not (c <= stage[S_C_RES] or c <= stage[S_STOP_C]), c
    if kind == STAGE_RATE and stage[S_POROSITY] != 0.0 and (stage[S_STEPS] + 1.0) % 50.0 == 0.0:
        return False, 0.0  # the stage tests the porosity on this step (Python)
    return True, stage[S_C]


@njit(cache=True, inline="always")
def _after_step(stage, ctl, clock):
    """Count the step (`protocol.Stage.after_step`) and say whether the stage is done
    (`Stage.done`)."""
    kind = int(stage[S_KIND])
    stage[S_STEPS] += 1.0
    steps = stage[S_STEPS]
    if kind == STAGE_SERVO:
        err = abs(ctl[C_MEAN] - stage[S_TARGET]) / stage[S_TARGET]
        if stage[S_HELD] > 0.0 or err < stage[S_TOLERANCE]:
            stage[S_HELD] += 1.0
        if steps >= stage[S_MAX_STEPS]:
            return True
        return (stage[S_HELD] > 0.0 and stage[S_HELD] >= stage[S_HOLD_STEPS]
                and err < stage[S_TOLERANCE])
    if kind == STAGE_RATE:
        if steps >= stage[S_MAX_STEPS] or (stage[S_N] != 0.0 and steps >= stage[S_N]):
            return True
        return stage[S_TARGET] != 0.0 and clock[K_PUNCH_STRESS] >= stage[S_TARGET]
    if kind == STAGE_COUNTED:
        return steps >= stage[S_MAX_STEPS]
    return False  # cycling: its half-cycle ends are not plain steps


@njit(cache=True, inline="always")
def _begin_step(stage, ctl, clock, wall_pos, wall_vel_z):
    """Before the kernel (`Stage.update`): (plain, punch velocity); if the step is plain, the
    control sets the punch velocity, a cycling stage its lithiation, the walls their place."""
    plain, c = _before_step(stage, clock)
    if not plain:
        return False, 0.0
    vz = punch_velocity(ctl, clock[K_PUNCH_STRESS], clock[K_Z_TOP])
    clock[K_PUNCH_VELOCITY] = vz
    if int(stage[S_KIND]) == STAGE_CYCLING:
        stage[S_C_BEFORE] = stage[S_C]
        stage[S_C] = c
    wall_pos[1] = clock[K_Z_TOP]
    wall_vel_z[1] = vz
    return True, vz


@njit(cache=True, inline="always")
def _end_step(stage, ctl, clock, vz, drift, f_top, dt):
    """After the kernel: the punch moves, the divergence bound (RUNAWAY: the step is not
    kept), the step's punch stress and physical time, the stage's count (STAGE_DONE where
    that ends it; else DONE_ALL)."""
    clock[K_Z_TOP] += vz * dt
    clock[K_MAX_DRIFT] = drift
    if not (drift <= clock[K_DRIFT_LIMIT]):
        return RUNAWAY
    clock[K_PUNCH_STRESS] = -f_top / clock[K_AREA]
    dt_phys = clock[K_DT_PHYS]
    clock[K_TIME] += dt_phys
    if dt_phys > dt:
        clock[K_CREEP_TIME] += dt_phys
    return STAGE_DONE if _after_step(stage, ctl, clock) else DONE_ALL


@njit(cache=True, inline="always")
def _after_kernel(bare, k, stage, ctl, clock, vz, drift, f_top, dt):
    """(stop, steps done, why) after the kernel call of block step k: a bare call
    (KERNEL_ONLY) leaves its drift and top force in the clock; a block step ends
    (`_end_step`), and the block stops on RUNAWAY (k steps kept) or STAGE_DONE (k + 1)."""
    if bare:
        clock[K_MAX_DRIFT] = drift
        clock[K_F_TOP] = f_top
        return True, 0, DONE_ALL
    why = _end_step(stage, ctl, clock, vz, drift, f_top, dt)
    if why == RUNAWAY:
        return True, k, RUNAWAY
    if why == STAGE_DONE:
        return True, k + 1, STAGE_DONE
    return False, 0, DONE_ALL


@njit(cache=True, nogil=True)
def block_serial(n, stage, ctl, clock, x, v, w, R, mass, inertia, mat, alive, pj, row_start, xi,
                 delta_flat, wall_xi, wall_delta_flat, wall_force, wall_touch, force, torque,
                 wall_pos, wall_vel_z, wall_on, pair_tab, wall_tab, slots, body, dt, L,
                 periodic_xy, x_ref, R_ref, conf, flat_share):
    """Up to n plain steps of `integrate.step_serial` (module docstring). Returns (steps
    done, why it stopped: DONE_ALL, NOT_PLAIN, STAGE_DONE, RUNAWAY); on RUNAWAY the last
    kernel call is not counted as a step (`Simulation.step` raises from it).
    n = KERNEL_ONLY: one bare kernel call for `Simulation.step` (`kernel_step`)."""
    bare = n == KERNEL_ONLY
    for k in range(1 if bare else n):
        vz = 0.0
        if not bare:
            plain, vz = _begin_step(stage, ctl, clock, wall_pos, wall_vel_z)
            if not plain:
                return k, NOT_PLAIN
        drift, f_top = step_serial(
            x, v, w, R, mass, inertia, mat, alive, pj, row_start, xi, delta_flat, wall_xi,
            wall_delta_flat, wall_force, wall_touch, force, torque, wall_pos, wall_vel_z, wall_on,
            pair_tab, wall_tab, slots, body, dt, L, periodic_xy, x_ref, R_ref, conf, flat_share,
            None)
        stop, done, why = _after_kernel(bare, k, stage, ctl, clock, vz, drift, f_top, dt)
        if stop:
            return done, why
    return n, DONE_ALL


@njit(cache=True, nogil=True)
def block_threaded(n, stage, ctl, clock, x, v, w, R, mass, inertia, mat, alive, pj, row_start,
                   chunk_start, xi, delta_flat, wall_xi, wall_delta_flat, wall_force, wall_touch,
                   force, torque, scratch, wall_pos, wall_vel_z, wall_on, pair_tab, wall_tab, slots,
                   body, dt, L, periodic_xy, x_ref, R_ref, drift_buf, conf, flat_share):
    """`block_serial` on `integrate.step_threaded` (its arguments)."""
    bare = n == KERNEL_ONLY
    for k in range(1 if bare else n):
        vz = 0.0
        if not bare:
            plain, vz = _begin_step(stage, ctl, clock, wall_pos, wall_vel_z)
            if not plain:
                return k, NOT_PLAIN
        drift, f_top = step_threaded(
            x, v, w, R, mass, inertia, mat, alive, pj, row_start, chunk_start, xi, delta_flat,
            wall_xi, wall_delta_flat, wall_force, wall_touch, force, torque, scratch, wall_pos,
            wall_vel_z, wall_on, pair_tab, wall_tab, slots, body, dt, L, periodic_xy, x_ref, R_ref,
            drift_buf, conf, flat_share, None)
        stop, done, why = _after_kernel(bare, k, stage, ctl, clock, vz, drift, f_top, dt)
        if stop:
            return done, why
    return n, DONE_ALL


def _call_block(sim, n, stage, ctl, clock, threads, species, walls, flats):
    """block_serial or block_threaded on sim's arrays (the thread count decides);
    species = (mat, pair_cols, wall_cols, share) (`Simulation._contact_species`), walls =
    (pos, vel, on) (`Box.wall_arrays`), flats = (delta_flat, wall_delta_flat) or (None, None)."""
    ps, cl, box = sim.particles, sim.contacts, sim.box
    mat, pair_cols, wall_cols, share = species
    pos, vel, on = walls
    delta_flat, wall_delta_flat = flats
    if threads == 1:
        return block_serial(
            n, stage, ctl, clock, ps.x, ps.v, ps.w, ps.R, ps.mass, ps.inertia, mat, ps.alive, cl.j,
            cl.row_start, cl.xi, delta_flat, ps.wall_xi, wall_delta_flat, ps.wall_force,
            cl.wall_touch, ps.force, ps.torque, pos, vel, on, pair_cols, wall_cols,
            sim.contact_slots, sim.body, sim.dt, box.L, box.periodic_xy, cl.x_ref, cl.R_ref,
            ps.confinement, share)
    chunks, scratch = sim._thread_chunks(threads)
    return block_threaded(
        n, stage, ctl, clock, ps.x, ps.v, ps.w, ps.R, ps.mass, ps.inertia, mat, ps.alive, cl.j,
        cl.row_start, chunks, cl.xi, delta_flat, ps.wall_xi, wall_delta_flat, ps.wall_force,
        cl.wall_touch, ps.force, ps.torque, scratch, pos, vel, on, pair_cols, wall_cols,
        sim.contact_slots, sim.body, sim.dt, box.L, box.periodic_xy, cl.x_ref, cl.R_ref,
        sim._drift, ps.confinement, share)


def kernel_step(sim, threads, mat, pair_cols, wall_cols, share, walls, flats):
    """One bare call of the step kernel for `Simulation.step` on a step that records no pair
    forces, through the block function (n = KERNEL_ONLY): the same compiled code as the
    blocks' steps, so each kernel signature is compiled twice (with and without the pair-force
    record), not three times. walls = (pos, vel, on) (`Box.wall_arrays`), flats =
    (delta_flat, wall_delta_flat) or (None, None). Returns (max drift, top z force)."""
    clock = np.zeros(CLOCK_FIELDS)
    none = np.zeros(0)
    _call_block(sim, KERNEL_ONLY, none, none, clock, threads, (mat, pair_cols, wall_cols, share),
                walls, flats)
    return float(clock[K_MAX_DRIFT]), float(clock[K_F_TOP])


def plain_steps_ahead(sim, limit: int) -> int:
    """How many of the next `limit` steps are plain as far as the operations go: none of
    them fires an updater or a compute (`pipeline.Operation.next_trigger`), so none records
    pair forces either. 0 where some operation cannot say when it fires next."""
    n = sim.step_count
    ahead = limit
    for op in (*sim.updaters, *sim.computes):
        nxt = op.next_trigger(n)
        if nxt is None:
            return 0
        ahead = min(ahead, nxt - n - 1)
    return max(ahead, 0)


def run_block(sim, n: int) -> int:
    """Run up to n plain steps of `sim` in one numba call (module docstring); returns the
    steps done (0 where the stage, its controller or the next step is not plain). The
    caller runs `Simulation.step` for the step after, where the block stopped short."""
    st = sim.stage
    if st is None or n <= 0 or sim.step_count == 0:
        return 0
    stage = st.block_pack(sim)
    if stage is None:
        return 0
    ps, cl, box, t = sim.particles, sim.contacts, sim.box, sim.tables
    ctl = st.control.pack()
    clock = np.zeros(CLOCK_FIELDS)
    clock[K_Z_TOP] = box.z_top
    clock[K_PUNCH_VELOCITY] = box.punch_velocity
    clock[K_PUNCH_STRESS] = sim.last_punch_stress
    clock[K_MAX_DRIFT] = sim._max_drift
    clock[K_TIME] = sim.time
    clock[K_CREEP_TIME] = sim._creep_time
    clock[K_DT_PHYS] = sim.dt_phys
    clock[K_AREA] = box.area
    clock[K_SKIN] = sim.skin
    clock[K_DRIFT_LIMIT] = sim._drift_limit
    flats = (cl.delta_flat, ps.wall_delta_flat) if sim.inelastic else (None, None)
    from numba import get_num_threads
    done, why = _call_block(sim, n, stage, ctl, clock, get_num_threads(),
                            sim._contact_species(t, ps), box.wall_arrays(), flats)
    ran = done + (1 if why == RUNAWAY else 0)  # kernel calls that moved the state
    if ran == 0:
        return 0
    box.z_top = float(clock[K_Z_TOP])
    box.punch_velocity = float(clock[K_PUNCH_VELOCITY])
    sim._max_drift = float(clock[K_MAX_DRIFT])
    st.control.unpack(ctl)
    st.block_unpack(sim, stage, done)
    sim._pair_force_of = None
    sim.protocol_events = []
    sim.last_punch_stress = float(clock[K_PUNCH_STRESS])
    sim.time = float(clock[K_TIME])
    sim._creep_time = float(clock[K_CREEP_TIME])
    sim.step_count += done
    if why == RUNAWAY:
        sim._runaway(float(clock[K_MAX_DRIFT]))  # raises DivergenceError (safety.runaway)
    if why == STAGE_DONE:
        sim._finish_stage(st)
        if sim.stage is not None:
            sim.stage.begin(sim)
    return done
