"""The 2D (plane-strain disk) volume and creep physics (issue 15, DESIGN §2) against
hand geometry and closed forms: the circular segments cut by contacts and walls
(volume.removed_areas), the plane-strain true area and out-of-plane stress
(physics.plane_strain), and the Norton flow of a disk squeezed between fixed walls
(physics.creep.particle_norton_flow_2d) with its area conservation."""
import math

import numpy as np
import pytest

from dempack.contact import NO_HARDNESS
from dempack.geometry import DISK_THICKNESS
from dempack.physics.creep import normal_stress_2d, particle_norton_flow_2d
from dempack.physics.plane_strain import (free_radius_2d, out_of_plane_stress,
                                          plane_strain_bulk_modulus, true_area)
from dempack.physics.volume import CIRCLE_DIRECTIONS, removed_areas
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import scenario

T = DISK_THICKNESS


def _chord_area(R, l, n=200001):
    """Area of a disk of radius R beyond the chord at distance l from its centre, by the
    trapezoid rule on ∫_l^R 2 √(R² − x²) dx (independent of the segment formula)."""
    xs = np.linspace(l, R, n)
    return float(np.trapezoid(2.0 * np.sqrt(np.maximum(R * R - xs * xs, 0.0)), xs))


def _areas(x, R, pairs=(), delta_flat=(), share=None, walls=(0.0, 10.0, 0.0, 10.0)):
    """removed_areas on hand-built arrays: pairs (i, j) with i < j; one material (share
    None: flats split evenly) or, with share S (2, 2), disk k of material k; wall positions
    bottom z, top z, x lo, x hi (y slots off)."""
    x = np.asarray(x, float)
    n = len(R)
    pi = np.array([p[0] for p in pairs], np.int32)
    pj = np.array([p[1] for p in pairs], np.int32)
    row_start = np.searchsorted(pi, np.arange(n + 1)).astype(np.int64)
    col_pair = np.argsort(pj, kind="stable").astype(np.int32)
    col_start = np.searchsorted(pj[col_pair], np.arange(n + 1)).astype(np.int64)
    out, free = np.empty(n), np.empty(n)
    pos = np.array([*walls, 0.0, T])
    on = np.array([True, True, True, True, False, False])
    mat = np.zeros(n, np.int32) if share is None else np.arange(n, dtype=np.int32)
    S = np.full((1, 1), 0.5) if share is None else np.asarray(share, float)
    removed_areas((x, np.asarray(R, float), mat, pi, pj,
                   np.asarray(delta_flat, float).reshape(len(pairs))), S,
                  (row_start, col_start, col_pair), (np.array([walls[3], T]), False), (pos, on),
                  CIRCLE_DIRECTIONS, out, free, np.zeros(n), np.zeros(n), True)
    return out, free


def test_two_overlapping_disks_remove_the_lens_split_at_the_radical_line():
    R1, R2, d = 1.0, 0.8, 1.5
    out, free = _areas([[3.0, 0, 5.0], [3.0 + d, 0, 5.0]], [R1, R2], pairs=[(0, 1)], delta_flat=[0.0])
    # textbook area of the lens of two intersecting circles
    lens = (R1 ** 2 * math.acos((d * d + R1 ** 2 - R2 ** 2) / (2 * d * R1))
            + R2 ** 2 * math.acos((d * d + R2 ** 2 - R1 ** 2) / (2 * d * R2))
            - 0.5 * math.sqrt((-d + R1 + R2) * (d + R1 - R2) * (d - R1 + R2) * (d + R1 + R2)))
    assert out.sum() == pytest.approx(lens * T, rel=1e-12)
    # the radical line x = l1 from centre 1 splits it
    l1 = (d * d + R1 ** 2 - R2 ** 2) / (2 * d)
    assert out[0] == pytest.approx(_chord_area(R1, l1) * T, rel=1e-6)
    assert out[1] == pytest.approx(_chord_area(R2, d - l1) * T, rel=1e-6)
    # perimeter outside the segment: 1 − (arc half-angle)/π
    assert free[0] == pytest.approx(1.0 - math.acos(l1 / R1) / math.pi, rel=1e-12)


