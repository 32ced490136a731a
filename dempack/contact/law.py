"""The contact law composed from its parts, for a particle pair and a particle–wall pair.

Slots (as LIGGGHTS's normal/tangential/rolling/cohesion; DESIGN §6):
  normal      `hertz.hertz_normal` on the elastic overlap, with `plastic.plastic_contact`
              where the pair has a hardness (the flat δ_flat is its history);
  damping     `damping.normal_dashpot` (normal) and γ_t = γ_n √(S_t/S_n) (tangential);
  tangential  `mindlin.mindlin_tangential` (the spring ξ is its history);
  rolling     `rolling.rolling_torque` (no history).
A slot that is off is compiled out: the kernels take `delta_flat=None` (no hardness, no creep:
no flats) and `rolling=None` (no rolling friction), and numba prunes those branches when
it specialises on the None type, so an elastic run without rolling resistance runs the
bare Hertz–Mindlin code. The Simulation chooses once, at build time (`Simulation.inelastic`,
`ContactTables.rolling`). Adding a part: docs/architecture.md.

The helpers take and return scalars only: numba inlines them without the reference
counting that array arguments would cost at every call.
"""
from __future__ import annotations

from numba import njit, types
from numba.extending import overload

from ..geometry import WALL_NORMALS
from .damping import normal_dashpot
from .hertz import hertz_normal
from .line import line_factor, line_plastic
from .mindlin import mindlin_tangential
from .plastic import plastic_contact
from .rolling import rolling_torque
from .state import apart, contact_arms, distance_overlap, unit_normal

WALL_LINE_FACTOR = 4.0  # `line` law of a disk on a rigid flat: only the disk deforms


def normal_part(line, Rs, Es, C, Hc, H, delta, dc):
    """The normal slot: ((√(R* δe), S_n, elastic force), δe, δ_flat) of a contact of overlap
    delta and flat dc, effective radius Rs, modulus Es, plastic limit Hc (the hardness H
    plus the confinement; no limit where H ≥ 1e300). line None: spheres, Hertz with the
    plastic limit (`hertz`, `plastic`); line = t: disks of thickness t, the line contact
    with its plastic limit (`line.line_plastic`, factor C). Chosen by the type of `line`
    when numba compiles the kernel (`_normal_part_impl`), so no contact tests it at run time."""
    raise NotImplementedError("numba-only: called from the compiled contact kernels")


@overload(normal_part, jit_options={"cache": True})
def _normal_part_impl(line, Rs, Es, C, Hc, H, delta, dc):
    if isinstance(line, (types.NoneType, types.Omitted)) or line is None:
        def sphere(line, Rs, Es, C, Hc, H, delta, dc):
            de = delta - dc
            if H < 1e300:
                Rs, de, dc = plastic_contact(Rs, Es, Hc, delta, dc)
            return hertz_normal(de, Rs, Es), de, dc
        return sphere

    def disk(line, Rs, Es, C, Hc, H, delta, dc):
        sq, Sn, Fel, de, dc = line_plastic(Rs, Es, C, Hc if H < 1e300 else H, delta, dc, line)
        return (sq, Sn, Fel), de, dc
    return disk


@njit(cache=True, inline="always")
def hertz_mindlin(de, Rs, ms, lw, vn, vt, xi, dt):
    """Normal force magnitude, tangential force on the second body and the updated
    tangential spring (the normal, damping and tangential slots).

    de elastic overlap (m) > 0; Rs R* (m); ms m* (kg); lw = (E*, 8G* (Pa),
    √(4G*/E*), μ friction, 2√(5/6)β); vn normal relative velocity (m/s, > 0
    separating); vt the tangential relative velocity and xi the spring ξ (m) before
    this step (3-tuples). Returns (F_n, ftx, fty, ftz, ξ0, ξ1, ξ2).
    """
    return normal_mindlin(hertz_normal(de, Rs, lw[0]), ms, lw, vn, vt, xi, dt)


