"""Tangential part: Mindlin's incremental spring with history and a Coulomb limit.

    S_t = 8 G* √(R* δe),  ξ += v_t dt,  F_t = −S_t ξ − γ_t v_t,  |F_t| ≤ μ F_n

(Mindlin & Deresiewicz 1953; the no-slip incremental form of Di Renzo & Di Maio 2004,
doi:10.1016/j.ces.2003.09.037). On sliding the spring is cut back so that it holds the
Coulomb force. History: the spring ξ (3 columns per contact, `ContactList.xi`), kept in
the current tangent plane by the caller (`dempack.contact.law.pair_law`).
"""
from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def mindlin_tangential(sq, kt, gt, mu, Fn, vtx, vty, vtz, x0, x1, x2, dt):
    """Tangential force (N) on the second body and the updated spring ξ (m).
    sq = √(R* δe) (m); kt = 8G* (Pa); gt = γ_t (kg/s); mu the friction coefficient;
    Fn ≥ 0 the normal force (N); v_t the tangential relative velocity (m/s)."""
    St = kt * sq
    x0 += vtx * dt
    x1 += vty * dt
    x2 += vtz * dt
    fx = -St * x0 - gt * vtx
    fy = -St * x1 - gt * vty
    fz = -St * x2 - gt * vtz
    f2 = fx * fx + fy * fy + fz * fz
    fmax = mu * Fn
    if f2 > fmax * fmax:
        s = fmax / math.sqrt(f2)
        fx *= s
        fy *= s
        fz *= s
        if St > 0.0:
            iS = -1.0 / St
            x0 = (fx + gt * vtx) * iS
            x1 = (fy + gt * vty) * iS
            x2 = (fz + gt * vtz) * iS
    return fx, fy, fz, x0, x1, x2
