"""One DEM step: Hertz–Mindlin pair and wall forces, then the leapfrog form of
velocity Verlet:

    v(t+dt/2) = v(t−dt/2) + dt F(t)/m,   x(t+dt) = x(t) + dt v(t+dt/2)
    ω(t+dt/2) = ω(t−dt/2) + dt T(t)/I     (spheres: I = 2/5 m R²)

Two interchangeable kernels compute the same step (same physics, different
summation order, so results agree to round-off):

* `step_serial` (numba runs one thread): one pass over the particles in
  storage order (cell-sorted at each list rebuild, so neighbours are close in
  memory). Each pair of the half list (i < j) is evaluated once; its force is
  added to i's running sum and scattered in place to j. When the pass reaches
  particle i, every pair containing i has been evaluated (pairs (k, i) with
  k < i came in earlier rows, pairs (i, j) in its own row), so i's wall
  contacts are added and i is advanced at once; later rows only read
  particles that have not moved yet (j > i).
* `step_threaded` (several threads): the same pass over T contiguous chunks of
  rows at once, each thread summing into its own force/torque array (no races,
  no per-pair buffer); then a parallel loop over particles adds the T sums in a
  fixed order (results independent of the schedule for a given T), adds the
  wall contacts and advances.

Both return (max drift, z force of the particles on the top punch): the
largest share of the Verlet skin a particle used up since the last rebuild
(|x − x_ref| + R − R_ref; NaN if a particle position became NaN) and
Σ wall_force[:, top, z], so the caller needs no extra pass over the arrays.
Wall slots that are off (the side walls of a periodic box) are not touched:
their wall_force / wall_xi stay zero. Nor are the slots of a particle that is
apart from a wall and was apart at the last step (ContactList.wall_touch bits):
the wall arrays (N, 6, 3) are then not streamed through the cache at every step.

Contact-law slots cost nothing when switched off (after LIGGGHTS' contact
models): where no material pair has a hardness and nothing creeps, the caller
passes delta_flat = wall_delta_flat = None; numba prunes the `is None` branches when it
compiles that signature, so the elastic kernels neither load nor store the flat
δcr, the confinement pressures or the plastic test (`Simulation.step` chooses).
Neither step writes a per-pair force buffer unless asked (fbuf, on the steps
whose particle stresses are observed or tested for fracture: the forces of the
step, as DESIGN §2 defines the particle stress tensor); otherwise the
observables recompute the contact forces of the current state (`contact_forces`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .contact import (LAW_CB, LAW_COLS, LAW_E, LAW_H, LAW_KT, LAW_MU, LAW_MUR, LAW_RT,
                      NO_HARDNESS, law_table)
from .contact.law import pair_law, wall_law
from .geometry import min_image, wrap

# LLVM fast-math flags of the hot kernels: contraction into FMA, reciprocal
# approximations and reassociation, but not 'nnan'/'ninf' (the divergence test
# relies on NaN propagating into the returned drift).
FASTMATH = {"contract", "arcp", "nsz", "afn", "reassoc"}


@njit(cache=True, inline="always")
def load3(a, k3):
    """(a[k3], a[k3 + 1], a[k3 + 2]): one row of an (N, 3) array through its flat view."""
    return a[k3], a[k3 + U1], a[k3 + U2]


@njit(cache=True, inline="always")
def store3(a, k3, x, y, z):
    """a[k3:k3 + 3] = (x, y, z) on a flat view."""
    a[k3] = x
    a[k3 + U1] = y
    a[k3 + U2] = z


@njit(cache=True, inline="always")
def add6(a, k6, f0, f1, f2, t0, t1, t2):
    """a[k6:k6 + 6] += (f, t) on a flat view (per-thread force and torque sums)."""
    a[k6] += f0
    a[k6 + U1] += f1
    a[k6 + U2] += f2
    a[k6 + U3] += t0
    a[k6 + U4] += t1
    a[k6 + U5] += t2


# Unsigned index constants: the kernels index with unsigned integers throughout (numba
# adds negative-index wraparound code to every signed index), (N, 3) arrays through flat
# views at 3i + k and law tables at LAW_COLS · row + column.
U0, U1, U2, U3, U4, U5, U6 = (np.uint64(k) for k in range(7))
ULAW_E, ULAW_KT, ULAW_RT, ULAW_MU, ULAW_CB, ULAW_H, ULAW_MUR, ULAW_COLS = (
    np.uint64(c) for c in (LAW_E, LAW_KT, LAW_RT, LAW_MU, LAW_CB, LAW_H, LAW_MUR, LAW_COLS))

@njit(cache=True, inline="always")
def pair_contact(i, j, p, pi, vi, wi, Ri, mi, rowi, xf, vf, wf, R, mass, mat, xif, delta_flat, law, conf,
                 flat_share, slots, periodic_xy, Lx, Ly, dt):
    """`contact.law.pair_law` of candidate pair p = (i, j), i's position, velocity and
    angular velocity (3-tuples), radius and mass given, j's read from the flat views; the
    spring xif[3p:3p + 3] and the flat delta_flat[p] updated in place (delta_flat None: elastic, no
    flat and no confinement; slots = (rolling, line): rolling None, no rolling resistance;
    line None, spheres, else the disk thickness of the 2D mode; all pruned at compile
    time). rowi = nm · material of i, law the flat pair-law table.
    Returns (touching, f, c, m, ri, rj) as `pair_law`."""
    pix, piy, piz = pi
    j3 = U3 * j
    p3 = U3 * p
    xj, yj, zj = load3(xf, j3)
    dx = xj - pix
    dy = yj - piy
    dz = zj - piz
    if periodic_xy:
        dx = min_image(dx, Lx)
        dy = min_image(dy, Ly)
    r6 = ULAW_COLS * np.uint64(rowi + mat[j])
    if delta_flat is None:
        dc = 0.0
        H = NO_HARDNESS
        cf = (0.0, 0.0, 0.0)
    else:
        dc = delta_flat[p]
        H = law[r6 + ULAW_H]
        cf = (conf[i], conf[j], flat_share[mat[i], mat[j]])
    mur = 0.0 if slots[0] is None else law[r6 + ULAW_MUR]
    x0, x1, x2 = load3(xif, p3)
    vix, viy, viz = vi
    wix, wiy, wiz = wi
    (touch, ax, ay, az, cx, cy, cz, mx, my, mz, ri, rj, x0, x1, x2, dc) = pair_law(
        (dx, dy, dz), (Ri, mi, vix, viy, viz, wix, wiy, wiz),
        (R[j], mass[j], vf[j3], vf[j3 + U1], vf[j3 + U2], wf[j3], wf[j3 + U1], wf[j3 + U2]),
        (x0, x1, x2), dc,
        (law[r6 + ULAW_E], law[r6 + ULAW_KT], law[r6 + ULAW_RT], law[r6 + ULAW_MU],
         law[r6 + ULAW_CB], H, mur), cf, slots[0], slots[1], dt)
    store3(xif, p3, x0, x1, x2)
    if delta_flat is not None:
        delta_flat[p] = dc
    return touch, ax, ay, az, cx, cy, cz, mx, my, mz, ri, rj


@njit(cache=True, inline="always")
def row_forces(i, pi, vi, wi, Ri, mi, fa, ta, fbase, tbase, stride, pj, row_start, xf, vf, wf, R,
               mass, mat, nm, xif, delta_flat, law, conf, flat_share, fbuf, pbc, slots, dt):
    """The pairs (i, j > i) of row i of the half list (`pair_contact`; i's position,
    velocity and angular velocity as 3-tuples, radius, mass; pbc = (periodic_xy, Lx,
    Ly); slots = (rolling, line), the optional parts): the force on each j is added to
    fa[fbase + stride·j + k], its torque to ta[tbase + stride·j + k]; fbuf (flat 3P, or
    None: pruned) records the force on i from j of every pair. Returns i's own sums (f, t)."""
    periodic_xy, Lx, Ly = pbc
    rowi = np.uint64(mat[i]) * np.uint64(nm)
    fx = 0.0
    fy = 0.0
    fz = 0.0
    tx = 0.0
    ty = 0.0
    tz = 0.0
    for p in range(np.uint64(row_start[i]), np.uint64(row_start[i + U1])):
        j = np.uint64(pj[p])
        touch, ax, ay, az, cx, cy, cz, mx, my, mz, ri, rj = pair_contact(
            i, j, p, pi, vi, wi, Ri, mi, rowi, xf, vf, wf, R, mass, mat, xif, delta_flat, law, conf,
            flat_share, slots, periodic_xy, Lx, Ly, dt)
        if fbuf is not None:
            store3(fbuf, U3 * p, -ax, -ay, -az)
        if touch:
            fx -= ax
            fy -= ay
            fz -= az
            tx -= ri * cx
            ty -= ri * cy
            tz -= ri * cz
            tx += mx
            ty += my
            tz += mz
            kf = fbase + stride * j
            kt = tbase + stride * j
            fa[kf] += ax
            fa[kf + U1] += ay
            fa[kf + U2] += az
            ta[kt] -= rj * cx + mx
            ta[kt + U1] -= rj * cy + my
            ta[kt + U2] -= rj * cz + mz
    return fx, fy, fz, tx, ty, tz


