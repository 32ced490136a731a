"""Volume conservation: a particle of a creeping (or plastic) material gets the
radius for which its sphere minus the caps cut off by its contacts equals its
true volume:  4/3 π R³ − V_removed = V0 (1 + β c),  V_removed the union of the
caps, Σ_c π h_c² (3R − h_c)/3 with h_c the cap height at the plane separating the
two spheres (`cap_heights`: the radical plane for the elastic part of the overlap,
the irreversible flat to the side that made it — a creeping Se particle pressed
into a rigid Mo6Se8 one flows around it, the Mo6Se8 keeps its volume) or at the
wall, less what intersecting caps count twice (`removed_volumes`). Growth
restores at most numerics.max_cap_fraction of the volume; beyond that the
particle carries a confinement pressure (dempack.physics.confinement) that stops its
contacts from flattening further. Solved by fixed-point iteration, one update per volume
update (the caps change slowly); the iteration contracts by the fraction of the
surface that is free, so it converges while the particle still borders a pore.

2D mode (disks in the x–z plane, thickness t = DISK_THICKNESS, DESIGN §2): the same
with circular segments, R² acos((R − h)/R) − (R − h) √(2Rh − h²) (`geometry.segment_area`),
cut by the same separating lines (`removed_areas`, areas × t), and the disk's radius
R = √((A_true + allowance)/(π t)), A_true from dempack.physics.plane_strain.true_area.

Kernel arguments: the arrays that travel together are plain tuples (numba types a tuple of
arrays by its fast path), unpacked on entry:

- pairs = (x, R, mat, pi, pj, delta_flat): centres (N, 3) m, radii (N) m, material index
  (N), the pair list's members i < j (P) and flats δ_flat (P) m
  (`dempack.state.ContactList.pair_arrays`);
- adjacency = (row_start, col_start, col_pair): each particle's pairs, as first member
  (rows row_start[i]:row_start[i + 1]) and as second (col_pair[col_start[i]:col_start[i + 1]])
  (`ContactList.adjacency`);
- box = (L, periodic_xy): the lateral periods Lx, Ly (2,) m and whether x and y are
  periodic (`dempack.geometry.Box.periodicity`);
- walls = (wall_pos, wall_on): the wall slots' positions (6,) m and which slots are walls
  (`Box.wall_arrays`);

The pair and wall geometry (d⃗, d, δ, the radical plane, the wall gap) is
`dempack.contact.state`'s (`contact_state`, `radical_plane`, `wall_state`), the force
kernel's own formulas.

The arrays a parallel kernel writes (out, free, corr_vol, corr_cover) are separate
arguments, never tuple members: numba 0.68.1 drops writes made in a prange loop to an
array unpacked from a tuple (benchmarks/numba_tuple_prange.py).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..contact.state import contact_state, radical_plane, unit_normal, wall_state
from ..geometry import DISK_THICKNESS, WALL_NORMALS, cap_volume, segment_area


def flattening_share(materials) -> np.ndarray:
    """S[a, b]: the share of a contact's irreversible flat δ_cr that material a takes
    against b (S[a, b] + S[b, a] = 1). Creep and plastic flattening are made by the
    softer side: a creeping material against a non-creeping one takes all of it, else
    the one with the lower hardness (no hardness: never yields); equal materials split
    it evenly."""
    def rank(m):
        return (0 if m.creep is not None else 1,
                m.hardness if m.hardness is not None else math.inf)
    nm = len(materials)
    S = np.full((nm, nm), 0.5)
    for a in range(nm):
        for b in range(nm):
            ra, rb = rank(materials[a]), rank(materials[b])
            if ra < rb:
                S[a, b] = 1.0
            elif ra > rb:
                S[a, b] = 0.0
    return S


@njit(cache=True, inline="always")
def cap_heights(d, Ri, Rj, delta_flat, fi):
    """(h_i, h_j, l_i', d'): cap heights of spheres i, j cut by the plane that
    separates them (h_i + h_j = δ = R_i + R_j − d). The elastic part of the overlap
    is split at the radical plane of the spheres moved apart by the flat δ_cr,
    d' = d + δ_cr (l_i' = (d'² + R_i² − R_j²)/(2d') from centre i), and the flat
    itself goes to the sides that made it: f_i δ_cr to i, (1 − f_i) δ_cr to j
    (f_i = flattening_share). With δ_cr = 0 this is the radical (power) plane, whose
    caps remove each lens exactly once (solid = union of the spheres); with a flat
    between a creeping and a rigid particle the rigid one keeps its shape."""
    dp = d + delta_flat
    li, lj = radical_plane(dp, Ri, Rj)
    hi = Ri - li + fi * delta_flat
    hj = Rj - lj + (1.0 - fi) * delta_flat
    return hi, hj, li, dp


def fibonacci_directions(m: int) -> np.ndarray:
    """m near-uniform unit vectors (Fibonacci lattice on the sphere), shape (m, 3)."""
    k = np.arange(m) + 0.5
    z = 1.0 - 2.0 * k / m
    phi = np.pi * (3.0 - np.sqrt(5.0)) * k
    r = np.sqrt(1.0 - z * z)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


QUADRATURE_DIRECTIONS = fibonacci_directions(200)


def circle_directions(m: int) -> np.ndarray:
    """m uniform unit vectors on the circle in the x–z plane (the plane of the 2D mode's
    disks), at angles 2π (k + 1/2)/m from x, shape (m, 3), y components 0."""
    th = 2.0 * np.pi * (np.arange(m) + 0.5) / m
    return np.column_stack([np.cos(th), np.zeros(m), np.sin(th)])


# the 2D quadrature is one-dimensional: many directions cost little
CIRCLE_DIRECTIONS = circle_directions(720)


@njit(cache=True, inline="always")
def _contact_cap(i, q, side, pairs, flat_share, col_pair, box):
    """Cap of sphere i cut by its q-th contact (side 0: the q-th pair of i's row,
    side 1: the q-th entry of i's column): (h, d, dx, dy, dz), h the cap height at
    the separating plane (`cap_heights`, at most 2R_i), d and (dx, dy, dz) the
    centre distance and the vector i → j; h ≤ 0 where the spheres do not overlap.
    pairs, box: module docstring (kernel arguments)."""
    x, R, mat, pi, pj, delta_flat = pairs
    L, periodic_xy = box
    p = q if side == 0 else col_pair[q]
    j = pj[p] if side == 0 else pi[p]
    touch, dx, dy, dz, d, _, _, _, _ = contact_state(x, R, i, j, delta_flat[p], L, periodic_xy)
    if not touch:
        return -1.0, d, dx, dy, dz
    h, _, _, _ = cap_heights(d, R[i], R[j], delta_flat[p], flat_share[mat[i], mat[j]])
    return min(h, 2.0 * R[i]), d, dx, dy, dz


@njit(cache=True, inline="always")
def _cut_size(Ri, h, disk):
    """(size, cover) of one cut of height h > 0: the cap volume π h² (3R − h)/3 (m³) and
    its surface fraction h/(2R) on a sphere; on a disk (`disk`) the segment area times t
    (m³) and its perimeter fraction acos((R − h)/R)/π."""
    if disk:
        return (segment_area(Ri, Ri - h) * DISK_THICKNESS,
                math.acos(max(-1.0, (Ri - h) / Ri)) / math.pi)
    return cap_volume(Ri, h), min(h, 2.0 * Ri) / (2.0 * Ri)


@njit(cache=True)
def _shared_cuts(i, pairs, flat_share, adjacency, box, walls, dirs, disk):
    """(C, F) for particle i: the volume (m³) its intersecting cuts count twice in Σ cuts,
    and the fraction of its surface (perimeter, `disk`) they cover twice (see
    removed_volumes, removed_areas). A sphere is cut by planes at walls of all 6 slots,
    a disk (x–z plane) by lines and the walls of slots 0–3. pairs, adjacency, box, walls:
    module docstring (kernel arguments)."""
    x, R, mat, pi, pj, delta_flat = pairs
    row_start, col_start, col_pair = adjacency
    wall_pos, wall_on = walls
    Ri = R[i]
    nw = 4 if disk else 6
    cnt = row_start[i + 1] - row_start[i] + col_start[i + 1] - col_start[i] + nw
    nrm = np.empty((cnt, 3))
    ll = np.empty(cnt)
    k = 0
    for side in range(2):
        lo = row_start[i] if side == 0 else col_start[i]
        hi = row_start[i + 1] if side == 0 else col_start[i + 1]
        for q in range(lo, hi):
            h, d, dx, dy, dz = _contact_cap(i, q, side, pairs, flat_share, col_pair, box)
            if h <= 0.0:
                continue
            nrm[k, 0], nrm[k, 1], nrm[k, 2] = unit_normal(dx, dy, dz, d)
            xx = Ri - h
            ll[k] = max(xx, 1e-3 * Ri)
            k += 1
    for wk in range(nw):
        if wall_on[wk]:
            s, delta, _ = wall_state(x, R, i, wk, wall_pos, 0.0)
            if delta > 0.0:
                for a in range(3):
                    nrm[k, a] = -WALL_NORMALS[wk, a]
                ll[k] = max(s, 1e-3 * Ri)
                k += 1
    # caps a, b intersect iff the angle between their axes is below the sum of
    # their angular radii: cos θ > cos(α_a + α_b), cos α = l/R (on a disk: iff their
    # arcs overlap, the same test)
    meets = np.zeros(k, np.bool_)
    for a in range(k):
        ca = min(1.0, ll[a] / Ri)
        sa = math.sqrt(1.0 - ca * ca)
        for b in range(a + 1, k):
            cb = min(1.0, ll[b] / Ri)
            c = nrm[a, 0] * nrm[b, 0] + nrm[a, 1] * nrm[b, 1] + nrm[a, 2] * nrm[b, 2]
            if c > ca * cb - sa * math.sqrt(1.0 - cb * cb):
                meets[a] = True
                meets[b] = True
    if not meets.any():
        return 0.0, 0.0
    sel = np.flatnonzero(meets)  # only caps that meet another one share directions
    m = dirs.shape[0]
    R3 = Ri * Ri if disk else Ri * Ri * Ri  # R^dim: the polar integrand (R^dim − r^dim)/dim
    corr = 0.0
    extra = 0
    for t in range(m):
        ncut = 0
        s_k = 0.0
        rmin = Ri
        for a in sel:
            u = nrm[a, 0] * dirs[t, 0] + nrm[a, 1] * dirs[t, 1] + nrm[a, 2] * dirs[t, 2]
            if u * Ri > ll[a]:
                r = ll[a] / u
                ncut += 1
                s_k += R3 - (r * r if disk else r * r * r)
                if r < rmin:
                    rmin = r
        if ncut > 1:
            corr += s_k - (R3 - (rmin * rmin if disk else rmin * rmin * rmin))
            extra += ncut - 1
    if disk:  # (1/2) ∫ … dθ over m directions on the circle, times t
        return math.pi / m * corr * DISK_THICKNESS, extra / m
    return 4.0 * math.pi / (3.0 * m) * corr, extra / m


@njit(cache=True, inline="always")
def _pair_cut(p, pairs, flat_share, box, disk, cuts):
    """cuts[p] = (size, cover) (`_cut_size`) of pair p's cut of its first particle, then of
    its second; 0 where they do not overlap (cuts arrives zeroed). One distance serves both
    sides: the minimum image and d are exactly antisymmetric in i and j, so each side's cap
    height is, to the bit, the one `_contact_cap` gives from that side."""
    x, R, mat, pi, pj, delta_flat = pairs
    L, periodic_xy = box
    i = pi[p]
    j = pj[p]
    touch, _, _, _, d, _, _, _, _ = contact_state(x, R, i, j, delta_flat[p], L, periodic_xy)
    if not touch:
        return
    hi, _, _, _ = cap_heights(d, R[i], R[j], delta_flat[p], flat_share[mat[i], mat[j]])
    hi = min(hi, 2.0 * R[i])
    if hi > 0.0:
        cuts[p, 0], cuts[p, 1] = _cut_size(R[i], hi, disk)
    hj, _, _, _ = cap_heights(d, R[j], R[i], delta_flat[p], flat_share[mat[j], mat[i]])
    hj = min(hj, 2.0 * R[j])
    if hj > 0.0:
        cuts[p, 2], cuts[p, 3] = _cut_size(R[j], hj, disk)


@njit(cache=True, inline="always")
def _add_cut(acc, size, cover):
    """acc = (Σ size, Σ cover, largest size, largest cover) with one more cut added."""
    return acc[0] + size, acc[1] + cover, max(acc[2], size), max(acc[3], cover)


@njit(cache=True, inline="always")
def _removed_one(i, pairs, flat_share, adjacency, box, walls, dirs, out, free, corr_vol, corr_cover,
                 mode, cuts):
    """out[i], free[i] of `removed_volumes` (spheres) or `removed_areas`; the arguments as
    there, mode = (recompute, disk), cuts the pairs' cut sizes (`_pair_cut`)."""
    recompute, disk = mode
    x, R, mat, pi, pj, delta_flat = pairs
    row_start, col_start, col_pair = adjacency
    wall_pos, wall_on = walls
    Ri = R[i]
    # (Σ size, Σ cover, largest size, largest cover); the largest cap bounds the union below
    acc = (0.0, 0.0, 0.0, 0.0)
    # the pair cuts in the order the pairs list them: i's row, then its column
    for q in range(row_start[i], row_start[i + 1]):
        acc = _add_cut(acc, cuts[q, 0], cuts[q, 1])
    for q in range(col_start[i], col_start[i + 1]):
        acc = _add_cut(acc, cuts[col_pair[q], 2], cuts[col_pair[q], 3])
    for wk in range(4 if disk else 6):
        if wall_on[wk]:
            _, h, _ = wall_state(x, R, i, wk, wall_pos, 0.0)
            if h > 0.0:
                cv, cc = _cut_size(Ri, h, disk)
                acc = _add_cut(acc, cv, cc)
    tot, cov, big_v, big_c = acc
    if recompute:
        corr_vol[i], corr_cover[i] = _shared_cuts(i, pairs, flat_share, adjacency, box, walls, dirs,
                                                  disk)
    # a reused correction may exceed what the caps now share: bound the union
    # below by the largest cap
    out[i] = max(tot - corr_vol[i], big_v)
    free[i] = min(1.0 - big_c, max(0.0, 1.0 - cov + corr_cover[i]))


@njit(parallel=True, cache=True)
def removed_volumes(pairs, flat_share, adjacency, box, walls, dirs, out, free, corr_vol, corr_cover,
                    recompute):
    """out[i] = volume (m³) of sphere i outside its cell: the union of the caps cut
    by its contacts' separating planes (`cap_heights`: the radical (power) plane
    where no flat was made, so the cell is the Laguerre cell) and by the walls. Σ_c π h_c² (3R − h_c)/3, exact while no two caps of i intersect;
    where caps intersect, the doubly counted volume
        C = (1/3) ∫ [Σ_k (R³ − r_k³) − (R³ − min_k r_k³)] dΩ,
        r_k(Ω) = min(R, l_k / (n_k·Ω)) on n_k·Ω > 0,
    (l_k, n_k: distance and direction of plane k from the centre) is removed by
    quadrature over the directions `dirs` (zero wherever fewer than two planes
    cut, so a single or non-intersecting caps stay exact). Porosity and the
    volume-conserving radius both use it, so triple overlaps are not counted twice.
    free[i] = the fraction of sphere i's surface outside all its caps (the
    surface that borders a pore): 1 − Σ h_k/(2R), less the same quadrature
    correction for doubly covered directions.
    corr_vol, corr_cover: the two corrections per particle, recomputed when
    `recompute` is true and reused otherwise (they change slowly and cost most).
    flat_share: `flattening_share` (nm, nm); pairs = (x, R, mat, pi, pj, delta_flat),
    adjacency = (row_start, col_start, col_pair), box = (L, periodic_xy),
    walls = (wall_pos, wall_on): module docstring (kernel arguments)."""
    x = pairs[0]
    cuts = np.zeros((pairs[3].shape[0], 4))  # pass 1: each pair's two cuts, once
    for p in prange(cuts.shape[0]):
        _pair_cut(p, pairs, flat_share, box, False, cuts)
    for i in prange(x.shape[0]):  # pass 2: each particle's cuts in its pairs' order
        _removed_one(i, pairs, flat_share, adjacency, box, walls, dirs, out, free, corr_vol,
                     corr_cover, (recompute, False), cuts)


@njit(parallel=True, cache=True)
def removed_areas(pairs, flat_share, adjacency, box, walls, dirs, out, free, corr_vol, corr_cover,
                  recompute):
    """The 2D `removed_volumes` (same arguments and outputs), for disks in the x–z plane
    (centres at y = 0) of thickness t = DISK_THICKNESS: out[i] = t × the area (m³) of disk i
    outside its cell, the union of the circular segments cut by its contacts' separating
    lines (`cap_heights`: the radical line where no flat was made, the flat to the side
    that made it) and by the walls of slots 0–3 (the y slots are ignored),
        Σ_c segment_area(R, h_c) = Σ_c [R² acos((R − h)/R) − (R − h) √(2Rh − h²)],
    exact while no two segments of i intersect; where they do, the doubly counted area
        C = (1/2) ∫ [Σ_k (R² − r_k²) − (R² − min_k r_k²)] dθ,
        r_k(θ) = min(R, l_k / (n_k·u(θ))) on n_k·u > 0,
    (l_k, n_k: distance and direction of line k from the centre, u(θ) the direction in the
    plane) is removed by quadrature over the directions `dirs` (`CIRCLE_DIRECTIONS`).
    free[i] = the fraction of disk i's perimeter outside all its segments (the rim that
    borders a pore): 1 − Σ_k α_k/π, α_k = acos((R − h_k)/R) the half-angle of segment k's
    arc, less the same quadrature correction for doubly covered directions.
    corr_vol (m³, times t), corr_cover: the two corrections per particle, recomputed when
    `recompute` is true and reused otherwise. With t = 1 m (DISK_THICKNESS) out is
    numerically the area in m², comparable with `plane_strain.true_area`."""
    x = pairs[0]
    cuts = np.zeros((pairs[3].shape[0], 4))  # pass 1: each pair's two cuts, once
    for p in prange(cuts.shape[0]):
        _pair_cut(p, pairs, flat_share, box, True, cuts)
    for i in prange(x.shape[0]):  # pass 2: each particle's cuts in its pairs' order
        _removed_one(i, pairs, flat_share, adjacency, box, walls, dirs, out, free, corr_vol,
                     corr_cover, (recompute, True), cuts)