@njit(cache=True, inline="always")
def normal_mindlin(normal, ms, lw, vn, vt, xi, dt):
    """`hertz_mindlin` given the normal part's (√(R* δe), S_n, elastic force): from
    `hertz.hertz_normal` (spheres) or `line.line_normal` (disks)."""
    sq, Sn, Fel = normal
    E, kt, rt, mu, cb = lw
    vtx, vty, vtz = vt
    x0, x1, x2 = xi
    gn = normal_dashpot(cb, Sn, ms)
    Fn = Fel - gn * vn
    if Fn < 0.0:
        Fn = 0.0
    fx, fy, fz, x0, x1, x2 = mindlin_tangential(sq, kt, gn * rt, mu, Fn, vtx, vty, vtz,
                                                x0, x1, x2, dt)
    return Fn, fx, fy, fz, x0, x1, x2


@njit(cache=True, inline="always")
def resolve_contact(vc, n, xi, normal, ms, lw, dt):
    """The normal, damping and tangential slots at one contact, given the contact-point
    velocity vc of the second body relative to the first, the unit normal n (towards
    the second body) and the spring ξ (3-tuples); normal the normal part's
    (√(R* δe), S_n, elastic force) and ms as `normal_mindlin`;
    lw = (E*, 8G*, √(4G*/E*), μ, 2√(5/6)β). The spring is first turned into the
    current tangent plane. Returns (F_n, f, c, ξ): f = F_n n + f_t the force on the
    second body, c = n × f_t (the torques are −r c about each centre)."""
    vcx, vcy, vcz = vc
    nx, ny, nz = n
    x0, x1, x2 = xi
    vn = vcx * nx + vcy * ny + vcz * nz
    vtx = vcx - vn * nx
    vty = vcy - vn * ny
    vtz = vcz - vn * nz
    # keep the spring in the current tangent plane
    xn = x0 * nx + x1 * ny + x2 * nz
    x0 -= xn * nx
    x1 -= xn * ny
    x2 -= xn * nz
    Fn, ftx, fty, ftz, x0, x1, x2 = normal_mindlin(normal, ms, lw, vn, (vtx, vty, vtz),
                                                   (x0, x1, x2), dt)
    cx = ny * ftz - nz * fty
    cy = nz * ftx - nx * ftz
    cz = nx * fty - ny * ftx
    return (Fn, Fn * nx + ftx, Fn * ny + fty, Fn * nz + ftz, cx, cy, cz, x0, x1, x2)


