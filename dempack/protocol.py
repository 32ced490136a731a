"""Run protocol: an ordered list of stages, each an updater that drives the
punch (and, while cycling, the lithiation) and says when it is done.

- ServoStage: servo the punch to a target pressure at up to a maximum speed;
  once within tolerance, hold for `hold_steps`; done when the hold is over
  and the stress is still within tolerance (or after `max_steps`: not reached).
- DisplacementRateStage: punch at constant speed until a pressure or a step count.
- FixedGapStage: punch held still for a number of steps.
- SpringStage: spring fixture (stiffness + preload) for a number of steps.
- CyclingStage: stack held (servo or spring) while the electrode is cycled.
Each stage says the punch stress its control aims at, `stack_target(sim)` (Pa, NaN where
it has none): the stack_target_Pa and stack_deviation columns.
The ends of a stage (`finish_stage`: its result, then the next stage) and of a half-cycle
(`half_cycle_end`: a cycles.csv row) are recorded here, for `Simulation.step` and the
cycling stage.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import stepblock as sb
from .boundary import DisplacementRate, FixedGap, SpringFixture, StackServo, StressServo
from .geometry import particle_volume
from .observe import observables


@dataclass(frozen=True)
class Progress:
    """What one step did to a half-cycle: its progress fraction went from `lo` (excluded)
    to `hi` (included); `lo` = -1 marks the state where the half-cycle begins (its fraction
    0). `half` counts half-cycles from 0 (even: discharge); `tol` is a millionth of one
    step's fraction, the round-off allowed when asking whether a fraction was reached."""
    half: int
    lo: float
    hi: float
    tol: float

    def reached(self, f: float) -> bool:
        """True if fraction f is first reached at this step: lo < f <= hi (within tol)."""
        return self.lo < f - self.tol <= self.hi


class Stage:
    kind = "stage"
    target = 0.0

    def __init__(self, max_steps: int):
        self.max_steps = max_steps
        self.steps = 0

    def begin(self, sim) -> None:
        """Called after the step at which the previous stage ended (the state this stage
        starts from)."""

    def update(self, sim) -> None:
        sim.box.punch_velocity = self.control.velocity(sim.last_punch_stress, sim.box.z_top)

    def after_step(self, sim) -> None:
        self.steps += 1

    def reached(self) -> bool:
        return self.steps < self.max_steps

    def stack_target(self, sim) -> float:
        """The punch stress this stage's control aims at now (Pa), NaN where it has none
        (displacement rate, fixed gap): the stack_target_Pa column."""
        c = getattr(self, "control", None)
        return c.target_at(sim.box.z_top) if hasattr(c, "target_at") else math.nan

    def state(self) -> dict:
        return {"steps": self.steps}

    def load_state(self, st: dict) -> None:
        self.steps = st["steps"]

    def block_pack(self, sim):
        """The packed stage (`dempack.stepblock`) for a block of plain steps, None where
        this stage runs step by step."""
        return None

    def _packed(self, kind):
        a = np.zeros(sb.STAGE_FIELDS)
        a[sb.S_KIND] = kind
        a[sb.S_STEPS] = self.steps
        a[sb.S_MAX_STEPS] = self.max_steps
        return a

    def block_unpack(self, sim, a, steps: int) -> None:
        """Take back what `steps` plain steps of a block changed."""
        self.steps = int(a[sb.S_STEPS])


