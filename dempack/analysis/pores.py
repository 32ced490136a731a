"""Pores in a section of the electrode, tracked through a run: a virtual in-situ SEM
(Xiong et al. 2024, Nat. Commun. 15, doi:10.1038/s41467-024-48174-8, Fig. 3c/d).

    res = dempack.pores("results/insitu_sem_se60mse")     # or: dempack pores RUN_DIR
    res.rows      # the rows of pores.csv;  res.summary: pores.json;  res.files: what it wrote

Four steps, each a function that can be used alone (a 2D run's disks enter at step 2):

1. section (`section_of_spheres`): the plane z = z_s, parallel to the current collector,
   cuts each sphere (centre height z_i, radius R_i) with |z_s − z_i| < R_i in a circle of
   radius r_i = √(R_i² − (z_s − z_i)²). The plane stands at a depth d below the top of the
   bed (a fraction of its thickness h): z_s = (1 − d) h, h the punch height at the
   snapshot's step (timeseries.csv's thickness_m, interpolated between rows; max(z_i + R_i)
   without rows), so the plane follows the electrode as it breathes. In a 2D run the section
   is the plane itself: make a `Section` of its disks.
   Each circle is cut by the separating planes of the sphere's contacts, as the engine's
   porosity cuts its particles (`dempack.observe`, `dempack.physics.volume.cap_heights`):
   a point q belongs to sphere i only if n·(q − x_i) ≤ s_i for each overlapping
   neighbour j (n the unit vector i → j; s_i = R_i − h_i, h_i the cap height at the radical
   plane of the spheres moved apart by the flat δ_cr, the flat going to the side that made
   it). The flats are in each snapshot's contacts_<step>.npz; without one (older runs) the
   planes are the radical ones, whose solid is the union of the spheres (a warning says
   so): that shows less pore than the engine, since the rim of a flattened cap outside
   the neighbour is pore in the engine. Averaged over planes through the bed the pore
   fraction of the cut section is the engine's porosity (`porosity_over_planes`).
2. raster (`rasterise`): the box [0, Lx] × [0, Ly] on nx × ny pixels, nx = round(Lx / p),
   ny = round(Ly / p) (pixel sides Lx/nx, Ly/ny), p = d_min / pixels_per_diameter with d_min
   the smallest particle diameter in the analysed snapshots (default 20 pixels across it).
   A pixel is solid when its centre lies in a disk; with lateral periodic boundaries the
   disks wrap across the edges. The image holds the disk's material index (cut at the
   separating planes, a pixel belongs to one particle; whole disks (`Section.cells` None)
   paint over each other in order) and −1 (`PORE`) for pore.
3. labels (`label_pores`): `scipy.ndimage.label` of the pore pixels with 4-connectivity: two
   pore pixels connect through a shared edge, so the solid is 8-connected and two disks
   that touch (or overlap) separate the pores on either side. With periodic boundaries the
   labels that meet across an edge are merged (`scipy.sparse.csgraph.connected_components`).
   Pores of fewer than `min_area_px` pixels (default 10) are left out and their area is
   reported as excluded; a tracked pore that shrinks below it counts as closed.
4. tracking (`track`): each pore continues the pore of the previous state it overlaps most
   (pixels in common). A previous pore overlapped most by several pores splits: the one it
   overlaps most keeps its id, the others are new pores with `parent` set. A previous pore
   that no pore overlaps most but that overlaps one merged into it (its area counts in that
   pore's from then on: status `merged`, no area of its own). One that overlaps no pore has
   closed (area 0); it reopens if a later pore, not continuing another, overlaps its last
   region. A pore that overlaps none of these appeared.

Relative area: A / A_first, A_first the pore's area in the state where it first appears.
Without creep, a pore that Se swelling closed on discharge would reopen on charge to about
1 − c_res of its area (c_res, the residual lithiation, stays swollen): the study's
argument, drawn as the no-creep line.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from ..contact.state import distance_overlap, pair_overlaps
from ..geometry import lateral_minimum_image
from ..physics.volume import cap_heights

log = logging.getLogger(__name__)

PORE = -1
DEFAULT_PIXELS_PER_DIAMETER = 20.0
DEFAULT_MIN_AREA_PX = 10
MAX_PIXELS = 50_000_000          # one raster; ~200 MB of int32 labels
SHRINK_TOLERANCE = 0.01          # of the initial area: what counts as shrinking on charge
FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


# ------------------------------------------------------------------------ 1. section
@dataclass
class Section:
    """Disks in a plane (SI): centres (n, 2) m, radii (n,) m, material index (n,) of the
    particles cut, on the box [0, width[0]] × [0, width[1]] m; periodic: lateral periodic
    boundaries; z: height of the plane (m; NaN for a 2D run). cells: None (whole disks),
    or (start (n + 1,), normal (k, 2), offset (k,)): disk m is cut by the half-planes
    normal[q]·(p − centre_m) ≤ offset[q], q in start[m]:start[m + 1] (its contacts'
    separating planes, `section_of_spheres`)."""
    centers: np.ndarray
    radii: np.ndarray
    material: np.ndarray
    width: tuple
    periodic: bool
    z: float = float("nan")
    cells: tuple | None = None


def overlapping_pairs(x, R, width, periodic: bool):
    """(i, j, dx (k, 3)) of the overlapping spheres (|x_j − x_i| < R_i + R_j, i < j), dx
    the vector i → j (nearest lateral image where periodic); a scipy cKDTree."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, float)
    R = np.asarray(R, float)
    if len(R) < 2:
        return np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3))
    L = np.array([width[0], width[1]], float)
    y = x.copy()
    box = None
    if periodic:
        y[:, :2] = np.mod(y[:, :2], L)
        y[:, :2] = np.where(y[:, :2] >= L, 0.0, y[:, :2])
        lo = y[:, 2].min()
        y[:, 2] -= lo
        box = [L[0], L[1], float(y[:, 2].max()) + 4.0 * float(R.max()) + 1e-300]
    pairs = cKDTree(y, boxsize=box).query_pairs(2.0 * float(R.max()), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dx = x[j] - x[i]
    if periodic:
        lateral_minimum_image(dx, L)
    _, delta = pair_overlaps(dx, R[i], R[j])
    ok = delta > 0.0
    return i[ok], j[ok], dx[ok]


def _plane_distances(R, i, j, dx, flats):
    """Distance s_i (from centre i, along i → j) of each overlapping pair's separating
    plane, as the engine's porosity cuts it (`dempack.physics.volume.cap_heights`):
    d' = d + δ_cr, l_i' = (d'² + R_i² − R_j²)/(2d'), h_i = min(R_i − l_i' + f_i δ_cr, 2R_i),
    s_i = R_i − h_i (s_j = d − s_i). flats: None (δ_cr = 0: the radical plane) or the
    snapshot's contacts {i, j, delta_flat, share_i} (dempack.io.rundir.read_contacts)."""
    df = np.zeros(len(i))
    fi = np.full(len(i), 0.5)
    if flats is not None and len(flats["i"]) and len(i):
        n = len(R)
        a, b = np.asarray(flats["i"], np.int64), np.asarray(flats["j"], np.int64)
        sh = np.asarray(flats["share_i"], float)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        share_lo = np.where(a <= b, sh, 1.0 - sh)
        key = lo * n + hi
        order = np.argsort(key)
        key, dfl, share_lo = key[order], np.asarray(flats["delta_flat"], float)[order], \
            share_lo[order]
        want = np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)
        pos = np.clip(np.searchsorted(key, want), 0, max(len(key) - 1, 0))
        hit = key[pos] == want
        df[hit] = dfl[pos[hit]]
        fi[hit] = np.where(i[hit] <= j[hit], share_lo[pos[hit]], 1.0 - share_lo[pos[hit]])
    return _cut_distances(np.asarray(dx, float), R[i], R[j], df, fi)


