"""Lithiation, swelling, contact creep and volume conservation (DESIGN §2).

Swelling: V = V0 (1 + β c), R_free = R0 (1 + β c)^(1/3).

Contact creep (Norton): at a contact where a side creeps, the irreversible
overlap grows at  δ̇_cr = Σ_k a A_k(T) (p/σ_ref,k)^n_k  (k over the creeping
sides; p = F_n/(π a²) the mean contact pressure, a² = R* δ the flattened contact
area, creep-zone depth h = a), A(T) = A_ref exp(−Q/R (1/T − 1/T_ref)).
Integrated by backward Euler over the physical time step (unconditionally
stable for the stiff n ≈ 5–10 law): solve Δ = Δt_phys · rate(δe − Δ) by Newton.
Creep is applied every `cycling.volume_update_interval` steps with the
physical time accumulated since the last application.

Volume conservation: a particle of a creeping (or plastic) material gets the
radius for which its sphere minus the caps cut off by its contacts equals its
true volume:  4/3 π R³ − Σ_c π h_c² (3R − h_c)/3 = V0 (1 + β c),  h_c the
geometric cap height (intersection plane of the two spheres, or the wall).
Solved by fixed-point iteration, one update per step (the caps change slowly).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .boundary import cap_volume, separation, wall_gap


@njit(cache=True)
def _creep_increment(de, dt, Ki, mi, Kj, mj):
    """Backward-Euler creep increment Δ of the overlap over dt.

    With p ∝ δe^(3/2) the rate of each creeping side is K δe^m (m = 3n/2), so
    the elastic overlap u = δe − Δ after the step solves
        f(u) = δe − u − dt (Ki u^mi + Kj u^mj) = 0,   0 < u ≤ δe.
    f is decreasing and concave, so Newton started right of the root (where
    one side alone would creep all of δe) converges monotonically.
    """
    u = de
    if Ki > 0.0:
        u = min(u, (de / (dt * Ki)) ** (1.0 / mi))
    if Kj > 0.0:
        u = min(u, (de / (dt * Kj)) ** (1.0 / mj))
    for _ in range(50):
        ri = Ki * u ** mi if Ki > 0.0 else 0.0
        rj = Kj * u ** mj if Kj > 0.0 else 0.0
        f = de - u - dt * (ri + rj)
        df = -1.0 - dt * (mi * ri + mj * rj) / u
        step = f / df
        u -= step
        if u <= 0.0:
            u = 1e-30
        if abs(step) < 1e-12 * de:
            break
    return de - u


@njit(cache=True, inline="always")
def _norton_K(a, A, n, sigma_ref, P):
    """Rate coefficient K with rate = K δe^(3n/2): K = a A (P/σ_ref)^n, P = p/δe^(3/2)."""
    return a * A * (P / sigma_ref) ** n if A > 0.0 else 0.0


@njit(cache=True)
def _flattened_radius(Rs, Es, H, dcr):
    """Unloading radius R_p of a flattened contact (see integrate.plastic_contact);
    for an elastic material (no hardness) the flat keeps R*."""
    if dcr <= 0.0 or H >= 1e300:
        return Rs
    c = 3.0 * math.pi * H / (4.0 * Es) * math.sqrt(Rs)
    sq = 0.5 * (c + math.sqrt(c * c + 4.0 * dcr))
    dmax = sq * sq
    return Rs * dmax / (dmax - dcr)


@njit(cache=True)
def creep_contacts(x, R, mat, pi, pj, dcr, E_star, hardness, A, n_exp, sigma_ref, dt_phys, L,
                   periodic_xy, creep_strain, wall_dcr, wall_pos, wall_on, Ew, Hw):
    """Advance the creep overlap of every contact with a creeping side by one
    physical step dt_phys (s); accumulate each particle's flattening strain
    (its share of Δδ_cr over its diameter). Serial: a pair updates two particles."""
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        mi = mat[i]
        mj = mat[j]
        Ai = A[mi]
        Aj = A[mj]
        if Ai <= 0.0 and Aj <= 0.0:
            continue
        dx, dy, dz = separation(x, i, j, L, periodic_xy)
        dist = math.sqrt(dx * dx + dy * dy + dz * dz)
        delta = R[i] + R[j] - dist
        de = delta - dcr[p]
        if delta <= 0.0 or de <= 0.0:
            continue
        Rs = R[i] * R[j] / (R[i] + R[j])
        Es = E_star[mi, mj]
        Rp = _flattened_radius(Rs, Es, hardness[mi, mj], dcr[p])
        a = math.sqrt(Rs * delta)
        P = 4.0 / 3.0 * Es * math.sqrt(Rp) / (math.pi * Rs * delta)  # p = P δe^(3/2)
        Ki = _norton_K(a, Ai, n_exp[mi], sigma_ref[mi], P)
        Kj = _norton_K(a, Aj, n_exp[mj], sigma_ref[mj], P)
        d = _creep_increment(de, dt_phys, Ki, 1.5 * n_exp[mi], Kj, 1.5 * n_exp[mj])
        if d <= 0.0:
            continue
        dcr[p] += d
        # split the flattening by the two sides' creep rates at the new state
        u = de - d
        ri = Ki * u ** (1.5 * n_exp[mi]) if Ki > 0.0 else 0.0
        rj = Kj * u ** (1.5 * n_exp[mj]) if Kj > 0.0 else 0.0
        tot = ri + rj
        if tot > 0.0:
            creep_strain[i] += d * ri / tot / (2.0 * R[i])
            creep_strain[j] += d * rj / tot / (2.0 * R[j])
        elif Ai > 0.0:
            creep_strain[i] += d / (2.0 * R[i])
        else:
            creep_strain[j] += d / (2.0 * R[j])
    for i in range(x.shape[0]):
        m = mat[i]
        if A[m] <= 0.0:
            continue
        for k in range(6):
            if not wall_on[k]:
                continue
            s = wall_gap(x, i, k, wall_pos)
            delta = R[i] - s
            de = delta - wall_dcr[i, k]
            if delta <= 0.0 or de <= 0.0:
                continue
            Rp = _flattened_radius(R[i], Ew[m], Hw[m], wall_dcr[i, k])
            a = math.sqrt(R[i] * delta)
            P = 4.0 / 3.0 * Ew[m] * math.sqrt(Rp) / (math.pi * R[i] * delta)
            d = _creep_increment(de, dt_phys, _norton_K(a, A[m], n_exp[m], sigma_ref[m], P),
                                 1.5 * n_exp[m], 0.0, 1.0)
            wall_dcr[i, k] += d
            creep_strain[i] += d / (2.0 * R[i])


@njit(parallel=True, cache=True)
def contact_cap_volumes(x, R, pi, pj, row_start, col_start, col_pair, L, periodic_xy, wall_pos,
                        wall_on, out):
    """out[i] = Σ volumes of the caps cut from sphere i by its contacts (the
    part of each lens on i's side of the intersection plane) and by the walls."""
    n = x.shape[0]
    for i in prange(n):
        tot = 0.0
        for side in range(2):
            if side == 0:
                lo = row_start[i]
                hi = row_start[i + 1]
            else:
                lo = col_start[i]
                hi = col_start[i + 1]
            for q in range(lo, hi):
                p = q if side == 0 else col_pair[q]
                j = pj[p] if side == 0 else pi[p]
                dx, dy, dz = separation(x, i, j, L, periodic_xy)
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                if d >= R[i] + R[j] or d <= 0.0:
                    continue
                xx = (d * d + R[i] * R[i] - R[j] * R[j]) / (2.0 * d)
                tot += cap_volume(R[i], R[i] - xx)
        for k in range(6):
            if wall_on[k]:
                tot += cap_volume(R[i], R[i] - wall_gap(x, i, k, wall_pos))
        out[i] = tot


def free_radius(R0, beta, c):
    """R = R0 (1 + β c)^(1/3) (m)."""
    return R0 * np.cbrt(1.0 + beta * c)


def true_volume(R0, beta, c):
    """V = 4/3 π R0³ (1 + β c) (m³)."""
    return 4.0 / 3.0 * np.pi * R0 ** 3 * (1.0 + beta * c)
