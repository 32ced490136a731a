"""Safety checks of a run: the divergence guards, their diagnosis, and the quasi-static
warning.

Divergence guards (DESIGN §2: stop with a diagnosis, DivergenceError):
- every step, one scalar compare (in `Simulation.step`): the step kernel returns the
  largest skin drift |x − x_ref| + (R − R_ref) since the last neighbour-list build (NaN
  if a position became NaN). Before the step it was ≤ skin/2 (else the list was
  rebuilt), so a drift above `skin/2 + R_max` (`set_drift_limit`; R_max the largest
  radius, fragments at their final size, at the build) needs one step's displacement
  plus radius jump above R_max. The radius jumps of a step (swelling, the volume
  correction: at most (1 + max_cap_fraction)^(1/3) − 1 ≤ 26 % of R, a fragment's growth:
  below its final radius) stay below R_max, so a particle moved a good part of the
  largest radius in one step, where a resolved step moves it a small fraction of its own
  (at the Rayleigh step, dt ≈ 0.2 t_R ≈ 0.7 R/c_s, that is a speed of the order of the
  elastic wave speed c_s): the integration has blown up (`runaway`). Conversely the bound
  is reached once a particle moves skin + R_max in one step (|x − x_ref| ≥ displacement −
  skin/2). With dt 10⁴ × too large the run stops at the first step; an unstable step (dt
  10 × too large) grows the energy geometrically and stops within tens of steps
  (tests/test_divergence.py);
- at each neighbour-list rebuild (`check_inside`): a particle entirely outside the die
  (its centre more than its radius beyond a wall) is an error that names it; particles
  are never dropped;
- at each output row (`check_row`): NaN in the observables, and an elastic overlap above
  run.max_overlap_ratio (a physical overlap runaway, e.g. a soft phase at high pressure).
The message (`diverged`) names the cause and a time step from the Rayleigh time
(`dt_advice`, `Simulation.rayleigh_dt`). A diverged state is never written as a checkpoint:
`Simulation.run` writes one at step 0 and the writers every k rows, each of a state that
passed these checks, so the run folder keeps the last good checkpoint
(`Simulation.last_checkpoint`, `checkpoint_advice`).

Quasi-static warning (`warn_inertial`): one log line per stage where the inertial number
of an output row exceeds 1e-3 under load, with the setting that brings it down. I's rate is
the punch's mean speed over the last `SETTLE_STEPS` steps of the stage
(`observe.inertial_number`), the stack control's response time, so a servo's chatter is
averaged and I does not depend on the output interval. Not judged (the row keeps its I):
the first SETTLE_STEPS steps of a stage or half-cycle, where the window would hold the
control's reversal, and the rows within SETTLE_STEPS of a breakage event, where I measures
the stack's collapse into the space a failed particle left (fracture is a dynamic event),
which no slower loading removes.

Each function takes the Simulation; none changes its state beyond the bound it sets
(`set_drift_limit`), the stop flag and the warning's bookkeeping.
"""
from __future__ import annotations

import logging
import math
from collections import deque

import numpy as np

log = logging.getLogger(__name__)


class DivergenceError(RuntimeError):
    """The run blew up; the message gives the diagnosis and a time step to try."""


def final_radii(sim) -> np.ndarray:
    """R, with growing fragments at their final (mass-conserving) size (m)."""
    ps = sim.particles
    grow = ps.R0_target > ps.R0
    return np.where(grow, ps.R * ps.R0_target / np.where(grow, ps.R0, 1.0), ps.R)


def set_drift_limit(sim) -> None:
    """The step's divergence bound (module docstring), set at each list build:
    skin/2 + the largest radius, growing fragments at their final size (m)."""
    R = final_radii(sim)
    sim._drift_limit = 0.5 * sim.skin + (float(R.max()) if R.size else np.inf)


def check_inside(sim) -> None:
    """A particle entirely outside the die (its centre more than its radius beyond the
    bottom plate, the punch or a side wall; or not finite) is an error that names it:
    the walls push back any particle that only overlaps them, so one that got through
    means the integration blew up. Particles are never dropped (N stays)."""
    ps, box = sim.particles, sim.box
    if ps.n == 0:
        return
    x, R = ps.x, ps.R
    bad = ~np.all(np.isfinite(x), axis=1)
    bad |= (x[:, 2] < -R) | (x[:, 2] > box.z_top + R)
    if not box.periodic_xy:
        for d in range(2):
            bad |= (x[:, d] < -R) | (x[:, d] > box.L[d] + R)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        diverged(sim, f"particle {ps.pid[k]} left the die (position {ps.x[k]} m, radius "
                      f"{ps.R[k]:.3g} m, speed {np.linalg.norm(ps.v[k]):.3g} m/s; die "
                      f"{box.L[0]:.3g} x {box.L[1]:.3g} m, punch at z = {box.z_top:.3g} m)")