@njit(cache=True, error_model="numpy")
def _cut_distances(dx, R1, R2, df, fi):
    """s_i = R_i − min(h_i, 2R_i) per pair of `_plane_distances`: the engine's
    `physics.volume.cap_heights` at d = |dx| (`contact.state.distance_overlap`)."""
    out = np.empty(dx.shape[0])
    for p in range(dx.shape[0]):
        d, _ = distance_overlap(dx[p, 0], dx[p, 1], dx[p, 2], R1[p], R2[p])
        h, _, _, _ = cap_heights(d, R1[p], R2[p], df[p], fi[p])
        out[p] = R1[p] - min(h, 2.0 * R1[p])
    return out


def section_of_spheres(x, R, material, width, periodic: bool, z: float, flats=None,
                       cells: bool = True) -> Section:
    """The circles r_i = √(R_i² − (z − z_i)²) of the spheres (x (n, 3) m, R (n,) m) that the
    plane at height z (m) cuts (|z − z_i| < R_i), each cut by its contacts' separating
    planes (cells=True): a point q of the plane belongs to sphere i only if
    n·(q − x_i) ≤ s_i for each overlapping neighbour j (n the unit vector i → j, s_i from
    `_plane_distances`: the radical plane shifted by the flats), i.e. in 2D
    n_xy·(q_xy − c_i) ≤ s_i − n_z (z − z_i). The solid is then the union of the truncated
    spheres whose volume the engine's porosity counts (dempack.observe); flats=None
    cuts at the radical planes, whose solid is the union of the spheres."""
    x = np.asarray(x, float)
    R = np.asarray(R, float)
    d = z - x[:, 2]
    cut = np.abs(d) < R
    planes = None
    if cells and cut.any():
        i, j, dx = overlapping_pairs(x, R, width, periodic)
        s = _plane_distances(R, i, j, dx, flats)
        dist, _ = pair_overlaps(dx, R[i], R[j])
        n = dx / dist[:, None] if len(dist) else dx  # contact.state.unit_normal, per row
        # both sides: i keeps n·(q − x_i) ≤ s_i, j keeps (−n)·(q − x_j) ≤ d − s_i
        who = np.concatenate([i, j])
        nn = np.concatenate([n, -n])
        ss = np.concatenate([s, dist - s])
        keep = cut[who]
        who, nn, ss = who[keep], nn[keep], ss[keep]
        off = ss - nn[:, 2] * (z - x[who, 2])
        rank = np.cumsum(cut) - 1                       # index of a cut sphere among the disks
        m = rank[who]
        order = np.argsort(m, kind="stable")
        start = np.zeros(int(cut.sum()) + 1, np.int64)
        np.add.at(start, m + 1, 1)
        planes = (np.cumsum(start), np.ascontiguousarray(nn[order, :2]),
                  np.ascontiguousarray(off[order]))
    return Section(x[cut, :2].copy(), np.sqrt(R[cut] ** 2 - d[cut] ** 2),
                   np.asarray(material)[cut].astype(np.int32),
                   (float(width[0]), float(width[1])), bool(periodic), float(z), planes)


