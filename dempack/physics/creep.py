"""Creep of the active material (DESIGN §2, issue 21), two laws (`cycling.creep_model`).

**particle_norton** (default): Norton flow of each particle driven by its von Mises stress,
the law of the study's FE model (Xiong et al. 2024, doi:10.1038/s41467-024-48174-8):

    ε̇_e = A(T) (σ_e/σ_ref)^n,   ε̇ = 3/2 ε̇_e s/σ_e   (1/s),

σ the particle stress tensor from its elastic normal contact forces (`normal_stress`, Pa),
s its deviator, σ_e = √(3/2 s:s), A(T) = A_ref exp(−Q/R_gas (1/T − 1/T_ref)). The particle
changes shape at constant volume: the flat at each contact grows by the particle's
shortening along the contact normal, Δδ_flat = −n·Δε·n l (l: centre to contact plane), and
recedes where the particle elongates towards a neighbour; what the caps cut off goes back
into the sphere through the volume-conserving radius (dempack.physics.volume), i.e. into
the pores. At a constant imposed strain rate ε̇ (swelling), the stress tends to the plateau
σ_ss = σ_ref (ε̇/A)^(1/n): for Se at 0.1 C (ε̇ ≈ 7e-6 1/s, A = 1e-5 1/s at 70 °C, n = 6.6)
95 MPa at 70 °C and 154 MPa at 25 °C (A/23.9); reached in σ_ss/(3Gε̇) ≈ 1,200–1,900 s
(docs/validation.md). So temperature and C-rate set the stress the Se carries, as in the
study. Integrated by backward Euler on the relaxing stress (`norton_increment`). A point
contact on a sphere carries a high local pressure that a volume-averaged stress does not
see, so this law under-predicts the creep of lightly touching particles; in the pressed
electrode the Se is 94–99 % enclosed by contacts (docs/validation.md), where it holds.

**contact_similarity**: each contact's flat grows by the similarity solution of a sphere
pressed into a Norton solid (Storåkers, Biwa & Larsson, Int. J. Solids Struct. 34 (1997)
3061, doi:10.1016/S0020-7683(96)00176-X, eq. 78 with Tabor's constants, pure creep; the
form of Bower, Fleck, Needleman & Ogbonna, Proc. R. Soc. A 441 (1993) 97,
doi:10.1098/rspa.1993.0035):

    ȧ = 3 D A(T) (p / (κ σ_ref))^n,   κ = 3 (n + 2)/n,   D = 2 R*,

p = F_n/(π a²) the mean contact pressure (Pa), a the contact radius. With dempack's contact
radius a² = R* δ (δ = δ_cr + δe; the area the plastic limit uses), the flat grows at

    δ̇_cr = 2 a ȧ / R* = 12 a A(T) (p / (κ σ_ref))^n          (m/s).

Scale, for Se on a flat δ = 0.1 R*: the contact follows 0.1 C swelling (δ̇/δ ≈ 8e-6 1/s)
at p ≈ 220 MPa (70 °C) and ≈ 350 MPa (25 °C), below H = 0.5 GPa. The law is ~700× slower
than the plain Norton contact law δ̇ = a A (p/σ_ref)^n dempack used before (12/κ^n =
12/8,090 at n = 6.6), which acted as if instantaneous at 0.1 C. (The similarity solution
has a² = c² D h, c² ≈ 1.25 with pile-up; dempack's truncated spheres move the displaced
volume into the radius instead.) Driver: p less the particle's reference pressure — its
confinement pressure, plus its mean pressure p̄ = −tr σ/3 with
`cycling.creep_driver = "excess_pressure"`; with `creep_flats_recede` a flat whose contact
is pressed below the reference recedes. Integrated by backward Euler at fixed approach:
Δ = Δt_phys · rate(δe − Δ), solved by safeguarded Newton (`_creep_increment`).

Both are applied every `cycling.volume_update_interval` steps with the physical time
accumulated since the last application. A's calibration (assets/materials.toml): the Se
stress plateau near 0.1 GPa at 0.1 C and 70 °C (issue 21), a calibration, not a
measurement.

**2D mode** (disks of thickness t in the x–z plane, plane strain; DESIGN §2,
dempack.physics.plane_strain): `normal_stress_2d` is `normal_stress` with the line contact
(dempack.contact.line, its plastic limit included) and V = π R² t, and fills σ_yy with the
plane-strain out-of-plane stress ν (σ_xx + σ_zz) − E (e_sw + ε_yy^cr). `particle_norton_flow_2d`
runs the same Norton law on the full 3×3 deviator; Δε_yy accumulates into the disk's
out-of-plane creep ε_yy^cr (it relaxes σ_yy and moves swelling in-plane through
`plane_strain.true_area`), and only the in-plane deviator of Δε goes onto the flats (the
in-plane isotropic part, −Δε_yy/2, is already in the true area). Only `particle_norton`
exists in 2D.

**Contact state.** The geometry of every contact (d⃗, d, δ, δe, the normal, the radical
plane's l_i, l_j, R*; at a wall s, δ, δe) is `dempack.contact.state`'s, the force kernel's
own formulas; the elastic pressure factor P (p = F_n/(π a²) = P δe^1.5, a² = R* δ) is
`contact.hertz.hertz_pressure_factor` on the flat's unloading radius
`contact.plastic.flattened_radius` of the force kernel's plastic limit, the hardness plus
the confinement H + s_ij c_i + (1 − s_ij) c_j (`law.pair_law`; H_wall + c_i at a wall). One
difference from the force kernel remains: its force is `hertz_normal` (the same force in
another order of operations).

**Kernel arguments.** The kernels take the arrays that travel together as plain tuples
(numba types a tuple of arrays by its fast path; each kernel unpacks them on entry):

- pairs = (x, R, mat, pi, pj, delta_flat): centres (N, 3) m, radii (N) m, material index
  (N), the pair list's members i < j (P) and flats δ_flat (P) m
  (`dempack.state.ContactList.pair_arrays`);
- box = (L, periodic_xy): the lateral periods Lx, Ly (2,) m and whether x and y are
  periodic (`dempack.geometry.Box.periodicity`);
- wall_contacts = (wall_delta_flat, wall_pos, wall_on): the particles' wall flats (N, 6) m,
  the wall slots' positions (6,) m and which slots are walls (`Box.wall_arrays`);
- law = (E_star, hardness, Ew, Hw, confinement, flat_share): the normal contact's E* and
  hardness (Pa) per material pair (nm, nm) and per material against the wall (nm),
  NO_HARDNESS where elastic, each particle's confinement pressure (N) Pa and the flat's share
  s_ij per material pair (nm, nm), which make the plastic limit
  (`dempack.contact.tables.ContactTables.normal_columns`); in 2D moduli = (E_star, Ew);
- creep = (A, n_exp, sigma_ref): the Norton law per material (or per particle, indexed by
  `mat`): A(T) (1/s), n, σ_ref (Pa);
- volume = (confinement, bulk, conserving): the volume constraint, each particle's
  confinement pressure c (Pa), the bulk modulus per material (Pa; in 2D the plane-strain
  in-plane K_ps) and which materials conserve volume;
- plane = (E, nu, beta, c, eps_out) (2D): per particle Young's modulus (Pa), Poisson's
  ratio, swelling coefficient β, lithiation and out-of-plane creep strain ε_yy^cr.
"""
from __future__ import annotations

