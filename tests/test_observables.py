"""Observables against hand-computed configurations."""
import math

import numpy as np
import pytest

from dempack.observe import analyse, observables
from _build import hand_sim

W = 40e-6
H = 30e-6


def test_porosity_two_overlapping_spheres_lens_removed():
    R, d = 5e-6, 8e-6
    c = W / 2
    sim = hand_sim([[c - d / 2, c, H / 2], [c + d / 2, c, H / 2]], [R, R], [0, 0], W, H)
    # equal spheres: the lens is two caps of height h = R − d/2, V_cap = π h²(3R − h)/3
    h = R - d / 2
    lens = 2 * math.pi * h * h * (3 * R - h) / 3
    solid = 2 * 4 / 3 * math.pi * R ** 3 - lens
    row = observables(sim)
    assert row["porosity"] == pytest.approx(1 - solid / (W * W * sim.box.z_top), rel=1e-9)


def test_porosity_removes_caps_cut_by_walls():
    R = 5e-6
    h = 1e-6  # sphere pushed 1 um into the bottom plate
    sim = hand_sim([[W / 2, W / 2, R - h]], [R], [0], W, H)
    solid = 4 / 3 * math.pi * R ** 3 - math.pi * h * h * (3 * R - h) / 3
    row = observables(sim)
    assert row["porosity"] == pytest.approx(1 - solid / (W * W * H), rel=1e-9)


def test_contact_ratio_hand_computed():
    """Three spheres in a row A–A–B: A(0)–A(1) at distance d1, A(1)–B(2) at d2."""
    R = 4e-6
    d1, d2 = 7.6e-6, 7.8e-6
    c = W / 2
    x = [[c - d1, c, H / 2], [c, c, H / 2], [c + d2, c, H / 2]]
    sim = hand_sim(x, [R, R, R], [0, 0, 1], W, H, materials=("Se", "Mo6Se8"))
    # equal radii: intersection circle radius by Pythagoras a² = R² − (d/2)²
    a1 = R * R - (d1 / 2) ** 2
    a2 = R * R - (d2 / 2) ** 2
    S = 4 * math.pi * R * R
    row = observables(sim)
    # A–A: both A particles of the A–A contact count it (2 π a1²) over 2 A surfaces
    assert row["contact_ratio:Se-Se"] == pytest.approx(2 * math.pi * a1 / (2 * S), rel=1e-9)
    assert row["contact_ratio:Se-Mo6Se8"] == pytest.approx(math.pi * a2 / (2 * S), rel=1e-9)
    assert row["contact_ratio:Mo6Se8-Se"] == pytest.approx(math.pi * a2 / S, rel=1e-9)
    assert row["contact_ratio:Mo6Se8-Mo6Se8"] == 0.0
    assert row["coordination:Se"] == pytest.approx(1.5)
    assert row["coordination:Mo6Se8"] == pytest.approx(1.0)


def test_particle_stress_of_sphere_squeezed_between_plates():
    """σ_zz = −2 s F / V for a sphere held by two plates (branch length s)."""
    R = 5e-6
    s = R - 0.05e-6
    sim = hand_sim([[W / 2, W / 2, s]], [R], [0], W, 2 * s)
    sim.step()
    ps = sim.particles
    F = ps.wall_force[0, 0, 2]
    assert F > 0 and ps.wall_force[0, 1, 2] == pytest.approx(-F, rel=1e-3)
    a = analyse(sim)
    V = 4 / 3 * math.pi * R ** 3
    sig = a["stress"][0]
    # both contacts sit at distance s; the top one is slightly farther after the step
    assert sig[2, 2] == pytest.approx(-2 * s * F / V, rel=2e-3)
    assert a["stress_vm"][0] == pytest.approx(2 * s * F / V, rel=2e-3)
    assert abs(sig[0, 0]) < 1e-6 * abs(sig[2, 2])
