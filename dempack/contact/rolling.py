"""Rolling part: rolling resistance, a constant directional torque (Ai, Chen, Rotter &
Ooi 2011, "model A", doi:10.1016/j.powtec.2010.09.030; Zhou et al. 1999):

    M_r = −μ_r R_r F_n ω̂_r,   ω_r = (ω_i − ω_j) − ((ω_i − ω_j)·n) n

on i (and −M_r on j), with R_r = R* the rolling radius, F_n ≥ 0 the normal force and
ω_r the relative rolling angular velocity (its twisting part along n excluded). It
models the resistance of angular fragments and contact flats to rolling. Model A has
no history; so that the torque cannot reverse ω_r within one step (the model's known
chatter at rest), its magnitude is capped at |ω_r| / (dt (1/I_i + 1/I_j)) with
I = 2/5 m R² (a wall: 1/I_j = 0).

A sphere rolling without slip on a plane then decelerates at a = (5/7) μ_r g and stops
after s = 7 v0² / (10 μ_r g) (tests/test_rolling.py). Material key: `rolling_friction`
(μ_r, dimensionless); a pair takes the larger of its two materials' values (the more
angular body resists rolling, `contact.tables`; an earlier version of this line said the
smaller, against the code). A brittle material's fragments may take their own value,
`[material.fracture] fragment_rolling_friction` (angular debris of spherical parents; the
contact species of `contact.tables`, issue 16.2). Off (and compiled out of the kernels) when
no material sets either.
"""
from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def rolling_torque(mur, Rr, Fn, wrx, wry, wrz, nx, ny, nz, inv_inertia, dt):
    """Rolling-resistance torque (N m) on body i. mur μ_r; Rr rolling radius (m); Fn (N);
    ω_i − ω_j = (wrx, wry, wrz) (rad/s); n the contact normal; inv_inertia
    1/I_i + 1/I_j (1/(kg m²))."""
    wn = wrx * nx + wry * ny + wrz * nz
    wrx -= wn * nx
    wry -= wn * ny
    wrz -= wn * nz
    w = math.sqrt(wrx * wrx + wry * wry + wrz * wrz)
    if w == 0.0 or Fn <= 0.0:
        return 0.0, 0.0, 0.0
    M = mur * Rr * Fn
    cap = w / (dt * inv_inertia)
    if M > cap:
        M = cap
    s = -M / w
    return s * wrx, s * wry, s * wrz