import math

from numba import njit, prange

import numpy as np

from ..contact.hertz import hertz_pressure_factor
from ..contact.law import WALL_LINE_FACTOR
from ..contact.line import line_factor, line_normal
from ..contact.plastic import flattened_radius
from ..contact.state import contact_state, effective_radius, unit_normal, wall_state
from ..geometry import DISK_THICKNESS, WALL_NORMALS
from .plane_strain import out_of_plane_stress

# δ̇_cr = SIMILARITY_RATE_FACTOR · a A (p/(κ σ_ref))^n: 2 a ȧ/R* with ȧ = 3 (2R*) A (p/κσ_ref)^n
SIMILARITY_RATE_FACTOR = 12.0


@njit(cache=True)
def similarity_kappa(n):
    """κ = 3 (n + 2)/n, the pressure factor of the similarity solution (Storåkers et al. 1997,
    eq. 78 with Tabor's constraint factor 3 in the plastic limit n → ∞)."""
    return 3.0 * (n + 2.0) / n


@njit(cache=True)
def _side_rate(u, P, Ka, n, sigma_flow, p_ref):
    """Creep rate (m/s) of one side at elastic overlap u: Ka sgn(x) |x/σ_flow|^n,
    x = P u^1.5 − p_ref (the flat grows where the contact pressure exceeds the side's
    reference pressure and recedes where it falls below), Ka = 12 a A (0 for a side
    that does not creep), σ_flow = κ σ_ref."""
    if Ka <= 0.0:
        return 0.0
    x = P * u ** 1.5 - p_ref
    if x >= 0.0:
        return Ka * (x / sigma_flow) ** n
    return -Ka * (-x / sigma_flow) ** n


@njit(cache=True)
def _side_slope(u, P, Ka, n, sigma_flow, p_ref):
    """d(_side_rate)/du (m/s per m), ≥ 0."""
    if Ka <= 0.0:
        return 0.0
    x = abs(P * u ** 1.5 - p_ref)
    return Ka * n * (x / sigma_flow) ** (n - 1.0) / sigma_flow * 1.5 * P * math.sqrt(u)


@njit(cache=True)
def _creep_increment(de, delta_flat, dt, P, Kai, ni, si, pri, Kaj, nj, sj, prj):
    """Backward-Euler creep increment Δ of the flat over dt at fixed approach.

    The contact pressure is p = P u^(3/2) at elastic overlap u; after the step u solves
        f(u) = δe − u − dt (r_i(u) + r_j(u)) = 0,
    r_k the sides' signed rates (_side_rate). f decreases strictly in u, f(0) > 0, so the
    root is unique; the flat cannot recede below zero (u ≤ δe + δ_flat). Safeguarded
    Newton on the bracket [0, δe + δ_flat]. Δ = δe − u (< 0 where the flat recedes).
    """
    r0 = _side_rate(de, P, Kai, ni, si, pri) + _side_rate(de, P, Kaj, nj, sj, prj)
    if r0 == 0.0:
        return 0.0
    if r0 > 0.0:
        lo, hi = 0.0, de                    # f(lo) > 0 ≥ f(hi)
    else:
        lo, hi = de, de + delta_flat
        if de - hi - dt * (_side_rate(hi, P, Kai, ni, si, pri)
                           + _side_rate(hi, P, Kaj, nj, sj, prj)) >= 0.0:
            return -delta_flat              # the whole flat recedes
    u = 0.5 * (lo + hi)
    tol = 1e-12 * (de + delta_flat)
    for _ in range(100):
        f = de - u - dt * (_side_rate(u, P, Kai, ni, si, pri) + _side_rate(u, P, Kaj, nj, sj, prj))
        if f > 0.0:
            lo = u
        else:
            hi = u
        df = -1.0 - dt * (_side_slope(u, P, Kai, ni, si, pri) + _side_slope(u, P, Kaj, nj, sj, prj))
        un = u - f / df
        if not (lo < un < hi):
            un = 0.5 * (lo + hi)
        if abs(un - u) < tol or hi - lo < tol:
            u = un
            break
        u = un
    return de - u