@njit(cache=True, inline="always")
def wall_contacts(i, wt, pix, piy, piz, vix, viy, viz, wix, wiy, wiz, Ri, mi, m6, walls, wall_pos,
                  wall_vel_z, wall_xi, wall_delta_flat, wall_force, wlaw, conf, slots, dt):
    """Contacts of particle i with the walls that are on (`walls`: their slots), springs
    and flats in wall_xi[i] / wall_delta_flat[i] (None: elastic, pruned at compile time), forces
    stored in wall_force[i]; wt the particle's wall_touch bits (a slot whose bit is clear
    is zero and is not touched). m6 = LAW_COLS · material: the particle's row of the
    flat wall law table wlaw; slots = (rolling, line) as `pair_contact` (pruned). Returns
    (force, torque on the particle, z force of the top punch slot, updated bits)."""
    fx = 0.0
    fy = 0.0
    fz = 0.0
    tx = 0.0
    ty = 0.0
    tz = 0.0
    ftop = 0.0
    for kk in range(walls.shape[0]):
        k = walls[kk]
        bit = np.int64(1) << np.int64(k)
        s = wall_distance(k, pix, piy, piz, wall_pos[k])
        if s >= Ri:  # apart (the common case): no force, no spring
            if wt & bit:  # was touching: clear (else the slot is zero already)
                wall_xi[i, k, 0] = 0.0
                wall_xi[i, k, 1] = 0.0
                wall_xi[i, k, 2] = 0.0
                wall_force[i, k, 0] = 0.0
                wall_force[i, k, 1] = 0.0
                wall_force[i, k, 2] = 0.0
                wt &= ~bit
            continue
        wt |= bit
        vwz = wall_vel_z[k] if k < 2 else 0.0
        if wall_delta_flat is None:
            dc = 0.0
            H = NO_HARDNESS
        else:
            dc = wall_delta_flat[i, k]
            H = wlaw[m6 + ULAW_H] + conf[i]
        mur = 0.0 if slots[0] is None else wlaw[m6 + ULAW_MUR]
        a, b, c, d, e, f, x0, x1, x2, dc = wall_law(
            k, s, vwz, (Ri, mi, vix, viy, viz, wix, wiy, wiz),
            (wall_xi[i, k, 0], wall_xi[i, k, 1], wall_xi[i, k, 2]), dc,
            (wlaw[m6 + ULAW_E], wlaw[m6 + ULAW_KT], wlaw[m6 + ULAW_RT], wlaw[m6 + ULAW_MU],
             wlaw[m6 + ULAW_CB], H, mur), slots[0], slots[1], dt)
        wall_xi[i, k, 0] = x0
        wall_xi[i, k, 1] = x1
        wall_xi[i, k, 2] = x2
        if wall_delta_flat is not None:
            wall_delta_flat[i, k] = dc
        wall_force[i, k, 0] = a
        wall_force[i, k, 1] = b
        wall_force[i, k, 2] = c
        if k == 1:
            ftop += c
        fx += a
        fy += b
        fz += c
        tx += d
        ty += e
        tz += f
    return fx, fy, fz, tx, ty, tz, ftop, wt


