"""2D-mode observables (disks in the x–z plane, plane strain) against geometry and the
plane-strain elastic solution (issue 15; dempack.observe)."""
import math

import numpy as np
import pytest
from scipy.integrate import quad

from dempack.geometry import DISK_THICKNESS
from dempack.materials import load_materials
from dempack.observe import analyse, observables
from _build import hand_sim

R = 4e-6
T = DISK_THICKNESS


def disk_sim(xz, radii, material, width, z_top, materials=("Se",), periodic=False):
    """A hand-built 2D simulation: disks at (x, 0, z) in a box Lx × z_top of thickness t."""
    xz = np.asarray(xz, float)
    x = np.column_stack([xz[:, 0], np.zeros(len(xz)), xz[:, 1]])
    sim = hand_sim(x, radii, material, width, z_top, materials=materials,
                   lateral="periodic" if periodic else "walls", run={"dimension": 2})
    assert sim.box.dimension == 2 and sim.box.L[1] == T
    return sim


def lens(R, d):
    """Area of the lens of two equal circles of radius R at centre distance d < 2R."""
    return 2 * R * R * math.acos(d / (2 * R)) - 0.5 * d * math.sqrt(4 * R * R - d * d)


def test_contact_ratio_of_hexagonal_disks_against_geometry():
    """Hexagonal rows of equal disks at centre distance d = 2R − δ, periodic in x: a disk
    of an interior row has 6 contacts, one of the bottom or top row 4; each contact's flat
    is the common chord 2a, a = √(R² − (d/2)²). The bottom row also cuts into the bottom
    plate: wall contacts do not count (symmetry walls, DESIGN §10)."""
    delta = 0.02 * R
    d = 2 * R - delta
    ncol, nrow = 6, 5
    h = d * math.sqrt(3) / 2
    z0 = R - 0.01 * R  # bottom row pressed into the bottom plate
    xz = [((c + 0.5 * (r % 2)) * d, z0 + r * h) for r in range(nrow) for c in range(ncol)]
    n = len(xz)
    sim = disk_sim(xz, [R] * n, [0] * n, ncol * d, z0 + (nrow - 1) * h + 3 * R, periodic=True)
    a = analyse(sim)
    row_of = np.rint((sim.particles.x[:, 2] - z0) / h).astype(int)  # storage order is the list's
    expected_nc = np.where((row_of == 0) | (row_of == nrow - 1), 4, 6)
    assert np.sum(expected_nc == 6) == (nrow - 2) * ncol
    np.testing.assert_array_equal(a["ncontact"], expected_nc)
    half_chord = math.sqrt(R * R - (d / 2) ** 2)
    ratio = expected_nc.sum() * 2 * half_chord / (n * 2 * math.pi * R)
    row = observables(sim)
    assert row["contact_ratio:Se-Se"] == pytest.approx(ratio, rel=1e-9)
    assert row["contacted_fraction:Se"] == pytest.approx(ratio, rel=1e-9)
    assert row["coordination"] == pytest.approx(expected_nc.mean())


def test_contact_ratio_ordered_pairs_of_two_materials():
    """A row A–A–B of disks: each contact adds 2a t to both ordered pairs, over the
    perimeters 2πR t of the first material's disks."""
    d1, d2 = 7.6e-6, 7.8e-6
    x0 = 12e-6
    xz = [(x0, 10e-6), (x0 + d1, 10e-6), (x0 + d1 + d2, 10e-6)]
    sim = disk_sim(xz, [R] * 3, [0, 0, 1], 40e-6, 20e-6, materials=("Se", "Mo6Se8"))
    a1 = 2 * math.sqrt(R * R - (d1 / 2) ** 2)
    a2 = 2 * math.sqrt(R * R - (d2 / 2) ** 2)
    P = 2 * math.pi * R
    row = observables(sim)
    assert row["contact_ratio:Se-Se"] == pytest.approx(2 * a1 / (2 * P), rel=1e-9)
    assert row["contact_ratio:Se-Mo6Se8"] == pytest.approx(a2 / (2 * P), rel=1e-9)
    assert row["contact_ratio:Mo6Se8-Se"] == pytest.approx(a2 / P, rel=1e-9)
    assert row["contacted_fraction:Se"] == pytest.approx((2 * a1 + a2) / (2 * P), rel=1e-9)


def square_lattice(d, n=4):
    """n × n disks of radius R at spacing d, walls at d/2 from the outer centres."""
    xz = [((c + 0.5) * d, (r + 0.5) * d) for r in range(n) for c in range(n)]
    return disk_sim(xz, [R] * n * n, [0] * n * n, n * d, n * d)


def test_porosity_of_square_lattice_of_touching_disks():
    row = observables(square_lattice(2 * R))
    assert row["porosity"] == pytest.approx(1 - math.pi / 4, rel=1e-12)


def test_porosity_of_overlapping_square_lattice_removes_lenses_and_wall_segments():
    """Spacing d < 2R: each disk's cell is the d × d square around it; the disk loses half
    of each of its 4 lenses to its neighbours or (the same area) to the wall."""
    d = 1.8 * R
    row = observables(square_lattice(d))
    solid = math.pi * R * R - 2 * lens(R, d)
    assert row["porosity"] == pytest.approx(1 - solid / (d * d), rel=1e-12)
    # the perimeter outside the 4 segments, each of arc 2 acos(d/(2R))
    free = 1 - 4 * 2 * math.acos(d / (2 * R)) / (2 * math.pi)
    assert row["pore_surface_fraction:Se"] == pytest.approx(free, rel=1e-12)