@njit(cache=True, inline="always")
def _contact_state(x, R, mat, i, j, delta_flat, law, L, periodic_xy):
    """(δe, R*, a, P, l_i, l_j, d_x, d_y, d_z) of pair (i, j) (`contact.state.contact_state`):
    elastic overlap, effective radius, contact radius a = √(R* δ), pressure factor P with
    the mean contact pressure p = F_n/(π a²) = P δe^1.5 (`contact.hertz.hertz_pressure_factor`
    on the unloading radius of the flat, `contact.plastic.flattened_radius`, at the force
    kernel's plastic limit H + s_ij c_i + (1 − s_ij) c_j), the distances from each centre to
    the radical plane and the vector i → j. δe ≤ 0 means no elastic contact. law as the
    kernels take it (module docstring)."""
    E_star, hardness, _, _, conf, share = law
    touch, dx, dy, dz, d, delta, de, li, lj = contact_state(x, R, i, j, delta_flat, L,
                                                            periodic_xy)
    if not touch or de <= 0.0:
        return -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, dx, dy, dz
    Rs = effective_radius(R[i], R[j])
    Es = E_star[mat[i], mat[j]]
    sij = share[mat[i], mat[j]]
    Hc = hardness[mat[i], mat[j]] + sij * conf[i] + (1.0 - sij) * conf[j]
    Rp = flattened_radius(Rs, Es, Hc, delta_flat)
    a = math.sqrt(Rs * delta)
    return de, Rs, a, hertz_pressure_factor(Rp, Es, Rs, delta), li, lj, dx, dy, dz


@njit(cache=True, inline="always")
def _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, law):
    """(δe, a, P, s) of particle i on wall k, as _contact_state (s = centre–wall gap,
    `contact.state.wall_state`; plastic limit H_wall + c_i, as the force kernel's)."""
    _, _, Ew, Hw, conf, _ = law
    s, delta, de = wall_state(x, R, i, k, wall_pos, wall_delta_flat[i, k])
    if delta <= 0.0 or de <= 0.0:
        return -1.0, 0.0, 0.0, s
    Rp = flattened_radius(R[i], Ew[m], Hw[m] + conf[i], wall_delta_flat[i, k])
    a = math.sqrt(R[i] * delta)
    return de, a, hertz_pressure_factor(Rp, Ew[m], R[i], delta), s


@njit(cache=True, inline="always")
def _add_dyad(out, i, c, n0, n1, n2):
    """out[i] += c n ⊗ n."""
    out[i, 0, 0] += c * n0 * n0
    out[i, 0, 1] += c * n0 * n1
    out[i, 0, 2] += c * n0 * n2
    out[i, 1, 0] += c * n1 * n0
    out[i, 1, 1] += c * n1 * n1
    out[i, 1, 2] += c * n1 * n2
    out[i, 2, 0] += c * n2 * n0
    out[i, 2, 1] += c * n2 * n1
    out[i, 2, 2] += c * n2 * n2


@njit(cache=True, inline="always")
def _divide_by_volume(out, stiff, i, v):
    """out[i] /= v, stiff[i] /= v, element by element (a slice's in-place division costs an
    array view per particle)."""
    for a in range(3):
        for b in range(3):
            out[i, a, b] /= v
    stiff[i] /= v


@njit(cache=True, inline="always")
def _add_wall_terms(out, stiff, x, R, i, m, law, wall_contacts):
    """Particle i's wall contacts in `normal_stress`: out[i] += −s F n⊗n, stiff[i] += S s²
    (unscaled by V_i), slot by slot."""
    wall_delta_flat, wall_pos, wall_on = wall_contacts
    for k in range(6):
        if not wall_on[k]:
            continue
        de, a, P, s = _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, law)
        if de > 0.0:
            F = P * de ** 1.5 * math.pi * a * a
            _add_dyad(out, i, -s * F, WALL_NORMALS[k, 0], WALL_NORMALS[k, 1], WALL_NORMALS[k, 2])
            stiff[i] += 1.5 * F / de * s * s


