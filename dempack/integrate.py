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
* `pair_forces` + `gather_and_integrate` (several threads): the pair forces go
  to a pair buffer (parallel over pairs), then a parallel loop over particles
  sums each particle's pairs from both sides in a fixed order (no races,
  results independent of the schedule), adds the wall contacts and advances.

Both return (max drift, z force of the particles on the top punch): the
largest share of the Verlet skin a particle used up since the last rebuild
(|x − x_ref| + R − R_ref; NaN if a particle position became NaN) and
Σ wall_force[:, top, z], so the caller needs no extra pass over the arrays.
Wall slots that are off (the side walls of a periodic box) are not touched:
their wall_force / wall_xi stay zero. Nor are the slots of a particle that is
apart from a wall and was apart at the last step (ContactList.wall_touch bits):
the wall arrays (N, 6, 3) are then not streamed through the cache at every step.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .boundary import WALL_NORMALS
from .contact import LAW_CB, LAW_E, LAW_H, LAW_KT, LAW_MU, LAW_RT, hertz_mindlin, law_table

# LLVM fast-math flags of the hot kernels: contraction into FMA, reciprocal
# approximations and reassociation, but not 'nnan'/'ninf' (the divergence test
# relies on NaN propagating into the returned drift).
FASTMATH = {"contract", "arcp", "nsz", "afn", "reassoc"}


@njit(cache=True, inline="always")
def plastic_contact(Rs, Es, H, delta, dcr):
    """Elastic–perfectly-plastic contact on the Hertz law (after Thornton & Ning
    1998, doi:10.1016/S0032-5910(98)00026-8): the mean pressure over the plastic
    contact area π a², a² = R* δ, may not exceed the hardness H, so on loading
    F = H π R* δ and the elastic overlap is δe = c √δ, c = 3πH/(4E*) · √R*; the
    rest, δ − δe, is the irreversible flat dcr. Unloading is Hertzian on a
    flattened radius R_p = R* δmax/δe,max chosen so that the contact radius is
    continuous; δmax follows from dcr alone (√δmax = (c + √(c² + 4 dcr))/2), so
    no extra history is stored. Returns (R_p, δe, dcr updated).
    """
    c = 3.0 * math.pi * H / (4.0 * Es) * math.sqrt(Rs)
    de = delta - dcr
    if de > c * math.sqrt(delta):  # on the plastic envelope: flatten
        de = c * math.sqrt(delta)
        return Rs * delta / de, de, delta - de
    if dcr > 0.0:
        sq = 0.5 * (c + math.sqrt(c * c + 4.0 * dcr))
        dmax = sq * sq
        return Rs * dmax / (dmax - dcr), de, dcr
    return Rs, de, dcr


@njit(cache=True, inline="always")
def min_image(d, L):
    """Minimum image of a coordinate difference d (m) on a period L, for |d| < 1.5 L
    (positions are kept in [0, L), so |d| < L)."""
    if d > 0.5 * L:
        return d - L
    if d < -0.5 * L:
        return d + L
    return d


# Helpers below take and return scalars only: numba inlines them without the
# reference counting that array arguments would cost at every call.