@njit(cache=True, inline="always")
def wall_distance(k, px, py, pz, wp):
    """Distance (m) from a centre (px, py, pz) to wall slot k at position wp (z of the
    bottom / top plate, x or y of a side wall), positive inside the die."""
    if k == 0:
        return pz - wp
    if k == 1:
        return wp - pz
    if k == 2:
        return px - wp
    if k == 3:
        return wp - px
    if k == 4:
        return py - wp
    return wp - py


@njit(cache=True, inline="always")
def wall_reach(wall_pos, wall_on):
    """Wall positions for `wall_near`: (bottom z, top z, x lo, x hi, y lo, y hi), a slot
    that is off moved to ∓inf so that no sphere reaches it."""
    inf = np.inf
    return ((wall_pos[0] if wall_on[0] else -inf), (wall_pos[1] if wall_on[1] else inf),
            (wall_pos[2] if wall_on[2] else -inf), (wall_pos[3] if wall_on[3] else inf),
            (wall_pos[4] if wall_on[4] else -inf), (wall_pos[5] if wall_on[5] else inf))


@njit(cache=True, inline="always")
def wall_near(px, py, pz, Ri, reach):
    """True if a sphere (centre p, radius Ri) reaches a wall that is on, reach from
    `wall_reach` (the test `wall_distance` < Ri of every slot at once, so that the common
    case, a particle apart from every wall, costs six compares)."""
    zb, zt, xl, xh, yl, yh = reach
    return ((pz - zb < Ri) | (zt - pz < Ri) | (px - xl < Ri) | (xh - px < Ri)
            | (py - yl < Ri) | (yh - py < Ri))