def test_a_flat_goes_to_the_disk_that_made_it():
    """A flat δ_cr made by disk 0 (material 0 takes all of it against material 1): disk 1
    keeps the segment of the radical line of the disks moved apart by δ_cr, disk 0 loses
    the rest of the overlap."""
    R1, R2, d, dcr = 1.0, 1.0, 1.7, 0.1
    out, _ = _areas([[3.0, 0, 5.0], [3.0 + d, 0, 5.0]], [R1, R2], pairs=[(0, 1)], delta_flat=[dcr],
                    share=[[0.5, 1.0], [0.0, 0.5]])
    # equal disks moved apart to d + δcr: radical line at (d + δcr)/2 from either centre;
    # disk 1's chord stays there
    assert out[1] == pytest.approx(_chord_area(R2, 0.5 * (d + dcr)) * T, rel=1e-6)
    # disk 0's chord: at distance d − (d + δcr)/2 = (d − δcr)/2 from its centre
    assert out[0] == pytest.approx(_chord_area(R1, 0.5 * (d - dcr)) * T, rel=1e-6)


def test_disk_cut_by_a_wall_and_by_two_walls_at_a_corner():
    out, free = _areas([[0.7, 0, 5.0]], [1.0])
    assert out[0] == pytest.approx(_chord_area(1.0, 0.7) * T, rel=1e-6)
    assert free[0] == pytest.approx(1.0 - math.acos(0.7) / math.pi, rel=1e-12)
    # a corner: the two segments intersect; their union against a fine grid
    R = 1.6
    out, free = _areas([[1.0, 0, 1.0]], [R])
    n = 3000
    g = (np.arange(n) + 0.5) / n * 2 * R - R
    X, Z = np.meshgrid(g + 1.0, g + 1.0)
    cut = ((X - 1) ** 2 + (Z - 1) ** 2 < R * R) & ((X < 0) | (Z < 0))
    assert out[0] == pytest.approx(cut.sum() * (2 * R / n) ** 2 * T, rel=2e-3)
    # the sum of the two segments counts the corner twice: the correction removes it
    corner = ((X - 1) ** 2 + (Z - 1) ** 2 < R * R) & (X < 0) & (Z < 0)
    assert 2 * _chord_area(R, 1.0) * T - out[0] == pytest.approx(corner.sum() * (2 * R / n) ** 2 * T,
                                                                 rel=0.05)
    th = np.linspace(0, 2 * np.pi, 100000, endpoint=False)
    rim_free = np.mean((1 + R * np.cos(th) >= 0) & (1 + R * np.sin(th) >= 0))
    assert free[0] == pytest.approx(rim_free, abs=5e-3)


def test_true_area_elastic_and_fully_relaxed_limits():
    R0, nu = 2e-6, 0.3
    A0 = math.pi * R0 ** 2
    beta = 1e-4
    e_sw = math.log(1 + beta) / 3
    area_strain = true_area(R0, beta, 1.0, nu, 0.0) / (A0 * T) - 1.0
    lin = (2 + 2 * nu) * beta / 3   # (1 + ν)·2/3 of the volumetric swelling β
    assert abs(area_strain - lin) < 1e-3 * lin
    beta = 0.98
    e_sw = math.log(1 + beta * 0.7) / 3
    assert true_area(R0, beta, 0.7, nu, -e_sw) == pytest.approx(A0 * (1 + 0.98 * 0.7) * T, rel=1e-12)
    # the free radius holds that area
    R = free_radius_2d(R0, beta, 0.7, nu, -0.5 * e_sw)
    assert math.pi * R * R * T == pytest.approx(true_area(R0, beta, 0.7, nu, -0.5 * e_sw), rel=1e-12)


def test_out_of_plane_stress_of_a_free_disk():
    E, nu, beta, c = 10e9, 0.3, 0.98, 1.0
    e_sw = math.log(1 + beta * c) / 3
    assert out_of_plane_stress(0.0, 0.0, E, nu, beta, c, 0.0) == pytest.approx(-E * e_sw, rel=1e-12)
    assert out_of_plane_stress(0.0, 0.0, E, nu, beta, c, -e_sw) == pytest.approx(0.0, abs=1e-6)
    # a disk in plane strain under in-plane stress, no swelling: σyy = ν (σxx + σzz)
    assert out_of_plane_stress(-1e8, -3e8, E, nu, 0.0, 0.0, 0.0) == pytest.approx(-1.2e8, rel=1e-12)


