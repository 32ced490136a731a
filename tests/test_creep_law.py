"""The contact-creep law against closed forms (issue 21): the similarity solution of a
creeping sphere under constant load, stress relaxation at fixed approach, Arrhenius.

The engine's kernel (dempack.physics.creep.creep_contacts) is driven quasi-statically from
outside: each physical step the sphere is put where its elastic overlap carries the
imposed load (constant force) or left where it is (fixed approach)."""
import math
from pathlib import Path

import numpy as np
import pytest

from dempack.contact import NO_HARDNESS
from dempack.geometry import WALL_NORMALS
from dempack.materials import load_materials
from dempack.physics.creep import (creep_contacts, normal_stress, particle_norton_flow,
                                    similarity_kappa)
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import scenario

R = 5e-6
W = 60e-6


def _sphere_on_plate(T_C=70.0):
    """One Se sphere on the bottom plate of a small die, no plastic limit (pure creep)."""
    sc = scenario(("Se",), pressing=[{"mode": "fixed_gap", "steps": 1}])
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 1.0, "residual_lithiation": 0.22,
                    "steps_per_half_cycle": 400, "temperature_C": T_C}
    d["stack"] = {"mode": "fixed_gap"}
    sim = Simulation.from_particles(Scenario(d, "test"), [[W / 2, W / 2, R]], [R], [0], W, W)
    sim.tables.hardness[:] = NO_HARDNESS
    sim.tables.hardness_wall[:] = NO_HARDNESS
    pos, _, on = sim.box.wall_arrays()
    bottom = int(np.flatnonzero((WALL_NORMALS[:, 2] == 1.0))[0])
    assert on[bottom]
    return sim, bottom


def _creep(sim, dt):
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    pos, _, on = sim.box.wall_arrays()
    creep_contacts(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share),
                   (sim.creep_A, sim.creep_n, sim.creep_sigma_ref), dt,
                   (sim.box.L[:2].copy(), False), ps.creep_strain, (ps.wall_delta_flat, pos, on),
                   np.zeros(ps.n), True)


def _law(sim):
    mat = sim.materials[0]
    A = mat.creep.rate_prefactor(sim.temperature)
    return A, mat.creep.n, similarity_kappa(mat.creep.n) * mat.creep.sigma_ref, sim.tables.E_star_wall[0]


def test_contact_radius_under_constant_load_follows_the_similarity_solution():
    """Storåkers, Biwa & Larsson (1997) eq. 78: ȧ = 3 D A (p/(κ σ_ref))^n, p = F/(π a²),
    D = 2R for a sphere on a flat. At constant F this integrates to
        a^(2n+1) = a0^(2n+1) + (2n + 1) 3 D A (F/(π κ σ_ref))^n t."""
    sim, bottom = _sphere_on_plate()
    A, n, s_flow, Ew = _law(sim)
    F = 0.02  # N: initial (elastic) mean pressure ~0.55 GPa, falling as the contact grows
    de = (F / (4 / 3 * Ew * math.sqrt(R))) ** (2 / 3)
    pos, _, _ = sim.box.wall_arrays()
    ps = sim.particles
    a0 = math.sqrt(R * de)
    # a creep step runs at fixed approach, so one step creeps at most the elastic overlap:
    # steps short at first, where the contact is small and fast (geometric in time)
    t = np.geomspace(1e-3, 4000.0, 4000)
    a_dem = []
    for dt in np.diff(t, prepend=0.0):
        delta = ps.wall_delta_flat[0, bottom] + de     # the elastic overlap carries F
        ps.x[0, 2] = pos[bottom] + R - delta
        _creep(sim, dt)
        a_dem.append(math.sqrt(R * (ps.wall_delta_flat[0, bottom] + de)))
    D = 2 * R
    a_ref = (a0 ** (2 * n + 1) + (2 * n + 1) * 3 * D * A * (F / (math.pi * s_flow)) ** n * t) \
        ** (1 / (2 * n + 1))
    assert a_dem[-1] > 1.3 * a0                              # the contact grew by creep
    np.testing.assert_allclose(a_dem, a_ref, rtol=0.10)     # the bound
    np.testing.assert_allclose(a_dem, a_ref, rtol=0.01)     # backward Euler, 4,000 steps