class ServoStage(Stage):
    kind = "servo"

    def __init__(self, target, max_speed, hold_steps, tolerance, max_steps):
        super().__init__(max_steps)
        self.target = target
        self.hold_steps = hold_steps
        self.tolerance = tolerance
        self.control = StressServo(target, max_speed)
        self.held = 0

    @property
    def label(self) -> str:
        return f"press {self.target / 1e6:g} MPa"

    def _err(self):
        return abs(self.control.mean - self.target) / self.target

    def after_step(self, sim) -> None:
        self.steps += 1
        if self.held > 0 or self._err() < self.tolerance:
            self.held += 1

    def done(self, sim) -> bool:
        if self.steps >= self.max_steps:
            return True
        return self.held > 0 and self.held >= self.hold_steps and self._err() < self.tolerance

    def state(self):
        return {"steps": self.steps, "held": self.held, "servo_mean": self.control.mean}

    def block_pack(self, sim):
        a = self._packed(sb.STAGE_SERVO)
        a[sb.S_HELD] = self.held
        a[sb.S_HOLD_STEPS] = self.hold_steps
        a[sb.S_TOLERANCE] = self.tolerance
        a[sb.S_TARGET] = self.target
        return a

    def block_unpack(self, sim, a, steps):
        self.steps = int(a[sb.S_STEPS])
        self.held = int(a[sb.S_HELD])

    def load_state(self, st):
        self.steps, self.held, self.control.mean = st["steps"], st["held"], st["servo_mean"]


class DisplacementRateStage(Stage):
    kind = "displacement_rate"

    def __init__(self, speed, until_pressure, steps, max_steps, until_porosity=0.0):
        super().__init__(max_steps)
        self.control = DisplacementRate(speed)
        self.target = until_pressure
        self.porosity = until_porosity
        self.n = steps

    @property
    def label(self) -> str:
        if self.porosity:
            return f"compress to porosity {self.porosity:g}"
        return (f"compress to {self.target / 1e6:g} MPa" if self.target
                else f"compress {self.control.speed:g} m/s")

    def done(self, sim) -> bool:
        if self.steps >= self.max_steps or (self.n and self.steps >= self.n):
            return True
        if self.porosity and self.steps % 50 == 0 and sim.true_porosity() <= self.porosity:
            return True
        return bool(self.target) and sim.last_punch_stress >= self.target

    def block_pack(self, sim):
        a = self._packed(sb.STAGE_RATE)
        a[sb.S_N] = self.n or 0
        a[sb.S_TARGET] = self.target or 0.0
        a[sb.S_POROSITY] = 1.0 if self.porosity else 0.0
        return a


class FixedGapStage(Stage):
    kind = "fixed_gap"

    def __init__(self, steps):
        super().__init__(steps)
        self.control = FixedGap()

    @property
    def label(self) -> str:
        return "fixed gap"

    def done(self, sim) -> bool:
        return self.steps >= self.max_steps

    def reached(self) -> bool:
        return True

    def block_pack(self, sim):
        return self._packed(sb.STAGE_COUNTED)


class GrowStage(Stage):
    """Grow every particle at a fixed die (punch held) until the porosity falls to a target:
    the packing of a fixed box at a given solid fraction without a pressing gradient (the
    study's RVE, 24.7 % pores; Lubachevsky & Stillinger 1990, doi:10.1007/BF01025983).
    The scale s of the radii (R0 and R alike) rises linearly from 1 to
    s_end = ((1 − p_target)/(1 − p_start))^(1/d) (d = 2 for disks, 3 for spheres) over
    `steps` steps, p = `Simulation.true_porosity`; then the stage holds until `hold_steps`
    more steps have passed (the packing settles)."""

    kind = "grow"

    def __init__(self, until_porosity, steps, hold_steps):
        super().__init__(steps + hold_steps)
        self.control = FixedGap()
        self.porosity = until_porosity
        self.grow_steps = max(int(steps), 1)
        self.s_end = None
        self.scale = 1.0

    @property
    def label(self) -> str:
        return f"grow to porosity {self.porosity:g}"

    def update(self, sim) -> None:
        super().update(sim)
        if self.s_end is None:
            solid = 1.0 - sim.true_porosity()
            self.s_end = ((1.0 - self.porosity) / solid) ** (1.0 / sim.dimension)
        if self.steps < self.grow_steps:
            s = 1.0 + (self.s_end - 1.0) * (self.steps + 1) / self.grow_steps
            f = s / self.scale
            self.scale = s
            ps = sim.particles
            ps.R0 *= f
            ps.R *= f
            sim._update_mass()

    def done(self, sim) -> bool:
        return self.steps >= self.max_steps

    def reached(self) -> bool:
        return self.s_end is not None and self.steps >= self.grow_steps

    def state(self):
        return {"steps": self.steps, "s_end": self.s_end, "scale": self.scale}

    def load_state(self, st):
        self.steps = st["steps"]
        self.s_end = st.get("s_end")
        self.scale = st.get("scale", 1.0)


