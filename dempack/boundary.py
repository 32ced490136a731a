"""Punch control: the top punch's updaters.

Each step a controller's `velocity(stress, z_top)` returns the punch velocity (m/s,
negative = pressing down) from the measured punch stress (Pa, compressive positive).
The die itself (box, walls, periodicity) is `dempack.geometry`.
"""
from __future__ import annotations


class DisplacementRate:
    """Punch moves at a fixed speed (m/s, > 0 = down)."""

    def __init__(self, speed: float):
        self.speed = speed

    def velocity(self, stress: float, z_top: float) -> float:
        return -self.speed


class FixedGap:
    """Punch held still (a fixed-gap cell)."""

    mean = None

    def velocity(self, stress: float, z_top: float) -> float:
        return 0.0


class StressServo:
    """Punch stress servo to a target (Pa).

    v = −v_max · clip((σ_t − σ̄)/(b σ_t), −1, 1), with σ̄ an exponential running
    mean of the punch stress over `smoothing` steps and b the proportional band:
    full speed far from the target, proportional near it. The band and
    smoothing keep the servo slower than the sound transit through the bed,
    so it does not ring.
    """

    def __init__(self, target: float, max_speed: float, band: float = 0.25,
                 smoothing: int = 200):
        self.target = target
        self.max_speed = max_speed
        self.band = band
        self.alpha = 1.0 / max(1, smoothing)
        self.mean = None

    def target_at(self, z_top: float) -> float:
        return self.target

    def velocity(self, stress: float, z_top: float) -> float:
        self.mean = stress if self.mean is None else self.mean + self.alpha * (stress - self.mean)
        t = self.target_at(z_top)
        e = (t - self.mean) / (self.band * t)
        return -self.max_speed * min(1.0, max(-1.0, e))

    def state(self):
        return {"mean": self.mean}

    def load_state(self, st):
        self.mean = st["mean"]


class SpringFixture(StressServo):
    """A screwed cell: the stack is held by a spring of stiffness k (Pa/m, per
    punch area) and preload p0 (Pa) set at punch height z0; the target stress
    follows the punch: σ_t(z) = p0 + k (z0 − z)."""

    def __init__(self, stiffness: float, preload: float, z0: float, max_speed: float, **kw):
        super().__init__(preload, max_speed, **kw)
        self.stiffness = stiffness
        self.preload = preload
        self.z0 = z0

    def target_at(self, z_top: float) -> float:
        return max(self.preload + self.stiffness * (self.z0 - z_top), 1.0)
