"""Die geometry and punch control.

The die is the box [0, Lx] × [0, Ly] × [0, z_top]: a fixed bottom plate at
z = 0 (current-collector side), a top punch at z_top (separator side) and
either four frictional side walls or lateral periodic boundaries (RVE mode).
Only this module and the kernels' minimum-image lines know about periodicity.

Punch controllers are updaters: each step `velocity(stress, z_top)` returns
the punch velocity (m/s, negative = pressing down) from the measured punch
stress (Pa, compressive positive).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numba import njit

from .state import N_WALLS

# inward unit normals of the wall slots (bottom, top punch, x lo, x hi, y lo, y hi)
WALL_NORMALS = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0],
                         [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])


@njit(cache=True, inline="always")
def separation(x, i, j, L, periodic_xy):
    """Vector from particle i to particle j (m), minimum image in x and y when periodic."""
    dx = x[j, 0] - x[i, 0]
    dy = x[j, 1] - x[i, 1]
    dz = x[j, 2] - x[i, 2]
    if periodic_xy:
        dx -= L[0] * np.rint(dx / L[0])
        dy -= L[1] * np.rint(dy / L[1])
    return dx, dy, dz


@njit(cache=True, inline="always")
def cap_volume(R, h):
    """Volume (m³) of the cap of height h cut from a sphere of radius R:
    π h² (3R − h)/3, h clipped to [0, 2R]."""
    if h <= 0.0:
        return 0.0
    if h > 2.0 * R:
        h = 2.0 * R
    return math.pi * h * h * (3.0 * R - h) / 3.0


@njit(cache=True, inline="always")
def wall_gap(x, i, k, wall_pos):
    """Distance (m) from particle i's centre to wall slot k, positive inside the die
    (wall_pos: bottom z, top z, x lo, x hi, y lo, y hi)."""
    if k == 0:
        return x[i, 2] - wall_pos[0]
    if k == 1:
        return wall_pos[1] - x[i, 2]
    if k == 2:
        return x[i, 0] - wall_pos[2]
    if k == 3:
        return wall_pos[3] - x[i, 0]
    if k == 4:
        return x[i, 1] - wall_pos[4]
    return wall_pos[5] - x[i, 1]


@dataclass
class Box:
    """L (3,) m: Lx, Ly (Lz unused); periodic_xy; z_top m punch height;
    punch_velocity m/s (negative = down)."""

    L: np.ndarray
    periodic_xy: bool
    z_top: float
    punch_velocity: float = 0.0

    @property
    def area(self) -> float:
        """Punch area Lx·Ly (m²)."""
        return float(self.L[0] * self.L[1])

    def wall_arrays(self):
        pos = np.array([0.0, self.z_top, 0.0, self.L[0], 0.0, self.L[1]])
        vel = np.array([0.0, self.punch_velocity])
        on = np.ones(N_WALLS, np.bool_)
        if self.periodic_xy:
            on[2:] = False
        return pos, vel, on


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