class SpringStage(Stage):
    kind = "spring"

    def __init__(self, stiffness, preload, max_speed, steps):
        super().__init__(steps)
        self.stiffness, self.preload, self.max_speed = stiffness, preload, max_speed
        self.control = None
        self.target = preload

    @property
    def label(self) -> str:
        return f"spring {self.preload / 1e6:g} MPa"

    def stack_target(self, sim) -> float:
        """The fixture's stress (Pa); before its first step, the preload it starts at."""
        return self.preload if self.control is None else super().stack_target(sim)

    def update(self, sim) -> None:
        if self.control is None:  # the spring is set at the punch height where the stage starts
            self.control = SpringFixture(self.stiffness, self.preload, sim.box.z_top, self.max_speed)
        super().update(sim)

    def done(self, sim) -> bool:
        return self.steps >= self.max_steps

    def reached(self) -> bool:
        return True

    def block_pack(self, sim):
        return None if self.control is None else self._packed(sb.STAGE_COUNTED)

    def state(self):
        c = self.control
        return {"steps": self.steps, "z0": None if c is None else c.z0,
                "mean": None if c is None else c.mean,
                "integral": None if c is None else c.integral}

    def load_state(self, st):
        self.steps = st["steps"]
        if st["z0"] is not None:
            self.control = SpringFixture(self.stiffness, self.preload, st["z0"], self.max_speed)
            self.control.mean = st["mean"]
            self.control.integral = st.get("integral") or 0.0


def build_stages(scenario) -> list:
    """Stages of the scenario's [[pressing]] list, in SI."""
    out = []
    for s in scenario.pressing:
        if s.mode == "servo":
            out.append(ServoStage(s.si("pressure_MPa"), s.si("speed_m_per_s"), s.hold_steps,
                                  s.tolerance, s.max_steps))
        elif s.mode == "displacement_rate":
            out.append(DisplacementRateStage(s.si("speed_m_per_s"), s.si("pressure_MPa"), s.steps,
                                             s.max_steps, s.porosity))
        elif s.mode == "fixed_gap":
            out.append(FixedGapStage(s.steps))
        elif s.mode == "grow":
            out.append(GrowStage(s.porosity, s.steps, s.hold_steps))
        else:
            out.append(SpringStage(s.si("spring_stiffness_MPa_per_um"), s.si("spring_preload_MPa"),
                                   s.si("speed_m_per_s"), s.steps))
    cy, st = scenario.cycling, scenario.stack
    if cy.cycles > 0:
        out.append(CyclingStage(cy.cycles, cy.c_rate, cy.residual_lithiation,
                                cy.initial_lithiation, cy.steps_per_half_cycle, cy.si("rest_h"),
                                (st.mode, st.si("pressure_MPa"),
                                 st.si("spring_stiffness_MPa_per_um"), st.si("speed_m_per_s")),
                                cy.lithiation_rule, st.stress_free_start,
                                cy.inertial_number_target))
    return out


def finish_stage(sim, st) -> None:
    """Stage `st` is done: record its result (sim.stage_results: the observables at its
    end, whether it reached its target), go on to the next stage, punch stopped."""
    row = observables(sim)
    res = {"stage": st.label, "mode": st.kind, "target_pressure_Pa": st.target,
           "reached": st.reached(),
           "step": sim.step_count, "time_s": sim.time, "porosity": row["porosity"],
           "thickness_m": row["thickness_m"], "punch_stress_Pa": row["punch_stress_Pa"],
           "coordination": row["coordination"]}
    sim.stage_results.append(res)
    sim.stage_index += 1
    sim.box.punch_velocity = 0.0


