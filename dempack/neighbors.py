"""Cell list + Verlet half list with contact-history transfer.

Allocate/update in the jax-md sense: `build_contact_list` (re)allocates the
pair arrays at each rebuild, sized exactly by a counting pass, so nothing can
overflow; between rebuilds the list is fixed. The step kernels return the largest
skin drift |x − x_ref| + (R − R_ref) and the Simulation rebuilds once twice that
exceeds the skin: a pair missing from the list can only come into contact once the
sum of two particles' displacements and radius growth exceeds the skin.

At each rebuild particles are re-sorted by cell (a counting sort, as in
taichi_dem's dem.py) so that neighbours sit close in memory; the contact
history is carried to the new order by pair key.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .geometry import min_image
from .state import ContactList, ParticleState


@njit(cache=True)
def _wrap_cell(c, n, periodic):
    if periodic:
        if c < 0:
            return c + n
        if c >= n:
            return c - n
        return c
    return c


@njit(cache=True)
def _cell_coords(x, lo, cs, nc):
    n = x.shape[0]
    out = np.empty((n, 3), np.int64)
    for i in range(n):
        for d in range(3):
            c = int((x[i, d] - lo[d]) / cs[d])
            if c < 0:
                c = 0
            elif c >= nc[d]:
                c = nc[d] - 1
            out[i, d] = c
    return out


@njit(cache=True)
def _offsets(n, periodic):
    """Neighbour cell offsets along one axis without double visits."""
    if periodic and n == 1:
        return np.array([0])
    if periodic and n == 2:
        return np.array([0, 1])
    return np.array([-1, 0, 1])


# particles between a cell and its neighbours in the next x plane that the sweep of
# the list keeps in cache (≈ 150 B of particle arrays each: a few hundred kB of L2)
BAND_PARTICLES = 1500


def cell_rank(nc, per_cell: float = 1.0) -> np.ndarray:
    """Rank (storage order) of each cell, cell = (cx ny + cy) nz + cz, for the
    cell-sorted storage: z fastest, then y within a band of B cells, then x, then the
    bands, i.e. the order of the key (cy // B, cx, cy % B, cz). A cell's neighbours
    in the next x plane then lie about B·nz cells further in memory (the plain x, y,
    z-fastest order: ny·nz): with B·nz·per_cell (particles per cell) ≤ BAND_PARTICLES,
    the particles a row reads as neighbours j are still in cache when their own row
    comes, also at large N (bands of equal width; one band, the plain order, where
    ny·nz·per_cell is small enough). Returns (nx ny nz,) int64."""
    nx, ny, nz = (int(v) for v in nc)
    bmax = max(1, int(BAND_PARTICLES / max(per_cell * nz, 1e-9)))
    nb = -(-ny // bmax)
    B = -(-ny // nb)
    c = np.arange(nx * ny * nz, dtype=np.int64)
    cz = c % nz
    cy = (c // nz) % ny
    cx = c // (ny * nz)
    key = (((cy // B) * nx + cx) * B + cy % B) * nz + cz
    rank = np.empty(c.size, np.int64)
    rank[np.argsort(key, kind="stable")] = c
    return rank


@njit(parallel=True, cache=True)
def _pair_pass(x, R, grid, box, skin, counts, offsets, pi, pj, fill):
    """Count (fill=False) or write (fill=True) the half list, rows sorted by i.

    Particles are sorted by cell rank (`cell_rank`; cell_start is indexed by rank), so
    a neighbour cell of lower rank holds only j < i and is skipped; in cells of higher
    rank every j > i (half the cells are visited).

    grid = (cc, rank, cell_start, nc): each particle's cell coordinates (N, 3), the rank of
    each cell, the start of each ranked cell's particles (ncell + 1) and the cell counts
    (3,); box = (L, periodic_xy): the lateral periods (2,) m and whether x and y are
    periodic (`geometry.Box.periodicity`).
    """
    cc, rank, cell_start, nc = grid
    L, periodic_xy = box
    n = x.shape[0]
    ox = _offsets(nc[0], periodic_xy)
    oy = _offsets(nc[1], periodic_xy)
    oz = _offsets(nc[2], False)
    Lx = L[0]
    Ly = L[1]
    for i in prange(n):
        k = 0
        base = offsets[i] if fill else 0
        own = rank[(cc[i, 0] * nc[1] + cc[i, 1]) * nc[2] + cc[i, 2]]
        for a in ox:
            cx = cc[i, 0] + a
            if periodic_xy:
                cx = _wrap_cell(cx, nc[0], True)
            elif cx < 0 or cx >= nc[0]:
                continue
            for b in oy:
                cy = cc[i, 1] + b
                if periodic_xy:
                    cy = _wrap_cell(cy, nc[1], True)
                elif cy < 0 or cy >= nc[1]:
                    continue
                for c in oz:
                    cz = cc[i, 2] + c
                    if cz < 0 or cz >= nc[2]:
                        continue
                    cell = rank[(cx * nc[1] + cy) * nc[2] + cz]
                    if cell < own:
                        continue
                    for j in range(max(cell_start[cell], i + 1), cell_start[cell + 1]):
                        dx = x[j, 0] - x[i, 0]
                        dy = x[j, 1] - x[i, 1]
                        dz = x[j, 2] - x[i, 2]
                        if periodic_xy:  # minimum image; positions are wrapped into [0, L)
                            dx = min_image(dx, Lx)
                            dy = min_image(dy, Ly)
                        cut = R[i] + R[j] + skin
                        if dx * dx + dy * dy + dz * dz < cut * cut:
                            if fill:
                                pi[base + k] = i
                                pj[base + k] = j
                            k += 1
        if not fill:
            counts[i] = k


@njit(cache=True)
def _counting_sort(key, nkey):
    """Stable counting sort of integer keys in [0, nkey): (perm, start) with
    key[perm] sorted and start (nkey + 1) the CSR offsets of each key."""
    start = np.zeros(nkey + 1, np.int64)
    for k in key:
        start[k + 1] += 1
    for k in range(nkey):
        start[k + 1] += start[k]
    pos = start[:-1].copy()
    perm = np.empty(key.shape[0], np.int64)
    for idx in range(key.shape[0]):
        k = key[idx]
        perm[pos[k]] = idx
        pos[k] += 1
    return perm, start


@njit(cache=True)
def _carry_history(oi, oj, oxi, old_delta_flat, inv, permuted, row_start, pj, xi, delta_flat):
    """Copy the history (ξ, delta_flat) of the old pairs (oi, oj) that have one into the new
    list (rows row_start, second members pj), numbering mapped by inv if permuted; a
    pair whose members swap order has ξ negated (stored as seen by the second
    member). Old pairs no longer in the list are dropped (apart: no history)."""
    for q in range(oi.shape[0]):
        d = old_delta_flat[q]
        x0 = oxi[q, 0]
        x1 = oxi[q, 1]
        x2 = oxi[q, 2]
        if d == 0.0 and x0 == 0.0 and x1 == 0.0 and x2 == 0.0:
            continue
        a = np.int64(oi[q])
        b = np.int64(oj[q])
        if permuted:
            a = inv[a]
            b = inv[b]
        sg = 1.0
        if a > b:
            a, b = b, a
            sg = -1.0
        for p in range(row_start[a], row_start[a + 1]):
            if pj[p] == b:
                xi[p, 0] = sg * x0
                xi[p, 1] = sg * x1
                xi[p, 2] = sg * x2
                delta_flat[p] = d
                break


def _grid(x, R, box, skin):
    """Cell grid (lo, cell size, counts) covering the particles."""
    cs_min = 2.0 * float(R.max()) + skin
    lo = x.min(axis=0).copy()
    hi = x.max(axis=0).copy()
    cs = np.full(3, cs_min)
    nc = np.empty(3, np.int64)
    for d in range(3):
        if d == 1 and getattr(box, "dimension", 3) == 2:  # disks at y = 0: one layer of cells
            lo[d] = 0.0
            nc[d] = 1
        elif d < 2 and box.periodic_xy:
            L = box.L[d]
            lo[d] = 0.0
            nc[d] = max(1, int(L // cs_min))
            cs[d] = L / nc[d]
        else:
            nc[d] = max(1, int((hi[d] - lo[d]) // cs_min) + 1)
    # keep the grid bounded for very sparse configurations
    while nc[0] * nc[1] * nc[2] > 8 * x.shape[0] + 64:
        cs *= 1.5
        for d in range(3):
            if d == 1 and getattr(box, "dimension", 3) == 2:
                nc[d] = 1
            elif d < 2 and box.periodic_xy:
                nc[d] = max(1, int(box.L[d] // cs[d]))
                cs[d] = box.L[d] / nc[d]
            else:
                nc[d] = max(1, int((hi[d] - lo[d]) // cs[d]) + 1)
    return lo, cs, nc


def build_contact_list(ps: ParticleState, old: ContactList | None, box, skin: float,
                       sort: bool = True) -> ContactList:
    """Rebuild the Verlet half list; re-sort particles by cell; keep history.

    Particles are permuted in place (ps arrays replaced) when sort=True.
    """
    n = ps.n
    if box.periodic_xy:
        ps.x[:, 0] %= box.L[0]
        ps.x[:, 1] %= box.L[1]
    # wall slots that may hold a spring / force (bits, see ContactList); unknown: all
    touch = (old.wall_touch.copy() if old is not None and old.wall_touch.shape[0] == n
             else np.full(n, 255, np.uint8))
    lo, cs, nc = _grid(ps.x, ps.R, box, skin)
    cc = _cell_coords(ps.x, lo, cs, nc)
    rank = cell_rank(nc, n / float(nc[0] * nc[1] * nc[2]))
    cell = rank[(cc[:, 0] * nc[1] + cc[:, 1]) * nc[2] + cc[:, 2]]
    ncell = int(nc[0] * nc[1] * nc[2])
    inv = np.zeros(0, np.int64)
    permuted = False
    if sort:
        perm, cell_start = _counting_sort(cell, ncell)
        if not np.array_equal(perm, np.arange(n)):
            permuted = True
            inv = np.empty(n, np.int64)
            inv[perm] = np.arange(n)
            ps.permute(perm)
            touch = touch[perm]
            cc = cc[perm]
    else:
        if not np.all(np.diff(cell) >= 0):
            raise RuntimeError("particles must be sorted by cell when sort=False")
        cell_start = np.zeros(ncell + 1, np.int64)
        np.cumsum(np.bincount(cell, minlength=ncell), out=cell_start[1:])
    L = np.asarray(box.L[:2], float)
    counts = np.zeros(n, np.int64)
    dummy = np.zeros(0, np.int32)
    _pair_pass(ps.x, ps.R, (cc, rank, cell_start, nc), (L, box.periodic_xy), skin, counts,
               counts, dummy, dummy, False)
    row_start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=row_start[1:])
    P = int(row_start[-1])
    pi = np.empty(P, np.int32)
    pj = np.empty(P, np.int32)
    _pair_pass(ps.x, ps.R, (cc, rank, cell_start, nc), (L, box.periodic_xy), skin, counts,
               row_start, pi, pj, True)
    col_pair, col_start = _counting_sort(pj, n)

    xi = np.zeros((P, 3))
    delta_flat = np.zeros(P)
    if old is not None and old.n_pairs:
        _carry_history(old.i, old.j, old.xi, old.delta_flat, inv, permuted, row_start, pj, xi, delta_flat)
    return ContactList(i=pi, j=pj, row_start=row_start, col_start=col_start, col_pair=col_pair,
                       xi=xi, delta_flat=delta_flat, x_ref=ps.x.copy(), R_ref=ps.R.copy(),
                       wall_touch=touch)
