"""Hertz–Mindlin contact law with Coulomb friction and restitution damping.

Normal (Hertz, on the elastic overlap δe = δ − δcr, δcr the creep overlap):
    F_n = 4/3 E* √(R* δe) δe − γ_n v_n,  clamped at F_n ≥ 0,
    S_n = 2 E* √(R* δe),  γ_n = 2 √(5/6) β √(S_n m*)
Tangential (Mindlin, incremental spring ξ with Coulomb cap):
    S_t = 8 G* √(R* δe),  F_t = −S_t ξ − γ_t v_t,  |F_t| ≤ μ F_n,
    γ_t = 2 √(5/6) β √(S_t m*)
with 1/E* = (1−ν1²)/E1 + (1−ν2²)/E2, 1/G* = 2(2−ν1)(1+ν1)/E1 + 2(2−ν2)(1+ν2)/E2,
1/R* = 1/R1 + 1/R2, 1/m* = 1/m1 + 1/m2 (Di Renzo & Di Maio 2004,
doi:10.1016/j.ces.2003.09.037; Tsuji et al. 1992, doi:10.1016/0032-5910(92)88030-L).

β is not the textbook ln e/√(ln² e + π²) (which is exact only for a linear
spring): for this nonlinear damped Hertz model the coefficient of restitution
depends on β alone, so `damping_coefficient(e)` solves the dimensionless
collision numerically once and returns the β that gives exactly e.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

SQRT_5_6 = math.sqrt(5.0 / 6.0)
NO_HARDNESS = 1e308  # "purely elastic": kernels test H < 1e300


# columns of a law table (see `law_table`): one row of constants per material pair
LAW_E, LAW_KT, LAW_RT, LAW_MU, LAW_CB, LAW_H = range(6)
LAW_COLS = 6


@njit(cache=True)
def law_table(E_star, G_star, friction, beta, hardness):
    """Per-pair constants of `hertz_mindlin`, shape (*E_star.shape, LAW_COLS): E*, 8G*,
    √(4G*/E*) (= √(S_t/S_n), so γ_t = γ_n √(S_t/S_n) shares γ_n's square root),
    μ, 2√(5/6) β, hardness H. Built at each kernel call (tables are tiny, and
    tests may change them between steps)."""
    flat = E_star.size
    out = np.empty((flat, LAW_COLS))
    E = E_star.ravel()
    G = G_star.ravel()
    mu = friction.ravel()
    b = beta.ravel()
    H = hardness.ravel()
    for k in range(flat):
        out[k, LAW_E] = E[k]
        out[k, LAW_KT] = 8.0 * G[k]
        out[k, LAW_RT] = math.sqrt(4.0 * G[k] / E[k])
        out[k, LAW_MU] = mu[k]
        out[k, LAW_CB] = 2.0 * SQRT_5_6 * b[k]
        out[k, LAW_H] = H[k]
    return out


@njit(cache=True, inline="always")
def hertz_mindlin(de, Rs, ms, Es, kt, rt, mu, cb, vn, vtx, vty, vtz, x0, x1, x2, dt):
    """Normal force magnitude, tangential force on the second body and the updated
    tangential spring.

    de elastic overlap (m) > 0; Rs R* (m); ms m* (kg); Es E*, kt = 8G* (Pa);
    rt = √(4G*/E*); mu friction; cb = 2√(5/6)β; vn normal relative velocity (m/s,
    > 0 separating); vt tangential relative velocity; (x0, x1, x2) the spring ξ (m)
    before this step. Returns (F_n, ftx, fty, ftz, ξ0, ξ1, ξ2).
    """
    sq = math.sqrt(Rs * de)
    Sn = 2.0 * Es * sq
    St = kt * sq
    gn = cb * math.sqrt(Sn * ms)
    Fn = (2.0 / 3.0) * Sn * de - gn * vn  # 4/3 E* √(R* δe) δe = 2/3 S_n δe
    if Fn < 0.0:
        Fn = 0.0
    gt = gn * rt
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
    return Fn, fx, fy, fz, x0, x1, x2


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


def effective_modulus(E1, nu1, E2, nu2):
    """E* (Pa): 1/E* = (1−ν1²)/E1 + (1−ν2²)/E2."""
    return 1.0 / ((1 - nu1 ** 2) / E1 + (1 - nu2 ** 2) / E2)


def effective_shear_modulus(E1, nu1, E2, nu2):
    """G* (Pa) of Mindlin: 1/G* = 2(2−ν1)(1+ν1)/E1 + 2(2−ν2)(1+ν2)/E2."""
    return 1.0 / (2 * (2 - nu1) * (1 + nu1) / E1 + 2 * (2 - nu2) * (1 + nu2) / E2)


class ContactTables:
    """Per material-pair constants (nm × nm) and per material–wall constants (nm).

    Mixing rules: friction, restitution and hardness of a pair are the smaller of
    the two (the weaker surface controls; the softer body yields). Attributes:
    E_star, G_star, friction, beta, hardness (pairs; hardness NO_HARDNESS where
    both are elastic); E_star_wall, G_star_wall, friction_wall, beta_wall,
    hardness_wall (particle–wall).
    """

    def __init__(self, materials, wall):
        nm = len(materials)
        self.E_star = np.zeros((nm, nm))
        self.G_star = np.zeros((nm, nm))
        self.friction = np.zeros((nm, nm))
        self.beta = np.zeros((nm, nm))
        for a, ma in enumerate(materials):
            for b, mb in enumerate(materials):
                self.E_star[a, b] = effective_modulus(ma.youngs_modulus, ma.poisson_ratio,
                                                      mb.youngs_modulus, mb.poisson_ratio)
                self.G_star[a, b] = effective_shear_modulus(ma.youngs_modulus, ma.poisson_ratio,
                                                            mb.youngs_modulus, mb.poisson_ratio)
                self.friction[a, b] = min(ma.friction, mb.friction)
                self.beta[a, b] = damping_coefficient(min(ma.restitution, mb.restitution))
        self.E_star_wall = np.array([effective_modulus(m.youngs_modulus, m.poisson_ratio,
                                                       wall.youngs_modulus, wall.poisson_ratio)
                                     for m in materials])
        self.G_star_wall = np.array([effective_shear_modulus(m.youngs_modulus, m.poisson_ratio,
                                                             wall.youngs_modulus, wall.poisson_ratio)
                                     for m in materials])
        self.friction_wall = np.array([min(m.friction, wall.friction) for m in materials])
        self.beta_wall = np.array([damping_coefficient(min(m.restitution, wall.restitution))
                                   for m in materials])
        h = [m.hardness if m.hardness is not None else NO_HARDNESS for m in materials]
        hw = wall.hardness if wall.hardness is not None else NO_HARDNESS
        self.hardness = np.minimum.outer(np.array(h), np.array(h))
        self.hardness_wall = np.minimum(np.array(h), hw)