@njit(cache=True, inline="always")
def pair_law(dx, dy, dz, Ri, Rj, mi, mj, vi, wi, vj, wj, x0, x1, x2, dc, lw, cf, dt):
    """Hertz–Mindlin contact of a pair i, j: d = x_j − x_i (minimum image), radii,
    masses, velocities, angular velocities (3-tuples), spring ξ = (x0, x1, x2), flat
    dc, law constants lw = (E*, 8G*, √(4G*/E*), μ, 2√(5/6)β, H) (contact.law_table),
    confinement cf = (p_i, p_j, s_ij): the plastic limit is H + s_ij p_i + (1 − s_ij) p_j
    (dempack.confinement; s_ij the share of the flat i makes).
    Returns (touching, f, c, ri, rj, ξ, dc): f the force on j (on i: −f),
    c = n × f_t, so the torques are −ri c on i and −rj c on j; ξ and dc updated
    (ξ zero when not touching). (Fewer than 30 arguments: CPython passes longer
    calls as *args, which numba cannot inline.)"""
    E, kt, rt, mu, cb, H = lw
    vix, viy, viz = vi
    wix, wiy, wiz = wi
    vjx, vjy, vjz = vj
    wjx, wjy, wjz = wj
    d2 = dx * dx + dy * dy + dz * dz
    rsum = Ri + Rj
    if d2 >= rsum * rsum:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dc
    dist = math.sqrt(d2)
    delta = rsum - dist
    de = delta - dc
    if de <= 0.0:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dc
    inv = 1.0 / dist
    nx = dx * inv
    ny = dy * inv
    nz = dz * inv
    # R* = Ri Rj/(Ri + Rj) and m* = mi mj/(mi + mj) with one division
    msum = mi + mj
    iq = 1.0 / (rsum * msum)
    Rs = Ri * Rj * msum * iq
    ms = mi * mj * rsum * iq
    if H < 1e300:
        ci, cj, sij = cf
        Rs, de, dc = plastic_contact(Rs, E, H + sij * ci + (1.0 - sij) * cj, delta, dc)
    ri = Ri - 0.5 * delta
    rj = Rj - 0.5 * delta
    # contact-point velocity of j relative to i
    vcx = vjx - vix - (wjy * nz - wjz * ny) * rj - (wiy * nz - wiz * ny) * ri
    vcy = vjy - viy - (wjz * nx - wjx * nz) * rj - (wiz * nx - wix * nz) * ri
    vcz = vjz - viz - (wjx * ny - wjy * nx) * rj - (wix * ny - wiy * nx) * ri
    vn = vcx * nx + vcy * ny + vcz * nz
    vtx = vcx - vn * nx
    vty = vcy - vn * ny
    vtz = vcz - vn * nz
    # keep the spring in the current tangent plane
    xn = x0 * nx + x1 * ny + x2 * nz
    x0 -= xn * nx
    x1 -= xn * ny
    x2 -= xn * nz
    Fn, ftx, fty, ftz, x0, x1, x2 = hertz_mindlin(de, Rs, ms, E, kt, rt, mu, cb, vn, vtx, vty,
                                                  vtz, x0, x1, x2, dt)
    cx = ny * ftz - nz * fty
    cy = nz * ftx - nx * ftz
    cz = nx * fty - ny * ftx
    return (True, Fn * nx + ftx, Fn * ny + fty, Fn * nz + ftz, cx, cy, cz, ri, rj, x0, x1, x2,
            dc)


@njit(cache=True, inline="always")
def wall_law(k, s, vwz, Ri, mi, vx, vy, vz, wx, wy, wz, x0, x1, x2, dc, E, kt, rt, mu, cb, H,
             dt):
    """Contact of a particle (radius Ri, mass mi, velocity v, angular velocity w,
    centre at distance s inside wall slot k, inward normal WALL_NORMALS[k]; the wall
    moves at vwz along z) with spring ξ = (x0, x1, x2) and flat dc. Returns
    (force on the particle, torque on it, ξ, dc), all zero but dc when apart."""
    delta = Ri - s
    de = delta - dc
    if delta <= 0.0 or de <= 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dc
    nx = WALL_NORMALS[k, 0]
    ny = WALL_NORMALS[k, 1]
    nz = WALL_NORMALS[k, 2]
    Rw = Ri
    if H < 1e300:
        Rw, de, dc = plastic_contact(Ri, E, H, delta, dc)
    r = s
    # velocity of the particle's contact point (at -s n) relative to the wall
    vcx = vx - (wy * nz - wz * ny) * r
    vcy = vy - (wz * nx - wx * nz) * r
    vcz = vz - (wx * ny - wy * nx) * r - vwz
    vn = vcx * nx + vcy * ny + vcz * nz
    vtx = vcx - vn * nx
    vty = vcy - vn * ny
    vtz = vcz - vn * nz
    xn = x0 * nx + x1 * ny + x2 * nz
    x0 -= xn * nx
    x1 -= xn * ny
    x2 -= xn * nz
    Fn, ftx, fty, ftz, x0, x1, x2 = hertz_mindlin(de, Rw, mi, E, kt, rt, mu, cb, vn, vtx, vty,
                                                  vtz, x0, x1, x2, dt)
    cx = ny * ftz - nz * fty
    cy = nz * ftx - nx * ftz
    cz = nx * fty - ny * ftx
    return Fn * nx + ftx, Fn * ny + fty, Fn * nz + ftz, -r * cx, -r * cy, -r * cz, x0, x1, x2, dc


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
def leapfrog(fx, fy, fz, tx, ty, tz, vx, vy, vz, wx, wy, wz, px, py, pz, im, ii, dt):
    """v += F dt/m, ω += T dt/I, x += v dt (im = dt/m, ii = dt/I). Returns (v, ω, x)."""
    vx += fx * im
    vy += fy * im
    vz += fz * im
    wx += tx * ii
    wy += ty * ii
    wz += tz * ii
    return vx, vy, vz, wx, wy, wz, px + dt * vx, py + dt * vy, pz + dt * vz


