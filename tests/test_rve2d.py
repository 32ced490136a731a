"""The 2D plane-strain RVE (issue 15): a swelling disk held in a fixed square box against a
hand computation of the stress it must develop, and a small RVE run that keeps its box,
starts stress-free and builds the over-filled box's pressure as the Se swells."""
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from dempack.contact import effective_modulus
from dempack.geometry import DISK_THICKNESS
from dempack.observe import particle_stress
from _build import hand_sim


def _segment(R, l):
    """Area of the part of a disk of radius R beyond a chord at distance l from its centre."""
    return R * R * math.acos(l / R) - l * math.sqrt(R * R - l * l)


def test_swelling_disk_in_a_fixed_box_develops_the_plane_strain_stress():
    """An elastic Mo6Se8 disk of radius R0 touching the four frictionless walls of a square
    box of side 2 R0, lithiated to c = 1 (β = 3 %), no creep. Plane strain (DESIGN §2): its
    true area is π R0² (1 + β) exp(−(1 − 2ν) e_sw), e_sw = ln(1 + β)/3, i.e. an in-plane
    strain (1 + ν) e_sw; as it conserves its area its radius R solves
    π R² − 4 segment(R, R0) = A_true; each wall pushes with the line-contact force P of
    overlap δ = R − R0 (Johnson: δ = x (2 ln(4R/a) − 1), a² = 4 R x, x = P/(π E*)); the
    Love–Weber stress is σ_xx = σ_zz = −2 R0 P t/(π R² t) and σ_yy = ν (σ_xx + σ_zz) − E e_sw."""
    R0 = 3e-6
    W = 2 * R0
    sim = hand_sim([[R0, 0.0, R0]], [R0], [0], W, W, materials=("Mo6Se8",),
                   run={"dimension": 2}, numerics={"gravity_m_s2": 0.0})
    m = sim.materials[0]
    E, nu, beta = m.youngs_modulus, m.poisson_ratio, m.swelling
    ps = sim.particles
    ps.lithiation[:] = 1.0
    for _ in range(60):               # the area-conserving radius is a fixed point
        sim.update_radii()
    sim.step()
    e_sw = math.log(1 + beta) / 3
    A_true = math.pi * R0 ** 2 * (1 + beta) * math.exp(-(1 - 2 * nu) * e_sw)
    R = brentq(lambda r: math.pi * r * r - 4 * _segment(r, R0) - A_true, R0, 1.1 * R0, xtol=1e-18)
    assert ps.R[0] == pytest.approx(R, rel=1e-9)
    # the free disk's in-plane strain is plane strain's (1 + ν) e_sw to first order; the held
    # disk grows beyond it by the area its four wall segments cut off
    assert (math.sqrt(A_true / math.pi) / R0 - 1) == pytest.approx((1 + nu) * e_sw, rel=0.03)
    assert R > math.sqrt(A_true / math.pi)
    wall = sim.wall_material
    Es = effective_modulus(E, nu, wall.youngs_modulus, wall.poisson_ratio)
    delta = R - R0

    def approach(P):
        x = P / (math.pi * Es)
        a = math.sqrt(4 * R * x)
        return x * (2 * math.log(4 * R / a) - 1)
    P = brentq(lambda p: approach(p) - delta, 1e-6, 0.2 * math.pi * Es * R, xtol=1e-12)
    assert 2 * m.hardness * math.sqrt(R * delta) > P          # elastic: below the plastic limit
    sig, _ = particle_stress(sim)
    s_in = -2 * R0 * P * DISK_THICKNESS / (math.pi * R * R * DISK_THICKNESS)
    assert sig[0, 0, 0] == pytest.approx(s_in, rel=1e-6)
    assert sig[0, 2, 2] == pytest.approx(s_in, rel=1e-6)
    assert sig[0, 1, 1] == pytest.approx(nu * 2 * s_in - E * e_sw, rel=1e-6)
    assert abs(sig[0, 0, 2]) < 1e-9 * abs(s_in)


def _small_rve(material="Se", cycles=1):
    from dempack.scenario import load_scenario
    sc = load_scenario(f"scenarios/rve2d_{'se' if material == 'Se' else 'lco'}60mse.toml")
    sc.set_many({"packing.particles": 160, "cycling.cycles": cycles,
                 "cycling.steps_per_half_cycle": 3000, "run.snapshot_every_outputs": 0,
                 "run.snapshot_at_half_cycle_fractions": [], "run.output_interval_steps": 1000,
                 "pressing.0.steps": 6000, "pressing.0.hold_steps": 1000})
    return sc


def test_small_rve_holds_its_box_and_starts_stress_free():
    from dempack.simulation import Simulation
    sc = _small_rve()
    sim = Simulation(sc)
    assert sim.dimension == 2 and sim.box.dimension == 2
    assert not sim.box.wall_arrays()[2][4:].any()      # no y walls
    mse = [k for k, m in enumerate(sim.materials) if m.name == "Mo6Se8"][0]
    assert not sim.active_material[mse]                 # lithiates = "off"
    z0, w0 = sim.box.z_top, sim.box.L[0]
    while sim.stage is not None and sim.stage.kind == "grow":
        sim.run(100)
    # grown to the study's 24.7 % pores (true area)
    assert sim.true_porosity() == pytest.approx(0.247, abs=0.005)
    grown = np.abs(sim.pair_contact_forces()).max()
    sim.run(1)             # cycling starts stress-free; one step of swelling (c = 1/3000) since
    first = np.abs(sim.pair_contact_forces()).max()
    p0 = sim.punch_stress()
    sim.run(2500)                                        # most of the first discharge
    assert sim.box.z_top == z0 and sim.box.L[0] == w0    # the box is held
    assert np.all(sim.particles.x[:, 1] == 0.0)
    # Se (β = 0.98) over-fills the box: the walls carry a pressure far above the start's,
    # and the contact forces of the start are a vanishing fraction of the swollen ones
    later = np.abs(sim.pair_contact_forces()).max()
    assert first < 1e-3 * later and first < grown
    assert sim.punch_stress() > 1e6 and sim.punch_stress() > 100 * abs(p0)