# ------------------------------------------------------------------------- 2. raster
@dataclass
class Raster:
    """image (ny, nx) int16: material index, or PORE; pixel (px, py) m; periodic."""
    image: np.ndarray
    pixel: tuple
    periodic: bool

    @property
    def pixel_area(self) -> float:
        return self.pixel[0] * self.pixel[1]

    @property
    def pore(self) -> np.ndarray:
        return self.image == PORE


def grid(width, pixel: float) -> tuple[int, int]:
    """(nx, ny) of the raster of a box `width` (m) at a requested pixel size (m)."""
    if not (pixel > 0.0 and math.isfinite(pixel)):
        raise ValueError(f"pixel size {pixel!r} m: must be a positive number")
    nx, ny = (max(1, int(round(w / pixel))) for w in width)
    if nx * ny > MAX_PIXELS:
        raise ValueError(f"a {width[0] * 1e6:.4g} x {width[1] * 1e6:.4g} um section at "
                         f"{pixel * 1e6:.3g} um pixels is {nx} x {ny} pixels, more than "
                         f"{MAX_PIXELS:.0e}: lower pixels_per_diameter")
    return nx, ny


@njit(cache=True)
def _paint(cx, cy, r, mat, half_planes, px, py, nx, ny, periodic, image):
    """Set image[j, i] = mat[k] for every pixel centre ((i + ½) px, (j + ½) py) inside disk
    k and on its side of each of its half-planes pn[q]·(p − c_k) ≤ pb[q], q in
    pstart[k]:pstart[k + 1] (none when pstart is empty), half_planes = (pstart, pn, pb)
    (`Section.cells`); in a periodic box the pixel indices wrap (modulo nx, ny), else pixels
    outside the box are skipped. Work ∝ the disks' area in pixels (each disk's bounding box
    only)."""
    pstart, pn, pb = half_planes
    cells = pstart.shape[0] > 0
    for k in range(cx.shape[0]):
        rk = r[k]
        r2 = rk * rk
        q0 = pstart[k] if cells else 0
        q1 = pstart[k + 1] if cells else 0
        i0 = int(math.floor((cx[k] - rk) / px - 0.5))
        i1 = int(math.ceil((cx[k] + rk) / px - 0.5))
        j0 = int(math.floor((cy[k] - rk) / py - 0.5))
        j1 = int(math.ceil((cy[k] + rk) / py - 0.5))
        for j in range(j0, j1 + 1):
            dy = (j + 0.5) * py - cy[k]
            if dy * dy > r2:
                continue
            if periodic:
                jj = j % ny
            elif j < 0 or j >= ny:
                continue
            else:
                jj = j
            for i in range(i0, i1 + 1):
                dx = (i + 0.5) * px - cx[k]
                if dx * dx + dy * dy <= r2:
                    inside = True
                    for q in range(q0, q1):
                        if pn[q, 0] * dx + pn[q, 1] * dy > pb[q]:
                            inside = False
                            break
                    if not inside:
                        continue
                    if periodic:
                        image[jj, i % nx] = mat[k]
                    elif 0 <= i < nx:
                        image[jj, i] = mat[k]


def rasterise(section: Section, pixel: float) -> Raster:
    """The section on a pixel grid (`grid`), pixel ≈ `pixel` m (module docstring, step 2)."""
    nx, ny = grid(section.width, pixel)
    px, py = section.width[0] / nx, section.width[1] / ny
    image = np.full((ny, nx), PORE, np.int16)
    c = np.asarray(section.centers, float).reshape(-1, 2)
    if section.cells is None:
        pstart, pn, pb = np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0)
    else:
        pstart, pn, pb = section.cells
    _paint(np.ascontiguousarray(c[:, 0]), np.ascontiguousarray(c[:, 1]),
           np.asarray(section.radii, float), np.asarray(section.material, np.int16),
           (np.asarray(pstart, np.int64), np.asarray(pn, float).reshape(-1, 2),
            np.asarray(pb, float)), px, py, nx, ny, bool(section.periodic), image)
    return Raster(image, (px, py), bool(section.periodic))


