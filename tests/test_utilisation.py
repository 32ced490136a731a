"""Electrochemical access: the contact-limited lithiation rule (issue 16, deliverable 5).

Expectations are written from the documented law (dempack/physics/access.py), not from its code:
a contact spot of radius a reaches V = π a² L + (π²/2) a L² + (2/3) π L³ of a particle of radius R
(half the Minkowski sum of a disk and a ball of radius L), L = √(D t_half); f = min(1, V / (4/3 π R³)).
"""
import math

import numpy as np
import pytest

from dempack.physics.access import patch_volume, reachable_fractions
from dempack.physics.swelling import true_volume
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import scenario

W = 40e-6
H = 16e-6          # die height: the Mo6Se8 sphere below spans it
R_M = 8.05e-6      # Mo6Se8 radius: cuts both plates by 0.05 µm (wired to collector and separator)
R_S = 3.0e-6       # Se radius
C_RES = 0.22
STEPS = 20         # steps per full half-cycle (the rule is exercised without dynamics)


def _scenario(rule="contact_limited", materials=("Mo6Se8", "Se"), **cyc):
    sc = scenario(materials)
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 0.1, "residual_lithiation": C_RES,
                    "steps_per_half_cycle": STEPS, "lithiation_rule": rule, **cyc}
    d["stack"] = {"mode": "fixed_gap"}
    return Scenario(d, "test")


def _layout(a, extra_se=None):
    """(x, radii, material): a Se sphere (R_S, pid 1) at mid-height touching a Mo6Se8 sphere
    (R_M, pid 0, wired to both plates) with an intersection circle of radius a (a = 0: 1 nm
    apart, not touching); optionally more Se spheres at `extra_se` (centres)."""
    zc = H / 2
    xm = [W / 2 - 6e-6, W / 2, zc]
    if a > 0:
        # intersection circle of spheres R_M, R_S at distance d: a² = R_M² − x², x = (d² + R_M² − R_S²)/2d
        d = math.sqrt(R_M ** 2 - a ** 2) + math.sqrt(R_S ** 2 - a ** 2)
    else:
        d = R_M + R_S + 1e-9
    xs = [xm[0] + d, W / 2, zc]
    x, radii, mat = [xm, xs], [R_M, R_S], [0, 1]
    for c in extra_se or []:
        x.append(c)
        radii.append(R_S)
        mat.append(1)
    return x, radii, mat


def _se_beside_mse(a, rule="contact_limited", extra_se=None):
    return Simulation.from_particles(_scenario(rule), *_layout(a, extra_se), W, H)


def _idx(sim, pid):
    return int(np.nonzero(sim.particles.pid == pid)[0][0])


def _expected_f(a, L, R=R_S):
    V = math.pi * a * a * L + 0.5 * math.pi ** 2 * a * L * L + 2.0 / 3.0 * math.pi * L ** 3
    return min(1.0, V / (4.0 / 3.0 * math.pi * R ** 3))


def _L_first_discharge(sim):
    D = sim.materials[1].lithium_diffusivity
    return math.sqrt(D * 3600.0 / 0.1)   # span 1 at 0.1 C: a 10 h half-cycle


def _half_cycle(sim):
    """Drive the cycling stage through one half-cycle without dynamics (no DEM step: the contacts
    stay the hand-set ones); returns the Se lithiation of particle pid 1 at every step."""
    st = sim.stages[-1]
    sim.stage_index = len(sim.stages) - 1
    half = st.half
    out = []
    while st.half == half:
        st.update(sim)
        sim.step_count += 1
        st.after_step(sim)
        out.append(float(sim.particles.lithiation[_idx(sim, 1)]))
    return out


def test_default_rule_is_uniform():
    sc = scenario(("Se",))
    assert sc.cycling.lithiation_rule == "uniform"
    assert sc.cycling.access_update_steps == 0


@pytest.mark.parametrize("a", [0.3e-6, 0.8e-6, 1.5e-6])
def test_reachable_fraction_is_the_patch_closed_form(a):
    sim = _se_beside_mse(a)
    L = 0.5e-6
    f = reachable_fractions(sim, np.full(sim.particles.n, L))
    se = _idx(sim, 1)
    assert f[se] == pytest.approx(_expected_f(a, L), rel=1e-6)   # a from sqrt of a difference
    # the mixed conductor itself is reached through its volume
    assert f[_idx(sim, 0)] == 1.0