R0 = 5e-6


def _disk_between_walls(squeeze=0.985, c=0.3):
    """One Se disk (2D mode) between the x walls of a box of width 2 R0 squeeze, far from
    the z walls, lithiation c, no plastic limit."""
    sc = scenario(("Se",), pressing=[{"mode": "fixed_gap", "steps": 1}])
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 0.1, "residual_lithiation": 0.22,
                    "steps_per_half_cycle": 400, "temperature_C": 70.0}
    d["stack"] = {"mode": "fixed_gap"}
    d["run"]["dimension"] = 2
    W = 2 * R0 * squeeze
    sim = Simulation.from_particles(Scenario(d, "test"), [[W / 2, 0.0, 4 * R0]], [R0], [0], W, 8 * R0)
    assert sim.box.dimension == 2 and sim.box.L[1] == T
    sim.tables.hardness[:] = NO_HARDNESS
    sim.tables.hardness_wall[:] = NO_HARDNESS
    sim.particles.lithiation[:] = c
    for _ in range(60):   # the area-conserving radius: fixed point
        sim.update_radii()
    return sim


def _stress(sim):
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    pos, _, on = sim.box.wall_arrays()
    mat = sim.materials[0]
    sig = np.empty((1, 3, 3))
    kc = np.empty(1)
    normal_stress_2d(cl.pair_arrays(ps), (t.E_star, t.E_star_wall), (sim.box.L[:2].copy(), False),
                     (ps.wall_delta_flat, pos, on), math.pi * ps.R ** 2 * T,
                     (np.array([mat.youngs_modulus]), np.array([mat.poisson_ratio]),
                      sim.swelling[ps.material], ps.lithiation, ps.out_of_plane_creep), sig, kc)
    return sig, kc


def _uncut_area(sim):
    """π R² t less the two wall segments, by hand (h = R − s at each x wall)."""
    ps = sim.particles
    R = ps.R[0]
    W = sim.box.L[0]
    area = math.pi * R * R
    for s in (ps.x[0, 0], W - ps.x[0, 0]):
        if s < R:
            area -= _chord_area(R, s)
    return area * T


def test_norton_flow_of_a_disk_squeezed_between_fixed_walls():
    sim = _disk_between_walls()
    ps = sim.particles
    mat = sim.materials[0]
    nu, beta, c = mat.poisson_ratio, sim.swelling[0], ps.lithiation[0]
    sig, kc = _stress(sim)
    assert sig[0, 0, 0] < 0.0 and sig[0, 2, 2] == 0.0 and kc[0] > 0.0
    # σyy of plane strain: ν σxx − E e_sw before any creep
    assert sig[0, 1, 1] == pytest.approx(nu * sig[0, 0, 0] - mat.youngs_modulus * math.log(1 + beta * c) / 3,
                                         rel=1e-12)
    pos, _, on = sim.box.wall_arrays()
    assert not on[4:].any()
    cl = sim.contacts
    # one step of the kernel: the strain it puts on the flats, against 3/2 Δε_e s/σ_e
    eps = np.empty((1, 3, 3))
    cs0 = ps.creep_strain.copy()
    oop0 = ps.out_of_plane_creep.copy()
    wdf0 = ps.wall_delta_flat.copy()
    ps.confinement[:] = 0.0
    particle_norton_flow_2d(cl.pair_arrays(ps), (ps.wall_delta_flat, pos, on),
                            (sim.box.L[:2].copy(), False), sig, kc,
                            (sim.creep_A, sim.creep_n, sim.creep_sigma_ref), sim.creep_stiffness,
                            1.0, ps.creep_strain, ps.out_of_plane_creep,
                            (ps.confinement,
                             plane_strain_bulk_modulus(np.array([mat.youngs_modulus]),
                                                       np.array([mat.poisson_ratio])),
                             sim.volume_conserving), eps)
    de = ps.creep_strain[0] - cs0[0]
    dyy = ps.out_of_plane_creep[0] - oop0[0]
    assert de > 0.0
    s = sig[0] - np.trace(sig[0]) / 3 * np.eye(3)
    se = math.sqrt(1.5 * np.sum(s * s))
    expect = 1.5 * de * s / se
    assert dyy == pytest.approx(expect[1, 1], rel=1e-12)
    assert dyy < 0.0   # σyy is compressive: the disk shortens out of plane, relaxing it
    # the flats get the in-plane deviator: trace-free, and with −Δε_yy/2 the full step
    assert eps[0, 0, 0] + eps[0, 2, 2] == pytest.approx(0.0, abs=1e-15 * de)
    full = eps[0].copy()
    full[0, 0] -= 0.5 * dyy
    full[2, 2] -= 0.5 * dyy
    full[1, 1] = dyy
    assert np.allclose(full, expect, rtol=0, atol=1e-12 * de)
    assert abs(np.trace(full)) < 1e-12 * de
    # the x walls' flats grow by the shortening along x, −Δε_xx s
    s_gap = ps.x[0, 0]
    assert ps.wall_delta_flat[0, 2] - wdf0[0, 2] == pytest.approx(-eps[0, 0, 0] * s_gap, rel=1e-9)
    assert eps[0, 0, 0] < 0.0


