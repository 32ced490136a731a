"""The state of a contact, one set of formulas for the force kernel and every reader (issue 14).

A particle pair i, j of radii R_i, R_j, centres d⃗ = x_j − x_i apart (the minimum image
where the box is periodic, `geometry.separation`):

    d = |d⃗|,  δ = R_i + R_j − d     the overlap: touching where δ > 0  (`distance_overlap`)
    n = d⃗/d                         the unit normal, i → j             (`unit_normal`)
    δe = δ − δ_flat                  the elastic overlap: the flat δ_flat carries no force;
                                     an elastic contact where δe > 0
    r_i = R_i − δ/2, r_j = R_j − δ/2  the centres' distances to the mid-plane of the overlap:
                                     the lever arms of the contact force (`contact_arms`)
    l_i = (d² + R_i² − R_j²)/(2d),   the centres' distances to the radical plane, where the
    l_j = d − l_i                    two surfaces meet: the caps, the creep strain's arms
                                     (`radical_plane`)
    a² = R_i² − l_i²                 the intersection circle's radius (`intersection_radius_sq`)
    R* = R_i R_j/(R_i + R_j)         the effective radius (`effective_radius`)

`contact_state(x, R, i, j, δ_flat, L, periodic_xy)` gives a pair's (touching, d⃗, d, δ, δe,
l_i, l_j) in one call; `wall_state` a particle's (s, δ = R − s, δe) on a wall slot, s the
centre's distance to the wall (the lever arm; inward normal `geometry.WALL_NORMALS[k]`).

Who reads it:
- the force kernel, `law.pair_law`: `apart` (d² ≥ (R_i + R_j)², the test before the square
  root that most pairs of a Verlet list stop at), `distance_overlap`, `unit_normal`,
  `contact_arms`. Inlined into the step kernels they compile to the floating-point
  operations, in the order, of the lines they replaced (checked on the machine code;
  fast-math turns n = d⃗/d into one reciprocal and three products, as the kernel's
  1/d · d⃗ was); R* is formed there with m* over one shared division (its own product,
  not `effective_radius`), and `law.wall_law` takes δ = R − s itself;
- `dempack.observe` (contacts, contact areas, porosity in 2D, the particle stress of the
  recorded pair forces), `dempack.physics.creep` (the creeping contacts, the particle
  stress, the flats following the strain), `.fracture` (the elastic overlap criterion),
  `.volume` (the caps), and numpy code through `pair_overlaps` (`observe.pair_network`,
  `dempack.analysis.pores`) and `observe.contact_half_widths` (`dempack.transport`).

So the kernel and the readers agree on which pairs touch and on every number above, bit for
bit: `apart` implies δ ≤ 0 (the square root is correctly rounded and monotone, so
d² ≥ (R_i + R_j)² gives d ≥ R_i + R_j), and the kernel goes on to test δe = δ − δ_flat > 0,
which the readers test on δ and δe.

The helpers take and return scalars only, as the contact parts do (`law`): numba inlines
them without the reference counting of array arguments, and with the caller's fast-math
flags.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..geometry import separation, wall_gap


@njit(cache=True, inline="always")
def distance_overlap(dx, dy, dz, Ri, Rj):
    """(d, δ) of spheres of radii Ri, Rj (m) whose centres are d⃗ = (dx, dy, dz) apart (m):
    d = |d⃗|, δ = R_i + R_j − d (touching where δ > 0; any pair, δ ≤ 0 apart)."""
    d = math.sqrt(dx * dx + dy * dy + dz * dz)
    return d, Ri + Rj - d


@njit(cache=True, inline="always")
def apart(dx, dy, dz, Ri, Rj):
    """True where d² ≥ (R_i + R_j)²: spheres of radii Ri, Rj (m) with centres d⃗ = (dx, dy, dz)
    apart (m) do not touch, told without the square root (the force kernel's first test:
    most pairs of a Verlet list are apart). It implies δ ≤ 0 in `distance_overlap`
    (module docstring), so it only saves work."""
    d2 = dx * dx + dy * dy + dz * dz
    rsum = Ri + Rj
    return d2 >= rsum * rsum


@njit(cache=True, inline="always")
def unit_normal(dx, dy, dz, d):
    """n = d⃗/d, the unit normal i → j of a pair at distance d > 0."""
    return dx / d, dy / d, dz / d


@njit(cache=True, inline="always")
def contact_arms(Ri, Rj, delta):
    """(r_i, r_j) = (R_i − δ/2, R_j − δ/2) (m): the centres' distances to the mid-plane of
    the overlap δ, the lever arms of the contact force (`law.pair_law`) and the branch
    vectors of the particle stress (`observe.contact_stress_sums`)."""
    return Ri - 0.5 * delta, Rj - 0.5 * delta


@njit(cache=True, inline="always")
def radical_plane(d, Ri, Rj):
    """(l_i, l_j) (m): the distances from the centres of spheres i, j at distance d > 0 to
    their radical plane, l_i = (d² + R_i² − R_j²)/(2d), l_j = d − l_i (the plane of the
    intersection circle; l_i ≥ R_i where j lies inside i)."""
    li = (d * d + Ri * Ri - Rj * Rj) / (2.0 * d)
    return li, d - li


@njit(cache=True, inline="always")
def intersection_radius_sq(d, Ri, Rj):
    """a² = R_i² − l_i² (m²), the squared radius of the two spheres' intersection circle
    (the half-chord of two circles' in 2D), `radical_plane`; 0 for d ≤ |R_i − R_j| (one
    inside the other). The caller has tested that they overlap."""
    if d > abs(Ri - Rj):
        li, _ = radical_plane(d, Ri, Rj)
        return max(Ri * Ri - li * li, 0.0)
    return 0.0


@njit(cache=True, inline="always")
def effective_radius(Ri, Rj):
    """R* = R_i R_j/(R_i + R_j) (m). (`law.pair_law` forms it with m* over one shared
    division, the kernel's own product.)"""
    return Ri * Rj / (Ri + Rj)


@njit(cache=True, inline="always")
def contact_state(x, R, i, j, delta_flat, L, periodic_xy):
    """The contact of particles i, j (centres x (N, 3) m, radii R (N) m) with flat
    delta_flat (m), minimum image in x and y where periodic_xy (periods L (2,) m):
    (touching, d_x, d_y, d_z, d, δ, δe, l_i, l_j) (module docstring): d⃗ = x_j − x_i,
    the normal n = `unit_normal`(d⃗, d). touching: δ > 0 and d > 0 (a normal exists).
    d⃗, d, δ and δe = δ − δ_flat are set for every pair (δ, δe ≤ 0 apart); l_i, l_j only
    where touching (else 0). An elastic contact further needs δe > 0."""
    dx, dy, dz = separation(x, i, j, L, periodic_xy)
    d, delta = distance_overlap(dx, dy, dz, R[i], R[j])
    de = delta - delta_flat
    if delta <= 0.0 or d <= 0.0:
        return False, dx, dy, dz, d, delta, de, 0.0, 0.0
    li, lj = radical_plane(d, R[i], R[j])
    return True, dx, dy, dz, d, delta, de, li, lj


@njit(cache=True, inline="always")
def wall_state(x, R, i, k, wall_pos, delta_flat):
    """The contact of particle i with wall slot k (positions wall_pos (6,) m) with flat
    delta_flat (m): (s, δ, δe), s the centre's distance to the wall (m, positive inside
    the die, the lever arm), δ = R_i − s the overlap (touching where > 0) and δe = δ −
    δ_flat the elastic overlap."""
    s = wall_gap(x, i, k, wall_pos)
    delta = R[i] - s
    return s, delta, delta - delta_flat


@njit(cache=True)
def pair_overlaps(dx, R1, R2):
    """numpy's door to `distance_overlap`: (d, δ) per pair of centre differences dx (P, 3) m
    (minimum image already taken) and radii R1, R2 (P) m; touching where δ > 0."""
    n = dx.shape[0]
    d = np.empty(n)
    delta = np.empty(n)
    for p in range(n):
        d[p], delta[p] = distance_overlap(dx[p, 0], dx[p, 1], dx[p, 2], R1[p], R2[p])
    return d, delta