def half_cycle_end(sim, cycle: int, half: str) -> None:
    """Record one cycles.csv row (sim.cycle_rows) and run the half-cycle observers."""
    row = observables(sim)
    row = {"cycle": cycle, "half": half, **row}
    sim.cycle_rows.append(row)
    for fn in sim.half_cycle_observers:
        fn(sim, row)


class UniformLithiation:
    """Baseline lithiation rule: every active particle carries the same c, which
    moves at the C-rate (c per hour of physical time): the whole particle is reached."""

    name = "uniform"

    def __init__(self, sim=None):
        pass

    def begin_half(self, sim, stage) -> None:
        """Called before the first lithiation step of each half-cycle."""

    def apply(self, sim, stage) -> None:
        ps = sim.particles
        act = sim.active_material[ps.material]
        ps.lithiation[act] = stage.c


class ContactLimitedLithiation:
    """Lithiation limited by electrochemical access (dempack.physics.access; issue 16).

    At the start of each half-cycle (and every ``cycling.access_update_steps`` steps of it,
    0 = only at its start) every active particle i gets its reachable fraction f_i: the share
    of its volume within L_D = √(D t_half) of its source contacts (a contact-patch model with a
    closed form; D the material's ``lithium_diffusivity_m2_s``, t_half = 1 / C-rate the duration
    of a full half-cycle at the protocol's rate, the same on discharge and charge, so that what a
    discharge lithiated the charge can empty through the same contacts). With s_i its lithiation at the half-cycle's start, it heads for
        discharge:  e_i = max(s_i, f_i)                 (the reached volume lithiates fully)
        charge:     e_i = s_i − (1 − c_res) min(s_i, f_i)  (the reached lithiated volume gives
                                                          back all but the residual c_res)
    following the protocol's progress φ (0 → 1 over the half-cycle) as
        c_i ← c_i + (e_i − c_i) (φ − φ_prev) / (1 − φ_prev),
    i.e. c_i = s_i + φ (e_i − s_i) while e_i is fixed, reaching e_i exactly at φ = 1 and
    without a jump where a refresh moves e_i. With f_i = 1 this is the uniform rule's 0 → 1 →
    c_res. What is not reached neither lithiates nor swells (V = V0 (1 + β c_i) with the
    particle's own c_i). The cell's delivered capacity over theoretical is the V0-weighted mean
    of |c_i − s_i| (``capacity_fraction:M``); ``utilisation:M`` is the V0-weighted mean f_i.
    """

    name = "contact_limited"

    def __init__(self, sim):
        self.D = np.zeros(len(sim.materials))
        for k, m in enumerate(sim.materials):
            if not m.active or (m.electron_conductor and m.ion_conductor):
                continue  # not lithiated, or a mixed conductor: reached through its volume
            if m.lithium_diffusivity is None:
                raise ValueError(
                    f"cycling.lithiation_rule = 'contact_limited': active material {m.name!r} "
                    "has no lithium_diffusivity_m2_s in the material table "
                    "(assets/materials.toml): add it with its source, or use "
                    "lithiation_rule = 'uniform'")
            self.D[k] = m.lithium_diffusivity
        self.every = sim.scenario.cycling.access_update_steps
        self.steps_in_half = 0

    def evaluate(self, sim, stage) -> None:
        """f_i of every particle for the current half-cycle (ParticleState.reachable)."""
        from .physics.access import reachable_fractions
        ps = sim.particles
        t_half = 3600.0 / stage.c_rate   # a full half-cycle at the C-rate (class docstring)
        L = np.sqrt(self.D[ps.material] * t_half)
        f = reachable_fractions(sim, L)
        act = sim.active_material[ps.material]
        ps.reachable[act] = f[act]

    def begin_half(self, sim, stage) -> None:
        self.steps_in_half = 0
        self.evaluate(sim, stage)

    def apply(self, sim, stage) -> None:
        ps = sim.particles
        if self.every and self.steps_in_half and self.steps_in_half % self.every == 0:
            self.evaluate(sim, stage)
        self.steps_in_half += 1
        act = sim.active_material[ps.material]
        s = ps.lithiation_start[act]
        f = ps.reachable[act]
        if stage.half % 2 == 0:
            e = np.maximum(s, f)
        else:
            e = s - (1.0 - stage.c_res) * np.minimum(s, f)
        lo = stage.fraction(stage._c_before)
        end = (stage.c >= 1.0) if stage.half % 2 == 0 else (stage.c <= stage.c_res)
        hi = 1.0 if end else stage.fraction(stage.c)
        c = ps.lithiation[act]
        if end or lo >= 1.0:
            ps.lithiation[act] = e
        else:
            ps.lithiation[act] = c + (e - c) * ((hi - lo) / (1.0 - lo))

    def state(self) -> dict:
        return {"steps_in_half": self.steps_in_half}

    def load_state(self, st: dict) -> None:
        self.steps_in_half = st.get("steps_in_half", 0)


