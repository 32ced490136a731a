"""Contact creep: the similarity solution for power-law creeping spheres.

A contact where a side creeps flattens at the rate that the similarity solution of a
sphere pressed into a Norton solid (σ_e = σ_ref (ε̇/A)^(1/n)) gives for its contact radius
(Storåkers, Biwa & Larsson, Int. J. Solids Struct. 34 (1997) 3061,
doi:10.1016/S0020-7683(96)00176-X, eq. 78 with Tabor's constants, pure creep; the same
form as Bower, Fleck, Needleman & Ogbonna, Proc. R. Soc. A 441 (1993) 97,
doi:10.1098/rspa.1993.0035):

    ȧ = 3 D A(T) (p / (κ σ_ref))^n,   κ = 3 (n + 2)/n,   D = 2 R*,

p = F_n/(π a²) the mean contact pressure (Pa), a the contact radius, D the diameter of the
equivalent sphere on a flat (m). With dempack's contact radius a² = R* δ (δ = δ_cr + δe the
whole overlap; the area the plastic limit uses too, dempack.contact.plastic), the flat grows at

    δ̇_cr = 2 a ȧ / R* = 12 a A(T) (p / (κ σ_ref))^n          (m/s),

A(T) = A_ref exp(−Q/R_gas (1/T − 1/T_ref)) (1/s). Scale, for Se (A = 1e-5 1/s at 70 °C,
n = 6.6, κ = 3.91, σ_ref = 100 MPa) on a flat δ = 0.1 R* (a/δ = 3.2): the contact creeps at
the rate at which 0.1 C swelling loads it (δ̇/δ ≈ 8e-6 1/s, docs/validation.md) under
p ≈ 220 MPa at 70 °C and ≈ 350 MPa at 25 °C (A/23.9), against the hardness H = 0.5 GPa;
at p = H it creeps that flat in ~500 s (70 °C) or ~1.2e4 s (25 °C), against a 3.6e4 s
half-cycle. So the rate matters at 0.1 C, and the slower the creep, the smaller the contact
that carries a given force.
The law is ~700× slower than the plain Norton contact law δ̇ = a A (p/σ_ref)^n used before
(12/κ^n = 12/8,090 at n = 6.6): that law acted as if instantaneous at 0.1 C.
(The similarity solution relates a to the approach by a² = c² D h, c² ≈ 1.25 with pile-up;
dempack's truncated-sphere geometry moves the displaced volume into the radius instead,
dempack.physics.volume. A's calibration absorbs the difference; see assets/materials.toml.)

Driver. Where both sides creep each contributes its own rate. The pressure that drives a
side is p less its particle's confinement pressure (dempack.physics.confinement: a
hydrostatic pressure does no creep work, and a particle whose volume is used up cannot
flatten further), and, with `cycling.creep_driver = "excess_pressure"`, less its mean
pressure p̄ = −tr σ/3 = (1/(3V)) Σ_c l_c F_n,c as well (only the contacts pressed above the
particle's mean pressure creep). ⟨x⟩ = max(x, 0).

Integrated by backward Euler over the physical time step (unconditionally stable for the
stiff n ≈ 5–10 law): solve Δ = Δt_phys · rate(δe − Δ) by Newton. Creep is applied every
`cycling.volume_update_interval` steps with the physical time accumulated since the last
application.
"""
from __future__ import annotations

import math

from numba import njit

from ..geometry import separation, wall_gap

# δ̇_cr = SIMILARITY_RATE_FACTOR · a A (p/(κ σ_ref))^n: 2 a ȧ/R* with ȧ = 3 (2R*) A (p/κσ_ref)^n
SIMILARITY_RATE_FACTOR = 12.0


@njit(cache=True)
def similarity_kappa(n):
    """κ = 3 (n + 2)/n, the pressure factor of the similarity solution (Storåkers et al. 1997,
    eq. 78 with Tabor's constraint factor 3 in the plastic limit n → ∞)."""
    return 3.0 * (n + 2.0) / n


@njit(cache=True)
def _side_rate(u, P, Ka, n, sigma_ref, pbar):
    """Creep rate (m/s) of one side at elastic overlap u: Ka ⟨(P u^1.5 − p̄)/σ_flow⟩^n,
    Ka = 12 a A (0 for a side that does not creep), σ_flow = κ σ_ref."""
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
        Kai = SIMILARITY_RATE_FACTOR * a * Ai
        Kaj = SIMILARITY_RATE_FACTOR * a * Aj
        si = similarity_kappa(ni) * sigma_ref[mi]
        sj = similarity_kappa(nj) * sigma_ref[mj]
        d = _creep_increment(de, dt_phys, P, Kai, ni, si, pbar[i], Kaj, nj, sj, pbar[j])
        if d <= 0.0:
            continue
        delta_flat[p] += d
        # split the flattening by the two sides' creep rates at the new state
        u = de - d
        ri = _side_rate(u, P, Kai, ni, si, pbar[i])
        rj = _side_rate(u, P, Kaj, nj, sj, pbar[j])
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
            d = _creep_increment(de, dt_phys, P, SIMILARITY_RATE_FACTOR * a * A[m], n_exp[m],
                                 similarity_kappa(n_exp[m]) * sigma_ref[m], pbar[i], 0.0, 1.0, 1.0,
                                 0.0)
            wall_delta_flat[i, k] += d
            creep_strain[i] += d / (2.0 * R[i])