@njit(cache=True)
def normal_stress(pairs, law, box, wall_contacts, vol, out, stiff):
    """out[i] = σ_i = −(1/V_i) Σ_c l_c F_n,c n_c ⊗ n_c (Pa, tension > 0, shape (N, 3, 3)):
    the particle stress tensor of DESIGN §2 from the elastic normal contact forces
    F_n = P δe^1.5 π a² (pairs and walls), l_c the distance from the centre to the contact
    plane, n_c the contact normal (d⃗/(l_i + l_j)), V_i = vol[i] the particle's true volume
    V0 (1 + βc); the contact state from `_contact_state` and `_wall_state` (module docstring,
    contact state).
    stiff[i] = K_c,i = (1/V_i) Σ_c S_c l_c² (Pa), S_c = dF_n/dδe = 1.5 F_n/δe the contact's
    normal stiffness: the stiffness of the particle's stress against a strain of its shape
    (see `particle_norton_flow`).
    Arguments (module docstring, kernel arguments): pairs = (x, R, mat, pi, pj, delta_flat),
    law = (E_star, hardness, Ew, Hw, confinement, flat_share), box = (L, periodic_xy),
    wall_contacts = (wall_delta_flat, wall_pos, wall_on)."""
    x, R, mat, pi, pj, delta_flat = pairs
    L, periodic_xy = box
    out[:] = 0.0
    stiff[:] = 0.0
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        de, Rs, a, P, li, lj, dx, dy, dz = _contact_state(x, R, mat, i, j, delta_flat[p], law, L,
                                                          periodic_xy)
        if de <= 0.0:
            continue
        F = P * de ** 1.5 * math.pi * a * a
        d = li + lj  # d up to one rounding: the normal this stress has always taken
        _add_dyad(out, i, -li * F, dx / d, dy / d, dz / d)
        _add_dyad(out, j, -lj * F, dx / d, dy / d, dz / d)
        S = 1.5 * F / de
        stiff[i] += S * li * li
        stiff[j] += S * lj * lj
    for i in range(x.shape[0]):
        _add_wall_terms(out, stiff, x, R, i, mat[i], law, wall_contacts)
    for i in range(x.shape[0]):
        _divide_by_volume(out, stiff, i, vol[i])


@njit(parallel=True, cache=True)
def normal_stress_threaded(pairs, law, box, wall_contacts, vol, out, stiff, adjacency, buf):
    """`normal_stress` on several threads, with the same result to the bit: a parallel pass
    over the pairs writes each contact's terms (−l_i F, −l_j F, n, S l_i², S l_j²) to buf
    (P, 8); a parallel pass over the particles adds each particle's terms in the order of the
    pair index, as the serial scatter does (its pairs as i, `row_start`, and as j,
    `col_start`/`col_pair`, merged by pair index), then its walls, then divides by V_i.
    adjacency = (row_start, col_start, col_pair) (`ContactList.adjacency`)."""
    x, R, mat, pi, pj, delta_flat = pairs
    L, periodic_xy = box
    row_start, col_start, col_pair = adjacency
    for p in prange(pi.shape[0]):
        de, Rs, a, P, li, lj, dx, dy, dz = _contact_state(x, R, mat, pi[p], pj[p], delta_flat[p],
                                                          law, L, periodic_xy)
        if de <= 0.0:
            buf[p, 7] = 0.0
            continue
        F = P * de ** 1.5 * math.pi * a * a
        d = li + lj
        S = 1.5 * F / de
        buf[p, 0] = -li * F
        buf[p, 1] = -lj * F
        buf[p, 2] = dx / d
        buf[p, 3] = dy / d
        buf[p, 4] = dz / d
        buf[p, 5] = S * li * li
        buf[p, 6] = S * lj * lj
        buf[p, 7] = 1.0
    for i in prange(x.shape[0]):
        out[i] = 0.0
        stiff[i] = 0.0
        r = row_start[i]
        r_end = row_start[i + 1]
        c = col_start[i]
        c_end = col_start[i + 1]
        while r < r_end or c < c_end:  # merge the two sorted runs by pair index
            if c >= c_end or (r < r_end and r < col_pair[c]):
                p = r
                side = 0
                r += 1
            else:
                p = col_pair[c]
                side = 1
                c += 1
            if buf[p, 7] == 0.0:
                continue
            _add_dyad(out, i, buf[p, side], buf[p, 2], buf[p, 3], buf[p, 4])
            stiff[i] += buf[p, 5 + side]
        _add_wall_terms(out, stiff, x, R, i, mat[i], law, wall_contacts)
        _divide_by_volume(out, stiff, i, vol[i])


@njit(cache=True)
def mean_pressure(pairs, law, box, wall_contacts, vol, out):
    """out[i] = p̄_i = −tr σ_i/3 = (1/(3V_i)) Σ_c l_c F_n,c (Pa, compressive > 0), σ_i from
    `normal_stress` (the same argument groups pairs, law, box, wall_contacts). For a particle
    enclosed by flat faces at one pressure p, Σ l_c A_c = 3V (divergence theorem), so p̄ = p."""
    x = pairs[0]
    sig = np.empty((x.shape[0], 3, 3))
    normal_stress(pairs, law, box, wall_contacts, vol, sig, np.empty(x.shape[0]))
    for i in range(x.shape[0]):
        out[i] = -(sig[i, 0, 0] + sig[i, 1, 1] + sig[i, 2, 2]) / 3.0