LITHIATION_RULES = {"uniform": UniformLithiation, "contact_limited": ContactLimitedLithiation}


QUASI_STATIC_MIN_STRESS = 1e6  # Pa: the stress the quasi-static rule assumes at least (a
# stress-free start in a fixed box would otherwise ask for an infinitely slow swelling)


def quasi_static_step(inertial_target, strain_per_c, d, rho, p, dt):
    """The lithiation step dc per DEM step that keeps the inertial number at its target:
    I = γ̇ d √(ρ/p) with γ̇ = strain_per_c · dc/dt: under a moving punch, the volumetric
    swelling rate of the solid, Σ V_i β_i / Σ V_i per unit lithiation (a die holds the
    sides, so the stack thickens by the solid's volume change, less what the pores take
    up: an upper bound on the punch's strain rate); under a held punch the free linear
    swelling of the fastest-swelling active material, β/3 (as `observe.inertial_number`
    measures it), so
        dc = I · dt / (strain_per_c · d · √(ρ/p))
    (GDR MiDi 2004, doi:10.1140/epje/i2003-10153-0; DESIGN §10: the run is quasi-static
    by construction, and as slow as the bound needs, no slower). At least 100 steps per
    half-cycle and at most 1e8."""
    if strain_per_c <= 0.0:
        return 0.01
    dc = inertial_target * dt / (strain_per_c * d * math.sqrt(rho / p))
    return min(max(dc, 1e-8), 0.01)