def union_area(centres, R):
    """Area of the union of equal disks, integrated over x of the union of their chords."""
    cx = np.array([c[0] for c in centres])
    cz = np.array([c[1] for c in centres])

    def length(x):
        w = np.sqrt(np.maximum(R * R - (x - cx) ** 2, 0.0))
        tot, e = 0.0, -np.inf
        for lo, hi in sorted(zip(cz - w, cz + w)):
            if hi > lo:
                tot += max(0.0, hi - max(lo, e))
                e = max(e, hi)
        return tot
    edges = sorted(set(list(cx - R) + list(cx + R) + list(cx)))
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        total += quad(length, a, b, limit=200, epsabs=0.0, epsrel=1e-10)[0]
    return total


def test_solid_area_where_segments_of_a_disk_meet():
    """Three disks at the corners of an equilateral triangle of side d < √3 R share a
    region (the radical centre lies inside each): the solid is the union of the disks,
    not Σ π R² less the three lenses."""
    d = 1.5 * R
    c = (20e-6, 20e-6)
    centres = [(c[0] - d / 2, c[1]), (c[0] + d / 2, c[1]), (c[0], c[1] + d * math.sqrt(3) / 2)]
    sim = disk_sim(centres, [R] * 3, [0] * 3, 40e-6, 40e-6)
    union = union_area(centres, R)
    lens_only = 3 * math.pi * R * R - 3 * lens(R, d)
    assert abs(lens_only - union) > 1e-2 * union  # the correction matters here
    assert analyse(sim)["solid_volume"] == pytest.approx(union * T, rel=1e-9)


def test_square_lattice_overlapping_past_its_corners_has_no_pores():
    """Spacing d < √2 R: each disk covers its whole d × d cell (its 4 segments meet at the
    corners, 4 disks share a point): porosity 0, not Σ π R² less the lenses."""
    d = 1.3 * R
    row = observables(square_lattice(d))
    assert 1 - (math.pi * R * R - 2 * lens(R, d)) / (d * d) > 0.01  # lenses alone: pores
    assert row["porosity"] == pytest.approx(0.0, abs=1e-12)
    assert row["pore_surface_fraction:Se"] == pytest.approx(0.0, abs=1e-12)  # arcs overlap


def test_free_swollen_disk_carries_plane_strain_out_of_plane_stress():
    """No contacts: σ_xx = σ_zz = 0, σ_yy = −E e_sw, e_sw = ln(1 + β c)/3, E the Se–Li2Se
    mixture's (1 − c) E_Se + c E_Li2Se (the table's lithiated_form); the von Mises
    stress of that uniaxial state is |σ_yy|, the pressure −σ_yy/3. Relaxed by out-of-plane
    creep ε_yy^cr = −e_sw, the disk is stress-free."""
    sim = disk_sim([(20e-6, 10e-6)], [R], [0], 40e-6, 20e-6)
    ps = sim.particles
    ps.lithiation[:] = 0.6
    se = sim.materials[0]
    li = load_materials()[se.lithiated_form]
    assert se.lithiated_form == "Li2Se" and li.youngs_modulus != se.youngs_modulus
    E, beta = 0.4 * se.youngs_modulus + 0.6 * li.youngs_modulus, se.swelling
    syy = -E * math.log(1 + beta * 0.6) / 3
    a = analyse(sim)
    np.testing.assert_allclose(np.diag(a["stress"][0]), [0.0, syy, 0.0], rtol=1e-12, atol=1e-6)
    assert a["stress_vm"][0] == pytest.approx(abs(syy), rel=1e-12)
    row = observables(sim)
    assert row["stress_vm_mean_Pa:Se"] == pytest.approx(abs(syy), rel=1e-12)
    assert row["stress_vm_max_Pa:Se"] == pytest.approx(abs(syy), rel=1e-12)
    assert row["pressure_mean_Pa:Se"] == pytest.approx(-syy / 3, rel=1e-12)
    ps.out_of_plane_creep[:] = math.log(1 + beta * 0.6) / 3
    ps.out_of_plane_creep *= -1
    assert analyse(sim)["stress_vm"][0] == pytest.approx(0.0, abs=1e-6 * abs(syy))


def test_von_mises_of_squeezed_swollen_disk_includes_out_of_plane_stress():
    """A disk held by the bottom plate and the punch (forces ±F at branch length s):
    σ_zz = −2 s F/(π R² t), σ_yy = ν σ_zz − E e_sw; σ_e of diag(0, σ_yy, σ_zz)."""
    s = R - 0.05e-6
    sim = disk_sim([(20e-6, s)], [R], [0], 40e-6, 2 * s)
    ps = sim.particles
    ps.lithiation[:] = 0.3
    F = 1e-2 * T  # N
    ps.wall_force[0, 0, 2] = F
    ps.wall_force[0, 1, 2] = -F
    se = sim.materials[0]
    li = load_materials()[se.lithiated_form]
    E = 0.7 * se.youngs_modulus + 0.3 * li.youngs_modulus        # lithiation 0.3
    nu = 0.7 * se.poisson_ratio + 0.3 * li.poisson_ratio
    beta = se.swelling
    szz = -2 * s * F / (math.pi * R * R * T)
    syy = nu * szz - E * math.log(1 + beta * 0.3) / 3
    vm = math.sqrt(0.5 * ((syy - szz) ** 2 + syy ** 2 + szz ** 2))
    a = analyse(sim)
    np.testing.assert_allclose(np.diag(a["stress"][0]), [0.0, syy, szz], rtol=1e-12, atol=1e-6)
    assert a["stress_vm"][0] == pytest.approx(vm, rel=1e-12)
    assert a["pressure"][0] == pytest.approx(-(syy + szz) / 3, rel=1e-12)