@njit(cache=True, inline="always")
def leapfrog(f, t, v, w, p, im, ii, dt):
    """v += F dt/m, ω += T dt/I, x += v dt (im = dt/m, ii = dt/I; force f, torque t,
    velocity v, angular velocity w and position p 3-tuples). Returns (v, ω, x), 9 scalars."""
    fx, fy, fz = f
    tx, ty, tz = t
    vx, vy, vz = v
    wx, wy, wz = w
    px, py, pz = p
    vx += fx * im
    vy += fy * im
    vz += fz * im
    wx += tx * ii
    wy += ty * ii
    wz += tz * ii
    return vx, vy, vz, wx, wy, wz, px + dt * vx, py + dt * vy, pz + dt * vz


@njit(cache=True, inline="always")
def advance(i, i3, f, t, vi, wi, pi, mi, Ri, xf, vf, wf, ff, tf, xr, inertia, R_ref, dt,
            periodic_xy, Lx, Ly):
    """Store particle i's force f and torque t (3-tuples), advance its velocity vi,
    angular velocity wi and position pi (`leapfrog`; positions wrapped into the periodic
    box) and return its skin drift |x − x_ref| + (R − R_ref). Flat (3N) arrays, i3 = 3i."""
    fx, fy, fz = f
    tx, ty, tz = t
    vix, viy, viz = vi
    wix, wiy, wiz = wi
    pix, piy, piz = pi
    store3(ff, i3, fx, fy, fz)
    store3(tf, i3, tx, ty, tz)
    vix, viy, viz, wix, wiy, wiz, pix, piy, piz = leapfrog(
        f, t, (vix, viy, viz), (wix, wiy, wiz), (pix, piy, piz), dt / mi, dt / inertia[i], dt)
    store3(vf, i3, vix, viy, viz)
    store3(wf, i3, wix, wiy, wiz)
    ddx = pix - xr[i3]
    ddy = piy - xr[i3 + U1]
    ddz = piz - xr[i3 + U2]
    if periodic_xy:
        pix = wrap(pix, Lx)
        piy = wrap(piy, Ly)
        ddx = min_image(ddx, Lx)
        ddy = min_image(ddy, Ly)
    store3(xf, i3, pix, piy, piz)
    return math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) + (Ri - R_ref[i])


