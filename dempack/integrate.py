"""One DEM step: pair forces (parallel over pairs, into a pair buffer), then a
parallel gather per particle (each pair read from both sides, fixed order: no
races, results independent of the thread count) fused with wall contacts and
the leapfrog form of velocity Verlet:

    v(t+dt/2) = v(t−dt/2) + dt F(t)/m,   x(t+dt) = x(t) + dt v(t+dt/2)
    ω(t+dt/2) = ω(t−dt/2) + dt T(t)/I     (spheres: I = 2/5 m R²)
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .boundary import WALL_NORMALS, separation, wall_gap
from .contact import hertz_mindlin


@njit(cache=True, inline="always")
def plastic_contact(Rs, Es, H, delta, dcr, k):
    """Elastic–perfectly-plastic contact on the Hertz law (after Thornton & Ning
    1998, doi:10.1016/S0032-5910(98)00026-8): the mean pressure over the plastic
    contact area π a², a² = R* δ, may not exceed the hardness H, so on loading
    F = H π R* δ and the elastic overlap is δe = c √δ, c = 3πH/(4E*) · √R*; the
    rest, δ − δe, is the irreversible flat dcr[k]. Unloading is Hertzian on a
    flattened radius R_p = R* δmax/δe,max chosen so that the contact radius is
    continuous; δmax follows from dcr alone (√δmax = (c + √(c² + 4 dcr))/2), so
    no extra history is stored. Returns (R_p, δe) and updates dcr[k].
    """
    c = 3.0 * math.pi * H / (4.0 * Es) * math.sqrt(Rs)
    de = delta - dcr[k]
    if de > c * math.sqrt(delta):  # on the plastic envelope: flatten
        de = c * math.sqrt(delta)
        dcr[k] = delta - de
        return Rs * delta / de, de
    if dcr[k] > 0.0:
        sq = 0.5 * (c + math.sqrt(c * c + 4.0 * dcr[k]))
        dmax = sq * sq
        return Rs * dmax / (dmax - dcr[k]), de
    return Rs, de


@njit(parallel=True, cache=True)
def pair_forces(x, v, w, R, mass, mat, pi, pj, xi, dcr, fbuf, tibuf, tjbuf,
                E_star, G_star, friction, beta, hardness, dt, L, periodic_xy):
    """Hertz–Mindlin force of every candidate pair into fbuf (force on i).

    Where the pair has a hardness H the contact is elastic–perfectly-plastic
    (see `plastic_contact`).
    """
    P = pi.shape[0]
    for p in prange(P):
        i = pi[p]
        j = pj[p]
        dx, dy, dz = separation(x, i, j, L, periodic_xy)
        d2 = dx * dx + dy * dy + dz * dz
        rsum = R[i] + R[j]
        if d2 >= rsum * rsum:
            xi[p, 0] = 0.0
            xi[p, 1] = 0.0
            xi[p, 2] = 0.0
            for k in range(3):
                fbuf[p, k] = 0.0
                tibuf[p, k] = 0.0
                tjbuf[p, k] = 0.0
            continue
        dist = math.sqrt(d2)
        nx = dx / dist
        ny = dy / dist
        nz = dz / dist
        delta = rsum - dist
        de = delta - dcr[p]
        if de <= 0.0:
            xi[p, 0] = 0.0
            xi[p, 1] = 0.0
            xi[p, 2] = 0.0
            for k in range(3):
                fbuf[p, k] = 0.0
                tibuf[p, k] = 0.0
                tjbuf[p, k] = 0.0
            continue
        mi = mat[i]
        mj = mat[j]
        Rs = R[i] * R[j] / rsum
        H = hardness[mi, mj]
        if H < 1e300:
            Rs, de = plastic_contact(Rs, E_star[mi, mj], H, delta, dcr, p)
        ri = R[i] - 0.5 * delta
        rj = R[j] - 0.5 * delta
        # contact-point velocity of j relative to i
        vcx = v[j, 0] - v[i, 0] - (w[j, 1] * nz - w[j, 2] * ny) * rj - (w[i, 1] * nz - w[i, 2] * ny) * ri
        vcy = v[j, 1] - v[i, 1] - (w[j, 2] * nx - w[j, 0] * nz) * rj - (w[i, 2] * nx - w[i, 0] * nz) * ri
        vcz = v[j, 2] - v[i, 2] - (w[j, 0] * ny - w[j, 1] * nx) * rj - (w[i, 0] * ny - w[i, 1] * nx) * ri
        vn = vcx * nx + vcy * ny + vcz * nz
        vtx = vcx - vn * nx
        vty = vcy - vn * ny
        vtz = vcz - vn * nz
        # keep the spring in the current tangent plane
        xn = xi[p, 0] * nx + xi[p, 1] * ny + xi[p, 2] * nz
        xi[p, 0] -= xn * nx
        xi[p, 1] -= xn * ny
        xi[p, 2] -= xn * nz
        ms = mass[i] * mass[j] / (mass[i] + mass[j])
        Fn, ftx, fty, ftz = hertz_mindlin(de, Rs, ms, E_star[mi, mj], G_star[mi, mj],
                                          friction[mi, mj], beta[mi, mj], vn, vtx, vty, vtz,
                                          xi, p, dt)
        # force on j = Fn n + ft ; on i the opposite
        fbuf[p, 0] = -(Fn * nx + ftx)
        fbuf[p, 1] = -(Fn * ny + fty)
        fbuf[p, 2] = -(Fn * nz + ftz)
        # torques: -r (n x ft) on both bodies
        cx = ny * ftz - nz * fty
        cy = nz * ftx - nx * ftz
        cz = nx * fty - ny * ftx
        tibuf[p, 0] = -ri * cx
        tibuf[p, 1] = -ri * cy
        tibuf[p, 2] = -ri * cz
        tjbuf[p, 0] = -rj * cx
        tjbuf[p, 1] = -rj * cy
        tjbuf[p, 2] = -rj * cz


@njit(cache=True, inline="always")
def _wall_contact(i, k, s, nx, ny, nz, vwx, vwy, vwz, x, v, w, R, mass, mat, wall_xi, wall_dcr,
                  Ew, Gw, muw, betaw, Hw, dt):
    """Wall k (inward normal n, particle centre at distance s): force and torque on i."""
    delta = R[i] - s
    de = delta - wall_dcr[i, k]
    if delta <= 0.0 or de <= 0.0:
        wall_xi[i, k, 0] = 0.0
        wall_xi[i, k, 1] = 0.0
        wall_xi[i, k, 2] = 0.0
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    m = mat[i]
    Rw = R[i]
    if Hw[m] < 1e300:
        Rw, de = plastic_contact(R[i], Ew[m], Hw[m], delta, wall_dcr[i], k)
    r = s
    # velocity of the particle's contact point (at -s n) relative to the wall
    vcx = v[i, 0] - (w[i, 1] * nz - w[i, 2] * ny) * r - vwx
    vcy = v[i, 1] - (w[i, 2] * nx - w[i, 0] * nz) * r - vwy
    vcz = v[i, 2] - (w[i, 0] * ny - w[i, 1] * nx) * r - vwz
    vn = vcx * nx + vcy * ny + vcz * nz
    vtx = vcx - vn * nx
    vty = vcy - vn * ny
    vtz = vcz - vn * nz
    xn = wall_xi[i, k, 0] * nx + wall_xi[i, k, 1] * ny + wall_xi[i, k, 2] * nz
    xis = wall_xi[i, k]
    xis[0] -= xn * nx
    xis[1] -= xn * ny
    xis[2] -= xn * nz
    Fn, ftx, fty, ftz = hertz_mindlin(de, Rw, mass[i], Ew[m], Gw[m], muw[m], betaw[m], vn,
                                      vtx, vty, vtz, wall_xi[i], k, dt)
    cx = ny * ftz - nz * fty
    cy = nz * ftx - nx * ftz
    cz = nx * fty - ny * ftx
    return Fn * nx + ftx, Fn * ny + fty, Fn * nz + ftz, -r * cx, -r * cy, -r * cz


@njit(parallel=True, cache=True)
def gather_and_integrate(x, v, w, R, mass, inertia, mat, alive, row_start, col_start, col_pair,
                         fbuf, tibuf, tjbuf, wall_xi, wall_dcr, wall_force, force, torque,
                         wall_pos, wall_vel_z, wall_on, Ew, Gw, muw, betaw, Hw, body, dt, L,
                         periodic_xy, x_ref, R_ref, drift):
    """Sum pair and wall forces per particle, then advance v, ω, x by one step.

    wall_pos: (6,) bottom z, top z, x lo, x hi, y lo, y hi; wall_vel_z: (2,) bottom
    and top plate velocity; wall_on: (6,) bool. drift[i] = |x − x_ref| + (R − R_ref),
    the particle's share of the Verlet skin used up since the last rebuild.
    """
    n = x.shape[0]
    for i in prange(n):
        if not alive[i]:
            drift[i] = 0.0
            continue
        fx = body[0] * mass[i]
        fy = body[1] * mass[i]
        fz = body[2] * mass[i]
        tx = 0.0
        ty = 0.0
        tz = 0.0
        for p in range(row_start[i], row_start[i + 1]):
            fx += fbuf[p, 0]
            fy += fbuf[p, 1]
            fz += fbuf[p, 2]
            tx += tibuf[p, 0]
            ty += tibuf[p, 1]
            tz += tibuf[p, 2]
        for q in range(col_start[i], col_start[i + 1]):
            p = col_pair[q]
            fx -= fbuf[p, 0]
            fy -= fbuf[p, 1]
            fz -= fbuf[p, 2]
            tx += tjbuf[p, 0]
            ty += tjbuf[p, 1]
            tz += tjbuf[p, 2]
        for k in range(6):
            if not wall_on[k]:
                wall_force[i, k, 0] = 0.0
                wall_force[i, k, 1] = 0.0
                wall_force[i, k, 2] = 0.0
                continue
            s = wall_gap(x, i, k, wall_pos)
            nx = WALL_NORMALS[k, 0]
            ny = WALL_NORMALS[k, 1]
            nz = WALL_NORMALS[k, 2]
            vwz = wall_vel_z[k] if k < 2 else 0.0
            a, b, c, d, e, f = _wall_contact(i, k, s, nx, ny, nz, 0.0, 0.0, vwz, x, v, w, R, mass,
                                             mat, wall_xi, wall_dcr, Ew, Gw, muw, betaw, Hw, dt)
            wall_force[i, k, 0] = a
            wall_force[i, k, 1] = b
            wall_force[i, k, 2] = c
            fx += a
            fy += b
            fz += c
            tx += d
            ty += e
            tz += f
        force[i, 0] = fx
        force[i, 1] = fy
        force[i, 2] = fz
        torque[i, 0] = tx
        torque[i, 1] = ty
        torque[i, 2] = tz
        im = dt / mass[i]
        ii = dt / inertia[i]
        v[i, 0] += fx * im
        v[i, 1] += fy * im
        v[i, 2] += fz * im
        w[i, 0] += tx * ii
        w[i, 1] += ty * ii
        w[i, 2] += tz * ii
        x[i, 0] += dt * v[i, 0]
        x[i, 1] += dt * v[i, 1]
        x[i, 2] += dt * v[i, 2]
        ddx = x[i, 0] - x_ref[i, 0]
        ddy = x[i, 1] - x_ref[i, 1]
        ddz = x[i, 2] - x_ref[i, 2]
        if periodic_xy:
            if x[i, 0] < 0.0:
                x[i, 0] += L[0]
            elif x[i, 0] >= L[0]:
                x[i, 0] -= L[0]
            if x[i, 1] < 0.0:
                x[i, 1] += L[1]
            elif x[i, 1] >= L[1]:
                x[i, 1] -= L[1]
            ddx -= L[0] * np.rint(ddx / L[0])
            ddy -= L[1] * np.rint(ddy / L[1])
        drift[i] = math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) + (R[i] - R_ref[i])