def test_utilisation_grows_with_contact_area_by_the_law():
    """One Se particle, contact radius a set by hand: after a first discharge its lithiation and
    the cycles.csv utilisation equal f(a) of the closed form, and they grow with a."""
    fs = []
    for a in (0.2e-6, 0.6e-6, 1.2e-6, 2.0e-6):
        sim = _se_beside_mse(a)
        L = _L_first_discharge(sim)
        c = _half_cycle(sim)
        f = _expected_f(a, L)
        assert 0.0 < f < 1.0
        assert c[-1] == pytest.approx(f, rel=1e-6)
        # linear in the half-cycle's progress: half-way through, half of it
        assert c[STEPS // 2 - 1] == pytest.approx(0.5 * f, rel=1e-6)
        row = sim.cycle_rows.rows()[-1]
        # utilisation:Se is V0-weighted over the Se particles: here the one particle's f
        assert row["utilisation:Se"] == pytest.approx(f, rel=1e-6)
        assert row["capacity_fraction:Se"] == pytest.approx(f, rel=1e-6)
        fs.append(f)
    assert all(b > a for a, b in zip(fs, fs[1:]))
    # the a² term dominates at large a: V grows at least as fast as a between the last two
    assert fs[-1] / fs[-2] > 2.0 / 1.2


def test_charge_gives_back_all_but_the_residual():
    sim = _se_beside_mse(1.0e-6)
    c1 = _half_cycle(sim)[-1]
    c2 = _half_cycle(sim)[-1]
    assert c1 == pytest.approx(_expected_f(1.0e-6, _L_first_discharge(sim)), rel=1e-6)
    assert c2 == pytest.approx(C_RES * c1, rel=1e-9)
    row = sim.cycle_rows.rows()[-1]
    assert row["half"] == "charge"
    assert row["capacity_fraction:Se"] == pytest.approx((1 - C_RES) * c1, rel=1e-9)


def test_unreached_particle_neither_lithiates_nor_swells():
    """Two Se spheres touching only each other (Se passes no carriers on) and one touching
    nothing stay at c = 0 and at their radius through a discharge; the one wired to Mo6Se8 swells by
    its own c."""
    far = [[W / 2 + 12e-6, W / 2 + 12e-6, H / 2]]
    far.append([far[0][0], far[0][1] - 2 * R_S + 0.1e-6, H / 2])   # touches the first far Se only
    far.append([W / 2 - 12e-6, W / 2 + 12e-6, H / 2])              # touches nothing
    sim = _se_beside_mse(1.0e-6, extra_se=far)
    _half_cycle(sim)
    ps = sim.particles
    for pid in (2, 3, 4):
        k = _idx(sim, pid)
        assert ps.lithiation[k] == 0.0
        assert ps.reachable[k] == 0.0
    sim.update_radii()
    for pid in (2, 3, 4):
        k = _idx(sim, pid)
        assert true_volume(ps.R0[k], sim.swelling[ps.material[k]], ps.lithiation[k]) == \
            pytest.approx(4 / 3 * math.pi * R_S ** 3, rel=1e-15)
    k = _idx(sim, 1)
    f = _expected_f(1.0e-6, _L_first_discharge(sim))
    assert ps.lithiation[k] == pytest.approx(f, rel=1e-6)
    assert true_volume(ps.R0[k], 0.98, ps.lithiation[k]) == pytest.approx(
        4 / 3 * math.pi * R_S ** 3 * (1 + 0.98 * f), rel=1e-6)
    # the isolated sphere (no contacts) keeps exactly its free radius R0 (1 + β·0)^(1/3) = R0
    assert ps.R[_idx(sim, 4)] == pytest.approx(R_S, rel=1e-12)


def test_uniform_rule_lithiates_every_active_particle_fully():
    far = [[W / 2 + 12e-6, W / 2 + 12e-6, H / 2]]
    sim = _se_beside_mse(1.0e-6, rule="uniform", extra_se=far)
    _half_cycle(sim)
    ps = sim.particles
    assert np.all(ps.lithiation == 1.0)
    assert sim.cycle_rows.rows()[-1]["utilisation:Se"] == 1.0


def test_contact_limited_needs_a_diffusivity():
    with pytest.raises(ValueError, match=r"LiCoO2.*lithium_diffusivity_m2_s.*materials.toml"):
        Simulation.from_particles(_scenario(materials=("Mo6Se8", "LiCoO2")),
                                  [[W / 2, W / 2, H / 2]], [R_S], [1], W, H)


def test_patch_volume_matches_the_shell_model_for_full_coverage():
    """Spots covering the whole surface (Σ π a² = 4π R²) give the shell's first-order volume 4πR²L
    plus terms of order a L² that vanish relative to it as L/a → 0."""
    R, L, a = 5e-6, 1e-9, 0.5e-6
    n = 4 * R * R / (a * a)
    shell = 4 / 3 * math.pi * (R ** 3 - (R - L) ** 3)
    assert n * float(patch_volume(a, L)) == pytest.approx(shell, rel=1e-2)


def test_refresh_with_unchanged_contacts_changes_nothing():
    """The rate form c ← c + (e − c)(φ − φ_prev)/(1 − φ_prev) reproduces the linear path when a
    refresh finds the same reach (contacts unchanged here): no jump, same end state."""
    base = _half_cycle(_se_beside_mse(1.0e-6))
    sim = Simulation.from_particles(_scenario(access_update_steps=3), *_layout(1.0e-6), W, H)
    assert sim.stages[-1].rule.every == 3
    again = _half_cycle(sim)
    assert again == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("plates", ["top", "none"])
def test_conductor_not_wired_both_ways_gives_no_access(plates):
    """A Se sphere touching a Mo6Se8 sphere that reaches the separator but not the current
    collector (no electrons), or neither plate (no ions either), is not reached: f = 0."""
    Rm, a = 5e-6, 1.0e-6
    zc = H - Rm + 0.05e-6 if plates == "top" else H / 2
    xm = [W / 2 - 6e-6, W / 2, zc]
    d = math.sqrt(Rm ** 2 - a ** 2) + math.sqrt(R_S ** 2 - a ** 2)
    sim = Simulation.from_particles(_scenario(), [xm, [xm[0] + d, W / 2, zc]], [Rm, R_S], [0, 1],
                                    W, H)
    f = reachable_fractions(sim, np.full(2, 0.5e-6))
    assert f[_idx(sim, 1)] == 0.0 and f[_idx(sim, 0)] == 0.0
    assert _half_cycle(sim)[-1] == 0.0
