"""Contact creep (Norton): at a contact where a side creeps, the irreversible
overlap grows at
    δ̇_cr = Σ_k a A_k(T) (⟨p − p̄_k⟩/σ_ref,k)^n_k
(k over the creeping sides; p = F_n/(π a²) the mean contact pressure, a² = R* δ
the flattened contact area, creep-zone depth h = a; A(T) = A_ref exp(−Q/R (1/T −
1/T_ref)); ⟨x⟩ = max(x, 0)).
Confinement (`cycling.creep_driver = "excess_pressure"`, the default): Norton
flow is driven by the deviatoric stress only, so the part of the contact
pressure that is hydrostatic in the particle does no creep work. p̄_k is the
mean pressure of particle k, p̄ = −tr σ/3 = (1/(3V)) Σ_c l_c F_n,c (particle
stress tensor of DESIGN §2 with the elastic normal forces, l_c the distance from
the centre to the contact plane, V the particle's true volume V0 (1 + βc)). A particle loaded at two
small spots has p̄ ≪ p and creeps at the contact law of Bower et al. (1993,
doi:10.1098/rspa.1993.0035); a particle whose contacts cover a fraction f of its
surface at equal pressure has p̄ ≈ f p, so its creep slows as (1 − f)^n and
stops when the pores around it are filled — superposing a hydrostatic pressure
on a Norton solid does not change its strain rate; in an enclosed particle,
material flows from the contacts pressed above its mean pressure towards the
others. (Scaling the rate by the particle's free-surface fraction as well was
tried and dropped: it stopped enclosed Se from creeping around a small hard
neighbour, whose overlap then grew without bound.) `creep_driver =
"contact_pressure"` drops the correction (p̄ = 0).
Integrated by backward Euler over the physical time step (unconditionally
stable for the stiff n ≈ 5–10 law): solve Δ = Δt_phys · rate(δe − Δ) by Newton.
Creep is applied every `cycling.volume_update_interval` steps with the
physical time accumulated since the last application.
"""
from __future__ import annotations

import math

from numba import njit

from ..geometry import separation, wall_gap


@njit(cache=True)
def _side_rate(u, P, Ka, n, sigma_ref, pbar):
    """Creep rate (m/s) of one side at elastic overlap u: Ka ⟨(P u^1.5 − p̄)/σ_ref⟩^n,
    Ka = a A (0 for a side that does not creep)."""
    if Ka <= 0.0:
        return 0.0
    x = P * u ** 1.5 - pbar
    return Ka * (x / sigma_ref) ** n if x > 0.0 else 0.0


@njit(cache=True)
def _creep_increment(de, dt, P, Kai, ni, si, pbi, Kaj, nj, sj, pbj):
    """Backward-Euler creep increment Δ of the overlap over dt.

    The contact pressure is p = P δe^(3/2); the elastic overlap u = δe − Δ after
    the step solves  f(u) = δe − u − dt (r_i(u) + r_j(u)) = 0,  0 < u ≤ δe,
    with r_k = Ka_k ⟨(P u^1.5 − p̄_k)/σ_ref,k⟩^n_k. f is decreasing and concave,
    so Newton started right of the root — at δe, or where one side alone would
    creep all of δe — converges monotonically.
    """
    if _side_rate(de, P, Kai, ni, si, pbi) + _side_rate(de, P, Kaj, nj, sj, pbj) <= 0.0:
        return 0.0
    u = de
    if Kai > 0.0:
        u = min(u, ((si * (de / (dt * Kai)) ** (1.0 / ni) + pbi) / P) ** (2.0 / 3.0))
    if Kaj > 0.0:
        u = min(u, ((sj * (de / (dt * Kaj)) ** (1.0 / nj) + pbj) / P) ** (2.0 / 3.0))
    for _ in range(60):
        ri = _side_rate(u, P, Kai, ni, si, pbi)
        rj = _side_rate(u, P, Kaj, nj, sj, pbj)
        f = de - u - dt * (ri + rj)
        df = -1.0
        pu = P * u ** 1.5
        if ri > 0.0:
            df -= dt * ri * ni * 1.5 * pu / (u * (pu - pbi))
        if rj > 0.0:
            df -= dt * rj * nj * 1.5 * pu / (u * (pu - pbj))
        step = f / df
        u -= step
        if u <= 0.0:
            u = 1e-30
        if abs(step) < 1e-12 * de:
            break
    return de - u


@njit(cache=True)
def _flattened_radius(Rs, Es, H, delta_flat):
    """Unloading radius R_p of a flattened contact (see contact.plastic.plastic_contact);
    for an elastic material (no hardness) the flat keeps R*."""
    if delta_flat <= 0.0 or H >= 1e300:
        return Rs
    c = 3.0 * math.pi * H / (4.0 * Es) * math.sqrt(Rs)
    sq = 0.5 * (c + math.sqrt(c * c + 4.0 * delta_flat))
    dmax = sq * sq
    return Rs * dmax / (dmax - delta_flat)