def test_stress_relaxation_at_fixed_approach_has_the_law_time_constant():
    """Fixed approach δ (a fixed): the elastic overlap u = δ − δ_cr relaxes as
    u̇ = −12 a A (P u^1.5/(κσ_ref))^n, p = P u^1.5, so
        u^(1 − 1.5n) = u0^(1 − 1.5n) + (1.5n − 1) 12 a A (P/(κσ_ref))^n t,
    and the contact pressure halves at t½ with u = u0 2^(−2/3)."""
    sim, bottom = _sphere_on_plate()
    A, n, s_flow, Ew = _law(sim)
    pos, _, _ = sim.box.wall_arrays()
    ps = sim.particles
    delta = 0.02 * R
    ps.x[0, 2] = pos[bottom] + R - delta
    a = math.sqrt(R * delta)
    P = 4 / 3 * Ew * math.sqrt(R) / (math.pi * R * delta)
    p0 = P * delta ** 1.5
    K = 12 * a * A * (P / s_flow) ** n
    e = 1 - 1.5 * n
    t_half = ((delta * 2 ** (-2 / 3)) ** e - delta ** e) / ((1.5 * n - 1) * K)
    assert 1.0 < t_half < 1e6        # seconds to days: a time scale of the cycling clock
    nstep = 3000
    dt = 10 * t_half / nstep
    p_dem = []
    for _ in range(nstep):
        _creep(sim, dt)
        p_dem.append(P * (delta - ps.wall_delta_flat[0, bottom]) ** 1.5)
    t = dt * np.arange(1, nstep + 1)
    u_ref = (delta ** e + (1.5 * n - 1) * K * t) ** (1 / e)
    p_ref = P * u_ref ** 1.5
    k_half = int(round(t_half / dt)) - 1
    assert p_dem[k_half] == pytest.approx(0.5 * p0, rel=0.02)
    np.testing.assert_allclose(p_dem, p_ref, rtol=0.02)
    assert np.all(np.diff(p_dem) < 0)   # and it keeps relaxing: a power law has no floor


def test_creep_rates_follow_arrhenius_through_the_kernel():
    """Same contact, same short step, two temperatures: the flats made are in the ratio
    A(T1)/A(T2) = exp(−Q/R_gas (1/T1 − 1/T2)) of the material's activation energy."""
    made = {}
    for T_C in (70.0, 25.0):
        sim, bottom = _sphere_on_plate(T_C)
        pos, _, _ = sim.box.wall_arrays()
        sim.particles.x[0, 2] = pos[bottom] + R - 0.01 * R
        _creep(sim, 1e-3)
        made[T_C] = sim.particles.wall_delta_flat[0, bottom]
        Q = sim.materials[0].creep.Q
    assert 0 < made[70.0] < 1e-4 * 0.01 * R       # a short step: the initial rate
    from dempack.materials import R_GAS
    expected = math.exp(-Q / R_GAS * (1 / 343.15 - 1 / 298.15))
    assert made[70.0] / made[25.0] == pytest.approx(expected, rel=0.01)


def _norton_step(sim, dt):
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    pos, _, on = sim.box.wall_arrays()
    L = sim.box.L[:2].copy()
    vol = 4 / 3 * np.pi * ps.R ** 3
    sig = np.empty((ps.n, 3, 3))
    kc = np.empty(ps.n)
    normal_stress(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share), (L, False), (ps.wall_delta_flat, pos, on),
                  vol, sig, kc)
    particle_norton_flow(cl.pair_arrays(ps), (ps.wall_delta_flat, pos, on), (L, False), sig, kc,
                         (sim.creep_A, sim.creep_n, sim.creep_sigma_ref), sim.creep_stiffness, dt,
                         ps.creep_strain, (np.zeros(ps.n), sim.bulk_modulus, sim.volume_conserving),
                         np.empty((ps.n, 3, 3)))
    return sig


