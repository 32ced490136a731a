"""Punch control: the top punch's updaters.

Each step a controller's `velocity(stress, z_top)` returns the punch velocity (m/s,
negative = pressing down) from the measured punch stress (Pa, compressive positive).
Controllers with a stress target say it at the punch height z_top: `target_at(z_top)`
(Pa; the stack_target_Pa column).
The die itself (box, walls, periodicity) is `dempack.geometry`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# The packed controller (float64 array of CONTROL_FIELDS) that `punch_velocity` reads and
# updates: the one formula of every control law, called per step from Python
# (`velocity`) and inside numba's blocks of steps (`dempack.stepblock`).
(C_KIND, C_TARGET, C_MAX_SPEED, C_BAND, C_ALPHA, C_INTEGRAL_STEPS, C_STIFFNESS, C_PRELOAD, C_Z0,
 C_MEAN, C_INTEGRAL, C_HAS_MEAN) = range(12)
CONTROL_FIELDS = 12
KIND_FIXED, KIND_RATE, KIND_SERVO, KIND_STACK, KIND_SPRING = range(5)


@njit(cache=True, nogil=True)
def punch_velocity(ctl, stress, z_top):
    """Punch velocity (m/s) of the packed controller ctl at punch stress `stress` (Pa) and
    height z_top (m); updates its running mean and integral in place (the laws are in the
    class docstrings below: FixedGap, DisplacementRate, StressServo, StackServo,
    SpringFixture)."""
    kind = int(ctl[C_KIND])
    if kind == KIND_FIXED:
        return 0.0
    if kind == KIND_RATE:
        return -ctl[C_MAX_SPEED]
    if ctl[C_HAS_MEAN] != 0.0:
        mean = ctl[C_MEAN] + ctl[C_ALPHA] * (stress - ctl[C_MEAN])
    else:
        mean = stress
    ctl[C_MEAN] = mean
    ctl[C_HAS_MEAN] = 1.0
    t = ctl[C_TARGET]
    if kind == KIND_SPRING:
        t = max(ctl[C_PRELOAD] + ctl[C_STIFFNESS] * (z_top - ctl[C_Z0]), 1.0)
    e = (t - mean) / (ctl[C_BAND] * t)
    if kind == KIND_SERVO:
        return -ctl[C_MAX_SPEED] * min(1.0, max(-1.0, e))
    integral = min(1.0, max(-1.0, ctl[C_INTEGRAL] + e / ctl[C_INTEGRAL_STEPS]))
    ctl[C_INTEGRAL] = integral
    return -ctl[C_MAX_SPEED] * min(1.0, max(-1.0, e + integral))


class Control:
    """A punch controller: its parameters and state as attributes (read by the stages, the
    observables and the checkpoints), packed for `punch_velocity` (`pack`, `unpack`)."""

    kind = KIND_FIXED
    mean = None

    def pack(self) -> np.ndarray:
        """The packed controller (float64 array of CONTROL_FIELDS)."""
        a = np.zeros(CONTROL_FIELDS)
        a[C_KIND] = self.kind
        for field, name in ((C_TARGET, "target"), (C_MAX_SPEED, "max_speed"), (C_BAND, "band"),
                            (C_ALPHA, "alpha"), (C_INTEGRAL_STEPS, "integral_steps"),
                            (C_STIFFNESS, "stiffness"), (C_PRELOAD, "preload"), (C_Z0, "z0"),
                            (C_INTEGRAL, "integral")):
            a[field] = getattr(self, name, 0.0)
        if self.mean is not None:
            a[C_MEAN] = self.mean
            a[C_HAS_MEAN] = 1.0
        return a

    def unpack(self, a: np.ndarray) -> None:
        """Take back the state `punch_velocity` changed (running mean, integral)."""
        if a[C_HAS_MEAN] != 0.0:
            self.mean = float(a[C_MEAN])
        if hasattr(self, "integral"):
            self.integral = float(a[C_INTEGRAL])

    def velocity(self, stress: float, z_top: float) -> float:
        """Punch velocity (m/s) at punch stress `stress` (Pa) and height z_top (m)."""
        a = self.pack()
        v = punch_velocity(a, stress, z_top)
        self.unpack(a)
        return v


class DisplacementRate(Control):
    """Punch moves at a fixed speed (m/s, > 0 = down): v = −speed."""

    kind = KIND_RATE

    def __init__(self, speed: float):
        self.speed = speed

    @property
    def max_speed(self) -> float:
        return self.speed


class FixedGap(Control):
    """Punch held still (a fixed-gap cell): v = 0."""

    kind = KIND_FIXED


class StressServo(Control):
    """Punch stress servo to a target (Pa).

    v = −v_max · clip((σ_t − σ̄)/(b σ_t), −1, 1), with σ̄ an exponential running
    mean of the punch stress over `smoothing` steps and b the proportional band:
    full speed far from the target, proportional near it. The band and
    smoothing keep the servo slower than the sound transit through the bed,
    so it does not ring.
    """

    kind = KIND_SERVO

    def __init__(self, target: float, max_speed: float, band: float = 0.25,
                 smoothing: int = 200):
        self.target = target
        self.max_speed = max_speed
        self.band = band
        self.alpha = 1.0 / max(1, smoothing)
        self.mean = None

    def target_at(self, z_top: float) -> float:
        return self.target

    def state(self):
        return {"mean": self.mean}

    def load_state(self, st):
        self.mean = st["mean"]


class StackServo(StressServo):
    """Stack-pressure servo while cycling: a proportional-integral (PI) controller.

    e = (σ_t − σ̄)/(b σ_t),  I ← clip(I + e/N_i, −1, 1),  v = −v_max · clip(e + I, −1, 1),
    σ̄ the running mean of StressServo, b the proportional band, N_i the integral time
    (steps). A proportional servo follows a bed that swells at a steady rate with the lag
    e = v/v_max (the punch only moves while the stress is off its target: at 2.3 m/s of
    5 m/s, 12 % of the target); the integral term learns the speed the swelling needs, so
    the lag decays to zero with the integral time (Åström & Murray, Feedback Systems,
    2008, §10.1). The clip on I is the anti-windup: it never asks for more than v_max.
    N_i is several times the closed loop's time constant (b σ_t /(v_max K dt) steps, K the
    bed stiffness per area, ~100 steps for the Se–Mo6Se8 bed) and well below a
    half-cycle, so the loop does not ring and the lag is gone long before a half-cycle end.
    At a half-cycle end the stage calls `reverse()` (the current, so the needed speed,
    reverses) and, before a rest, zeroes I (nothing lithiates: the stack is still).
    The pressing servo (StressServo) is unchanged.
    """

    kind = KIND_STACK

    def __init__(self, target: float, max_speed: float, integral_steps: float = 1000.0, **kw):
        super().__init__(target, max_speed, **kw)
        self.integral_steps = integral_steps
        self.integral = 0.0

    def reverse(self) -> None:
        """The lithiation current reversed (a half-cycle end): the swelling rate, and with it
        the punch speed it needs, flips sign; so does the learned speed (feed-forward), so
        that the proportional term does not have to make up twice that speed."""
        self.integral = -self.integral

    def state(self):
        return {"mean": self.mean, "integral": self.integral}

    def load_state(self, st):
        self.mean = st["mean"]
        self.integral = st.get("integral", 0.0)


class SpringFixture(StackServo):
    """A screwed cell: the stack is held by a spring of stiffness k (Pa/m, per punch
    area) with preload p0 (Pa) set where the electrode's thickness is h0; as the
    electrode thickens the spring is compressed further and its stress rises:

        σ(h) = p0 + k (h − h0),  h = z_top (the electrode thickness, bottom plate at 0).

    The punch is driven to that stress by the PI loop of StackServo (the law is the
    servo's moving target), so the punch stress follows the fixture's law. A fixture
    that the electrode has left (σ would fall below 1 Pa) holds 1 Pa.

    Default stiffness (scenario `stack.spring_stiffness_MPa_per_um` = 1.6), a documented
    estimate for the study's screw-and-nut lab cell (Xiong 2024, doi:10.1038/s41467-024-48174-8,
    ~100 MPa preload from screws on a 10 mm pellet; assumed geometry), three steel
    parts in series (E = 200 GPa), per cell area A = π (5 mm)² = 7.85e-5 m²:
      screws, 4 × M6 (stress area 20.1 mm²), 30 mm free length:
          k_s = n E A_s / L = 4 · 200e9 · 20.1e-6 / 0.030 = 5.36e8 N/m
      two pistons Ø10 mm × 15 mm in series:  k_p = E A / (2 L) = 200e9 · 7.85e-5 / 0.030
          = 5.24e8 N/m
      two frame plates 40 mm wide × 10 mm thick, 40 mm between screws, centre-loaded
          beams (48 E I / L³, I = b t³/12 = 3.33e-9 m⁴): 5.0e8 N/m each, 2.5e8 N/m both
      in series: 1/k = 1/5.36e8 + 1/5.24e8 + 1/2.5e8 → k = 1.29e8 N/m;
      per area: k / A = 1.29e8 / 7.85e-5 = 1.64e12 Pa/m ≈ 1.6 MPa/µm.
    Softer parts in the load path (the In–Li anode, a load cell, disc springs) lower it.
    Δh is the simulated electrode's: an RVE thinner than the real electrode sees the same
    strain but a smaller Δh, so its stress change is that of the real cell × h_RVE/H.
    """

    kind = KIND_SPRING

    def __init__(self, stiffness: float, preload: float, z0: float, max_speed: float, **kw):
        super().__init__(preload, max_speed, **kw)
        self.stiffness = stiffness
        self.preload = preload
        self.z0 = z0

    def target_at(self, z_top: float) -> float:
        return max(self.preload + self.stiffness * (z_top - self.z0), 1.0)