# -------------------------------------------------------------------------- 3. labels
def _merge_across_edges(labels: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Labels of a periodic image with the labels that touch across the left/right and
    bottom/top edges merged, renumbered 1..m in the order of their smallest label."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = np.concatenate([labels[:, 0], labels[0, :]])
    b = np.concatenate([labels[:, -1], labels[-1, :]])
    both = (a > 0) & (b > 0)
    g = coo_matrix((np.ones(int(both.sum())), (a[both], b[both])), shape=(n + 1, n + 1))
    _, comp = connected_components(g, directed=False)
    first = np.full(comp.max() + 1, n + 1)
    np.minimum.at(first, comp[1:], np.arange(1, n + 1))
    smallest = first[comp]                           # smallest label of each label's group
    smallest[0] = 0
    roots = np.unique(smallest[1:])
    new = np.searchsorted(roots, smallest).astype(np.int32) + 1
    new[0] = 0
    return new[labels], int(roots.size)


def label_pores(pore: np.ndarray, periodic: bool, min_area_px: int = DEFAULT_MIN_AREA_PX):
    """(labels (ny, nx) int32, number of pores, pixels excluded) of a pore mask: 4-connected
    labels (scipy.ndimage.label), merged across periodic edges, pores of fewer than
    min_area_px pixels set to 0 and the rest numbered 1..n in raster order."""
    from scipy import ndimage

    labels, n = ndimage.label(pore, structure=FOUR)
    if periodic and n:
        labels, n = _merge_across_edges(labels, n)
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    keep = counts >= max(1, min_area_px)
    keep[0] = False
    new = np.zeros(n + 1, np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1)
    excluded = int(counts[1:][~keep[1:]].sum())
    return new[labels], int(keep.sum()), excluded


# ------------------------------------------------------------------------ 4. tracking
@dataclass
class Tracking:
    """Pore identities through the states. ids[k][label] = pore id (1..n_pores) of a label
    of state k (ids[k][0] = 0); status (n_states, n_pores): 'absent' (before it appears),
    'open', 'closed', 'merged'; parent / merged_into (n_pores,): a pore id or 0; events:
    {state, pore, event (split, merged, closed, reopened, appeared), other}."""
    ids: list
    status: np.ndarray
    parent: np.ndarray
    merged_into: np.ndarray
    events: list = field(default_factory=list)

    @property
    def n_pores(self) -> int:
        return self.status.shape[1]


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label in a, label in b, pixels in common) of every overlapping pair of labels (> 0),
    sorted by pixels in common, largest first, then by the labels."""
    both = (a > 0) & (b > 0)
    key = a[both].astype(np.int64) * (int(b.max()) + 1) + b[both]
    key, cnt = np.unique(key, return_counts=True)
    la, lb = key // (int(b.max()) + 1), key % (int(b.max()) + 1)
    order = np.lexsort((lb, la, -cnt))
    return la[order], lb[order], cnt[order]


def track(labels: list) -> Tracking:
    """Track the pores of a sequence of label images of one grid (`label_pores`) by largest
    overlap (module docstring, step 4)."""
    n0 = int(labels[0].max()) if labels else 0
    ids = [np.arange(n0 + 1, dtype=np.int64)]
    status = [["open"] * n0]
    parent, merged_into, events = [0] * n0, [0] * n0, []
    last_region = np.zeros(labels[0].shape if labels else (0, 0), np.int64)  # closed pores' last pixels
    closed: set = set()

    def new_pore(k, kind, other=0):
        parent.append(other if kind == "split" else 0)
        merged_into.append(0)
        for st in status:
            st.append("absent")
        pid = len(parent)
        events.append({"state": k, "pore": pid, "event": kind, "other": other})
        return pid

    for k in range(1, len(labels)):
        A, B = labels[k - 1], labels[k]
        idsA, nb = ids[-1], int(B.max())
        idsB = np.zeros(nb + 1, np.int64)
        row = list(status[-1])
        la, lb, cnt = _overlaps(A, B)
        prim = {}                                  # b -> the a it overlaps most
        for a, b in zip(la, lb):
            prim.setdefault(int(b), int(a))
        kept = {}                                  # a -> the b (among prim) it overlaps most
        best_b = {}                                # a -> the b it overlaps most
        for a, b in zip(la, lb):
            a, b = int(a), int(b)
            best_b.setdefault(a, b)
            if prim[b] == a:
                kept.setdefault(a, b)
        for b in range(1, nb + 1):                 # continuing pores first, then splits
            a = prim.get(b)
            if a is not None and kept[a] == b:
                idsB[b] = idsA[a]
        for b in range(1, nb + 1):
            a = prim.get(b)
            if a is not None and kept[a] != b:
                idsB[b] = new_pore(k, "split", int(idsA[a]))
        for a in range(1, int(A.max()) + 1):
            pid = int(idsA[a])
            if pid == 0 or a in kept:
                continue
            if a in best_b:
                row[pid - 1] = "merged"
                merged_into[pid - 1] = int(idsB[best_b[a]])
                events.append({"state": k, "pore": pid, "event": "merged",
                               "other": merged_into[pid - 1]})
            else:
                row[pid - 1] = "closed"
                closed.add(pid)
                events.append({"state": k, "pore": pid, "event": "closed", "other": 0})
                last_region[A == a] = pid
        # pores that continue none: reopen a closed pore whose last region they overlap most
        free = np.zeros(nb + 1, bool)
        free[1:] = idsB[1:] == 0
        if free.any() and closed:
            m = free[B] & (last_region > 0)
            if m.any():
                lr, lbb, c = _overlaps(np.where(m, last_region, 0), np.where(m, B, 0))
                taken = set()
                for p, b in zip(lr, lbb):
                    p, b = int(p), int(b)
                    if p in closed and p not in taken and idsB[b] == 0:
                        idsB[b] = p
                        taken.add(p)
                        closed.discard(p)
                        row[p - 1] = "open"
                        events.append({"state": k, "pore": p, "event": "reopened", "other": 0})
                if taken:
                    last_region[np.isin(last_region, list(taken))] = 0
        for b in range(1, nb + 1):
            if idsB[b] == 0:
                idsB[b] = new_pore(k, "appeared")
        row += ["absent"] * (len(parent) - len(row))
        for b in range(1, nb + 1):
            row[idsB[b] - 1] = "open"
        status.append(row)
        ids.append(idsB)
    n = len(parent)
    return Tracking(ids, np.array([st + ["absent"] * (n - len(st)) for st in status],
                                  dtype=object).reshape(len(status), n),
                    np.array(parent, np.int64), np.array(merged_into, np.int64), events)


# ---------------------------------------------------------------- all steps together
@dataclass
class PoreAnalysis:
    """Rasters, labels (one per state), pixels excluded per state, the tracking, and
    area (n_states, n_pores) m²: a pore's pixels × pixel area when open, 0 when closed,
    NaN when absent or merged."""
    rasters: list
    labels: list
    excluded_px: list
    tracking: Tracking
    area: np.ndarray
    min_area_px: int

    @property
    def pixel_area(self) -> float:
        return self.rasters[0].pixel_area if self.rasters else float("nan")

    def area_rel(self) -> np.ndarray:
        """A / A_first per pore (NaN where A is)."""
        a = self.area
        first = np.full(a.shape[1], np.nan)
        for p in range(a.shape[1]):
            seen = np.flatnonzero(np.isfinite(a[:, p]) & (a[:, p] > 0))
            if seen.size:
                first[p] = a[seen[0], p]
        return a / first


def smallest_diameter(sections_or_radii) -> float:
    """2 min R (m) over arrays of radii."""
    return 2.0 * min(float(np.min(r)) for r in sections_or_radii if len(r))


def analyse_sections(sections: list, pixel: float, min_area_px: int = DEFAULT_MIN_AREA_PX
                     ) -> PoreAnalysis:
    """Steps 2-4 of the module docstring on a sequence of sections of one box (the states):
    raster at `pixel` m, labels, tracking and areas."""
    if not sections:
        raise ValueError("no section to analyse")
    if min_area_px < 0:
        raise ValueError(f"min_area_px = {min_area_px}: must be an integer >= 0")
    rasters, labels, excluded = [], [], []
    for s in sections:
        r = rasterise(s, pixel)
        lab, _, ex = label_pores(r.pore, r.periodic, min_area_px)
        rasters.append(r)
        labels.append(lab)
        excluded.append(ex)
    tr = track(labels)
    area = np.full((len(sections), tr.n_pores), np.nan)
    for k, lab in enumerate(labels):
        counts = np.bincount(lab.ravel(), minlength=len(tr.ids[k]))
        area[k, tr.status[k] == "closed"] = 0.0
        area[k, tr.ids[k][1:] - 1] = counts[1:] * rasters[k].pixel_area
    return PoreAnalysis(rasters, labels, excluded, tr, area, int(min_area_px))


# -------------------------------------------------------------------- run folders
@dataclass
class State:
    """One analysed snapshot: step, physical time (s), cycle (0 before cycling), half
    ('discharge', 'charge' or None), mean lithiation of the active particles, plane z (m),
    bed thickness h (m, the punch height)."""
    step: int
    time_s: float
    cycle: int
    half: str | None
    lithiation_mean: float
    z_m: float
    thickness_m: float = float("nan")

    def label(self, k: int) -> str:
        name = ROMAN[k] if k < len(ROMAN) else str(k)
        what = f"cycle {self.cycle} {self.half}" if self.half else "before cycling"
        return f"{name}: {what}, c = {self.lithiation_mean:.2f}"


@dataclass
class PoreResult:
    """rows: pores.csv; summary: pores.json; files written; states; the analysis."""
    rows: list
    summary: dict
    files: list
    states: list
    analysis: PoreAnalysis


def _half_of(step: int, start: int | None, ends: list) -> tuple[int, str | None]:
    """(cycle, half) of a snapshot step: before the cycling start, (0, None); else the
    half-cycle that has not ended before it (its end step included)."""
    if start is None or step < start:
        return 0, None
    h = sum(1 for e in ends if e < step)
    return h // 2 + 1, ("discharge" if h % 2 == 0 else "charge")


@dataclass
class RunStates:
    """The snapshots of a run folder ready for sectioning (`read_run`): states; particles
    [(x (n, 3) m, R (n,) m, material (n,), flats or None)] per state (flats: the
    snapshot's contacts_<step>.npz, `dempack.io.rundir.read_contacts`); the box width
    (m) and lateral periodicity; residual lithiation c_res; material names; cut_at_flats:
    every snapshot had its flats (else the section of those is the union of spheres)."""
    folder: object
    states: list
    particles: list
    width: float
    periodic: bool
    c_res: float
    materials: list
    depth: float
    cut_at_flats: bool

    def section(self, k: int, depth: float | None = None) -> Section:
        """The section of state k at `depth` (default the one read with), as
        `section_of_spheres` cuts it."""
        x, R, mat, flats = self.particles[k]
        z = self.states[k].z_m if depth is None else self.plane_height(k, depth)
        return section_of_spheres(x, R, mat, (self.width, self.width), self.periodic, z, flats)

    def plane_height(self, k: int, depth: float) -> float:
        """z_s = (1 − d) h of state k (module docstring, step 1)."""
        return (1.0 - depth) * self.states[k].thickness_m


def _check_depth(depth):
    if not (isinstance(depth, (int, float)) and 0.0 <= depth <= 1.0):
        raise ValueError(f"depth = {depth!r}: must be a fraction of the thickness in [0, 1]")


def read_run(run_dir, depth: float = 0.5, snapshots=None) -> RunStates:
    """Read a run folder's snapshots (indexes `snapshots`, default all) as states for the
    pore analysis, writing nothing (`pores` writes; the app's section view reads)."""
    import tomllib

    from ..io.rundir import RunFolder, read_contacts, read_vtp
    from ..materials import load_materials

    _check_depth(depth)
    rf = run_dir if hasattr(run_dir, "snapshots") else RunFolder(run_dir)
    snaps = rf.snapshots if snapshots is None else [rf.snapshots[k] for k in snapshots]
    if not snaps:
        raise ValueError(f"{rf.path}: no snapshots (particles.pvd) to analyse; set "
                         "run.snapshot_every_outputs or run.snapshot_at_half_cycle_fractions")
    if rf.summary.get("dimension") == 2:
        raise ValueError(f"{rf.path}: a 2D run (run.dimension = 2) is already a plane: the "
                         "section analysis cuts 3D packings, and a 2D run's pores are not "
                         "tracked yet (its disks are shown as they are in the 3D view)")
    width = float(rf.summary.get("die_width_m") or 0.0)
    if not width > 0.0:
        raise ValueError(f"{rf.path}: summary.json gives no die width (die_width_m); a run "
                         "writes it when it finishes or stops")
    periodic = rf.summary.get("lateral") == "periodic"
    table = load_materials()
    names = rf.materials
    active = np.array([table[m].active if m in table else False for m in names] or [False])
    sc = tomllib.loads(rf.scenario_path.read_text())
    c_res = float(sc.get("cycling", {}).get("residual_lithiation", 0.22))
    stages = rf.summary.get("stages", [])
    before = [s["step"] for s in stages if s.get("mode") != "cycling"]
    cycling = any(s.get("mode") == "cycling" for s in stages) or bool(rf.cycle_rows())
    start = max(before) if (before and cycling) else None
    ends = [int(r["step"]) for r in rf.cycle_rows()]
    particles, states, missing = [], [], 0
    for s in snaps:
        x, arr = read_vtp(s.path)
        R, mat = arr["radius"], arr["material"].astype(np.int32)
        flats = read_contacts(s.contacts_path)
        if flats is None:
            missing += 1
        elif len(flats["i"]) and max(flats["i"].max(), flats["j"].max()) >= len(R):
            raise ValueError(f"{s.contacts_path}: a contact names particle "
                             f"{max(flats['i'].max(), flats['j'].max())}, the snapshot has "
                             f"{len(R)}")
        lit = arr.get("lithiation", np.zeros(len(R)))
        h = rf.die(s.step)[2] if rf.rows() else 0.0     # the punch height, between rows
        if not h > 0.0:
            h = float(np.max(x[:, 2] + R)) if len(R) else 0.0
        act = active[np.clip(mat, 0, active.size - 1)] if len(R) else np.zeros(0, bool)
        cycle, half = _half_of(s.step, start, ends)
        states.append(State(s.step, s.time_s, cycle, half,
                            float(np.mean(lit[act])) if act.any() else float("nan"),
                            (1.0 - depth) * h, h))
        particles.append((x, R, mat, flats))
    if missing:
        log.warning("%s: %d of %d snapshots have no contacts_<step>.npz (runs before it was "
                    "written): their section is the union of the spheres, flats not cut, "
                    "which shows less pore than the engine's porosity", rf.path, missing,
                    len(snaps))
    return RunStates(rf, states, particles, width, periodic, c_res, names, float(depth),
                     missing == 0)


def analyse_run(run: RunStates, pixels_per_diameter: float = DEFAULT_PIXELS_PER_DIAMETER,
                min_area_px: int = DEFAULT_MIN_AREA_PX) -> PoreAnalysis:
    """Sections of every state of `run` at its depth, rasterised at p = d_min /
    pixels_per_diameter (d_min over all its states), labelled and tracked."""
    if not (isinstance(pixels_per_diameter, (int, float)) and 0 < pixels_per_diameter <= 1000):
        raise ValueError(f"pixels_per_diameter = {pixels_per_diameter!r}: must be a number "
                         "> 0 and <= 1000")
    if not (isinstance(min_area_px, int) and min_area_px >= 0):
        raise ValueError(f"min_area_px = {min_area_px!r}: must be an integer >= 0")
    d_min = smallest_diameter([p[1] for p in run.particles])
    sections = [run.section(k) for k in range(len(run.states))]
    return analyse_sections(sections, d_min / pixels_per_diameter, min_area_px)


def porosity_over_planes(x, R, width, periodic: bool, z_top: float, flats=None,
                         planes: int = 100, pixel: float | None = None,
                         cells: bool = True) -> float:
    """Mean pore fraction of `planes` sections at z_k = (k + ½) z_top / planes (the
    midpoint rule for 1 − V_solid/(Lx Ly z_top), the engine's porosity when the section
    cuts the flats): pixel default d_min / 20."""
    R = np.asarray(R, float)
    pixel = pixel or 2.0 * float(R.min()) / DEFAULT_PIXELS_PER_DIAMETER
    mat = np.zeros(len(R), np.int32)
    fr = [rasterise(section_of_spheres(x, R, mat, (width, width), periodic,
                                       (k + 0.5) * z_top / planes, flats, cells), pixel).pore.mean()
          for k in range(planes)]
    return float(np.mean(fr))


def pores(run_dir, depth: float = 0.5, pixels_per_diameter: float = DEFAULT_PIXELS_PER_DIAMETER,
          min_area_px: int = DEFAULT_MIN_AREA_PX, out=None, images: bool = True,
          snapshots=None) -> PoreResult:
    """Pore analysis of a run folder's snapshots (module docstring). depth: of the plane
    below the top of the bed, a fraction of its thickness in [0, 1]; pixels_per_diameter:
    pixels across the smallest particle diameter (> 0); min_area_px: smaller pores are left
    out; out: folder of pores.csv, pores.json and the PNGs (default: the run folder);
    images: write the PNGs; snapshots: indexes of the snapshots to analyse (default all)."""
    from ..io import write_json, write_table

    _check_depth(depth)
    if not (isinstance(pixels_per_diameter, (int, float)) and 0 < pixels_per_diameter <= 1000):
        raise ValueError(f"pixels_per_diameter = {pixels_per_diameter!r}: must be a number "
                         "> 0 and <= 1000")
    if not (isinstance(min_area_px, int) and min_area_px >= 0):
        raise ValueError(f"min_area_px = {min_area_px!r}: must be an integer >= 0")
    run = read_run(run_dir, depth, snapshots)
    rf, states, c_res, names = run.folder, run.states, run.c_res, run.materials
    an = analyse_run(run, pixels_per_diameter, min_area_px)
    d_min = smallest_diameter([p[1] for p in run.particles])
    rows = pore_rows(an, states)
    summary = pore_summary(an, states, c_res)
    summary["section"] = {"run": str(rf.path), "plane": "z (parallel to the current collector)",
                          "depth_fraction": depth, "z_m": [st.z_m for st in states],
                          "periodic": run.periodic, "pixels_per_diameter": pixels_per_diameter,
                          "smallest_diameter_m": d_min,
                          "pixel_m": list(an.rasters[0].pixel),
                          "nx": an.rasters[0].image.shape[1], "ny": an.rasters[0].image.shape[0],
                          "connectivity": 4, "min_area_px": min_area_px,
                          "min_area_m2": min_area_px * an.pixel_area,
                          "cut_at_flats": run.cut_at_flats}
    out = Path(out) if out is not None else rf.path
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "pores.csv", out / "pores.json"]
    write_table(files[0], rows)
    if images:
        files += write_figures(an, states, names, c_res, out)
    summary["files"] = [f.name for f in files]
    write_json(files[1], summary)
    log.info("%d pores tracked in %d states; %s", summary["pores_tracked"], len(states), out)
    return PoreResult(rows, summary, files, states, an)


def pore_rows(an: PoreAnalysis, states: list) -> list:
    """pores.csv: one row per pore and state (module docstring); area_m2 empty where the
    pore is absent or merged; closed 1 where it has closed."""
    rel = an.area_rel()
    tr = an.tracking
    rows = []
    for p in range(tr.n_pores):
        for k, st in enumerate(states):
            rows.append({"pore": p + 1, "state": k, "step": st.step, "time_s": st.time_s,
                         "cycle": st.cycle, "half": st.half,
                         "lithiation_mean": st.lithiation_mean, "area_m2": an.area[k, p],
                         "area_rel": rel[k, p], "closed": int(tr.status[k, p] == "closed"),
                         "status": tr.status[k, p], "parent": int(tr.parent[p]) or None,
                         "merged_into": int(tr.merged_into[p]) or None})
    return rows


def pore_summary(an: PoreAnalysis, states: list, c_res: float) -> dict:
    """pores.json: the pores present in the first state are the tracked ones (as the
    study's 20 pores were picked in its first image); their median relative area at each
    state (closed pores count as 0, merged ones are left out); how many shrink during each
    charge (area at the charge's last state below the area at the discharge end by more
    than SHRINK_TOLERANCE of the initial area) and how many end below the no-creep line."""
    tr = an.tracking
    rel = an.area_rel()
    initial = np.flatnonzero(tr.status[0] == "open")
    med = [float(np.nanmedian(rel[k, initial])) if np.isfinite(rel[k, initial]).any()
           else None for k in range(len(states))]
    shrink = []
    for c in sorted({st.cycle for st in states if st.half}):
        dis = [k for k, st in enumerate(states) if st.cycle == c and st.half == "discharge"]
        cha = [k for k, st in enumerate(states) if st.cycle == c and st.half == "charge"]
        if dis and cha:
            a, b = rel[dis[-1], initial], rel[cha[-1], initial]
            ok = np.isfinite(a) & np.isfinite(b)
            shrink.append({"cycle": c, "discharge_end_state": dis[-1], "charge_state": cha[-1],
                           "pores_compared": int(ok.sum()),
                           "shrink": int(np.sum(b[ok] < a[ok] - SHRINK_TOLERANCE))})
    last = rel[-1, initial]
    per_state = []
    for k, st in enumerate(states):
        lab = an.labels[k]
        per_state.append({
            "state": k, "name": ROMAN[k] if k < len(ROMAN) else str(k), "step": st.step,
            "time_s": st.time_s, "cycle": st.cycle, "half": st.half,
            "lithiation_mean": st.lithiation_mean, "z_m": st.z_m,
            "pores": int(lab.max()),
            "pore_area_m2": float(np.count_nonzero(lab)) * an.pixel_area,
            "excluded_area_m2": an.excluded_px[k] * an.pixel_area,
            "section_porosity": float(np.mean(an.rasters[k].pore)),
            "median_area_rel": med[k]})
    return {
        "pores_tracked": int(initial.size), "pores_total": tr.n_pores,
        "median_area_rel": med,
        "residual_lithiation": c_res, "no_creep_area_rel": 1.0 - c_res,
        "below_no_creep_at_last_state": int(np.sum(np.isfinite(last) & (last < 1.0 - c_res))),
        "shrink_during_charge": shrink,
        "shrink_tolerance": SHRINK_TOLERANCE,
        "states": per_state,
        "events": tr.events,
        "notes": [f"pores smaller than min_area_px pixels are left out (their area is "
                  f"excluded_area_m2) and a tracked pore below it counts as closed",
                  "area sums: per state, the areas of the open pores add up to "
                  "pore_area_m2 = pore pixels (excluded ones left out) x pixel area"],
    }


# -------------------------------------------------------------------------- figures
def write_figures(an: PoreAnalysis, states: list, materials: list, c_res: float, out: Path
                  ) -> list:
    """section_<k>.png per state (particles coloured by material, pore contours dashed,
    tracked pores numbered) and pores_relative_area.png (Fig. 3d style); returns the paths."""
    from ..plot import _pyplot
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from scipy import ndimage

    from ..io.atomic import replacing

    palette = ["#ffffff", "#d9a441", "#4a6fa5", "#7fae62", "#b55d8a", "#8c8c8c", "#c44e52"]
    nm = max(len(materials), int(max(r.image.max() for r in an.rasters)) + 1, 1)
    cmap = ListedColormap((palette + ["#555555"] * nm)[:nm + 1])
    files = []
    tr = an.tracking
    for k, (r, lab, st) in enumerate(zip(an.rasters, an.labels, states)):
        ny, nx = r.image.shape
        ext = (0, nx * r.pixel[0] * 1e6, 0, ny * r.pixel[1] * 1e6)
        fig, ax = plt.subplots(figsize=(5.2, 5.2), dpi=100)
        ax.imshow(r.image + 1, cmap=cmap, vmin=-0.5, vmax=nm + 0.5, origin="lower", extent=ext,
                  interpolation="nearest")
        ax.contour(lab > 0, levels=[0.5], colors="k", linestyles="dashed", linewidths=0.5,
                   origin="lower", extent=ext)
        n = int(lab.max())
        if n:
            cy, cx = np.array(ndimage.center_of_mass(lab > 0, lab, np.arange(1, n + 1))).T
            for b in range(n):
                ax.text((cx[b] + 0.5) * r.pixel[0] * 1e6, (cy[b] + 0.5) * r.pixel[1] * 1e6,
                        str(tr.ids[k][b + 1]), fontsize=4, ha="center", va="center",
                        color="#b22222")
        handles = [plt.Rectangle((0, 0), 1, 1, color=palette[m + 1]) for m in range(len(materials))]
        ax.legend(handles, materials, loc="upper right", fontsize=6, framealpha=0.8)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_title(st.label(k) + f"\nsection z = {st.z_m * 1e6:.2f} µm", fontsize=8)
        f = out / f"section_{k}.png"
        with replacing(f) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        files.append(f)
    rel = an.area_rel()
    initial = np.flatnonzero(tr.status[0] == "open")
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=100)
    xs = np.arange(len(states))
    for p in initial:
        ax.plot(xs, rel[:, p], "-o", color="0.6", lw=0.7, ms=2)
    med = [np.nanmedian(rel[k, initial]) if initial.size else np.nan for k in xs]
    ax.plot(xs, med, "-o", color="k", lw=2, ms=4, label=f"median of {initial.size} pores")
    ax.axhline(1.0 - c_res, color="#c44e52", ls="--",
               label=f"no creep: 1 − c_res = {1.0 - c_res:.2f}")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{ROMAN[k] if k < len(ROMAN) else k}\nc={st.lithiation_mean:.2f}"
                        for k, st in enumerate(states)], fontsize=7)
    ax.set_ylabel("relative pore area A / A_I")
    top = 2.0                                  # the study's range; larger values are clipped
    above = int(np.sum(np.nanmax(rel[:, initial], axis=0, initial=0.0) > top)) if initial.size else 0
    ax.set_ylim(0.0, top)
    if above:
        ax.text(0.99, 0.98, f"{above} pore(s) above {top:g}, clipped", transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="0.4")
    ax.legend(fontsize=7)
    ax.set_title("pores in the section (Fig. 3d style)", fontsize=9)
    fig.tight_layout()
    f = out / "pores_relative_area.png"
    with replacing(f) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    files.append(f)
    return files
