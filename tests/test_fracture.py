"""Fracture (issue 4): strength draw, failure test, fragments, statistics.

Independent expectations: the particle stress of a sphere between two plates
computed by hand from the plate forces; conservation sums; the Weibull law the
strengths were drawn from (modulus and d^(-3/m) size effect); the comminution
limit set in a materials file.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dempack.geometry import wall_gap
from dempack.physics.fracture import (CRIT_CONTACT_FORCE, CRIT_OCTAHEDRAL, figure_geometry, fragments,
                              octahedral_shear, weibull_strength)
from dempack.materials import DEFAULT_MATERIALS_FILE
from dempack.scenario import SCENARIO_DIR, load_scenario
from dempack.simulation import Simulation
from dempack.state import ParticleState

from _build import hand_sim


pytestmark = pytest.mark.portability

def _plate_tau(sim, i=0):
    """Hand value of the octahedral shear stress of particle i loaded only by the two
    plates: σ_zz = −(s_b F_b + s_t F_t)/V (s centre–plate distances, F plate forces),
    τ_oct = √2/3 |σ_zz|."""
    ps = sim.particles
    pos, _, _ = sim.box.wall_arrays()
    m = sum(wall_gap(ps.x, i, k, pos) * abs(ps.wall_force[i, k, 2]) for k in (0, 1))
    return math.sqrt(2.0) / 3.0 * m / (4.0 / 3.0 * math.pi * ps.R[i] ** 3)


def _crush(overrides):
    sc = load_scenario(SCENARIO_DIR / "crush_many.toml", {"run.threads": 1, **overrides})
    sim = Simulation(sc)
    return sim


def test_octahedral_shear_of_uniaxial_and_hydrostatic_stress():
    sig = np.diag([0.0, 0.0, -3.0e8])
    assert octahedral_shear(sig) == pytest.approx(math.sqrt(2.0) / 3.0 * 3.0e8, rel=1e-14)
    assert octahedral_shear(np.eye(3) * -5e8) == pytest.approx(0.0, abs=1e-3)


def test_single_particle_breaks_when_its_stress_reaches_its_strength_and_not_before():
    sc = load_scenario(SCENARIO_DIR / "crush_single.toml",
                       {"run.threads": 1, "pressing.0.speed_m_per_s": 0.25,
                        "fracture.check_interval_steps": 5})
    sim = Simulation(sc)
    strength = float(sim.particles.strength[0])
    assert np.isfinite(strength) and strength > 0
    history = []  # (step, hand tau) while the particle is whole
    while sim.particles.n == 1 and not sim.done:
        sim.step()
        if sim.particles.n == 1:
            history.append((sim.step_count, _plate_tau(sim)))
            # the kernel's stress agrees with the hand value from the plate forces
            if sim.step_count % 500 == 0 and history[-1][1] > 0:
                tau = sim.fracture.characteristic_stress(sim)[0][0]
                assert tau == pytest.approx(history[-1][1], rel=1e-9)
                # the other criterion: max contact force / d²
                fm = sim.fracture
                fm.crit[:] = CRIT_CONTACT_FORCE
                f = np.abs(sim.particles.wall_force[0, :2, 2]).max()
                assert fm.characteristic_stress(sim)[0][0] == pytest.approx(
                    f / (2 * sim.particles.R[0]) ** 2, rel=1e-12)
                fm.crit[:] = CRIT_OCTAHEDRAL
    assert sim.particles.n == 2, "the particle did not break"
    steps = np.array([s for s, _ in history])
    tau = np.array([t for _, t in history])
    checked = steps % 5 == 0
    assert np.all(tau[checked] < strength), "broke too late: a check saw stress >= strength"
    # it broke at the first check after the stress reached the strength: within one
    # check interval of loading
    step_inc = tau[-1] - tau[-2]
    assert tau[-1] < strength <= tau[-1] + 2 * step_inc
    log = sim.fracture.log
    assert len(log) == 1 and log[0]["strength_Pa"] == strength
    assert strength <= log[0]["stress_Pa"] <= tau[-1] + 2 * step_inc
    assert np.all(sim.particles.generation == 1)


@pytest.mark.parametrize("n", [2, 3, 4, 6, 8])
def test_fragments_conserve_mass_lithiation_momentum_and_fit_inside(n):
    rng = np.random.default_rng(3)
    ps = ParticleState.allocate(3)
    ps.x[:] = rng.uniform(1e-5, 2e-5, (3, 3))
    ps.v[:] = rng.normal(0.0, 0.3, (3, 3))
    ps.w[:] = rng.normal(0.0, 1e5, (3, 3))
    ps.R0[:] = [2e-6, 3e-6, 4e-6]
    ps.R[:] = ps.R0 * 1.2
    ps.mass[:] = 5000.0 * 4.0 / 3.0 * np.pi * ps.R0 ** 3
    ps.lithiation[:] = [0.1, 0.5, 0.9]
    sig = np.zeros((2, 3, 3))
    sig[0] = np.diag([-1e8, -2e8, -5e8])
    idx = np.array([1, 2])
    fr = fragments(ps, idx, sig, n, rng)
    for q, k in enumerate(idx):
        f = slice(q * n, (q + 1) * n)
        M = ps.mass[k]
        assert fr.mass[f].sum() == pytest.approx(M, rel=1e-12, abs=0)
        assert np.sum(fr.mass[f] * fr.lithiation[f]) == pytest.approx(M * ps.lithiation[k],
                                                                         rel=1e-12, abs=0)
        p = np.sum(fr.mass[f, None] * fr.v[f], axis=0)
        assert np.linalg.norm(p - M * ps.v[k]) <= 1e-12 * np.linalg.norm(M * ps.v[k])
        com = np.sum(fr.mass[f, None] * fr.x[f], axis=0) / fr.mass[f].sum()
        assert np.linalg.norm(com - ps.x[k]) <= 1e-12 * np.linalg.norm(ps.x[k])
        # inside the parent and not overlapping each other at placement
        reach = np.linalg.norm(fr.x[f] - ps.x[k], axis=1) + fr.R[f]
        assert np.all(reach <= ps.R[k] * (1 + 1e-12))
        dist = np.linalg.norm(fr.x[f][:, None] - fr.x[f][None], axis=2)
        iu = np.triu_indices(n, 1)
        assert np.all(dist[iu] >= 2 * fr.R[f][0] * (1 - 1e-12))
        # they grow to the mass-conserving reference radius: n r³ = R0³
        assert n * fr.R0_target[f][0] ** 3 == pytest.approx(ps.R0[k] ** 3, rel=1e-12)
    # split across the major compression (-z): the first particle's fragments lie
    # on a line through its centre whose direction is the least compressive axis x
    if n == 2:
        d = fr.x[1] - fr.x[0]
        assert abs(d[0]) / np.linalg.norm(d) == pytest.approx(1.0, abs=1e-9)
    _, s = figure_geometry(n)
    assert 0.0 < s <= 1.0


def test_breakage_in_a_simulation_replaces_the_particle_and_keeps_ids_unique():
    # three particles in a row on the bottom plate, the middle one forced to fail
    R = 4e-6
    x = [[6e-6, 12e-6, 12e-6], [14e-6, 12e-6, 12e-6], [22e-6, 12e-6, 12e-6]]  # touching
    sim = hand_sim(x, [R] * 3, [0] * 3, 28e-6, 25e-6, materials=("FeS",),
                   velocity=[[0, 0, 0], [0.2, -0.1, 0.05], [0, 0, 0]], run={"threads": 1})
    ps = sim.particles
    ps.lithiation[:] = [0.2, 0.6, 0.2]
    k = int(np.flatnonzero(ps.pid == 1)[0])
    M, c, v = ps.mass.sum(), np.sum(ps.mass * ps.lithiation), np.sum(ps.mass[:, None] * ps.v, 0)
    ps.strength[k] = 0.0
    for _ in range(sim.fracture.interval):
        sim.step()
    ps = sim.particles
    assert ps.n == 4 and sim.fracture.events == 1
    assert sorted(ps.pid.tolist()) == [0, 2, 3, 4]
    assert np.all(ps.generation[ps.pid >= 3] == 1) and np.all(ps.generation[ps.pid < 3] == 0)
    assert ps.mass.sum() == pytest.approx(M, rel=1e-12)
    assert np.sum(ps.mass * ps.lithiation) == pytest.approx(c, rel=1e-12)
    # free particles: momentum is conserved by the step as well
    assert np.allclose(np.sum(ps.mass[:, None] * ps.v, 0), v, rtol=1e-12, atol=1e-12 * np.abs(v).max())
    # the fragments drew new strengths for their size; per-particle arrays all resized
    assert np.all(np.isfinite(ps.strength[ps.pid >= 3]))
    for name, arr in ps.as_dict().items():
        assert arr.shape[0] == 4, name
    assert sim.contacts.x_ref.shape[0] == 4 and sim._drift.shape[0] == 4
    row = sim.observe()
    assert row["breakage_events"] == 1 and row["fragment_count"] == 2
    frag_mass = ps.mass[ps.generation > 0].sum()
    assert row["broken_mass_fraction"] == pytest.approx(frag_mass / M, rel=1e-12)
    # Hardin: B_r = 1 - Σ m ln(d/d_c) / Σ m0 ln(d0/d_c); the fragments are 2^(-1/3) d
    dc = sim.materials[0].fracture.min_fragment_diameter
    d0 = 2 * R
    expect = frag_mass * math.log(2 ** (1 / 3)) / (M * math.log(d0 / dc))
    for _ in range(3000):  # let the fragments grow to their final size
        sim.step()
    assert np.all(sim.particles.R0_target == 0.0)
    assert sim.observe()["relative_breakage"] == pytest.approx(expect, rel=1e-9)


def _steps(sim, n):
    for _ in range(n):
        sim.step()


def test_lithiation_weakens_the_strength_irreversibly():
    # one FeS particle squeezed symmetrically between the plates (static load)
    R = 5e-6
    sim = hand_sim([[10e-6, 10e-6, 0.99 * R]], [R], [0], 20e-6, 1.98 * R, materials=("FeS",),
                   run={"threads": 1})
    sim.swelling[:] = 0.0  # keep the load fixed while c changes
    k = sim.materials[0].fracture.lithiated_strength_factor
    sim.particles.strength[0] = np.inf
    _steps(sim, sim.fracture.interval)
    tau = sim.fracture.characteristic_stress(sim)[0][0]
    assert tau > 0
    # strength such that it fails once σ_f (1 − (1 − k) c_max) <= τ, i.e. c_max >= c_crit
    c_crit = 0.6
    sim.particles.strength[0] = tau / (1.0 - (1.0 - k) * c_crit)
    sim.particles.lithiation[0] = 0.5
    _steps(sim, sim.fracture.interval)
    assert sim.particles.n == 1 and sim.particles.lithiation_max[0] == 0.5
    # delithiated now, but it was once converted beyond c_crit: it fails
    sim.particles.lithiation[0] = 0.0
    sim.particles.lithiation_max[0] = 0.65
    _steps(sim, sim.fracture.interval)
    assert sim.fracture.events == 1
    # the fragments keep the parent's conversion damage
    assert np.all(sim.particles.lithiation_max == 0.65)


def _pressed_bed(release_steps):
    sc = load_scenario(SCENARIO_DIR / "quickstart.toml", {
        "packing.particles": 60, "packing.materials.0.material": "FeS",
        "packing.materials.1.material": "Mo6Se8", "pressing.0.pressure_MPa": 20,
        "pressing.0.hold_steps": 200, "run.threads": 1, "fracture.enabled": False,
        "fracture.release_steps": release_steps})
    sim = Simulation(sc)
    sim.run()
    return sim


def _kinetic_energy(ps):
    return 0.5 * float(np.sum(ps.mass * np.sum(ps.v ** 2, 1)))


def _elastic_energy(sim):
    """Hertz energy 8/15 E* √R* δe^(5/2) (J) stored in every particle and wall contact,
    on the elastic overlap δe = δ − δ_flat (a flat holds no elastic energy)."""
    ps, cl, t, box = sim.particles, sim.contacts, sim.tables, sim.box
    d = np.linalg.norm(ps.x[cl.j] - ps.x[cl.i], axis=1)  # walled bed: no periodic image
    de = np.maximum(ps.R[cl.i] + ps.R[cl.j] - d - cl.delta_flat, 0.0)
    Rs = ps.R[cl.i] * ps.R[cl.j] / (ps.R[cl.i] + ps.R[cl.j])
    E = t.E_star[ps.material[cl.i], ps.material[cl.j]]
    energy = float(np.sum(8 / 15 * E * np.sqrt(Rs) * de ** 2.5))
    pos, _, on = box.wall_arrays()
    for k in np.flatnonzero(on):
        gap = np.array([wall_gap(ps.x, i, k, pos) for i in range(ps.n)])
        de = np.maximum(ps.R - gap - ps.wall_delta_flat[:, k], 0.0)
        energy += float(np.sum(8 / 15 * t.E_star_wall[ps.material] * np.sqrt(ps.R) * de ** 2.5))
    return energy


def test_gradual_fragment_growth_releases_no_more_than_its_growth_increment():
    """An isolated FeS particle breaks into two halves (no neighbours, no gravity: a
    two-body problem, free of round-off-driven avalanches). Growing gradually, the
    fragments can carry at most (a) the Hertz energy of one growth increment, the sibling
    overlap 2Δr made between two checks, plus (b) the kinetic energy of separating at the
    growth speed, each half moving at dr/dt. Grown at once, they carry far more."""
    R = 5e-6
    peaks, bounds = {}, {}
    for release in (2000, 1):
        sim = hand_sim([[20e-6, 20e-6, 20e-6]], [R], [0], 40e-6, 40e-6, materials=("FeS",),
                       run={"threads": 1})
        fm = sim.fracture
        fm.release_steps = release
        sim.particles.strength[0] = 0.0
        ke = []
        for _ in range(3000):
            sim.step()
            ke.append(_kinetic_energy(sim.particles))
        assert fm.events == 1 and sim.particles.n == 2
        peaks[release] = max(ke)
        m = sim.materials[0]
        Es = m.youngs_modulus / (2 * (1 - m.poisson_ratio ** 2))
        r = R * 2 ** (-1 / 3)  # the fragments' final radius
        M = float(np.sum(sim.particles.mass))
        dr = r * fm.interval / fm.release_steps  # radius growth per check
        growth_increment = 8 / 15 * Es * math.sqrt(r / 2) * (2 * dr) ** 2.5
        separation = 0.5 * M * (dr / (fm.interval * sim.dt)) ** 2
        bounds[release] = growth_increment + separation
    assert peaks[2000] <= bounds[2000], (peaks, bounds)
    # the bound tells gradual from instant growth apart: the instant release goes far past
    # the gradual one's bound (by ~(release_steps)^(5/2) in the increment's energy)
    assert peaks[1] > 10 * bounds[2000], (peaks, bounds)


def test_kinetic_energy_stays_bounded_after_a_breakage_in_a_pressed_bed():
    """Energy conservation: with the punch held, the walls fixed and no gravity, the bed's
    kinetic energy after a breakage can only come from the elastic energy it stored
    before, and from the work of the fragments' growth. A fragment grows only while its
    largest elastic overlap is below fracture.max_growth_overlap of its radius, so each of
    its contacts (at most 12 equal spheres touch one: the kissing number; a contact with
    the smaller neighbours of a polydisperse bed stores less) holds at most the Hertz
    energy of that overlap, with the stiffest E* of the bed. A re-arrangement may release
    much of the stored energy (here about 70 %); a blow-up or a fragment that injected
    energy without bound would exceed the sum."""
    sim = _pressed_bed(2000)
    fm = sim.fracture
    fm.breakable[0] = True  # switch FeS fracture on after pressing
    ps = sim.particles
    assert sim.box.punch_velocity == 0.0 and not np.any(sim.body)
    k = int(np.argmax(np.where(ps.material == 0, ps.R, 0.0)))  # the largest FeS particle
    ps.strength[k] = 0.0
    stored = _elastic_energy(sim) + _kinetic_energy(ps)
    r = ps.R[k] * 2 ** (-1 / 3)  # the fragments' final radius
    E_max = max(sim.tables.E_star.max(), sim.tables.E_star_wall.max())
    per_contact = 8 / 15 * E_max * math.sqrt(r) * (fm.max_growth_overlap * r) ** 2.5
    ke = []
    for _ in range(3000):
        sim.step()
        ke.append(_kinetic_energy(sim.particles))
    assert fm.events == 1
    assert np.all(np.isfinite(sim.particles.x))
    growth = fm.events * fm.n_fragments * 12 * per_contact
    assert max(ke) <= stored + growth, (max(ke), stored, growth)
    # the bed settles again: its kinetic energy ends well below its peak
    assert ke[-1] < 0.5 * max(ke)


def test_weibull_modulus_and_size_effect_recovered_from_crushing_many_particles():
    scales, moduli = {}, {}
    for d, seed, steps in ((10.0, 1, 22000), (5.0, 2, 32000)):
        sim = _crush({"packing.particles": 150, "packing.materials.0.d50_um": d,
                      "run.seed": seed, "pressing.0.steps": steps})
        sim.run()
        first = [e for e in sim.fracture.log if e["generation"] == 0]
        assert len(first) == 150, "not every particle broke"
        s = np.array([e["stress_Pa"] for e in first])
        m, _, scale = stats.weibull_min.fit(s, floc=0.0)
        moduli[d], scales[d] = m, scale
    law = sim.materials[0].fracture
    for d in moduli:
        assert moduli[d] == pytest.approx(law.weibull_m, rel=0.15), moduli
    # size effect: σ_s ∝ d^(−3/m)
    assert scales[5.0] / scales[10.0] == pytest.approx(0.5 ** (-3.0 / law.weibull_m), rel=0.10)
    assert scales[10.0] == pytest.approx(law.sigma0 * (1e-5 / law.d0) ** (-3 / law.weibull_m),
                                         rel=0.15)


def test_particles_below_the_minimum_fragment_size_never_break(tmp_path, monkeypatch):
    # same crushing as above, but LiCoO2 given a comminution limit of 8 um: a 10 um
    # particle's halves (7.94 um) would be below it, so none may break
    text = DEFAULT_MATERIALS_FILE.read_text()
    block = text.index("[LiCoO2.fracture]")
    line = text.index("min_fragment_diameter_m", block)
    end = text.index("\n", line)
    path = tmp_path / "materials.toml"
    path.write_text(text[:line] + "min_fragment_diameter_m = 8.0e-6" + text[end:])
    monkeypatch.setenv("DEMPACK_MATERIALS", str(path))
    sim = _crush({"packing.particles": 16, "pressing.0.steps": 16000})
    assert np.all(np.isinf(sim.particles.strength))
    tau_max = np.zeros(16)  # per particle id (particles are re-sorted at rebuilds)
    while not sim.done:
        sim.run(steps=500)
        tau = sim.fracture.characteristic_stress(sim)[0]
        np.maximum.at(tau_max, sim.particles.pid, tau)
    assert sim.particles.n == 16 and sim.fracture.events == 0
    # the load went far past the strength scale: with the shipped d_min, the chance that
    # all 16 survive these stresses is P = exp(-Σ (τ_max/σ_s)^m) < 1e-6
    law = sim.materials[0].fracture
    s_s = law.sigma0 * (1e-5 / law.d0) ** (-3 / law.weibull_m)
    assert np.sum((tau_max / s_s) ** law.weibull_m) > -math.log(1e-6), tau_max
    # and the strength law itself: fragments below d_min draw inf
    s = weibull_strength(np.random.default_rng(0), np.full(1000, 1e-5), 5e7, 3.0, 1e-5)
    assert np.all(np.isfinite(s)) and np.median(s) == pytest.approx(5e7 * math.log(2) ** (1 / 3),
                                                                     rel=0.1)


def test_checkpoint_resume_is_exact_across_breakages(tmp_path):
    over = {"packing.particles": 16, "pressing.0.steps": 9000, "run.output_interval_steps": 500}
    a = _crush(over)
    a.run(steps=6000)
    n_mid = a.particles.n
    a.write_checkpoint(tmp_path / "ck.npz")
    a.run()
    b = Simulation.from_checkpoint(a.scenario, tmp_path / "ck.npz")
    b.run()
    assert a.fracture.events > 0 and a.particles.n > n_mid, "no breakage after the checkpoint"
    assert b.particles.n == a.particles.n and b.fracture.events == a.fracture.events
    assert np.array_equal(b.particles.pid, a.particles.pid)
    assert np.array_equal(b.particles.x, a.particles.x)
    assert b.observe()["relative_breakage"] == a.observe()["relative_breakage"]


def test_outputs_carry_breakage_columns_and_fragment_distribution(tmp_path):
    import dempack
    sc = load_scenario(SCENARIO_DIR / "crush_many.toml", {
        "packing.particles": 9, "run.threads": 1,
        "run.output_interval_steps": 1000})
    res = dempack.run(sc, out_dir=tmp_path)
    ts = res.timeseries
    for col in ("breakage_events", "broken_mass_fraction", "fragment_count", "relative_breakage"):
        assert col in ts
    assert ts["breakage_events"][0] == 0 and ts["breakage_events"][-1] == 9
    assert ts["fragment_count"][-1] == 18
    b = res.summary["breakage"]
    fes = b["materials"]["LiCoO2"]
    assert sum(fes["count"]) == 18 and fes["particles_per_generation"] == [0, 18]
    assert fes["fragment_d50_um"] == pytest.approx(10.0 * 2 ** (-1 / 3), rel=1e-9)
    assert sum(fes["mass_fraction"]) == pytest.approx(1.0, rel=1e-12)
    assert (Path(tmp_path) / "summary.json").exists()


def test_run_resolution_limit_raises_the_minimum_fragment_size():
    """fracture.min_fragment_diameter_um replaces a smaller material comminution limit
    (never a larger one): the FeS scenario stops fragments at 2 um."""
    from dempack.simulation import Simulation
    sc = load_scenario(SCENARIO_DIR / "cycle_fes60mse.toml")
    sc.set("packing.particles", 150)
    names = [m.material for m in sc.packing.materials]
    k = names.index("FeS")
    sim = Simulation(sc)
    material_limit = sim.materials[k].fracture.min_fragment_diameter
    assert material_limit == pytest.approx(0.5e-6)
    assert sim.fracture.d_min[k] == pytest.approx(2.0e-6)
    sc.set("fracture.min_fragment_diameter_um", 0.0)
    assert Simulation(sc).fracture.d_min[k] == pytest.approx(material_limit)
    sc.set("fracture.min_fragment_diameter_um", 0.1)  # below the material's: no effect
    assert Simulation(sc).fracture.d_min[k] == pytest.approx(material_limit)