class CyclingStage(Stage):
    """Hold the stack (servo or spring) while the active particles lithiate
    (discharge, c → 1) and delithiate (charge, c → c_res), `cycles` times.

    Two clocks: each DEM step carries dt_phys = 3600 / (C-rate · steps_per_half)
    seconds of physical time, so a full 0 → 1 half-cycle takes steps_per_half
    steps; c changes by 1/steps_per_half per step. At each half-cycle end the
    simulation's half-cycle observers run (cycles.csv).

    Each step appends a `Progress` to `sim.protocol_events`: the fraction of the current
    half-cycle, f = (c - c_start)/(1 - c_start) on discharge (c_start = c0 for the first,
    the residual lithiation after) and f = (1 - c)/(1 - c_res) on charge, before and after
    the step; a half-cycle's start (f = 0) is the state after the step that ended the
    stage or half-cycle (or rest) before it (`dempack.pipeline.SnapshotAtFractions`).
    """

    kind = "cycling"

    def __init__(self, cycles, c_rate, c_res, c0, steps_per_half, rest_s, stack, rule="uniform",
                 stress_free_start=False, inertial_target=0.0):
        """stack = (mode, pressure, stiffness, max_speed): how the stack is held while
        cycling (`stack.mode`: servo, spring, fixed_gap, fixed_box), its target pressure or
        the spring's preload (Pa), the spring's stiffness (Pa/m) and the punch's largest
        speed (m/s). inertial_target > 0: the lithiation step follows the quasi-static
        rule (`quasi_static_step`), steps_per_half only sets the first steps."""
        stack_mode, pressure, stiffness, max_speed = stack
        super().__init__(max_steps=0)
        self.stress_free_start = stress_free_start
        self.cycles, self.c_rate, self.c_res = cycles, c_rate, c_res
        self.steps_per_half = steps_per_half
        self.dt_phys = 3600.0 / (c_rate * steps_per_half)
        self.dc = 1.0 / steps_per_half
        self.rest_s = rest_s
        self.rest_steps = int(round(rest_s / self.dt_phys))
        self.inertial_target = inertial_target
        self._packing = None   # (strain per c, d, ρ) of the quasi-static rule (_adapt)
        self._window = None    # (half, punch z, c) at the start of the current half-cycle
        self._speed_ratio = 1.0  # the punch's strain / the rule's solid swelling (_adapt)
        self.stack_mode, self.target, self.stiffness, self.max_speed = (stack_mode, pressure,
                                                                         stiffness, max_speed)
        self.rule_name = rule
        self.rule = None       # built by bind(sim), which the Simulation calls once built
        self.rule_half = -1    # the half-cycle whose start the rule has seen (begin_half)
        self.c0 = c0
        self.c = c0
        self._c_before = c0
        self.half = 0          # index of the current half-cycle (0 = first discharge)
        self.rest_left = 0
        self.control = None
        self.started = False

    @property
    def label(self) -> str:
        if self.done(None):
            return "cycling done"
        what = "rest" if self.rest_left > 0 else self.half_name
        return f"cycle {self.cycle} {what}"

    @property
    def cycle(self) -> int:
        return self.half // 2 + 1

    @property
    def half_name(self) -> str:
        return "discharge" if self.half % 2 == 0 else "charge"

    def _make_control(self, z0):
        if self.stack_mode == "spring":
            return SpringFixture(self.stiffness, self.target, z0, self.max_speed)
        if self.stack_mode in ("fixed_gap", "fixed_box"):
            return FixedGap()
        return StackServo(self.target, self.max_speed)

    def bind(self, sim) -> None:
        """Build the lithiation rule for this Simulation (its materials: a rule that needs
        a material key raises here, before the run starts)."""
        if self.rule_name not in LITHIATION_RULES:
            raise ValueError(f"cycling.lithiation_rule = {self.rule_name!r}: must be one of "
                             f"{', '.join(LITHIATION_RULES)}")
        self.rule = LITHIATION_RULES[self.rule_name](sim)

    def stack_target(self, sim) -> float:
        """The control's target (Pa); before the first step of cycling, the one it will
        start at (the servo's target, the spring's preload at h = h0); NaN in a fixed gap."""
        if self.control is None:
            return self.target if self.stack_mode in ("servo", "spring") else math.nan
        return super().stack_target(sim)

    def _start(self, sim):
        self.control = self._make_control(sim.box.z_top)
        if self.stress_free_start:
            sim.make_stress_free()
        if sim.reference_thickness is None:
            sim.reference_thickness = sim.box.z_top
        self.started = True

    def _span(self) -> float:
        """Lithiation change over the whole current half-cycle."""
        if self.half % 2 == 0:
            return 1.0 - (self.c0 if self.half == 0 else self.c_res)
        return 1.0 - self.c_res

    def fraction(self, c: float) -> float:
        """Fraction of the current half-cycle done at lithiation c (class docstring)."""
        span = self._span()
        if span <= 0.0:
            return 1.0
        return (c - (1.0 - span)) / span if self.half % 2 == 0 else (1.0 - c) / span

    def _begins(self, sim) -> None:
        """The state after this step is the start (fraction 0) of half-cycle self.half."""
        if not self.done(sim):
            sim.protocol_events.append(Progress(self.half, -1.0, 0.0, 0.0))

    def begin(self, sim) -> None:
        self._begins(sim)

    def update(self, sim) -> None:
        if not self.started:
            self._start(sim)
        sim.box.punch_velocity = self.control.velocity(sim.last_punch_stress, sim.box.z_top)
        if self.rest_left > 0:
            return
        if self.rule_half != self.half:  # the half-cycle's first lithiation step
            self.rule_half = self.half
            sim.particles.lithiation_start[:] = sim.particles.lithiation
            self.rule.begin_half(sim, self)
        if self.inertial_target > 0.0:
            self._adapt(sim)
        self._c_before = self.c
        if self.half % 2 == 0:
            self.c = min(1.0, self.c + self.dc)
        else:
            self.c = max(self.c_res, self.c - self.dc)
        self.rule.apply(sim, self)

    ADAPT_EVERY = 100  # steps between two evaluations of the packing's size and density

    def _adapt(self, sim) -> None:
        """Set the lithiation step from the quasi-static rule (`quasi_static_step`) at the
        current stack stress; the physical time per step follows, dt_phys = 3600 dc/C.

        Under a moving punch the rule's strain per unit lithiation (the solid's swelling, a
        bound that ignores the pores) is corrected by what the punch did in this half-cycle
        so far: k = (|Δz|/h) / (strain · |Δc|) once |Δc| ≥ 0.05 (before, k = 1), kept in
        [1/4, 4]; a creeping electrode that closes pores moves faster than it swells (k > 1),
        one whose pores take up the swelling slower (k < 1)."""
        ps = sim.particles
        if self._packing is None or self.steps % self.ADAPT_EVERY == 0:
            vol = particle_volume(ps.R, sim.dimension)
            rho = float(np.sum(ps.mass) / np.sum(vol))
            beta = sim.swelling[ps.material] * sim.active_material[ps.material]
            moving = self.stack_mode in ("servo", "spring")
            if moving:  # the punch follows the solid's volume change (a die holds the sides)
                strain = float(np.sum(vol * beta) / np.sum(vol))
            else:  # a held punch: the particles' free linear swelling (observe.inertial_number)
                strain = float(np.max(beta, initial=0.0)) / 3.0
            if self._window is None or self._window[0] != self.half:
                self._window = (self.half, sim.box.z_top, self.c)
            elif moving:
                _, z0, c0 = self._window
                if abs(self.c - c0) >= 0.05 and strain > 0.0:
                    k = abs(sim.box.z_top - z0) / sim.box.z_top / (strain * abs(self.c - c0))
                    self._speed_ratio = min(max(k, 0.25), 4.0)
            self._packing = (strain, 2.0 * float(np.mean(ps.R)), rho)
        if self._window is not None and self._window[0] == self.half and abs(
                self.c - self._window[2]) < 0.05:
            self._speed_ratio = 1.0
        target = self.target if self.stack_mode in ("servo", "spring") else 0.0
        # the stack stress, smoothed where the control keeps a running mean (the servo)
        mean = getattr(self.control, "mean", None)
        p = max(sim.last_punch_stress if mean is None else mean, 0.5 * target,
                QUASI_STATIC_MIN_STRESS)
        strain, d, rho = self._packing
        self.dc = quasi_static_step(self.inertial_target, strain * self._speed_ratio, d, rho, p,
                                    sim.dt)
        self.dt_phys = 3600.0 * self.dc / self.c_rate

    def _progress(self, end: bool) -> Progress:
        """The step's Progress: fraction 1 only at the step that ends the half-cycle (c
        summed step by step may come within round-off of its bound a step earlier)."""
        span = self._span()
        tol = 1e-6 * self.dc / span if span > 0.0 else 0.0
        below_end = 1.0 - 2.0 * tol
        lo = min(self.fraction(self._c_before), below_end)
        hi = 1.0 if end else min(self.fraction(self.c), below_end)
        return Progress(self.half, lo, hi, tol)

    def after_step(self, sim) -> None:
        self.steps += 1
        if self.rest_left > 0:
            self.rest_left -= 1
            if self.rest_left == 0:
                self.half += 1
                self._begins(sim)
            return
        end = (self.c >= 1.0) if self.half % 2 == 0 else (self.c <= self.c_res)
        sim.protocol_events.append(self._progress(end))
        if end:
            self._end_half(sim)

    def _end_half(self, sim) -> None:
        """The half-cycle's end: its cycles.csv row, then a rest or the next half-cycle."""
        sim.half_cycle_end(self.cycle, self.half_name)
        self.rest_steps = int(round(self.rest_s / self.dt_phys))
        if self.rest_steps > 0:
            self.rest_left = self.rest_steps
        else:
            self.half += 1
            self._begins(sim)
        # the swelling rate reverses (or stops for the rest): so does the punch speed the
        # stack control has learned (boundary.StackServo)
        if hasattr(self.control, "integral"):
            if self.rest_steps > 0:
                self.control.integral = 0.0
            else:
                self.control.reverse()

    def done(self, sim) -> bool:
        return self.half >= 2 * self.cycles

    def reached(self) -> bool:
        return True

    def block_pack(self, sim):
        """Plain cycling steps: started, lithiating (no rest), past the half-cycle's first
        lithiation step, at a fixed lithiation step, by the uniform rule."""
        if (not self.started or self.rest_left > 0 or self.rule_half != self.half
                or self.inertial_target > 0.0 or not isinstance(self.rule, UniformLithiation)
                or self.done(sim)):
            return None
        a = self._packed(sb.STAGE_CYCLING)
        a[sb.S_C] = self.c
        a[sb.S_DC] = self.dc
        a[sb.S_C_RES] = self.c_res
        a[sb.S_DISCHARGE] = 1.0 if self.half % 2 == 0 else 0.0
        a[sb.S_C_BEFORE] = self._c_before
        a[sb.S_STOP_C] = self._snapshot_stop(sim)
        return a

    def _snapshot_stop(self, sim) -> float:
        """The lithiation at which a block stops short (`dempack.stepblock`): one step
        before the next fraction of `run.snapshot_at_half_cycle_fractions` that this
        half-cycle has not yet passed (the step that reaches it runs in Python, where
        `pipeline.SnapshotAtFractions` sees its Progress); out of reach if none."""
        discharge = self.half % 2 == 0
        span = self._span()
        now = self.fraction(self.c)
        ahead = [f for f in sim.scenario.run.snapshot_at_half_cycle_fractions if now < f < 1.0]
        if not ahead or span <= 0.0:
            return 2.0 if discharge else -1.0
        f = min(ahead)
        if discharge:
            return (1.0 - span) + f * span - self.dc
        return 1.0 - f * span + self.dc

    def block_unpack(self, sim, a, steps):
        self.steps = int(a[sb.S_STEPS])
        self.c = float(a[sb.S_C])
        self._c_before = float(a[sb.S_C_BEFORE])
        self.rule.apply(sim, self)  # the uniform rule: every active particle at c

    def state(self):
        c = self.control
        return {"steps": self.steps, "c": self.c, "half": self.half, "rest_left": self.rest_left,
                "started": self.started, "mean": getattr(c, "mean", None),
                "z0": getattr(c, "z0", None), "integral": getattr(c, "integral", None),
                "rule_half": self.rule_half, "dc": self.dc, "rest_steps": self.rest_steps,
                "speed_ratio": self._speed_ratio, "window": self._window,
                "packing": self._packing,
                "rule": self.rule.state() if hasattr(self.rule, "state") else {}}

    def load_state(self, st):
        self.steps, self.c, self.half = st["steps"], st["c"], st["half"]
        self.rest_left, self.started = st["rest_left"], st["started"]
        # the quasi-static rule's step (older checkpoints: the fixed step of the scenario)
        self.dc = st.get("dc", self.dc)
        self.dt_phys = 3600.0 * self.dc / self.c_rate
        self.rest_steps = st.get("rest_steps", self.rest_steps)
        self._speed_ratio = st.get("speed_ratio", 1.0)
        self._window = tuple(st["window"]) if st.get("window") else None
        self._packing = tuple(st["packing"]) if st.get("packing") else None
        # older checkpoints: the current half-cycle has begun (its start state is not known)
        self.rule_half = st.get("rule_half", self.half if self.started else -1)
        if hasattr(self.rule, "load_state"):
            self.rule.load_state(st.get("rule") or {})
        if self.started:
            self.control = self._make_control(st["z0"])
            self.control.mean = st["mean"]
            if hasattr(self.control, "integral"):
                self.control.integral = st.get("integral") or 0.0