@njit(cache=True, inline="always")
def wrap(px, L):
    """Coordinate back into [0, L) after a step (moves are far below L)."""
    if px < 0.0:
        return px + L
    if px >= L:
        return px - L
    return px


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def step_serial(x, v, w, R, mass, inertia, mat, alive, pj, row_start, xi, dcr, fbuf,
                wall_xi, wall_dcr, wall_force, wall_touch, force, torque, wall_pos, wall_vel_z,
                wall_on, E_star, G_star, friction, beta, hardness, Ew, Gw, muw, betaw, Hw, body, dt,
                L, periodic_xy, x_ref, R_ref, conf, flat):
    """One whole step on one thread (see the module docstring): pair forces (fbuf[p]
    = force on i from j, kept for the observables), wall contacts, leapfrog.

    wall_pos: (6,) bottom z, top z, x lo, x hi, y lo, y hi; wall_vel_z: (2,) bottom
    and top plate velocity; wall_on: (6,) bool; wall_touch: (N,) uint8 bit k set where
    slot k may be non-zero (ContactList.wall_touch; kept up to date here, so the wall
    arrays of a particle away from the walls are neither read nor written).
    conf (N) Pa confinement pressures, flat (nm, nm) flat shares (dempack.confinement).
    Returns (max drift, top z force).
    """
    n = x.shape[0]
    nm = E_star.shape[0]
    law = law_table(E_star, G_star, friction, beta, hardness)
    wlaw = law_table(Ew, Gw, muw, betaw, Hw)
    walls = np.flatnonzero(wall_on).astype(np.uint64)
    nw = walls.shape[0]
    Lx = L[0]
    Ly = L[1]
    bx = body[0]
    by = body[1]
    bz = body[2]
    force[:] = 0.0
    torque[:] = 0.0
    dmax = 0.0
    bad = False
    ftop = 0.0
    for i in range(np.uint64(n)):
        pix = x[i, 0]
        piy = x[i, 1]
        piz = x[i, 2]
        vix = v[i, 0]
        viy = v[i, 1]
        viz = v[i, 2]
        wix = w[i, 0]
        wiy = w[i, 1]
        wiz = w[i, 2]
        Ri = R[i]
        mi = mass[i]
        rowi = np.uint64(mat[i]) * np.uint64(nm)
        fx = 0.0
        fy = 0.0
        fz = 0.0
        tx = 0.0
        ty = 0.0
        tz = 0.0
        # unsigned indices: numba then skips the negative-index wraparound code
        for p in range(np.uint64(row_start[i]), np.uint64(row_start[i + 1])):
            j = np.uint64(pj[p])
            dx = x[j, 0] - pix
            dy = x[j, 1] - piy
            dz = x[j, 2] - piz
            if periodic_xy:
                dx = min_image(dx, Lx)
                dy = min_image(dy, Ly)
            row = np.uint64(rowi + mat[j])
            (touch, ax, ay, az, cx, cy, cz, ri, rj, x0, x1, x2, dc) = pair_law(
                dx, dy, dz, Ri, R[j], mi, mass[j], (vix, viy, viz), (wix, wiy, wiz),
                (v[j, 0], v[j, 1], v[j, 2]), (w[j, 0], w[j, 1], w[j, 2]),
                xi[p, 0], xi[p, 1], xi[p, 2], dcr[p],
                (law[row, LAW_E], law[row, LAW_KT], law[row, LAW_RT], law[row, LAW_MU],
                 law[row, LAW_CB], law[row, LAW_H]), (conf[i], conf[j], flat[mat[i], mat[j]]), dt)
            xi[p, 0] = x0
            xi[p, 1] = x1
            xi[p, 2] = x2
            dcr[p] = dc
            fbuf[p, 0] = -ax
            fbuf[p, 1] = -ay
            fbuf[p, 2] = -az
            if touch:
                fx -= ax
                fy -= ay
                fz -= az
                tx -= ri * cx
                ty -= ri * cy
                tz -= ri * cz
                force[j, 0] += ax
                force[j, 1] += ay
                force[j, 2] += az
                torque[j, 0] -= rj * cx
                torque[j, 1] -= rj * cy
                torque[j, 2] -= rj * cz
        if not alive[i]:
            continue
        fx += force[i, 0] + bx * mi
        fy += force[i, 1] + by * mi
        fz += force[i, 2] + bz * mi
        tx += torque[i, 0]
        ty += torque[i, 1]
        tz += torque[i, 2]
        m = np.uint64(mat[i])
        wt = np.int64(wall_touch[i])  # wall slots that may be non-zero (bits)
        for kk in range(nw):
            k = walls[kk]
            bit = np.int64(1) << np.int64(k)
            s = wall_distance(k, pix, piy, piz, wall_pos[k])
            if s >= Ri:  # apart (the common case): no force, no spring
                if wt & bit:  # was touching: clear (else the slot is zero already
                    wall_xi[i, k, 0] = 0.0  # and the wall arrays are not touched)
                    wall_xi[i, k, 1] = 0.0
                    wall_xi[i, k, 2] = 0.0
                    wall_force[i, k, 0] = 0.0
                    wall_force[i, k, 1] = 0.0
                    wall_force[i, k, 2] = 0.0
                    wt &= ~bit
                continue
            wt |= bit
            vwz = wall_vel_z[k] if k < 2 else 0.0
            a, b, c, d, e, f, x0, x1, x2, dc = wall_law(
                k, s, vwz, Ri, mi, vix, viy, viz, wix, wiy, wiz, wall_xi[i, k, 0],
                wall_xi[i, k, 1], wall_xi[i, k, 2], wall_dcr[i, k], wlaw[m, LAW_E],
                wlaw[m, LAW_KT], wlaw[m, LAW_RT], wlaw[m, LAW_MU], wlaw[m, LAW_CB],
                wlaw[m, LAW_H] + conf[i], dt)
            wall_xi[i, k, 0] = x0
            wall_xi[i, k, 1] = x1
            wall_xi[i, k, 2] = x2
            wall_dcr[i, k] = dc
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
        wall_touch[i] = np.uint8(wt)
        force[i, 0] = fx
        force[i, 1] = fy
        force[i, 2] = fz
        torque[i, 0] = tx
        torque[i, 1] = ty
        torque[i, 2] = tz
        vix, viy, viz, wix, wiy, wiz, pix, piy, piz = leapfrog(
            fx, fy, fz, tx, ty, tz, vix, viy, viz, wix, wiy, wiz, pix, piy, piz, dt / mi,
            dt / inertia[i], dt)
        v[i, 0] = vix
        v[i, 1] = viy
        v[i, 2] = viz
        w[i, 0] = wix
        w[i, 1] = wiy
        w[i, 2] = wiz
        ddx = pix - x_ref[i, 0]
        ddy = piy - x_ref[i, 1]
        ddz = piz - x_ref[i, 2]
        if periodic_xy:
            pix = wrap(pix, Lx)
            piy = wrap(piy, Ly)
            ddx = min_image(ddx, Lx)
            ddy = min_image(ddy, Ly)
        x[i, 0] = pix
        x[i, 1] = piy
        x[i, 2] = piz
        dr = math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) + (Ri - R_ref[i])
        if dr > dmax:
            dmax = dr
        elif not (dr <= dmax):
            bad = True
    return (np.nan if bad else dmax), ftop


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def pair_forces(x, v, w, R, mass, mat, pi, pj, xi, dcr, fbuf, tibuf, tjbuf,
                E_star, G_star, friction, beta, hardness, dt, L, periodic_xy, conf, flat):
    """Hertz–Mindlin force of every candidate pair into the pair buffer: fbuf[p]
    force on i from j, tibuf[p] / tjbuf[p] torque on i / j (zero if not touching).

    Where the pair has a hardness H the contact is elastic–perfectly-plastic
    (see `plastic_contact`).
    """
    P = pi.shape[0]
    nm = E_star.shape[0]
    law = law_table(E_star, G_star, friction, beta, hardness)
    Lx = L[0]
    Ly = L[1]
    for q in prange(P):
        p = np.uint64(q)  # unsigned indices: no negative-index wraparound code
        i = np.uint64(pi[p])
        j = np.uint64(pj[p])
        dx = x[j, 0] - x[i, 0]
        dy = x[j, 1] - x[i, 1]
        dz = x[j, 2] - x[i, 2]
        if periodic_xy:
            dx = min_image(dx, Lx)
            dy = min_image(dy, Ly)
        row = np.uint64(mat[i] * nm + mat[j])
        (touch, ax, ay, az, cx, cy, cz, ri, rj, x0, x1, x2, dc) = pair_law(
            dx, dy, dz, R[i], R[j], mass[i], mass[j], (v[i, 0], v[i, 1], v[i, 2]),
            (w[i, 0], w[i, 1], w[i, 2]), (v[j, 0], v[j, 1], v[j, 2]),
            (w[j, 0], w[j, 1], w[j, 2]), xi[p, 0], xi[p, 1], xi[p, 2], dcr[p],
            (law[row, LAW_E], law[row, LAW_KT], law[row, LAW_RT], law[row, LAW_MU],
             law[row, LAW_CB], law[row, LAW_H]), (conf[i], conf[j], flat[mat[i], mat[j]]), dt)
        xi[p, 0] = x0
        xi[p, 1] = x1
        xi[p, 2] = x2
        dcr[p] = dc
        fbuf[p, 0] = -ax
        fbuf[p, 1] = -ay
        fbuf[p, 2] = -az
        tibuf[p, 0] = -ri * cx
        tibuf[p, 1] = -ri * cy
        tibuf[p, 2] = -ri * cz
        tjbuf[p, 0] = -rj * cx
        tjbuf[p, 1] = -rj * cy
        tjbuf[p, 2] = -rj * cz


@njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def gather_and_integrate(x, v, w, R, mass, inertia, mat, alive, row_start, col_start, col_pair,
                         fbuf, tibuf, tjbuf, wall_xi, wall_dcr, wall_force, wall_touch, force,
                         torque,
                         wall_pos, wall_vel_z, wall_on, Ew, Gw, muw, betaw, Hw, body, dt, L,
                         periodic_xy, x_ref, R_ref, drift, conf):
    """Sum pair and wall forces per particle, then advance v, ω, x by one step.

    wall_pos: (6,) bottom z, top z, x lo, x hi, y lo, y hi; wall_vel_z: (2,) bottom
    and top plate velocity; wall_on: (6,) bool; wall_touch: (N,) uint8 as in
    `step_serial`. drift[i] = |x − x_ref| + (R − R_ref),
    the particle's share of the Verlet skin used up since the last rebuild.
    Returns (max drift, top z force), summed serially after the parallel loop.
    """
    n = x.shape[0]
    wlaw = law_table(Ew, Gw, muw, betaw, Hw)
    walls = np.flatnonzero(wall_on).astype(np.uint64)
    nw = walls.shape[0]
    Lx = L[0]
    Ly = L[1]
    for ii in prange(n):
        i = np.uint64(ii)  # unsigned indices: no negative-index wraparound code
        if not alive[i]:
            drift[i] = 0.0
            continue
        mi = mass[i]
        fx = body[0] * mi
        fy = body[1] * mi
        fz = body[2] * mi
        tx = 0.0
        ty = 0.0
        tz = 0.0
        for p in range(np.uint64(row_start[i]), np.uint64(row_start[i + 1])):
            fx += fbuf[p, 0]
            fy += fbuf[p, 1]
            fz += fbuf[p, 2]
            tx += tibuf[p, 0]
            ty += tibuf[p, 1]
            tz += tibuf[p, 2]
        for q in range(np.uint64(col_start[i]), np.uint64(col_start[i + 1])):
            p = np.uint64(col_pair[q])
            fx -= fbuf[p, 0]
            fy -= fbuf[p, 1]
            fz -= fbuf[p, 2]
            tx += tjbuf[p, 0]
            ty += tjbuf[p, 1]
            tz += tjbuf[p, 2]
        pix = x[i, 0]
        piy = x[i, 1]
        piz = x[i, 2]
        vix = v[i, 0]
        viy = v[i, 1]
        viz = v[i, 2]
        wix = w[i, 0]
        wiy = w[i, 1]
        wiz = w[i, 2]
        Ri = R[i]
        m = np.uint64(mat[i])
        wt = np.int64(wall_touch[i])  # wall slots that may be non-zero (bits)
        for kk in range(nw):
            k = walls[kk]
            bit = np.int64(1) << np.int64(k)
            s = wall_distance(k, pix, piy, piz, wall_pos[k])
            if s >= Ri:  # apart (the common case): no force, no spring
                if wt & bit:  # was touching: clear (else the slot is zero already
                    wall_xi[i, k, 0] = 0.0  # and the wall arrays are not touched)
                    wall_xi[i, k, 1] = 0.0
                    wall_xi[i, k, 2] = 0.0
                    wall_force[i, k, 0] = 0.0
                    wall_force[i, k, 1] = 0.0
                    wall_force[i, k, 2] = 0.0
                    wt &= ~bit
                continue
            wt |= bit
            vwz = wall_vel_z[k] if k < 2 else 0.0
            a, b, c, d, e, f, x0, x1, x2, dc = wall_law(
                k, s, vwz, Ri, mi, vix, viy, viz, wix, wiy, wiz, wall_xi[i, k, 0],
                wall_xi[i, k, 1], wall_xi[i, k, 2], wall_dcr[i, k], wlaw[m, LAW_E],
                wlaw[m, LAW_KT], wlaw[m, LAW_RT], wlaw[m, LAW_MU], wlaw[m, LAW_CB],
                wlaw[m, LAW_H] + conf[i], dt)
            wall_xi[i, k, 0] = x0
            wall_xi[i, k, 1] = x1
            wall_xi[i, k, 2] = x2
            wall_dcr[i, k] = dc
            wall_force[i, k, 0] = a
            wall_force[i, k, 1] = b
            wall_force[i, k, 2] = c
            fx += a
            fy += b
            fz += c
            tx += d
            ty += e
            tz += f
        wall_touch[i] = np.uint8(wt)
        force[i, 0] = fx
        force[i, 1] = fy
        force[i, 2] = fz
        torque[i, 0] = tx
        torque[i, 1] = ty
        torque[i, 2] = tz
        vix, viy, viz, wix, wiy, wiz, pix, piy, piz = leapfrog(
            fx, fy, fz, tx, ty, tz, vix, viy, viz, wix, wiy, wiz, pix, piy, piz, dt / mi,
            dt / inertia[i], dt)
        v[i, 0] = vix
        v[i, 1] = viy
        v[i, 2] = viz
        w[i, 0] = wix
        w[i, 1] = wiy
        w[i, 2] = wiz
        ddx = pix - x_ref[i, 0]
        ddy = piy - x_ref[i, 1]
        ddz = piz - x_ref[i, 2]
        if periodic_xy:
            pix = wrap(pix, Lx)
            piy = wrap(piy, Ly)
            ddx = min_image(ddx, Lx)
            ddy = min_image(ddy, Ly)
        x[i, 0] = pix
        x[i, 1] = piy
        x[i, 2] = piz
        drift[i] = math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) + (Ri - R_ref[i])
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