def test_area_conservation_of_a_creeping_disk_squeezed_between_fixed_walls():
    """Issue 15: a creeping disk between fixed walls keeps its area: π R² t less its wall
    segments equals the plane-strain true area π R0² (1 + βc) exp(−(1 − 2ν)(e_sw + ε_yy^cr)),
    within 1e-3, after creep steps run through Simulation.creep_step and update_radii."""
    sim = _disk_between_walls()
    ps = sim.particles
    mat = sim.materials[0]
    nu, beta, c = mat.poisson_ratio, sim.swelling[0], ps.lithiation[0]
    syy0 = _stress(sim)[0][0, 1, 1]
    for _ in range(20):
        sim.creep_step(5.0)
        for _ in range(30):
            sim.update_radii()
    eps_out = ps.out_of_plane_creep[0]
    assert eps_out < -1e-3   # it crept out of plane
    assert ps.creep_strain[0] > 1e-3
    assert abs(_stress(sim)[0][0, 1, 1]) < 0.9 * abs(syy0)   # relaxing σyy
    A_true = math.pi * R0 ** 2 * (1 + beta * c) * math.exp(-(1 - 2 * nu) * (math.log(1 + beta * c) / 3
                                                                            + eps_out)) * T
    assert ps.confinement[0] == 0.0   # the segments are within what growth restores
    assert _uncut_area(sim) == pytest.approx(A_true, rel=1e-3)
    # the walls flattened it: a part of its area is now in its flats, not lost
    assert ps.wall_delta_flat[0, 2] > 0.0 and ps.wall_delta_flat[0, 3] > 0.0


def test_lithiated_form_interpolates_moduli_and_creep_law():
    """Se → Li2Se (the table's lithiated_form): E and ν linear in c, ln A, n and ln σ_ref
    linear in c (physics.plane_strain.lithiated_properties); a material without a lithiated
    form or creep keeps its own values and A = 0."""
    from dempack.materials import load_materials
    from dempack.physics.plane_strain import interpolate, lithiated_properties
    table = load_materials()
    se, li, mse = table["Se"], table["Li2Se"], table["Mo6Se8"]
    T = 343.15
    ends = lithiated_properties([se, mse], table, T)
    E, nu, A, n, sref = interpolate(ends, np.array([0, 0, 0, 1]), np.array([0.0, 1.0, 0.5, 0.5]))
    assert E[0] == se.youngs_modulus and E[1] == pytest.approx(li.youngs_modulus)
    assert E[2] == pytest.approx(0.5 * (se.youngs_modulus + li.youngs_modulus))
    assert nu[2] == pytest.approx(0.5 * (se.poisson_ratio + li.poisson_ratio))
    aS, aL = se.creep.rate_prefactor(T), li.creep.rate_prefactor(T)
    assert A[0] == pytest.approx(aS) and A[1] == pytest.approx(aL)
    assert A[2] == pytest.approx(math.sqrt(aS * aL))
    assert n[2] == pytest.approx(0.5 * (se.creep.n + li.creep.n))
    assert sref[2] == pytest.approx(math.sqrt(se.creep.sigma_ref * li.creep.sigma_ref))
    assert E[3] == mse.youngs_modulus and A[3] == 0.0
