"""Normal part, inelastic: the plastic limit (a hardness H caps the contact pressure).

Elastic–perfectly-plastic contact on the Hertz law (after Thornton & Ning 1998,
doi:10.1016/S0032-5910(98)00026-8): the mean pressure over the plastic contact area
π a², a² = R* δ, may not exceed H, so on loading F = H π R* δ and the elastic overlap
is δe = c √δ, c = 3πH/(4E*) · √R*; the rest, δ − δe, is the irreversible flat δ_flat.
Unloading is Hertzian on a flattened radius R_p = R* δmax/δe,max chosen so that the
contact radius is continuous; δmax follows from δ_flat alone
(√δmax = (c + √(c² + 4 δ_flat))/2), so no extra history is stored beyond the flat
(one column per contact, `ContactList.delta_flat`, shared with creep). In a confined particle
the limit is H plus the confinement pressure (`dempack.physics.confinement`).
"""
from __future__ import annotations

import math

from numba import njit

NO_HARDNESS = 1e308  # "purely elastic": kernels test H < 1e300


@njit(cache=True, inline="always")
def envelope_factor(Rs, Es, H):
    """c = 3πH/(4E*) · √R* (√m): the elastic overlap on the plastic envelope is c √δ."""
    return 3.0 * math.pi * H / (4.0 * Es) * math.sqrt(Rs)


@njit(cache=True, inline="always")
def unloading_radius(Rs, c, delta_flat):
    """R_p = R* δmax/(δmax − δ_flat) (m), the Hertzian unloading radius of a flat
    delta_flat > 0 (m) made on the envelope c (`envelope_factor`),
    √δmax = (c + √(c² + 4 δ_flat))/2."""
    sq = 0.5 * (c + math.sqrt(c * c + 4.0 * delta_flat))
    dmax = sq * sq
    return Rs * dmax / (dmax - delta_flat)


@njit(cache=True, inline="always")
def plastic_contact(Rs, Es, H, delta, delta_flat):
    """(R_p (m), δe (m), δ_flat updated (m)) of a contact of overlap delta (m), effective
    radius Rs and modulus Es (Pa), limit pressure H (Pa) and flat delta_flat (m)."""
    c = envelope_factor(Rs, Es, H)
    de = delta - delta_flat
    if de > c * math.sqrt(delta):  # on the plastic envelope: flatten
        de = c * math.sqrt(delta)
        return Rs * delta / de, de, delta - de
    if delta_flat > 0.0:
        return unloading_radius(Rs, c, delta_flat), de, delta_flat
    return Rs, de, delta_flat


@njit(cache=True, inline="always")
def flattened_radius(Rs, Es, H, delta_flat):
    """The radius R_p (m) a reader takes for a contact with flat delta_flat (m) between
    steps: the unloading radius (`unloading_radius`) of limit pressure H (Pa), R* itself
    without a flat or a limit (H ≥ 1e300). Unlike `plastic_contact` it does not test the
    envelope (the step that made the flat did)."""
    if delta_flat <= 0.0 or H >= 1e300:
        return Rs
    return unloading_radius(Rs, envelope_factor(Rs, Es, H), delta_flat)