@njit(cache=True, inline="always")
def _law(tab):
    """The flat law table (`contact.law_table`) of a tuple of per-pair constant arrays."""
    return law_table(tab[0], tab[1], tab[2], tab[3], tab[4], tab[5]).reshape(-1)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def step_serial(x, v, w, R, mass, inertia, mat, alive, pj, row_start, xi, delta_flat,
                wall_xi, wall_delta_flat, wall_force, wall_touch, force, torque, wall_pos, wall_vel_z,
                wall_on, pair_tab, wall_tab, slots, body, dt, L, periodic_xy, x_ref, R_ref, conf,
                flat_share, fbuf):
    """One whole step on one thread (see the module docstring): pair forces, wall
    contacts, leapfrog. The pair forces are stored only where fbuf is given, so most
    steps stream only the list and its history.

    wall_pos: (6,) bottom z, top z, x lo, x hi, y lo, y hi; wall_vel_z: (2,) bottom
    and top plate velocity; wall_on: (6,) bool; wall_touch: (N,) uint8 bit k set where
    slot k may be non-zero (ContactList.wall_touch; kept up to date here, so the wall
    arrays of a particle away from the walls are neither read nor written).
    conf (N) Pa confinement pressures, flat (nm, nm) flat shares (dempack.physics.confinement).
    fbuf (3P) or None: where given, the force on i from j of every pair is recorded
    (flat view of a (P, 3) array; `Simulation.step` asks for it on the steps whose
    stresses are observed or tested for fracture).
    delta_flat and wall_delta_flat None: every contact is elastic (no hardness, no creep), and
    numba compiles a kernel without the flats (see the module docstring).
    Returns (max drift, top z force).
    """
    n = x.shape[0]
    nm = pair_tab[0].shape[0]
    # flat views: (N, 3) arrays indexed 3i + k. A 2-D index costs a multiply by a
    # run-time shape (spilled to the stack: the kernel has ~40 array arguments); a flat
    # one is a scaled address.
    law = _law(pair_tab)
    wlaw = _law(wall_tab)
    xf = x.reshape(-1)
    vf = v.reshape(-1)
    wf = w.reshape(-1)
    xif = xi.reshape(-1)
    ff = force.reshape(-1)
    tf = torque.reshape(-1)
    xr = x_ref.reshape(-1)
    walls = np.flatnonzero(wall_on).astype(np.uint64)
    reach = wall_reach(wall_pos, wall_on)
    Lx = L[0]
    Ly = L[1]
    bx = body[0]
    by = body[1]
    bz = body[2]
    ff[:] = 0.0
    tf[:] = 0.0
    dmax = 0.0
    bad = False
    ftop = 0.0
    for i in range(np.uint64(n)):
        i3 = U3 * i
        pix, piy, piz = load3(xf, i3)
        vix, viy, viz = load3(vf, i3)
        wix, wiy, wiz = load3(wf, i3)
        Ri = R[i]
        mi = mass[i]
        fx, fy, fz, tx, ty, tz = row_forces(
            i, (pix, piy, piz), (vix, viy, viz), (wix, wiy, wiz), Ri, mi, ff, tf, U0, U0, U3, pj,
            row_start, xf, vf, wf, R, mass, mat, nm, xif, delta_flat, law, conf, flat_share, fbuf,
            (periodic_xy, Lx, Ly), slots, dt)
        if not alive[i]:
            continue
        fx += ff[i3] + bx * mi
        fy += ff[i3 + U1] + by * mi
        fz += ff[i3 + U2] + bz * mi
        tx += tf[i3]
        ty += tf[i3 + U1]
        tz += tf[i3 + U2]
        m6 = ULAW_COLS * np.uint64(mat[i])
        wt = np.int64(wall_touch[i])  # wall slots that may be non-zero (bits)
        if wt != 0 or wall_near(pix, piy, piz, Ri, reach):
            a, b, c, d, e, f, fzt, wt = wall_contacts(
                i, wt, pix, piy, piz, vix, viy, viz, wix, wiy, wiz, Ri, mi, m6, walls, wall_pos,
                wall_vel_z, wall_xi, wall_delta_flat, wall_force, wlaw, conf, slots, dt)
            wall_touch[i] = np.uint8(wt)
            fx += a
            fy += b
            fz += c
            tx += d
            ty += e
            tz += f
            ftop += fzt
        dr = advance(i, i3, (fx, fy, fz), (tx, ty, tz), (vix, viy, viz), (wix, wiy, wiz),
                     (pix, piy, piz), mi, Ri, xf, vf, wf, ff, tf, xr, inertia, R_ref, dt,
                     periodic_xy, Lx, Ly)
        if dr > dmax:
            dmax = dr
        elif not (dr <= dmax):
            bad = True
    return (np.nan if bad else dmax), ftop


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def pair_forces(x, v, w, R, mass, mat, pi, pj, xi, delta_flat, fbuf, pair_tab, slots, dt, L,
                periodic_xy, conf, flat_share):
    """Hertz–Mindlin force of every candidate pair into the pair buffer: fbuf[p]
    force on i from j (zero if not touching); xi and delta_flat are updated as in a step.

    Where the pair has a hardness H the contact is elastic–perfectly-plastic
    (see `plastic_contact`).
    """
    P = pi.shape[0]
    nm = pair_tab[0].shape[0]
    law = _law(pair_tab)
    xf = x.reshape(-1)  # flat views, unsigned indices (see step_serial)
    vf = v.reshape(-1)
    wf = w.reshape(-1)
    xif = xi.reshape(-1)
    ff = fbuf.reshape(-1)
    unm = np.uint64(nm)
    Lx = L[0]
    Ly = L[1]
    for q in prange(P):
        p = np.uint64(q)
        i = np.uint64(pi[p])
        j = np.uint64(pj[p])
        i3 = U3 * i
        touch, ax, ay, az, cx, cy, cz, mx, my, mz, ri, rj = pair_contact(
            i, j, p, load3(xf, i3), load3(vf, i3), load3(wf, i3), R[i], mass[i],
            np.uint64(mat[i]) * unm, xf, vf, wf, R, mass, mat, xif, delta_flat, law, conf, flat_share,
            slots, periodic_xy, Lx, Ly, dt)
        store3(ff, U3 * p, -ax, -ay, -az)


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def step_threaded(x, v, w, R, mass, inertia, mat, alive, pj, row_start, chunk_start, xi, delta_flat,
                  wall_xi, wall_delta_flat, wall_force, wall_touch, force, torque, scratch, wall_pos,
                  wall_vel_z, wall_on, pair_tab, wall_tab, slots, body, dt, L, periodic_xy, x_ref,
                  R_ref, drift, conf, flat_share, fbuf):
    """One whole step on T threads, same arguments as `step_serial` plus:
    chunk_start (T+1) int64: rows (particles, in storage order) of each thread's chunk
    (`chunk_rows`); scratch (T, 6N) zeros: per-thread force and torque sums; drift (N).

    Phase 1, parallel over the T chunks: each pair of the half list is evaluated once,
    as in `step_serial`; chunk t adds f and torque to i and scatters them to j in its
    own row of scratch (no two threads write the same memory; each row sums in storage
    order). Phase 2, parallel over particles: Σ_t scratch[t, i] in t order (then zeroed
    for the next step), wall contacts, leapfrog. No per-pair buffer is written (but
    fbuf where given), and the result is the same for the same T whatever the schedule (it differs from
    `step_serial`'s only by the summation order). Returns (max drift, top z force).
    """
    n = x.shape[0]
    nm = pair_tab[0].shape[0]
    law = _law(pair_tab)
    wlaw = _law(wall_tab)
    xf = x.reshape(-1)  # flat views, unsigned indices (see step_serial)
    vf = v.reshape(-1)
    wf = w.reshape(-1)
    xif = xi.reshape(-1)
    ff = force.reshape(-1)
    tf = torque.reshape(-1)
    xr = x_ref.reshape(-1)
    sf = scratch.reshape(-1)
    T = chunk_start.shape[0] - 1
    u6n = np.uint64(6 * n)
    walls = np.flatnonzero(wall_on).astype(np.uint64)
    reach = wall_reach(wall_pos, wall_on)
    Lx = L[0]
    Ly = L[1]
    for tt in prange(T):
        base = np.uint64(tt) * u6n
        for i in range(np.uint64(chunk_start[tt]), np.uint64(chunk_start[tt + 1])):
            i3 = U3 * i
            pi3 = load3(xf, i3)
            vi3 = load3(vf, i3)
            wi3 = load3(wf, i3)
            Ri = R[i]
            mi = mass[i]
            fx, fy, fz, tx, ty, tz = row_forces(
                i, pi3, vi3, wi3, Ri, mi, sf, sf, base, base + U3, U6, pj, row_start, xf, vf, wf,
                R, mass, mat, nm, xif, delta_flat, law, conf, flat_share, fbuf, (periodic_xy, Lx, Ly), slots,
                dt)
            add6(sf, base + U6 * i, fx, fy, fz, tx, ty, tz)
    for ii in prange(n):
        i = np.uint64(ii)
        mi = mass[i]
        fx = body[0] * mi
        fy = body[1] * mi
        fz = body[2] * mi
        tx = 0.0
        ty = 0.0
        tz = 0.0
        for tt in range(T):
            o = np.uint64(tt) * u6n + U6 * i
            a, b, c = load3(sf, o)
            d, e, f = load3(sf, o + U3)
            store3(sf, o, 0.0, 0.0, 0.0)
            store3(sf, o + U3, 0.0, 0.0, 0.0)
            fx += a
            fy += b
            fz += c
            tx += d
            ty += e
            tz += f
        if not alive[i]:
            drift[i] = 0.0
            continue
        i3 = U3 * i
        pix, piy, piz = load3(xf, i3)
        vix, viy, viz = load3(vf, i3)
        wix, wiy, wiz = load3(wf, i3)
        Ri = R[i]
        m6 = ULAW_COLS * np.uint64(mat[i])
        wt = np.int64(wall_touch[i])  # wall slots that may be non-zero (bits)
        if wt != 0 or wall_near(pix, piy, piz, Ri, reach):
            a, b, c, d, e, f, fzt, wt = wall_contacts(
                i, wt, pix, piy, piz, vix, viy, viz, wix, wiy, wiz, Ri, mi, m6, walls, wall_pos,
                wall_vel_z, wall_xi, wall_delta_flat, wall_force, wlaw, conf, slots, dt)
            wall_touch[i] = np.uint8(wt)
            fx += a
            fy += b
            fz += c
            tx += d
            ty += e
            tz += f
        drift[i] = advance(i, i3, (fx, fy, fz), (tx, ty, tz), (vix, viy, viz), (wix, wiy, wiz),
                           (pix, piy, piz), mi, Ri, xf, vf, wf, ff, tf, xr, inertia, R_ref, dt,
                           periodic_xy, Lx, Ly)
    dmax = 0.0
    bad = False
    ftop = 0.0
    for i in range(n):
        d = drift[i]
        if d > dmax:
            dmax = d
        elif not (d <= dmax):
            bad = True
        if wall_touch[i] & 2:  # top slot non-zero (else its force is zero)
            ftop += wall_force[i, 1, 2]
    return (np.nan if bad else dmax), ftop