def test_particle_norton_flow_under_constant_load_has_its_closed_form():
    """Particle model: a sphere loaded by one plate contact with a constant force F has
    σ = −(l F/V) n⊗n, σ_e = l F/V, and its creep strain rate along n, −A (σ_e/σ_ref)^n,
    shortens l = R − δ (centre to plate) at l̇ = −A (F/(V σ_ref))^n l^(n+1), so
        l^(−n) = l0^(−n) + n A (F/(V σ_ref))^n t,   δ_flat = l0 − l."""
    sim, bottom = _sphere_on_plate()
    A, n = sim.creep_A[0], sim.creep_n[0]
    sig_ref = sim.creep_sigma_ref[0]
    Ew = sim.tables.E_star_wall[0]
    F = 0.02  # N: σ_e ≈ 190 MPa at first
    de = (F / (4 / 3 * Ew * math.sqrt(R))) ** (2 / 3)
    pos, _, _ = sim.box.wall_arrays()
    ps = sim.particles
    V = 4 / 3 * math.pi * R ** 3
    l0 = R - de
    t = np.linspace(0.0, 600.0, 6001)[1:]
    flat = []
    for dt in np.diff(t, prepend=0.0):
        ps.x[0, 2] = pos[bottom] + R - (ps.wall_delta_flat[0, bottom] + de)   # F carried by de
        sig = _norton_step(sim, dt)
        flat.append(ps.wall_delta_flat[0, bottom])
    # the kernel's stress is the one of the formula: σ_zz = −l F/V at the last state
    l_last = R - (flat[-2] + de)
    assert -sig[0, 2, 2] == pytest.approx(l_last * F / V, rel=1e-6)
    l_ref = (l0 ** (-n) + n * A * (F / (V * sig_ref)) ** n * t) ** (-1 / n)
    flat_ref = l0 - l_ref
    assert flat[-1] > 0.05 * R                                   # substantial creep
    # method tolerance: the backward-Euler step lets the stress unload at a stiffness
    # k ≤ 3G while the particle creeps, so at constant load it under-estimates the rate by
    # at most about n 3G Δε/σ_e per step (largest in the first step)
    se0 = l0 * F / V
    dt0 = t[0]
    lag = n * sim.creep_stiffness[0] * dt0 * A * (se0 / sig_ref) ** n / se0
    assert lag < 0.05
    np.testing.assert_allclose(flat[100:], flat_ref[100:], rtol=lag + 0.002)
    # equivalent creep strain = ln-free small-step sum of Δε_e ≈ ∫ A (σ_e/σ_ref)^n dt
    assert ps.creep_strain[0] == pytest.approx(np.log(l0 / l_ref[-1]), rel=0.02)


def test_particle_norton_rates_follow_arrhenius():
    """A short step (the stress barely relaxes within it, so the strain made is the
    initial rate × dt): the strains at two temperatures are in the ratio of A(T)."""
    made = {}
    for T_C in (70.0, 25.0):
        sim, bottom = _sphere_on_plate(T_C)
        pos, _, _ = sim.box.wall_arrays()
        sim.particles.x[0, 2] = pos[bottom] + R - 0.01 * R
        sig = _norton_step(sim, 1e-6)
        made[T_C] = sim.particles.creep_strain[0]
        Q = sim.materials[0].creep.Q
    se = -sig[0, 2, 2]
    assert 0 < 3 * sim.creep_stiffness[0] * made[70.0] < 1e-3 * se    # short: no relaxation
    assert made[70.0] > 0
    from dempack.materials import R_GAS
    expected = math.exp(-Q / R_GAS * (1 / 343.15 - 1 / 298.15))
    assert made[70.0] / made[25.0] == pytest.approx(expected, rel=0.01)


