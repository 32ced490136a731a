"""Damping part: viscous normal and tangential dashpots set by a restitution coefficient.

    γ_n = 2 √(5/6) β √(S_n m*),   γ_t = γ_n √(S_t/S_n)

(Tsuji et al. 1992, doi:10.1016/0032-5910(92)88030-L; Di Renzo & Di Maio 2004,
doi:10.1016/j.ces.2003.09.037). β is not the textbook ln e/√(ln² e + π²) (exact only for
a linear spring): for the damped Hertz model the coefficient of restitution depends on β
alone, so `damping_coefficient(e)` solves the dimensionless collision numerically once and
returns the β that gives exactly e. Quasi-static runs need only enough damping to settle.
"""
from __future__ import annotations

import math
from functools import lru_cache

from numba import njit

SQRT_5_6 = math.sqrt(5.0 / 6.0)


@njit(cache=True, inline="always")
def normal_dashpot(cb, Sn, ms):
    """γ_n (kg/s) = cb √(S_n m*), cb = 2√(5/6)β (a column of the law table)."""
    return cb * math.sqrt(Sn * ms)


def _restitution_of(beta: float) -> float:
    """Rebound/impact speed ratio of the damped Hertz collision (dimensionless:
    m* = 1, 4/3 E* √R* = 1, impact speed 1)."""
    from scipy.integrate import solve_ivp

    c = 2.0 * SQRT_5_6 * beta * math.sqrt(1.5)  # γ_n = c δ^{1/4} with S_n = 1.5 δ^{1/2}

    def rhs(t, y):
        d, v = y
        de = max(d, 0.0)
        f = de ** 1.5 + c * de ** 0.25 * v
        return [v, -max(f, 0.0)]

    def end(t, y):
        return y[0]

    end.terminal = True
    end.direction = -1
    sol = solve_ivp(rhs, (0.0, 50.0), [1e-12, 1.0], events=end, rtol=1e-10, atol=1e-13,
                    max_step=0.01)
    return float(-sol.y_events[0][0][1])


@lru_cache(maxsize=256)
def damping_coefficient(restitution: float) -> float:
    """β ≥ 0 for which the damped Hertz collision rebounds with ratio `restitution`."""
    from scipy.optimize import brentq

    e = float(restitution)
    if not 0.0 < e <= 1.0:
        raise ValueError(f"restitution must be in (0, 1], got {e}")
    if e >= 1.0 - 1e-12:
        return 0.0
    hi = 0.5
    while _restitution_of(hi) > e:
        hi *= 2.0
    return brentq(lambda b: _restitution_of(b) - e, 0.0, hi, xtol=1e-10)