@njit(cache=True)
def norton_increment(se, dt, A, n, sigma_ref, stiffness):
    """Equivalent creep strain Δε of one step (backward Euler on the relaxing stress):
        Δε = dt A ((σ_e − k Δε)/σ_ref)^n,   0 ≤ Δε ≤ σ_e/k,
    k the stiffness that unloads the particle's von Mises stress as it creeps
    (`particle_norton_flow`); with k no larger than the true one the step never overshoots."""
    if se <= 0.0 or A <= 0.0:
        return 0.0
    lo = 0.0
    hi = se / stiffness
    d = min(hi, dt * A * (se / sigma_ref) ** n)     # explicit guess, ≥ the root
    for _ in range(100):
        r = se - stiffness * d
        f = d - dt * A * (r / sigma_ref) ** n if r > 0.0 else d
        if f == 0.0:
            return d
        if f > 0.0:
            hi = d
        else:
            lo = d
        df = 1.0 + dt * A * n * stiffness / sigma_ref * (max(r, 0.0) / sigma_ref) ** (n - 1.0)
        dn = d - f / df
        if abs(dn - d) <= 1e-12 * d:
            return dn
        if not (lo < dn < hi):
            dn = 0.5 * (lo + hi)
        if hi - lo <= 1e-15 * (se / stiffness):
            return dn
        d = dn
    return d


@njit(cache=True, inline="always")
def _mean_and_von_mises(sig, i):
    """(tr σ/3, σ_e) of particle i's stress tensor sig[i] (Pa): σ_e = √(3/2 s:s),
    s = σ − tr σ/3 I."""
    tr = (sig[i, 0, 0] + sig[i, 1, 1] + sig[i, 2, 2]) / 3.0
    ss = 0.0
    for a in range(3):
        for b in range(3):
            v = sig[i, a, b] - (tr if a == b else 0.0)
            ss += v * v
    return tr, math.sqrt(1.5 * ss)


@njit(cache=True)
def _flats_follow_strain(x, R, pi, pj, delta_flat, wall_delta_flat, wall_pos, wall_on, L, periodic_xy,
                         eps, moved):
    """The flats follow the particles' strain steps eps (N, 3, 3) (those with `moved`):
    Δδ_flat = −(n·Δε_i·n l_i + n·Δε_j·n l_j) at a pair (l from the centre to the radical
    plane), −n·Δε·n s at a wall (s the centre–wall gap), receding down to zero; n, l_i, l_j
    and s from `contact.state.contact_state` / `wall_state`."""
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        if not (moved[i] or moved[j]):
            continue
        touch, dx, dy, dz, d, _, _, li, lj = contact_state(x, R, i, j, 0.0, L, periodic_xy)
        if not touch:
            continue
        n0, n1, n2 = unit_normal(dx, dy, dz, d)
        change = 0.0
        for a in range(3):
            na = n0 if a == 0 else (n1 if a == 1 else n2)
            for b in range(3):
                nb = n0 if b == 0 else (n1 if b == 1 else n2)
                change -= na * nb * (eps[i, a, b] * li + eps[j, a, b] * lj)
        delta_flat[p] = max(delta_flat[p] + change, 0.0)
    for i in range(x.shape[0]):
        if not moved[i]:
            continue
        for k in range(6):
            if not wall_on[k]:
                continue
            s, delta, _ = wall_state(x, R, i, k, wall_pos, 0.0)
            if delta <= 0.0:
                continue
            enn = 0.0
            for a in range(3):
                for b in range(3):
                    enn += WALL_NORMALS[k, a] * WALL_NORMALS[k, b] * eps[i, a, b]
            wall_delta_flat[i, k] = max(wall_delta_flat[i, k] - enn * s, 0.0)


@njit(cache=True)
def _norton_strain_steps(mat, sig, contact_stiffness, creep, shear3, dt_phys, creep_strain,
                         out_of_plane_creep, volume, eps, disk):
    """The per-particle half of `particle_norton_flow` (spheres) and `particle_norton_flow_2d`
    (`disk`): fills eps (N, 3, 3) with each particle's strain step for its flats (the
    confinement give-back, c/(3K) I on a sphere, c/(2K_ps) in-plane on a disk, plus the Norton
    step 3/2 Δε_e s/σ_e, of which a disk keeps the in-plane deviator and adds Δε_yy to
    out_of_plane_creep), adds Δε_e to creep_strain, and returns which particles moved.
    Unloading stiffness 1/k = 1/(3G) + 5/K_c (sphere) or 8/(3K_c) (disk): see the callers.
    creep = (A, n_exp, sigma_ref), volume = (confinement, bulk, conserving) (module
    docstring, kernel arguments)."""
    A, n_exp, sigma_ref = creep
    confinement, bulk, conserving = volume
    n_part = mat.shape[0]
    eps[:] = 0.0
    moved = np.zeros(n_part, dtype=np.bool_)
    for i in range(n_part):
        m = mat[i]
        if conserving[m] and confinement[i] > 0.0:
            if disk:
                # only while the contacts' in-plane pressure is below c (see the 2D caller)
                p_in = -0.5 * (sig[i, 0, 0] + sig[i, 2, 2])
                back = max(confinement[i] - p_in, 0.0) / (2.0 * bulk[m]
                                                            + 0.5 * contact_stiffness[i])
            else:
                back = confinement[i] / (3.0 * bulk[m])
                eps[i, 1, 1] = back
            eps[i, 0, 0] = back
            eps[i, 2, 2] = back
            moved[i] = True
        if A[m] <= 0.0:
            continue
        tr, se = _mean_and_von_mises(sig, i)
        if contact_stiffness[i] > 0.0:
            cc = 8.0 / (3.0 * contact_stiffness[i]) if disk else 5.0 / contact_stiffness[i]
            k = 1.0 / (1.0 / shear3[m] + cc)
        else:
            k = shear3[m]
        d = norton_increment(se, dt_phys, A[m], n_exp[m], sigma_ref[m], k)
        if d <= 0.0:
            continue
        creep_strain[i] += d
        moved[i] = True
        if disk:
            f = 1.5 * d / se
            exx = f * (sig[i, 0, 0] - tr)
            ezz = f * (sig[i, 2, 2] - tr)
            out_of_plane_creep[i] += f * (sig[i, 1, 1] - tr)
            eps[i, 0, 0] += 0.5 * (exx - ezz)
            eps[i, 2, 2] += 0.5 * (ezz - exx)
            eps[i, 0, 2] += f * sig[i, 0, 2]
            eps[i, 2, 0] += f * sig[i, 2, 0]
        else:
            for a in range(3):
                for b in range(3):
                    eps[i, a, b] += 1.5 * d * (sig[i, a, b] - (tr if a == b else 0.0)) / se
    return moved