def _cycled_cell(T_C, seed):
    """A 120-particle Se-60MSe cell (the shipped scenario, shortened) cycled once at 0.1 C:
    (Se mean von Mises stress at the discharge end, at the charge end, Se mean creep strain
    at the charge end)."""
    import dempack
    sc = dempack.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "cycle_se60mse.toml")
    sc.set_many({"packing.particles": 120, "cycling.cycles": 1, "cycling.temperature_C": T_C,
                 "cycling.steps_per_half_cycle": 4000, "run.seed": seed,
                 "run.snapshot_every_outputs": 0})
    sim = Simulation(sc)
    rows = []
    sim.half_cycle_observers.append(lambda s, row: rows.append(row))
    while len(rows) < 2:
        sim.run(steps=500)
    assert [r["half"] for r in rows] == ["discharge", "charge"]
    return (rows[0]["stress_vm_mean_Pa:Se"], rows[1]["stress_vm_mean_Pa:Se"],
            rows[1]["creep_strain_mean:Se"])


def test_hot_cell_creeps_more_and_carries_less_stress():
    """Same cells (seeds) at 70 and 25 °C (A smaller by exp(−Q/R (1/298.15 − 1/343.15)) =
    1/23.9). Norton flow drives the Se stress towards σ_ss = σ_ref (ε̇/A)^(1/n), so the cold
    cell keeps more stress after its charge, but by at most the plateau ratio 23.9^(1/n) =
    1.62 (n = 6.6), and creeps less: its strain, ∫A (σ/σ_ref)^n dt, is smaller by a factor
    between 1 (equal rates) and 23.9 (equal stresses). Means over three packings. The charge
    end, not the discharge end: at the discharge end the Se is at its volume bound
    (numerics.max_cap_fraction) and carries the stack's load whatever its temperature
    (102 against 99 MPa at 25 and 70 °C in the 500-particle sweep, docs/validation.md), while
    on charge the stress left behind relaxes by creep (66 against 57 MPa there)."""
    hot = [_cycled_cell(70.0, s) for s in (1, 2, 3)]
    cold = [_cycled_cell(25.0, s) for s in (1, 2, 3)]
    s_hot = np.mean([h[1] for h in hot])
    s_cold = np.mean([c[1] for c in cold])
    n = load_materials()["Se"].creep.n
    assert s_hot < s_cold < 23.9 ** (1 / n) * s_hot
    for (_, _, e_hot), (_, _, e_cold) in zip(hot, cold):
        assert 1.0 < e_hot / e_cold < 23.9
    # and the hot stress at the discharge end is at the study's scale, about 0.1 GPa (the
    # calibration of A)
    assert 50e6 < np.mean([h[0] for h in hot]) < 200e6


def test_threaded_particle_stress_is_the_serial_one_to_the_bit():
    """creep.normal_stress_threaded (pair terms in parallel, then each particle's sum in
    pair-index order) adds the same terms in the same order as the serial scatter
    (normal_stress), so the particle stresses and stiffnesses are equal, not close: a
    pressed Se–Mo6Se8 bed with flats, wall contacts and confinement."""
    from dempack.physics.creep import normal_stress_threaded
    from _build import scenario as build_scenario
    sc = build_scenario(("Se", "Mo6Se8"), particles=80,
                        pressing=[{"pressure_MPa": 80, "speed_m_per_s": 2.0, "hold_steps": 100}],
                        run={"max_overlap_ratio": 0.6, "threads": 1})
    sim = Simulation(sc)
    sim.run()  # pressed to 80 MPa: flats on the Se contacts
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    ps.confinement[::3] = 2e7  # some confined particles: the plastic limit they shift
    assert np.count_nonzero(cl.delta_flat > 0) > 10
    pos, _, on = sim.box.wall_arrays()
    assert np.any(ps.wall_force[:, :, 2] != 0.0)  # wall contacts too
    args = (cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share),
            sim.box.periodicity(), (ps.wall_delta_flat, pos, on), 4 / 3 * np.pi * ps.R ** 3)
    sig, kc = np.empty((ps.n, 3, 3)), np.empty(ps.n)
    normal_stress(*args, sig, kc)
    sig2, kc2 = np.full((ps.n, 3, 3), np.nan), np.full(ps.n, np.nan)
    normal_stress_threaded(*args, sig2, kc2, cl.adjacency(), np.empty((cl.n_pairs, 8)))
    assert np.count_nonzero(sig[:, 2, 2]) > 0.8 * ps.n
    assert np.array_equal(sig, sig2) and np.array_equal(kc, kc2)
