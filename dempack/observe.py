"""Observables (DESIGN §3): porosity, contacts, contact ratio, particle stress; the
output row (`observe_row`: the observables, checked by `dempack.safety`, handed to the
writers), the inertial number, the true porosity a pressing stage ends on, and the run's
summary (`summary`, summary.json).

In 3D (spheres):

- contact radius = radius of the intersection circle of two spheres of radii
  R1, R2 at centre distance d < R1+R2:
  a² = R1² − x², x = (d² + R1² − R2²)/(2d)      (a² ≈ R*δ for δ ≪ R);
  contact ratio A–B = Σ π a² over A–B contacts / surface of the A particles.
- solid volume (porosity) = Σ sphere ∩ power cell: lenses split at their radical
  planes, wall caps cut, multiple overlaps counted once
  (dempack.physics.volume.removed_volumes); a porous agglomerate (Super P,
  dempack.physics.agglomerate) counts (1 − ε_i) of its envelope inside its cell, so its
  internal pores are pores of the electrode:
      porosity = 1 − Σ_i s_i / V_die,  s_i = V_i − V_cut,i for a dense particle and
      min((1 − ε_i) V0_i, V_i − V_cut,i) for an agglomerate of envelope V0_i = 4/3 π R0_i³.
- particle stress tensor σ_i = (1/V_i) Σ_c sym(l_c ⊗ f_c) (l branch vector centre →
  contact point, f contact force on i; Christoffersen et al. 1981,
  doi:10.1115/1.3157599), from the contact forces of the last step
  (`particle_stress`, also the fracture criterion's stress; in 2D with σ_yy, below);
  von Mises σ_e = √(3/2 s:s), s = σ − tr(σ)/3 I; mean pressure p = −tr(σ)/3.

In 2D (`Box.dimension == 2`: disks in the x–z plane, plane strain, thickness
t = DISK_THICKNESS; DESIGN §2 "2D mode", §10 "2D RVE set-up", DESIGN §2), the same
quantities per unit thickness, volumes V = π R² t, surfaces 2 π R t
(`geometry.particle_volume` / `particle_surface`):
- contact "area" = the flat's length across the contact times t, 2 a t, with a the
  half-chord of the two circles' intersection, a² = R_i² − l_i²,
  l_i = (d² + R_i² − R_j²)/(2d) (the 3D intersection-circle formula, exact): like the 3D
  radius it is the size of the flat that creep and plasticity make (a truncated disk's flat
  is that chord), not the elastic line-contact half-width a² = 4 P R*/(π E*), which misses
  the flats. Contact ratio A–B = Σ 2a over A–B contacts / Σ 2π R of the A disks: the
  contacted perimeter over the perimeter (issue 15). Contacts with walls are not counted,
  in 2D and 3D alike (the RVE's symmetry walls, DESIGN §10).
- solid area = union of the disks: each disk loses the circular segments beyond the
  radical lines of its overlaps (the common chord; the two segments of a pair make its lens
  exactly, R² acos(l/R) − l √(R² − l²) each, `geometry.segment_area`) and beyond the walls
  (slots 0–3; the y slots are off); where two segments of one disk meet (three disks share
  a point), the disk keeps exactly the area inside all its chords (`exact_removed_areas`), so
  multiple overlaps are removed once; porosity = 1 − Σ solid_i t / (Lx t z_top). The
  split at the radical line ignores which side made a flat (the 3D cells give the flat to
  the softer side): the total is the union either way, only the per-disk share (a porous
  agglomerate's envelope) differs. The free perimeter (pore_surface) is the exact
  complement of the union of the segments' arcs. Lithiation-dependent true volume in 2D:
  `true_volumes` (DESIGN §2).
- particle stress: the contact part σ = (1/V) Σ sym(l ⊗ f) (in-plane) plus the
  out-of-plane stress of plane strain (total ε_yy = 0),
      σ_yy = ν (σ_xx + σ_zz) − E (e_sw + ε_yy^cr),  e_sw = ln(1 + β c)/3
  (`out_of_plane_stress`; E, ν, β the material's, c the lithiation, ε_yy^cr
  ParticleState.out_of_plane_creep): a free elastic disk carries σ_yy = −E e_sw when it
  swells. Von Mises and pressure are of the full 3×3 tensor.

Every pair and wall geometry here (d, δ, δe, the normal, the radical plane l_i, the
intersection radius a² = R_i² − l_i², the stress's lever arms r_i = R_i − δ/2 of the
recorded pair forces, the wall gap s) is `dempack.contact.state`'s: the force kernel's own
formulas (`contact_state`, `wall_state`; the numpy functions through `pair_overlaps` and
`contact_half_widths`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._version import __version__
from .contact.state import (contact_arms, contact_state, intersection_radius_sq, pair_overlaps,
                            unit_normal, wall_state)
from .geometry import (DISK_THICKNESS, WALL_NORMALS, particle_surface, particle_volume,
                       segment_area)
from .state import N_WALLS
from .physics.plane_strain import out_of_plane_stress, true_area
from .safety import add_rate_mark, check_row, rate_window, warn_inertial


@njit(cache=True)
def _contacts(x, R, mat, alive, pi, pj, L, periodic_xy, nm, delta_flat, thickness):
    """Per particle contact count, contact area (nm,nm) of A touching B (m², π a²
    per contact; with thickness t > 0, disks: 2 a t, the flat's length times t) and the
    largest elastic overlap (δ − δ_cr)/min(R1, R2) with its pair."""
    n = x.shape[0]
    ncontact = np.zeros(n, np.int64)
    area = np.zeros((nm, nm))
    max_ratio = 0.0
    wi = -1
    wj = -1
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        if not (alive[i] and alive[j]):
            continue
        _, _, _, _, d, delta, de, _, _ = contact_state(x, R, i, j, delta_flat[p], L, periodic_xy)
        if delta <= 0.0:
            continue
        R1 = R[i]
        R2 = R[j]
        r = de / min(R1, R2)
        if r > max_ratio:
            max_ratio = r
            wi = int(i)
            wj = int(j)
        ncontact[i] += 1
        ncontact[j] += 1
        a2 = intersection_radius_sq(d, R1, R2)
        c = 2.0 * math.sqrt(a2) * thickness if thickness > 0.0 else math.pi * a2
        area[mat[i], mat[j]] += c
        area[mat[j], mat[i]] += c
    return ncontact, area, max_ratio, wi, wj


@njit(cache=True, inline="always")
def _wrap_angle(a):
    """Angle (rad) into (−π, π]."""
    a = a % (2.0 * math.pi)
    return a - 2.0 * math.pi if a > math.pi else a


@njit(cache=True)
def _kept_area(R, phi, ll, k):
    """Area (m²) of a disk of radius R (centre at the origin) inside all the half-planes
    u_k·r ≤ l_k, u_k = (cos φ_k, sin φ_k), l_k > 0: in polar form ½ ∫ ρ(φ)² dφ,
    ρ = min(R, min_k l_k / cos(φ − φ_k) over cos > 0), exact piece by piece between the
    angles where a chord meets the circle (φ_k ± acos(l_k/R)) or two chords' lines cross:
    ½ R² Δφ on the circle, ½ l_k² Δ tan(φ − φ_k) on chord k."""
    nb = 2 * k + k * (k - 1) + 1
    br = np.empty(nb)
    m = 0
    for a in range(k):
        th = math.acos(min(1.0, ll[a] / R))
        br[m] = (phi[a] - th) % (2.0 * math.pi)
        br[m + 1] = (phi[a] + th) % (2.0 * math.pi)
        m += 2
        for b in range(a + 1, k):
            # l_a cos(φ − φ_b) = l_b cos(φ − φ_a): c cos φ + s sin φ = 0
            c = ll[a] * math.cos(phi[b]) - ll[b] * math.cos(phi[a])
            sn = ll[a] * math.sin(phi[b]) - ll[b] * math.sin(phi[a])
            f0 = math.atan2(c, -sn)
            br[m] = f0 % (2.0 * math.pi)
            br[m + 1] = (f0 + math.pi) % (2.0 * math.pi)
            m += 2
    br[:m].sort()
    br[m] = br[0] + 2.0 * math.pi  # close the circle
    m += 1
    kept = 0.0
    for q in range(m - 1):
        f1 = br[q]
        f2 = br[q + 1]
        if f2 - f1 <= 0.0:
            continue
        fm = 0.5 * (f1 + f2)
        best = -1
        rmin = R
        for a in range(k):
            u = math.cos(fm - phi[a])
            if u * R > ll[a]:
                r = ll[a] / u
                if r < rmin:
                    rmin = r
                    best = a
        if best < 0:
            kept += 0.5 * R * R * (f2 - f1)
        else:
            la = ll[best]
            kept += 0.5 * la * la * (math.tan(_wrap_angle(f2 - phi[best]))
                                     - math.tan(_wrap_angle(f1 - phi[best])))
    return kept


@njit(cache=True)
def _arc_union(phi, theta, k):
    """Length (rad) of the union of the arcs [φ_a − θ_a, φ_a + θ_a], a < k, of a circle."""
    two_pi = 2.0 * math.pi
    st = np.empty(2 * k)
    en = np.empty(2 * k)
    m = 0
    for a in range(k):
        if theta[a] >= math.pi:
            return two_pi
        s0 = (phi[a] - theta[a]) % two_pi
        e0 = s0 + 2.0 * theta[a]
        if e0 > two_pi:  # wraps past 2π: two pieces
            st[m] = s0
            en[m] = two_pi
            m += 1
            st[m] = 0.0
            en[m] = e0 - two_pi
        else:
            st[m] = s0
            en[m] = e0
        m += 1
    order = np.argsort(st[:m])
    tot = 0.0
    cs = -1.0
    ce = -1.0
    for q in order:
        if st[q] > ce:
            if ce > cs:
                tot += ce - cs
            cs = st[q]
            ce = en[q]
        elif en[q] > ce:
            ce = en[q]
    if ce > cs:
        tot += ce - cs
    return min(tot, two_pi)


@njit(cache=True)
def exact_removed_areas(x, R, pi, pj, adjacency, box, walls, out, free):
    """2D (disks in the x–z plane): out[i] = area (m²) of disk i outside its cell, the union
    of the circular segments beyond the radical lines of its overlaps, at
    l_i = (d² + R_i² − R_j²)/(2d) from its centre (the common chord: the two segments of a
    pair make its lens exactly, so Σ_i (π R_i² − out[i]) is the area of the union of the
    disks), and beyond the walls (slots 0–3 where on, l = the centre's distance to the wall).
    The exact counterpart, for the porosity, of `physics.volume.removed_areas` (which splits
    each flat to the side that made it, for the volume-conserving radius, and corrects
    meeting segments by quadrature): the union's total does not depend on the split.
    Σ_k segment_area(R, l_k) (`geometry.segment_area`) while no two segments of i meet
    (their arcs are disjoint); where they meet, π R² less the area inside all the chords,
    integrated exactly in polar form (`_kept_area`; a chord past the centre, l_k ≤ 0, a
    disk more than half inside a bigger one, is taken at l_k = 10⁻³ R there, as in the 3D
    `physics.volume.removed_volumes`); the union is never below the largest segment. free[i] = the fraction of i's perimeter outside all its segments (bordering
    a pore), 1 − |∪ arcs|/(2π), exact (arc k spans φ_k ± acos(l_k/R)).
    Argument groups as in `physics.volume.removed_areas`: adjacency = (row_start, col_start,
    col_pair) (`ContactList.adjacency`), box = (L, periodic_xy) (`Box.periodicity`),
    walls = (wall_pos, wall_on) (`Box.wall_arrays`)."""
    row_start, col_start, col_pair = adjacency
    L, periodic_xy = box
    wall_pos, wall_on = walls
    n = x.shape[0]
    for i in range(n):
        Ri = R[i]
        cnt = row_start[i + 1] - row_start[i] + col_start[i + 1] - col_start[i] + 4
        phi = np.empty(cnt)
        ll = np.empty(cnt)
        theta = np.empty(cnt)
        k = 0
        for side in range(2):
            lo = row_start[i] if side == 0 else col_start[i]
            hi = row_start[i + 1] if side == 0 else col_start[i + 1]
            for q in range(lo, hi):
                p = q if side == 0 else col_pair[q]
                j = pj[p] if side == 0 else pi[p]
                touch, dx, _, dz, _, _, _, li, _ = contact_state(x, R, i, j, 0.0, L, periodic_xy)
                if not touch or li >= Ri:  # li ≥ Ri: j lies inside i, no segment
                    continue
                phi[k] = math.atan2(dz, dx)
                ll[k] = max(li, -Ri)
                k += 1
        for wk in range(4):
            if wall_on[wk]:
                sgap, dw, _ = wall_state(x, R, i, wk, wall_pos, 0.0)
                if dw > 0.0:
                    phi[k] = math.atan2(-WALL_NORMALS[wk, 2], -WALL_NORMALS[wk, 0])
                    ll[k] = max(sgap, -Ri)
                    k += 1
        tot = 0.0
        big = 0.0
        arcs = 0.0
        for a in range(k):
            sa = segment_area(Ri, ll[a])
            tot += sa
            big = max(big, sa)
            theta[a] = math.atan2(math.sqrt((Ri - ll[a]) * (Ri + ll[a])), ll[a])  # acos(l/R)
            arcs += 2.0 * theta[a]
        union = _arc_union(phi, theta, k) if k > 0 else 0.0
        if k > 1 and arcs - union > 1e-12:  # two segments meet: the kept area exactly
            for a in range(k):
                ll[a] = max(ll[a], 1e-3 * Ri)
            tot = math.pi * Ri * Ri - _kept_area(Ri, phi, ll, k)
        out[i] = max(tot, big)
        free[i] = 1.0 - union / (2.0 * math.pi)


@njit(cache=True)
def contact_stress_sums(x, R, alive, pi, pj, fbuf, wall_force, wall_pos, wall_on, L,
                        periodic_xy):
    """Per particle: S = Σ_c l_c ⊗ f_c (N m; divide by V for the stress tensor)
    and the largest compressive normal contact force (N), over the pair and wall
    contacts of alive particles that carried a force in the last step.
    l_c = centre → contact point (mid-plane of the overlap for pairs, the wall
    plane for walls); f_c = force on the particle."""
    n = x.shape[0]
    S = np.zeros((n, 3, 3))
    fmax = np.zeros(n)
    for p in range(pi.shape[0]):
        f0 = fbuf[p, 0]
        f1 = fbuf[p, 1]
        f2 = fbuf[p, 2]
        if f0 == 0.0 and f1 == 0.0 and f2 == 0.0:
            continue
        i = pi[p]
        j = pj[p]
        if not (alive[i] and alive[j]):
            continue
        # the pair carried the force in the last step; it may be apart now (δ ≤ 0)
        _, dx, dy, dz, d, delta, _, _, _ = contact_state(x, R, i, j, 0.0, L, periodic_xy)
        if d == 0.0:
            continue
        nv = unit_normal(dx, dy, dz, d)  # i → j
        ri, rj = contact_arms(R[i], R[j], delta)
        fv = (f0, f1, f2)
        for a in range(3):
            for b in range(3):
                t = nv[a] * fv[b]
                S[i, a, b] += ri * t   # l_i = ri n, f_i = f
                S[j, a, b] += rj * t   # l_j = −rj n, f_j = −f
        fn = -(nv[0] * f0 + nv[1] * f1 + nv[2] * f2)
        if fn > fmax[i]:
            fmax[i] = fn
        if fn > fmax[j]:
            fmax[j] = fn
    for i in range(n):
        if not alive[i]:
            continue
        for k in range(N_WALLS):
            if not wall_on[k]:
                continue
            f0 = wall_force[i, k, 0]
            f1 = wall_force[i, k, 1]
            f2 = wall_force[i, k, 2]
            if f0 == 0.0 and f1 == 0.0 and f2 == 0.0:
                continue
            s, _, _ = wall_state(x, R, i, k, wall_pos, 0.0)
            fv = (f0, f1, f2)
            for a in range(3):
                for b in range(3):
                    S[i, a, b] += -s * WALL_NORMALS[k, a] * fv[b]  # l = −s n_wall
            fn = WALL_NORMALS[k, 0] * f0 + WALL_NORMALS[k, 1] * f1 + WALL_NORMALS[k, 2] * f2
            if fn > fmax[i]:
                fmax[i] = fn
    return S, fmax


def contact_half_widths(R1, R2, d):
    """Contact (half-)width a (m) of pairs of radii R1, R2 (m) at centre distance d (m):
    the radius of the two spheres' intersection circle (3D) or the half-chord of the two
    circles' (2D), one formula, as `_contacts` takes it
    (`contact.state.intersection_radius_sq`): a² = R1² − x², x = (d² + R1² − R2²)/(2d);
    0 apart (d ≥ R1 + R2) or nested (d ≤ |R1 − R2|). Arrays broadcast."""
    R1, R2, d = np.broadcast_arrays(*(np.asarray(v, float) for v in (R1, R2, d)))
    return _half_widths(np.ravel(R1), np.ravel(R2), np.ravel(d)).reshape(d.shape)


@njit(cache=True)
def _half_widths(R1, R2, d):
    out = np.zeros(d.shape[0])
    for p in range(d.shape[0]):
        if R1[p] + R2[p] - d[p] > 0.0:  # δ > 0 (contact.state.distance_overlap)
            out[p] = math.sqrt(intersection_radius_sq(d[p], R1[p], R2[p]))
    return out


def pair_network(sim) -> dict:
    """Per candidate pair of `sim.contacts`: touching (P) bool (both alive, d < R_i + R_j),
    n (P,3) unit vector i → j (minimum image), d (P) m centre distance, F_n (P) N normal
    force −n·f_ij (compression > 0; f_ij the force on i from j,
    `Simulation.pair_contact_forces`; 2D: over the disks' thickness t = 1 m, so N/m; 0
    where not touching) and a (P) m the contact (half-)width (`contact_half_widths`).
    The force chains of the app's contact layer."""
    from .geometry import minimum_image
    ps, cl = sim.particles, sim.contacts
    i, j = np.asarray(cl.i, np.int64), np.asarray(cl.j, np.int64)
    dx = minimum_image(ps.x[j] - ps.x[i], sim.box)
    d, delta = pair_overlaps(dx, ps.R[i], ps.R[j])
    n = dx / np.where(d > 0.0, d, 1.0)[:, None]  # contact.state.unit_normal, per row
    touching = ps.alive[i] & ps.alive[j] & (delta > 0.0) & (d > 0.0)
    f = sim.pair_contact_forces() if touching.any() else np.zeros((len(i), 3))
    fn = np.where(touching, -np.sum(n * f, axis=1), 0.0)
    a = np.where(touching, contact_half_widths(ps.R[i], ps.R[j], d), 0.0)
    return {"touching": touching, "n": n, "d": d, "F_n": fn, "a": a}


def dimension(sim) -> int:
    """3 (spheres) or 2 (disks in the x–z plane), from the box (3 where it does not say)."""
    return getattr(sim.box, "dimension", 3)


def true_volumes(sim):
    """True (target) volume of each particle (m³): V0 (1 + β c) of a sphere
    (physics.swelling.true_volume); in 2D the disk's true in-plane area times t,
    π R0² (1 + β c) exp(−(1 − 2ν)(e_sw + ε_yy^cr)) t (physics.plane_strain.true_area: the
    elastic disk takes (1 + ν)·2/3 of the volumetric swelling in-plane, a relaxed one all of it)."""
    ps = sim.particles
    beta = sim.swelling[ps.material]
    if dimension(sim) == 2:
        nu = sim.plane_strain_properties()[1]          # interpolated with lithiation
        return true_area(ps.R0, beta, ps.lithiation, nu, ps.out_of_plane_creep)
    from .physics.swelling import true_volume
    return true_volume(ps.R0, beta, ps.lithiation)


def compressed_volume(sim, V) -> float:
    """Σ_i V_i p_i / K_i (m³) over the live solid particles: the elastic volume change that
    their confinement pressures p_i stand for (dempack.physics.confinement: p_i = K_i
    ⟨V_cut − V_allow⟩_i / V_i, so right after a volume update it is the cut volume beyond what
    growth restored). V (N,) the true volumes (`true_volumes`), K_i = E/(3(1 − 2ν)); 2D: the
    plane-strain in-plane bulk modulus and areas × t. Porous agglomerates are left out: their
    pressure compacts their pores (dempack.physics.agglomerate), not their solid."""
    ps = sim.particles
    sel = ps.alive & (ps.confinement > 0.0) & ~sim.porous[ps.material]
    if not sel.any():
        return 0.0
    if dimension(sim) == 2:
        from .physics.plane_strain import plane_strain_bulk_modulus
        E_p, nu = sim.plane_strain_properties()[:2]
        K = plane_strain_bulk_modulus(E_p, nu)
    else:
        K = sim.bulk_modulus[ps.material]
    return float(np.sum(V[sel] * ps.confinement[sel] / K[sel]))


def particle_stress(sim):
    """(σ (N,3,3) Pa symmetric particle stress tensors σ_i = (1/V_i) Σ_c sym(l_c ⊗ f_c),
    max normal contact force (N,) N) from the contact forces of the last step (pairs:
    `Simulation.pair_contact_forces`, recomputed from the current state where the step
    did not record them; walls: the last step's wall forces). V_i = `particle_volume`;
    in 2D σ_yy is the plane-strain out-of-plane stress (`out_of_plane_stress`)."""
    ps, cl, box = sim.particles, sim.contacts, sim.box
    pos, _, on = box.wall_arrays()
    S, fmax = contact_stress_sums(ps.x, ps.R, ps.alive, cl.i, cl.j, sim.pair_contact_forces(),
                                  ps.wall_force, pos, on, np.asarray(box.L[:2], float),
                                  box.periodic_xy)
    dim = dimension(sim)
    V = particle_volume(ps.R, dim)
    sig = S / V[:, None, None]
    sig = 0.5 * (sig + np.swapaxes(sig, 1, 2))
    if dim == 2:
        E, nu = sim.plane_strain_properties()[:2]      # interpolated with lithiation
        sig[:, 1, 1] = out_of_plane_stress(sig[:, 0, 0], sig[:, 2, 2], E, nu, sim.swelling[ps.material],
                                           ps.lithiation, ps.out_of_plane_creep)
    return sig, fmax


def deviator_sq(sig):
    """s:s (Pa²) of stress tensors (…,3,3), s = sym(σ) − tr(σ)/3 I."""
    s = 0.5 * (sig + np.swapaxes(sig, -1, -2))
    tr = np.trace(s, axis1=-2, axis2=-1)
    dev = s - tr[..., None, None] / 3.0 * np.eye(3)
    return np.sum(dev * dev, axis=(-2, -1))


def von_mises(sig):
    """σ_e = √(3/2 s:s) of stress tensors (…,3,3)."""
    return np.sqrt(1.5 * deviator_sq(sig))


def mean_pressure(sig):
    """p = −tr(σ)/3 (Pa, compression > 0) of stress tensors (…,3,3)."""
    return -np.trace(sig, axis1=-2, axis2=-1) / 3.0


def analyse(sim) -> dict:
    """Per-particle and aggregate contact quantities of the current state.

    Returns a dict with 'ncontact' (N), 'stress' (N,3,3) Pa, 'stress_vm' (N) Pa,
    'pressure' (N) Pa (−tr σ/3), 'area' (nm,nm) m² contact area of A touching B (2D:
    2 a t per contact), 'pore_surface' (N) share of each sphere's surface (disk's
    perimeter) outside its contact caps (segments), 'solid_volume' m³ (lenses
    split at their radical planes and wall caps removed, multiple overlaps counted
    once: dempack.physics.volume.removed_volumes; 2D: `exact_removed_areas` × t),
    'max_overlap_ratio' and the worst pair.
    """
    ps, cl, box = sim.particles, sim.contacts, sim.box
    pos, _, on = box.wall_arrays()
    nm = len(sim.materials)
    dim = dimension(sim)
    L = np.asarray(box.L[:2], float)
    nc, area, mr, wi, wj = _contacts(ps.x, ps.R, ps.material, ps.alive, cl.i, cl.j, L,
                                     box.periodic_xy, nm, cl.delta_flat,
                                     DISK_THICKNESS if dim == 2 else 0.0)
    sig, _ = particle_stress(sim)
    V = particle_volume(ps.R, dim)
    removed = np.empty(ps.n)
    free = np.empty(ps.n)
    if dim == 2:
        # solid = union of the disks: segments beyond the radical lines (lenses exact) and walls
        exact_removed_areas(ps.x, ps.R, cl.i, cl.j, cl.adjacency(), (L, box.periodic_xy), (pos, on),
                            removed, free)
        removed *= DISK_THICKNESS
    else:
        # solid = Σ sphere ∩ cell: each lens split at its separating plane (radical
        # plane, flats to the side that made them), wall caps cut, and what triple
        # overlaps would remove twice counted once
        from .physics.volume import QUADRATURE_DIRECTIONS, removed_volumes
        removed_volumes(cl.pair_arrays(ps), sim.flattening_share, cl.adjacency(),
                        (L, box.periodic_xy), (pos, on), QUADRATURE_DIRECTIONS, removed, free,
                        np.empty(ps.n), np.empty(ps.n), True)
    envelope = (V - removed)[ps.alive]
    # a porous agglomerate holds the solid (1 − ε) V0 of its true envelope V0; squeezed beyond
    # what its radius restores, its pores take up the cut, never its solid
    eps = ps.internal_porosity[ps.alive]
    v0 = true_volumes(sim)[ps.alive]
    solid = np.where(eps > 0.0, np.minimum((1.0 - eps) * v0, envelope), envelope)
    solid_volume = float(np.sum(solid))
    return {"ncontact": nc, "stress": sig, "stress_vm": von_mises(sig),
            "pressure": mean_pressure(sig), "area": area,
            "pore_surface": free,
            "solid_volume": solid_volume, "envelope_volume": float(np.sum(envelope)),
            "max_overlap_ratio": mr,
            "worst_pair": (wi, wj)}


def observables(sim, a: dict | None = None) -> dict:
    """One row of the time series (SI units; see DESIGN §3)."""
    a = analyse(sim) if a is None else a
    ps, box = sim.particles, sim.box
    names = [m.name for m in sim.materials]
    alive = ps.alive
    thickness = box.z_top
    die_volume = box.area * thickness
    porosity = 1.0 - a["solid_volume"] / die_volume
    V_true = true_volumes(sim)
    v_true = float(np.sum(V_true[ps.alive]))
    compressed = compressed_volume(sim, V_true)
    st = sim.stage
    ref = sim.reference_thickness
    punch = sim.punch_stress()
    # after the protocol's end the last stage's control is still what holds the punch
    last = st if st is not None else (sim.stages[-1] if sim.stages else None)
    target = last.stack_target(sim) if last is not None else math.nan
    row = {
        "step": sim.step_count,
        "time_s": sim.time,
        "stage": sim.stage_label,
        "cycle": getattr(st, "cycle", 0) if st is not None and st.kind == "cycling" else 0,
        "porosity": porosity,
        "relative_density": 1.0 - porosity,
        # 1 - (geometric solid volume)/(true volume V0(1+βc)): what overlaps cut beyond the
        # volume-conserving radius (numerics.max_cap_fraction); with numerics.confinement on
        # it is carried as the particles' elastic volume change p/K (dempack.physics.confinement)
        # (envelope volumes: a porous agglomerate's internal pores are not a deficit)
        "volume_deficit": 1.0 - a["envelope_volume"] / v_true if v_true > 0 else 0.0,
        # the part of it that the confinement pressures stand for as elastic compression,
        # Σ V_i p_i / K_i (`compressed_volume`), and what no pressure accounts for
        "volume_compressed": compressed / v_true if v_true > 0 else 0.0,
        "volume_unaccounted": ((1.0 - a["envelope_volume"] / v_true) - compressed / v_true
                               if v_true > 0 else 0.0),
        "thickness_m": thickness,
        "thickness_change": (thickness / ref - 1.0) if ref else 0.0,
        "punch_stress_Pa": punch,
        # what the stage's punch control aims at (servo target, spring fixture law
        # p0 + k (h − h0)), NaN where it has none; deviation = punch stress / target − 1
        "stack_target_Pa": target,
        "stack_deviation": punch / target - 1.0 if target > 0.0 else math.nan,
        "wall_stress_Pa": sim.side_wall_stress(),
        "coordination": float(np.mean(a["ncontact"][alive])) if alive.any() else 0.0,
        "kinetic_energy_J": 0.5 * float(np.sum(ps.mass[alive] * np.sum(ps.v[alive] ** 2, 1))),
        "max_overlap_ratio": a["max_overlap_ratio"],
        "inertial_number": sim.inertial_number(),
    }
    dim = dimension(sim)
    surf = particle_surface(ps.R, dim)
    V = particle_volume(ps.R, dim)
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        row[f"coordination:{name}"] = float(np.mean(a["ncontact"][sel])) if sel.any() else 0.0
    for k, A in enumerate(names):
        sel = alive & (ps.material == k)
        sA = float(np.sum(surf[sel]))
        for q, B in enumerate(names):
            row[f"contact_ratio:{A}-{B}"] = float(a["area"][k, q] / sA) if sA > 0 else 0.0
        # the contacted fraction of A's surface (2D: perimeter), Σ_B of the ratios (DESIGN §10)
        row[f"contacted_fraction:{A}"] = float(np.sum(a["area"][k]) / sA) if sA > 0 else 0.0
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        w = V[sel]
        row[f"stress_vm_mean_Pa:{name}"] = (float(np.sum(w * a["stress_vm"][sel]) / np.sum(w))
                                            if sel.any() else 0.0)
        # beside the von Mises stress: the largest one, and the volume-weighted mean pressure
        # −tr σ/3 (2D: with σ_yy; a fixed box builds pressure as creep relaxes the deviator)
        row[f"stress_vm_max_Pa:{name}"] = float(np.max(a["stress_vm"][sel])) if sel.any() else 0.0
        row[f"pressure_mean_Pa:{name}"] = (float(np.sum(w * a["pressure"][sel]) / np.sum(w))
                                           if sel.any() else 0.0)
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        w = V[sel]
        row[f"creep_strain_mean:{name}"] = (float(np.sum(w * ps.creep_strain[sel]) / np.sum(w))
                                            if sel.any() else 0.0)
        row[f"lithiation_mean:{name}"] = (float(np.sum(w * ps.lithiation[sel]) / np.sum(w))
                                          if sel.any() else 0.0)
        if sim.materials[k].active:
            # electrochemical access (dempack.physics.access), weighted by V0 (mass):
            # utilisation = mean reachable fraction of the current half-cycle (1 under the
            # uniform rule); capacity_fraction = |c − c_start| mean, the charge passed in this
            # half-cycle so far over the theoretical capacity
            w0 = ps.R0[sel] ** 3
            W0 = float(np.sum(w0))
            row[f"utilisation:{name}"] = (float(np.sum(w0 * ps.reachable[sel]) / W0)
                                          if W0 > 0 else 0.0)
            row[f"capacity_fraction:{name}"] = (
                float(np.sum(w0 * np.abs(ps.lithiation[sel] - ps.lithiation_start[sel])) / W0)
                if W0 > 0 else 0.0)
        # share of the particles' surface outside all contact caps, i.e. facing a pore
        row[f"pore_surface_fraction:{name}"] = (float(np.sum(w * a["pore_surface"][sel]) / np.sum(w))
                                                if sel.any() else 0.0)
        # hydrostatic pressure of particles squeezed beyond what they restore by
        # growing (dempack.physics.confinement), volume-weighted
        row[f"confinement_mean_Pa:{name}"] = (float(np.sum(w * ps.confinement[sel]) / np.sum(w))
                                              if sel.any() else 0.0)
        if sim.porous[k]:
            # envelope-volume mean internal porosity of a porous agglomerate (physics.agglomerate)
            row[f"internal_porosity_mean:{name}"] = (
                float(np.sum(w * ps.internal_porosity[sel]) / np.sum(w)) if sel.any() else 0.0)
    from .transport import transport_observables
    t = transport_observables(sim)
    sim._connected = t.pop("_connected")
    row.update(t)
    row.update(sim.fracture.observables(sim))  # breakage statistics (dempack.physics.fracture)
    return row


def side_wall_stress(sim) -> float:
    """Mean normal stress (Pa) on the four side walls (0 if periodic)."""
    if sim.box.periodic_xy:
        return 0.0
    wf = sim.particles.wall_force
    f = (np.sum(wf[:, 2, 0]) - np.sum(wf[:, 3, 0]) + np.sum(wf[:, 4, 1]) - np.sum(wf[:, 5, 1]))
    area = 2.0 * (sim.box.L[0] + sim.box.L[1]) * sim.box.z_top
    return float(f / area)


def inertial_number(sim) -> float:
    """I = γ̇ d √(ρ/p): γ̇ = |punch speed|/thickness, d mean diameter, ρ scaled
    density (volume mean), p punch stress (GDR MiDi 2004, doi:10.1140/epje/i2003-10153-0).
    The punch speed is its mean over the last `safety.SETTLE_STEPS` (2,000) steps of the
    stage, from the output row that far back (`safety.rate_window`; the stage's first row
    while it is younger), else the current one: the imposed deformation rate, with a servo's
    chatter and the jumps of a collapsing arch averaged, whatever the output interval. Where
    the punch is held while the particles swell (a fixed gap or box: no punch speed), γ̇ is
    the free linear swelling rate of the fastest-swelling active material in DEM time,
    β/3 · (dc/step)/dt (DESIGN §10)."""
    p = sim.punch_stress()
    if p <= 0.0:
        return float("nan")
    ps = sim.particles
    rho = float(np.sum(ps.mass) / np.sum(particle_volume(ps.R, sim.dimension)))
    gamma = abs(sim.box.punch_velocity) / sim.box.z_top
    if gamma > 0.0:
        ref = rate_window(sim)[0]
        steps = sim.step_count - ref[0] if ref is not None else 0
        if steps > 0:
            gamma = abs(sim.box.z_top - ref[1]) / (steps * sim.dt * sim.box.z_top)
    st = sim.stage
    if gamma == 0.0 and getattr(st, "kind", "") == "cycling" and not st.rest_left:
        beta = float(np.max(sim.swelling * sim.active_material, initial=0.0))
        gamma = beta / 3.0 * st.dc / sim.dt
    return gamma * 2.0 * float(np.mean(ps.R)) * math.sqrt(rho / p)


def true_porosity(sim) -> float:
    """1 − Σ V_true / V_die: the porosity the particles' true solid volume leaves in the die
    (V_true = `true_volumes` × (1 − ε_internal); the overlaps that volume conservation
    hides are not counted twice). Cheap: a pressing stage ends on it (pressing.porosity)."""
    ps = sim.particles
    V = true_volumes(sim)
    solid = float(np.sum(V[ps.alive] * (1.0 - ps.internal_porosity[ps.alive])))
    return 1.0 - solid / (sim.box.area * sim.box.z_top)


def observe_row(sim) -> dict:
    """One row of observables (`observables` of `analyse`), appended to sim.history and
    checked (`safety.check_row`: NaN or an overlap runaway stop the run with
    DivergenceError; `safety.warn_inertial`), then the observers (the writers) whose
    turn it is: `Simulation.observe`."""
    a = analyse(sim)
    sim._last_analysis = a
    row = observables(sim, a)
    sim.history.append(row)
    add_rate_mark(sim, row)
    sim.outputs_written += 1
    check_row(sim, a, row)
    warn_inertial(sim, row)
    for ob in sim.observers:
        if sim.outputs_written % ob.every == 0:
            ob.fn(sim, row)
    return row


def summary(sim) -> dict:
    """The run's summary (summary.json): version, scenario, seed, particles per material,
    die, time step, steps, times, stage results, half-cycle rows, breakage and the last
    observables row (computed now if the run has none)."""
    last = sim.history[-1] if sim.history else observables(sim)
    sc = sim.scenario
    return {
        "dempack_version": __version__,
        "scenario": sc.run.name,
        "seed": sc.run.seed,
        "particles": int(sim.particles.n),
        "materials": [m.name for m in sim.materials],
        "volume_fractions": {m.name: float(f) for m, f in
                             zip(sim.materials, getattr(sim, "volume_fractions", []))},
        "particle_counts": {m.name: int(np.sum(sim.particles.material == k))
                            for k, m in enumerate(sim.materials)},
        "die_width_m": float(sim.box.L[0]),
        "dimension": int(sim.dimension),
        "lateral": "periodic" if sim.box.periodic_xy else "walls",
        "dt_s": sim.dt,
        "density_scaling": sim.density_scaling,
        "steps": sim.step_count,
        "physical_time_s": sim.time,
        "run_time_s": sim.wall_clock,
        "us_per_particle_step": (1e6 * sim.wall_clock / max(1, sim.step_count * sim.particles.n)),
        "completed": sim.done,
        "stages": sim.stage_results,
        "temperature_K": sim.temperature,
        "cycles": sim.cycle_rows.rows(),
        "breakage": sim.fracture.summary(sim),
        "final": {k: v for k, v in last.items() if k not in ("stage",)},
    }