@njit(cache=True)
def particle_norton_flow(pairs, wall_contacts, box, sig, contact_stiffness, creep, shear3,
                         dt_phys, creep_strain, volume, eps):
    """Norton flow of each creeping particle driven by its von Mises stress, mapped onto its
    contacts (see the module docstring). sig: particle stress tensors (N, 3, 3) Pa from
    `normal_stress`; eps: scratch (N, 3, 3), the step's strain tensors on return.
    Per particle: s = σ − tr σ/3 I, σ_e = √(3/2 s:s), Δε_e = norton_increment(σ_e, …),
    Δε = 3/2 Δε_e s/σ_e (trace-free: constant volume); creep_strain += Δε_e. The stiffness
    that unloads σ_e as the particle creeps is its contacts' in series with its bulk:
    1/k = 1/(3G) + 5/K_c, K_c = (1/V) Σ_c S_c l_c² (`normal_stress`; a trace-free strain
    Δε shortens contact c by l n·Δε·n, so Δs = −(1/V) Σ S l² (n·Δε·n) n⊗n, which for
    contacts spread evenly over the sphere is −(2/15) K_c Δε, i.e. Δσ_e = −(K_c/5) Δε_e;
    the continuum's 3G plays the same part for the bulk).
    Volume: a volume-conserving particle (`conserving`, per material) whose caps exceed
    what its radius can restore (confinement pressure c > 0, dempack.physics.confinement)
    gives the hidden volume back: Δε gets + c/(3K) I, so its flats recede by the excess
    volumetric strain c/K (Σ_c A_c l_c = 3V for an enclosed particle) and it pushes its
    neighbours instead of hiding solid in overlaps. This is the volume constraint, not
    creep: it acts at every creep step whatever A.
    Per contact: the flat changes by the shortening of each side along the contact normal,
    Δδ_flat = −(n·Δε_i·n l_i + n·Δε_j·n l_j) (l from the centre to the radical plane),
    receding (down to zero) where a side elongates towards its neighbour.
    Arguments (module docstring, kernel arguments): pairs = (x, R, mat, pi, pj, delta_flat),
    wall_contacts = (wall_delta_flat, wall_pos, wall_on), box = (L, periodic_xy),
    creep = (A, n_exp, sigma_ref) per material, shear3 = 3G per material (Pa),
    volume = (confinement, bulk, conserving)."""
    x, R, mat, pi, pj, delta_flat = pairs
    wall_delta_flat, wall_pos, wall_on = wall_contacts
    L, periodic_xy = box
    moved = _norton_strain_steps(mat, sig, contact_stiffness, creep, shear3, dt_phys,
                                 creep_strain, np.empty(0), volume, eps, False)
    _flats_follow_strain(x, R, pi, pj, delta_flat, wall_delta_flat, wall_pos, wall_on, L, periodic_xy,
                         eps, moved)


