"""Geometry of the die: the box, its wall slots, the periodic minimum image and
distances. The only module that knows about periodicity.

The die is the box [0, Lx] × [0, Ly] × [0, z_top] (m): a fixed bottom plate at z = 0
(current-collector side), a top punch at z_top (separator side) and either four
frictional side walls or lateral periodic boundaries (RVE mode). Positions in a
periodic direction are kept in [0, L) (`wrap`), so a coordinate difference is in
(−L, L) and its minimum image is one subtraction (`min_image`).

Numba kernels call the scalar `min_image`/`wrap`/`separation`/`wall_gap`; numpy code
calls `minimum_image` (a Box) or `lateral_minimum_image` (the periods alone) on (P, d)
arrays of differences, which applies the same `min_image` per component. Wall slots (bottom, top punch, x lo, x hi, y lo, y hi)
index the per-particle wall arrays of `dempack.state`.
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
def min_image(d, L):
    """Minimum image of a coordinate difference d (m) on a period L (m), for |d| < 1.5 L
    (positions are kept in [0, L), so |d| < L)."""
    if d > 0.5 * L:
        return d - L
    if d < -0.5 * L:
        return d + L
    return d


@njit(cache=True, inline="always")
def wrap(px, L):
    """Coordinate back into [0, L) after a step (moves are far below L)."""
    if px < 0.0:
        return px + L
    if px >= L:
        return px - L
    return px


@njit(cache=True, inline="always")
def separation(x, i, j, L, periodic_xy):
    """Vector from particle i to particle j (m), minimum image in x and y when periodic."""
    dx = x[j, 0] - x[i, 0]
    dy = x[j, 1] - x[i, 1]
    dz = x[j, 2] - x[i, 2]
    if periodic_xy:
        dx = min_image(dx, L[0])
        dy = min_image(dy, L[1])
    return dx, dy, dz


@njit(cache=True)
def _min_image_rows(d, L):
    n, k = d.shape
    for p in range(n):
        for c in range(k):
            d[p, c] = min_image(d[p, c], L[c])


def minimum_image(d, box: "Box"):
    """Coordinate differences d (..., 3) m, in place, to their minimum image in the
    box's periodic directions (x and y when `box.periodic_xy`); returns d."""
    if box.periodic_xy:
        lateral_minimum_image(d, box.L)
    return d


def lateral_minimum_image(d, L):
    """Coordinate differences d (..., k ≥ 2) m, in place, to their minimum image in x and y
    on the periods L[0], L[1] (m) (`min_image` per component, |d| < 1.5 L); returns d."""
    rows = d.reshape(-1, d.shape[-1])
    _min_image_rows(rows[:, :2], np.ascontiguousarray(L[:2], dtype=np.float64))
    if not np.shares_memory(rows, d):  # a non-contiguous d was copied by reshape
        d[...] = rows.reshape(d.shape)
    return d


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
def segment_area(R, l):
    """Area (m²) of the circular segment cut from a disk of radius R by a chord at signed
    distance l from its centre (the part beyond the chord): R² θ − l w, half-chord
    w = √((R − l)(R + l)), half-angle θ = atan2(w, l) (= acos(l/R), but consistent with w
    for l → R, where acos of a rounded l/R loses half the digits); l clipped to [−R, R]
    (0 for l ≥ R, the whole disk π R² for l ≤ −R)."""
    if l >= R:
        return 0.0
    if l <= -R:
        return math.pi * R * R
    w = math.sqrt((R - l) * (R + l))
    return R * R * math.atan2(w, l) - l * w


# The 2D mode (plane strain): disks in the x–z plane (x lateral, z through the electrode, as
# in 3D), all centres at y = 0, of this out-of-plane thickness (m); the box's Ly is it, so
# areas, volumes and wall stresses keep their 3D formulas (a unit length of a plane-strain body)
DISK_THICKNESS = 1.0


def particle_volume(R, dimension: int = 3):
    """Volume (m³) of spheres 4/3 π R³, or of disks π R² t (t = DISK_THICKNESS) in 2D."""
    R = np.asarray(R, float)
    if dimension == 2:
        return np.pi * R * R * DISK_THICKNESS
    return 4.0 / 3.0 * np.pi * R ** 3


def particle_surface(R, dimension: int = 3):
    """Surface (m²) of spheres 4 π R², or the rim 2 π R t of disks in 2D."""
    R = np.asarray(R, float)
    if dimension == 2:
        return 2.0 * np.pi * R * DISK_THICKNESS
    return 4.0 * np.pi * R ** 2  # the observables' expression (bit-identical 3D columns)


@dataclass
class Box:
    """The die: L (3,) m: Lx, Ly (Lz unused; in 2D Ly = DISK_THICKNESS); periodic_xy
    (lateral periodic boundaries instead of side walls: in 2D x only); z_top (m) punch
    height; punch_velocity (m/s, negative = down); dimension 3 (spheres) or 2 (disks in the
    x–z plane: the y walls are off)."""

    L: np.ndarray
    periodic_xy: bool
    z_top: float
    punch_velocity: float = 0.0
    dimension: int = 3

    @property
    def area(self) -> float:
        """Punch area Lx·Ly (m²) (in 2D Lx·t: a unit length of the plane-strain body)."""
        return float(self.L[0] * self.L[1])

    def die(self) -> tuple[float, float, float, bool]:
        """(Lx, Ly, z_top m, periodic) of the die as the views draw it; Ly = 0 in 2D (the
        disks lie in the x–z plane at y = 0)."""
        return (float(self.L[0]), 0.0 if self.dimension == 2 else float(self.L[1]),
                float(self.z_top), bool(self.periodic_xy))

    def periodicity(self) -> tuple:
        """box = (L, periodic_xy) as the kernels take it: the lateral periods Lx, Ly (2,) m
        (float64) and whether x and y are periodic."""
        return (np.asarray(self.L[:2], float), self.periodic_xy)

    def wall_arrays(self):
        """(pos, vel, on) of the wall slots for the kernels: positions (m) bottom z,
        top z, x lo, x hi, y lo, y hi; z velocities (m/s) of bottom and punch; which
        slots are walls (the side slots are off in a periodic box)."""
        pos = np.array([0.0, self.z_top, 0.0, self.L[0], 0.0, self.L[1]])
        vel = np.array([0.0, self.punch_velocity])
        on = np.ones(N_WALLS, np.bool_)
        if self.periodic_xy:
            on[2:] = False
        if self.dimension == 2:
            on[4:] = False
        return pos, vel, on