@njit(cache=True)
def _contact_state(x, R, mat, i, j, delta_flat, E_star, hardness, L, periodic_xy):
    """(δe, R*, a, P, l_i, l_j) of pair (i, j): elastic overlap, effective
    radius, contact radius a = √(R* δ), pressure factor P with the mean contact
    pressure p = F_n/(π a²) = P δe^1.5, and the distances from each centre to
    the intersection plane. δe ≤ 0 means no elastic contact."""
    dx, dy, dz = separation(x, i, j, L, periodic_xy)
    dist = math.sqrt(dx * dx + dy * dy + dz * dz)
    delta = R[i] + R[j] - dist
    de = delta - delta_flat
    if delta <= 0.0 or de <= 0.0 or dist <= 0.0:
        return -1.0, 0.0, 0.0, 0.0, 0.0, 0.0
    Rs = R[i] * R[j] / (R[i] + R[j])
    Es = E_star[mat[i], mat[j]]
    Rp = _flattened_radius(Rs, Es, hardness[mat[i], mat[j]], delta_flat)
    a = math.sqrt(Rs * delta)
    P = 4.0 / 3.0 * Es * math.sqrt(Rp) / (math.pi * Rs * delta)
    li = (dist * dist + R[i] * R[i] - R[j] * R[j]) / (2.0 * dist)
    return de, Rs, a, P, li, dist - li


@njit(cache=True)
def _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, Ew, Hw):
    """(δe, a, P, s) of particle i on wall k, as _contact_state (s = centre–wall gap)."""
    s = wall_gap(x, i, k, wall_pos)
    delta = R[i] - s
    de = delta - wall_delta_flat[i, k]
    if delta <= 0.0 or de <= 0.0:
        return -1.0, 0.0, 0.0, s
    Rp = _flattened_radius(R[i], Ew[m], Hw[m], wall_delta_flat[i, k])
    a = math.sqrt(R[i] * delta)
    P = 4.0 / 3.0 * Ew[m] * math.sqrt(Rp) / (math.pi * R[i] * delta)
    return de, a, P, s


@njit(cache=True)
def mean_pressure(x, R, mat, pi, pj, delta_flat, E_star, hardness, L, periodic_xy, wall_delta_flat, wall_pos,
                  wall_on, Ew, Hw, vol, out):
    """out[i] = p̄_i = (1/(3V_i)) Σ_c l_c F_n,c (Pa, compressive > 0): the mean
    pressure −tr σ_i/3 of the particle stress tensor from the elastic normal
    contact forces F_n = P δe^1.5 π a² (contacts and walls); V_i = vol[i], the
    particle's true volume V0 (1 + βc). For a particle enclosed by flat faces
    at one pressure p, Σ l_c A_c = 3V (divergence theorem), so p̄ = p."""
    out[:] = 0.0
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        de, Rs, a, P, li, lj = _contact_state(x, R, mat, i, j, delta_flat[p], E_star, hardness, L,
                                              periodic_xy)
        if de <= 0.0:
            continue
        F = P * de ** 1.5 * math.pi * a * a
        out[i] += li * F
        out[j] += lj * F
    for i in range(x.shape[0]):
        m = mat[i]
        for k in range(6):
            if not wall_on[k]:
                continue
            de, a, P, s = _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, Ew, Hw)
            if de > 0.0:
                out[i] += s * P * de ** 1.5 * math.pi * a * a
    for i in range(x.shape[0]):
        out[i] /= 3.0 * vol[i]


@njit(cache=True)
def creep_contacts(x, R, mat, pi, pj, delta_flat, E_star, hardness, A, n_exp, sigma_ref, dt_phys, L,
                   periodic_xy, creep_strain, wall_delta_flat, wall_pos, wall_on, Ew, Hw, pbar):
    """Advance the creep overlap of every contact with a creeping side by one
    physical step dt_phys (s), each side driven by ⟨p − pbar[side]⟩ (pbar: the
    particles' mean pressure from `mean_pressure`, or zeros for the plain contact
    law); accumulate each particle's flattening strain (its share of Δδ_cr over
    its diameter). Serial: a pair updates two particles."""
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        mi = mat[i]
        mj = mat[j]
        Ai = A[mi]
        Aj = A[mj]
        if Ai <= 0.0 and Aj <= 0.0:
            continue
        de, Rs, a, P, li, lj = _contact_state(x, R, mat, i, j, delta_flat[p], E_star, hardness, L,
                                              periodic_xy)
        if de <= 0.0:
            continue
        ni = n_exp[mi]
        nj = n_exp[mj]
        Kai = a * Ai
        Kaj = a * Aj
        d = _creep_increment(de, dt_phys, P, Kai, ni, sigma_ref[mi], pbar[i],
                             Kaj, nj, sigma_ref[mj], pbar[j])
        if d <= 0.0:
            continue
        delta_flat[p] += d
        # split the flattening by the two sides' creep rates at the new state
        u = de - d
        ri = _side_rate(u, P, Kai, ni, sigma_ref[mi], pbar[i])
        rj = _side_rate(u, P, Kaj, nj, sigma_ref[mj], pbar[j])
        tot = ri + rj
        if tot > 0.0:
            creep_strain[i] += d * ri / tot / (2.0 * R[i])
            creep_strain[j] += d * rj / tot / (2.0 * R[j])
        elif Kai > 0.0:
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
            de, a, P, s = _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, Ew, Hw)
            if de <= 0.0:
                continue
            d = _creep_increment(de, dt_phys, P, a * A[m], n_exp[m], sigma_ref[m], pbar[i],
                                 0.0, 1.0, 1.0, 0.0)
            wall_delta_flat[i, k] += d
            creep_strain[i] += d / (2.0 * R[i])