@njit(cache=True)
def creep_contacts(pairs, law, creep, dt_phys, box, creep_strain, wall_contacts, p_ref, recede):
    """Advance the flat of every contact with a creeping side by one physical step
    dt_phys (s), each side driven by p − p_ref[side] (p_ref: the particles' reference
    pressures, Pa); with `recede` a flat whose contact is pressed below the reference
    recedes (down to zero), else flats only grow. Accumulate each particle's creep
    strain, Σ |Δδ_flat| × (its share of the rate) / (2R). Serial: a pair updates two
    particles. Arguments (module docstring, kernel arguments): pairs = (x, R, mat, pi, pj,
    delta_flat), law = (E_star, hardness, Ew, Hw, confinement, flat_share),
    creep = (A, n_exp, sigma_ref),
    box = (L, periodic_xy), wall_contacts = (wall_delta_flat, wall_pos, wall_on)."""
    x, R, mat, pi, pj, delta_flat = pairs
    A, n_exp, sigma_ref = creep
    L, periodic_xy = box
    wall_delta_flat, wall_pos, wall_on = wall_contacts
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        mi = mat[i]
        mj = mat[j]
        Ai = A[mi]
        Aj = A[mj]
        if Ai <= 0.0 and Aj <= 0.0:
            continue
        de, Rs, a, P, li, lj, _, _, _ = _contact_state(x, R, mat, i, j, delta_flat[p], law, L,
                                                       periodic_xy)
        if de <= 0.0:
            continue
        ni = n_exp[mi]
        nj = n_exp[mj]
        Kai = SIMILARITY_RATE_FACTOR * a * Ai
        Kaj = SIMILARITY_RATE_FACTOR * a * Aj
        si = similarity_kappa(ni) * sigma_ref[mi]
        sj = similarity_kappa(nj) * sigma_ref[mj]
        d = _creep_increment(de, delta_flat[p] if recede else 0.0, dt_phys, P, Kai, ni, si,
                             p_ref[i], Kaj, nj, sj, p_ref[j])
        if d == 0.0:
            continue
        delta_flat[p] = max(delta_flat[p] + d, 0.0)
        # split the creep strain by the two sides' rates at the new state
        u = de - d
        ri = abs(_side_rate(u, P, Kai, ni, si, p_ref[i]))
        rj = abs(_side_rate(u, P, Kaj, nj, sj, p_ref[j]))
        tot = ri + rj
        fi = ri / tot if tot > 0.0 else (1.0 if Kai > 0.0 else 0.0)
        creep_strain[i] += abs(d) * fi / (2.0 * R[i])
        creep_strain[j] += abs(d) * (1.0 - fi) / (2.0 * R[j])
    for i in range(x.shape[0]):
        m = mat[i]
        if A[m] <= 0.0:
            continue
        for k in range(6):
            if not wall_on[k]:
                continue
            de, a, P, s = _wall_state(x, R, i, k, m, wall_delta_flat, wall_pos, law)
            if de <= 0.0:
                continue
            d = _creep_increment(de, wall_delta_flat[i, k] if recede else 0.0, dt_phys, P,
                                 SIMILARITY_RATE_FACTOR * a * A[m], n_exp[m],
                                 similarity_kappa(n_exp[m]) * sigma_ref[m], p_ref[i], 0.0, 1.0,
                                 1.0, 0.0)
            wall_delta_flat[i, k] = max(wall_delta_flat[i, k] + d, 0.0)
            creep_strain[i] += abs(d) / (2.0 * R[i])


# ------------------------------------------------------------------ 2D: disks (plane strain)


@njit(cache=True)
def normal_stress_2d(pairs, moduli, box, wall_contacts, vol, plane, out, stiff):
    """The 2D `normal_stress` (module docstring, 2D mode): out[i] = σ_i (Pa, tension > 0,
    (N, 3, 3)) of disk i in the x–z plane,
        σ_i = −(1/V_i) Σ_c l_c F_c n_c ⊗ n_c   (in-plane: xx, xz, zz),
        σ_yy = ν_i (σ_xx + σ_zz) − E_i (e_sw + ε_yy^cr),   e_sw = ln(1 + β_i c_i)/3,
    F_c the elastic normal force of the line contact of thickness t = DISK_THICKNESS on the
    elastic overlap δ − δ_flat (`contact.line.line_normal`: factor C = line_factor for a pair,
    WALL_LINE_FACTOR for a wall), at the flats the last step left (it capped them at the plastic
    limit with each particle's confinement, H + c, as the force kernel does; a bare-H cap here
    would miss the GPa pressures of an over-filled box, where c ≫ H), l_c the centre's distance to the contact line (the radical line for a pair,
    the gap s at a wall), V_i = vol[i] = π R_i² t (m³, DESIGN §2). E, nu, beta, c, eps_out: per
    particle (Pa, −, −, lithiation, out-of-plane creep strain); E_star, Ew as in
    `normal_stress` (E* holds the plane-strain moduli). Only wall slots 0–3 count.
    stiff[i] = K_c,i = (1/V_i) Σ_c S_c l_c² (Pa), S_c = t dP/dδ the line contact's normal
    stiffness (N/m) (see `particle_norton_flow_2d`).
    Arguments (module docstring, kernel arguments): pairs = (x, R, mat, pi, pj, delta_flat),
    moduli = (E_star, Ew), box = (L, periodic_xy), wall_contacts = (wall_delta_flat,
    wall_pos, wall_on), plane = (E, nu, beta, c, eps_out)."""
    x, R, mat, pi, pj, delta_flat = pairs
    E_star, Ew = moduli
    L, periodic_xy = box
    wall_delta_flat, wall_pos, wall_on = wall_contacts
    E, nu, beta, c, eps_out = plane
    out[:] = 0.0
    stiff[:] = 0.0
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        touch, dx, dy, dz, d, _, de, li, lj = contact_state(x, R, i, j, delta_flat[p], L,
                                                            periodic_xy)
        if not touch or de <= 0.0:
            continue
        Rs = effective_radius(R[i], R[j])
        _, S, F = line_normal(de, Rs, E_star[mat[i], mat[j]], line_factor(R[i], R[j], Rs),
                              DISK_THICKNESS)
        n0, n1, n2 = unit_normal(dx, dy, dz, d)
        _add_dyad(out, i, -li * F, n0, n1, n2)
        _add_dyad(out, j, -lj * F, n0, n1, n2)
        stiff[i] += S * li * li
        stiff[j] += S * lj * lj
    for i in range(x.shape[0]):
        m = mat[i]
        for k in range(4):
            if not wall_on[k]:
                continue
            s, delta, de = wall_state(x, R, i, k, wall_pos, wall_delta_flat[i, k])
            if delta <= 0.0 or de <= 0.0:
                continue
            _, S, F = line_normal(de, R[i], Ew[m], WALL_LINE_FACTOR, DISK_THICKNESS)
            _add_dyad(out, i, -s * F, WALL_NORMALS[k, 0], WALL_NORMALS[k, 1], WALL_NORMALS[k, 2])
            stiff[i] += S * s * s
    for i in range(x.shape[0]):
        _divide_by_volume(out, stiff, i, vol[i])
        out[i, 1, 1] = out_of_plane_stress(out[i, 0, 0], out[i, 2, 2], E[i], nu[i], beta[i], c[i],
                                           eps_out[i])