def runaway(sim, drift: float) -> None:
    """The step's drift broke its bound: name the fastest particle and stop (the
    step taken is step_count + 1; its state is not kept)."""
    ps = sim.particles
    step = sim.step_count + 1
    speed = np.linalg.norm(ps.v, axis=1)
    bad = ~np.isfinite(speed) | ~np.all(np.isfinite(ps.x), axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        diverged(sim, f"the position or velocity of particle {ps.pid[k]} became NaN/inf",
                      step)
    k = int(np.argmax(speed))
    diverged(
        sim, f"particle {ps.pid[k]} moved {speed[k] * sim.dt:.3g} m in one step, "
        f"{speed[k] * sim.dt / ps.R[k]:.3g} x its radius {ps.R[k]:.3g} m, at "
        f"{speed[k]:.3g} m/s (skin drift {drift:.3g} m > skin/2 + largest radius = "
        f"{sim._drift_limit:.3g} m): the integration is unstable, a resolved step moves a "
        "particle a small fraction of its radius", step)


def check_row(sim, a: dict, row: dict) -> None:
    """The checks of an output row (`row`, from the analysis `a`, `observe.analyse`): NaN
    in the observables or the positions, and an elastic overlap above
    run.max_overlap_ratio, stop the run (DivergenceError)."""
    lim = sim.scenario.run.max_overlap_ratio
    if not np.isfinite(row["porosity"]) or not np.all(np.isfinite(sim.particles.x)):
        diverged(sim, "a particle position or velocity became NaN/inf")
    if a["max_overlap_ratio"] > lim:
        i, j = a["worst_pair"]
        diverged(sim, f"overlap {a['max_overlap_ratio']:.3f} of the smaller radius between "
                      f"particles {sim.particles.pid[i]} and {sim.particles.pid[j]} exceeds "
                      f"run.max_overlap_ratio = {lim:g}")


def diverged(sim, why: str, step: int | None = None) -> None:
    """Stop with DivergenceError: the cause, a time step to try (from the Rayleigh
    time) and the last good checkpoint. The diverged state is not written: the
    checkpoint in the run folder stays the last one of a state that passed the checks."""
    sim.stopped = True
    raise DivergenceError(
        f"run diverged at step {sim.step_count if step is None else step} "
        f"(t = {sim.time:.6g} s): {why}. "
        + dt_advice(sim)
        + (" or, if the overlap is physical, raise run.max_overlap_ratio"
           if "overlap" in why else "")
        + ". " + checkpoint_advice(sim))


def dt_advice(sim) -> str:
    """Which time step to try: the Rayleigh-limited one where dt exceeds it, else half."""
    nu = sim.scenario.numerics
    dt_r = sim.rayleigh_dt(final_radii(sim))
    if sim.dt > dt_r * (1.0 + 1e-9):
        return (f"The time step dt = {sim.dt:.3g} s is {sim.dt / dt_r:.3g} x the stable "
                f"one, dt_safety x Rayleigh time = {dt_r:.3g} s: try numerics.dt_safety = "
                f"{nu.dt_safety:g} with numerics.dt_s = 0 (automatic, dt = {dt_r:.3g} s)")
    if nu.dt_s > 0:
        return (f"The time step was dt = {sim.dt:.3g} s; try numerics.dt_s = "
                f"{sim.dt / 2:.3g} (dt = {sim.dt / 2:.3g} s)")
    return (f"The time step was dt = {sim.dt:.3g} s; try numerics.dt_safety = "
            f"{nu.dt_safety / 2:g} (dt = {sim.dt / 2:.3g} s)")


def checkpoint_advice(sim) -> str:
    """Where the last good checkpoint is, for the divergence message."""
    if sim.last_checkpoint is None:
        return "No checkpoint was written before it diverged"
    path, step = sim.last_checkpoint
    return (f"The last good checkpoint (step {step}) is kept in {path}; the diverged "
            "state was not written")


SETTLE_STEPS = 2000
"""The stack control's response time in steps: the servo and the spring fixture take up a
particle's collapse, or a half-cycle's reversal, within about 1,000 steps (measured in
cycle_fes60mse, see its [stack] comment); twice that is the margin. The inertial number's
rate window, and the steps not judged after a stage start or a breakage event."""


def _rate_marks(sim) -> deque:
    """sim.rate_marks, built from the last rows of sim.history where the run (or a
    resume) has none yet."""
    if sim.rate_marks is None:
        sim.rate_marks = deque((int(r["step"]), str(r["stage"]), float(r["thickness_m"]))
                               for r in (sim.history.rows()[-64:] if sim.history else []))
    return sim.rate_marks


def rate_window(sim):
    """((step, thickness) of the output row the inertial number's rate is taken from, the
    window is full): the latest earlier row of the current stage at least SETTLE_STEPS back
    (full), else the earliest row of this stage (not full); None where the stage has no
    earlier row. Reads `sim.rate_marks`, the (step, stage, thickness) of the recent rows
    (`add_rate_mark`), rebuilt from sim.history at the first call of a run or a resume."""
    ref = None
    for step, label, thickness in reversed(_rate_marks(sim)):
        if label != sim.stage_label:
            break
        ref = (step, thickness)
        if sim.step_count - step >= SETTLE_STEPS:
            return ref, True
    return ref, False


def add_rate_mark(sim, row: dict) -> None:
    """Remember an output row for `rate_window` (after sim.history.append(row)), keeping one
    row at least SETTLE_STEPS old."""
    if sim.rate_marks is None:  # first row of a run or a resume: the history holds it
        _rate_marks(sim)
        return
    marks = sim.rate_marks
    marks.append((int(row["step"]), str(row["stage"]), float(row["thickness_m"])))
    while len(marks) > 2 and marks[1][0] <= int(row["step"]) - SETTLE_STEPS:
        marks.popleft()


def settling(sim) -> bool:
    """True while the stack control is still taking up an event: a particle broke
    (sim.fracture.log) within SETTLE_STEPS of this step, or the stage (or half-cycle) has not
    yet run a full rate window (`rate_window`)."""
    log_ = getattr(getattr(sim, "fracture", None), "log", None)
    if log_ and sim.step_count - log_[-1]["step"] <= SETTLE_STEPS:
        return True
    return not rate_window(sim)[1]


def warn_inertial(sim, row: dict) -> None:
    """Log one warning per stage where the output row's inertial number I exceeds 1e-3
    with the punch stress above half the stage's target (not quasi-static), naming the
    setting that brings I down; not while the stack control settles (`settling`)."""
    I = row["inertial_number"]
    target = getattr(sim.stage, "target", 0.0) or 0.0
    loaded = row["punch_stress_Pa"] > 0.5 * target > 0.0  # loose compaction is not judged
    if (loaded and np.isfinite(I) and I > 1e-3 and sim._inertial_warned != sim.stage_index
            and not settling(sim)):
        # one log line per stage: I ∝ punch speed (γ̇ = |v|/h), so |v|·1e-3/I is the
        # speed that gives I = 1e-3 here; in cycling the punch follows the swelling,
        # whose rate per step falls as 1/steps_per_half_cycle
        sim._inertial_warned = sim.stage_index
        i, sc = sim.stage_index, sim.scenario
        if i < len(sc.pressing):
            v = abs(sim.box.punch_velocity) * 1e-3 / I
            unit = 10.0 ** math.floor(math.log10(v) - 1)   # v rounded down to 2 digits
            fix = (f"lower pressing.{i}.speed_m_per_s from {sc.pressing[i].speed_m_per_s:g} "
                   f"to {math.floor(v / unit) * unit:.2g} m/s or less "
                   "(I is proportional to the punch speed)")
        else:
            why = ("the punch follows the swelling" if sim.box.punch_velocity != 0.0 else
                   "the punch is held: I is taken from the swelling rate")
            target = sc.cycling.inertial_number_target
            if target > 0.0:
                fix = (f"lower cycling.inertial_number_target from {target:g} to "
                       f"{target * 1e-3 / I:.2g} ({why}; the quasi-static rule's steps grow as "
                       "1/target)")
            else:
                fix = (f"raise cycling.steps_per_half_cycle above "
                       f"{sc.cycling.steps_per_half_cycle * I / 1e-3:.3g}, or let the "
                       "quasi-static rule set it (cycling.inertial_number_target) "
                       f"({why}; I falls as 1/steps)")
        if sim.density_scaling > 1.0:
            fix += (f", or lower numerics.density_scaling from {sim.density_scaling:g} "
                    "(I grows as its square root)")
        log.warning("stage '%s', step %d: inertial number I = %.2g > 1e-3 at %.3g MPa punch "
                    "stress: not quasi-static; %s", sim.stage_label, sim.step_count, I,
                    row["punch_stress_Pa"] / 1e6, fix)