def chunk_rows(row_start, threads):
    """chunk_start (threads + 1) int64 for `step_threaded`: contiguous particle ranges
    with about the same number of candidate pairs each (the pair loop is the work)."""
    n = row_start.shape[0] - 1
    P = int(row_start[-1])
    cuts = np.searchsorted(row_start, np.linspace(0.0, P, threads + 1)[1:-1])
    return np.concatenate(([0], np.minimum(cuts, n), [n])).astype(np.int64)

def contact_forces(sim):
    """Force on i from j (P, 3) N of every candidate pair of `sim.contacts` at the
    current positions and velocities, by the same law as a step (`pair_forces`),
    applied to copies of the history: nothing in the simulation changes. The particle
    stresses read it where the last step did not record its forces
    (`Simulation.pair_contact_forces`).
    """
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    P = cl.n_pairs
    fbuf = np.empty((P, 3))
    delta_flat = cl.delta_flat.copy() if sim.inelastic else None
    pair_forces(ps.x, ps.v, ps.w, ps.R, ps.mass, ps.material, cl.i, cl.j, cl.xi.copy(), delta_flat,
                fbuf, t.pair_columns(), sim.contact_slots, sim.dt, sim.box.L,
                sim.box.periodic_xy, ps.confinement, sim.flattening_share)
    return fbuf