@njit(cache=True)
def particle_norton_flow_2d(pairs, wall_contacts, box, sig, contact_stiffness, creep, shear3,
                            dt_phys, creep_strain, out_of_plane_creep, volume, eps):
    """The 2D `particle_norton_flow` (module docstring, 2D mode), for disks in the x–z plane.
    sig: (N, 3, 3) Pa from `normal_stress_2d` (σ_yy included); eps: scratch (N, 3, 3), on
    return the in-plane strain put onto the flats (eps[:, 1, :] = eps[:, :, 1] = 0).
    Per disk: s = σ − tr σ/3 I (the full 3×3 deviator), σ_e = √(3/2 s:s),
    Δε_e = norton_increment(σ_e, …), Δε = 3/2 Δε_e s/σ_e (trace-free), creep_strain += Δε_e;
        out_of_plane_creep += Δε_yy                     (relaxes σ_yy, enters the true area),
        flats ← Δε_in − tr(Δε_in)/2 I                   (the in-plane deviator, x–z),
    the in-plane isotropic part −Δε_yy/2 being already in `plane_strain.true_area`.
    Unloading stiffness: 1/k = 1/(3G) + 8/(3 K_c), K_c = (1/V) Σ_c S_c l_c² (`normal_stress_2d`).
    Derivation: a trace-free in-plane strain Δε shortens contact c by l n·Δε·n, so
    Δs = −(1/V) Σ S l² (n·Δε·n) n⊗n; for contacts spread evenly over the circle,
    ⟨n_i n_j n_k n_l⟩ = (δ_ij δ_kl + δ_ik δ_jl + δ_il δ_jk)/8 gives Δs = −(K_c/4) Δε, and with
    σ_e = √(3/2 s:s), ε_e = √(2/3 ε:ε): Δσ_e = (K_c/4)(3/2) Δε_e = (3/8) K_c Δε_e (3D:
    K_c/5); the bulk's 3G in series, as in 3D. This k is no stiffer than the out-of-plane
    one (E), so the backward-Euler step does not overshoot.
    Confinement: a volume-conserving disk (`conserving`, per material) with c = confinement
    > 0 gives the hidden area back while its contacts' in-plane pressure p = −(σ_xx + σ_zz)/2
    is below c: Δε_xx, Δε_zz += (c − p)/(2 K_ps + K_c/2), K_ps = bulk_ps[m] =
    E/(2 (1 + ν)(1 − 2ν)) the plane-strain in-plane bulk modulus
    (`plane_strain.plane_strain_bulk_modulus`); its flats recede by that strain, which raises
    p by K_c/2 per unit strain (an isotropic strain on an enclosed disk), so p rises to c and
    stops there without overshoot, and the area given back never exceeds the excess c/K_ps
    (Σ_c 2a_c t l_c = 2V for an enclosed disk). In a fixed box that over-fills (the study's
    RVE) the hidden area cannot go anywhere: the disk then carries c as contact pressure
    instead of pushing its flats back without end. (The 3D law gives back c/(3K) at every
    step: under a stack servo or spring the stack yields; its unification with this bound
    is left to the formula unifications of DESIGN §10.)
    Flats: `_flats_follow_strain` (Δδ_flat = −n·Δε·n l, n in the x–z plane; the y wall slots
    must be off in wall_on).
    Arguments (module docstring, kernel arguments): pairs = (x, R, mat, pi, pj, delta_flat),
    wall_contacts = (wall_delta_flat, wall_pos, wall_on), box = (L, periodic_xy),
    creep = (A, n_exp, sigma_ref), shear3 = 3G (Pa), volume = (confinement, bulk_ps,
    conserving); the caller passes per-particle properties with mat = arange(N)."""
    x, R, mat, pi, pj, delta_flat = pairs
    wall_delta_flat, wall_pos, wall_on = wall_contacts
    L, periodic_xy = box
    moved = _norton_strain_steps(mat, sig, contact_stiffness, creep, shear3, dt_phys,
                                 creep_strain, out_of_plane_creep, volume, eps, True)
    _flats_follow_strain(x, R, pi, pj, delta_flat, wall_delta_flat, wall_pos, wall_on, L, periodic_xy,
                         eps, moved)