@njit(cache=True, inline="always")
def pair_law(d, body_i, body_j, xi, dc, lw, cf, rolling, line, dt):
    """Contact of a pair i, j: d = x_j − x_i (minimum image, a 3-tuple), each body
    (radius, mass, velocity, angular velocity: 8 scalars, a flat tuple, as numba's
    parallel array analysis rejects nested tuples in inlined code), the spring
    ξ (3-tuple), flat dc, law constants
    lw = (E*, 8G*, √(4G*/E*), μ, 2√(5/6)β, H, μ_r) (`tables.law_table`), confinement
    cf = (p_i, p_j, s_ij): the plastic limit is H + s_ij p_i + (1 − s_ij) p_j
    (dempack.confinement; s_ij the share of the flat i makes); rolling None (the slot
    is off, compiled out) or anything else (on); line None (spheres: Hertz) or the disk
    thickness t (m) of the 2D mode (disks in the x–z plane: `line.line_plastic`).
    Returns (touching, f, c, m, ri, rj, ξ, dc): f the force on j (on i: −f),
    c = n × f_t, so the torques are −ri c on i and −rj c on j, m the rolling torque
    on i (on j: −m); ξ and dc updated (ξ zero when not touching). The geometry (the d²
    test, d, δ, n, ri = R_i − δ/2, rj) is `state`'s, the formulas every reader takes."""
    E, kt, rt, mu, cb, H, mur = lw
    dx, dy, dz = d
    Ri, mi, vix, viy, viz, wix, wiy, wiz = body_i
    Rj, mj, vjx, vjy, vjz, wjx, wjy, wjz = body_j
    if apart(dx, dy, dz, Ri, Rj):
        return (False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                dc)
    dist, delta = distance_overlap(dx, dy, dz, Ri, Rj)
    de = delta - dc
    if de <= 0.0:
        return (False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                dc)
    nx, ny, nz = unit_normal(dx, dy, dz, dist)
    # R* = Ri Rj/(Ri + Rj) and m* = mi mj/(mi + mj) with one division
    rsum = Ri + Rj
    msum = mi + mj
    iq = 1.0 / (rsum * msum)
    Rs = Ri * Rj * msum * iq
    ms = mi * mj * rsum * iq
    Rr = Rs  # rolling radius: the geometric R*
    ci, cj, sij = cf
    normal, de, dc = normal_part(line, Rs, E, line_factor(Ri, Rj, Rs),
                                 H + sij * ci + (1.0 - sij) * cj, H, delta, dc)
    ri, rj = contact_arms(Ri, Rj, delta)
    # contact-point velocity of j relative to i
    vcx = vjx - vix - (wjy * nz - wjz * ny) * rj - (wiy * nz - wiz * ny) * ri
    vcy = vjy - viy - (wjz * nx - wjx * nz) * rj - (wiz * nx - wix * nz) * ri
    vcz = vjz - viz - (wjx * ny - wjy * nx) * rj - (wix * ny - wiy * nx) * ri
    Fn, fx, fy, fz, cx, cy, cz, x0, x1, x2 = resolve_contact(
        (vcx, vcy, vcz), (nx, ny, nz), xi, normal, ms, (E, kt, rt, mu, cb), dt)
    mx = 0.0
    my = 0.0
    mz = 0.0
    if rolling is not None:
        if mur > 0.0:
            inv_inertia = 2.5 / (mi * Ri * Ri) + 2.5 / (mj * Rj * Rj)  # I = 2/5 m R²
            mx, my, mz = rolling_torque(mur, Rr, Fn, wix - wjx, wiy - wjy, wiz - wjz, nx, ny,
                                        nz, inv_inertia, dt)
    return True, fx, fy, fz, cx, cy, cz, mx, my, mz, ri, rj, x0, x1, x2, dc


@njit(cache=True, inline="always")
def wall_law(k, s, vwz, sphere, xi, dc, lw, rolling, line, dt):
    """Contact of a particle, sphere = (radius Ri, mass mi, velocity v, angular velocity
    w: 8 scalars, as `pair_law`), centre at distance s inside wall slot k, inward normal
    WALL_NORMALS[k]; the wall moves at vwz along z; spring ξ (3-tuple) and flat dc; lw the wall's law
    constants (E*, 8G*, √(4G*/E*), μ, 2√(5/6)β, H, μ_r), H already including the
    confinement; rolling and line as in `pair_law` (a disk on a rigid wall: C = 4). Returns (force on the particle, torque on it,
    ξ, dc), all zero but dc when apart."""
    E, kt, rt, mu, cb, H, mur = lw
    Ri, mi, vx, vy, vz, wx, wy, wz = sphere
    delta = Ri - s
    de = delta - dc
    if delta <= 0.0 or de <= 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dc
    nx = WALL_NORMALS[k, 0]
    ny = WALL_NORMALS[k, 1]
    nz = WALL_NORMALS[k, 2]
    normal, de, dc = normal_part(line, Ri, E, WALL_LINE_FACTOR, H, H, delta, dc)
    r = s
    # velocity of the particle's contact point (at -s n) relative to the wall
    vcx = vx - (wy * nz - wz * ny) * r
    vcy = vy - (wz * nx - wx * nz) * r
    vcz = vz - (wx * ny - wy * nx) * r - vwz
    Fn, fx, fy, fz, cx, cy, cz, x0, x1, x2 = resolve_contact(
        (vcx, vcy, vcz), (nx, ny, nz), xi, normal, mi, (E, kt, rt, mu, cb), dt)
    tx = -r * cx
    ty = -r * cy
    tz = -r * cz
    if rolling is not None:
        if mur > 0.0:
            mx, my, mz = rolling_torque(mur, Ri, Fn, wx, wy, wz, nx, ny, nz,
                                        2.5 / (mi * Ri * Ri), dt)
            tx += mx
            ty += my
            tz += mz
    return fx, fy, fz, tx, ty, tz, x0, x1, x2, dc
