"""Swelling, Norton contact creep, volume conservation, Arrhenius (DESIGN §2)."""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dempack.physics.creep import creep_contacts, mean_pressure
from dempack.contact import NO_HARDNESS
from dempack.materials import R_GAS
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import hand_sim, scenario

R = 5e-6
W = 60e-6


def _cycling(**kw):
    c = {"cycles": 1, "c_rate": 1.0, "residual_lithiation": 0.22, "steps_per_half_cycle": 400,
         "volume_update_interval": 1}
    c.update(kw)
    return c


def _hand(x, radii, mats=("Se",), cycling=None, stack=None, numerics=None, pressing=None):
    sc = scenario(mats, pressing=pressing or [{"mode": "fixed_gap", "steps": 1}],
                  numerics=numerics or {})
    d = sc.to_dict()
    d["cycling"] = cycling or _cycling()
    d["stack"] = stack or {"mode": "fixed_gap"}
    sc = Scenario(d, "test")
    return Simulation.from_particles(sc, x, radii, [0] * len(radii), W, W)


def test_free_particle_swells_to_cube_root_and_back():
    sim = _hand([[W / 2, W / 2, W / 2]], [R])
    beta = sim.materials[0].swelling
    seen = {}
    sim.half_cycle_observers.append(lambda s, row: seen.setdefault(row["half"], s.particles.R[0]))
    sim.run()
    assert seen["discharge"] == pytest.approx(R * (1 + beta) ** (1 / 3), rel=1e-12)
    assert seen["charge"] == pytest.approx(R * (1 + beta * 0.22) ** (1 / 3), rel=1e-12)
    assert sim.particles.lithiation[0] == pytest.approx(0.22)


def test_contact_creep_follows_norton_law_at_constant_force():
    """Two Se spheres pressed together at a constant force F (held quasi-statically:
    after each creep step the centres close in so the elastic overlap keeps
    carrying F). The engine's creep kernel must follow the similarity-solution law
        δcr' = 2 · 12 a A ((p − p̄)/(κ σref))^n,  κ = 3(n + 2)/n,
        p = F/(π R* δ),  a = √(R* δ),  δ = δcr + δe,
        p̄ = (R − δ/2) F / (4π R³)  (mean pressure of a sphere with one contact)
    (both sides creep) integrated independently with scipy."""
    sim = _hand([[W / 2, W / 2, W / 2 - R], [W / 2, W / 2, W / 2 + R]], [R, R])
    sim.tables.hardness[:] = NO_HARDNESS
    mat = sim.materials[0]
    A = mat.creep.rate_prefactor(sim.temperature)
    n, sig = mat.creep.n, mat.creep.sigma_ref
    Es = sim.tables.E_star[0, 0]
    Rs = R / 2
    F = 1e-3  # N: mean contact pressure ~0.66 GPa at first
    de = (F / (4 / 3 * Es * math.sqrt(Rs))) ** (2 / 3)

    def rate(t, y):
        delta = y[0] + de
        pbar = (R - delta / 2) * F / (4 * math.pi * R ** 3)
        kappa = 3 * (n + 2) / n
        return [2 * 12 * math.sqrt(Rs * delta) * A
                * ((F / (math.pi * Rs * delta) - pbar) / (kappa * sig)) ** n]

    ps, cl = sim.particles, sim.contacts
    pos, _, on = sim.box.wall_arrays()
    t = sim.tables
    T, nstep = 3.0e4, 4000
    dt = T / nstep
    times, delta_flat = [], []
    pbar = np.zeros(2)
    for k in range(nstep):
        delta = cl.delta_flat[0] + de
        ps.x[1, 2] = ps.x[0, 2] + 2 * R - delta       # quasi-static: F carried by δe = de
        L = sim.box.L[:2].copy()
        mean_pressure(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share), (L, False),
                      (ps.wall_delta_flat, pos, on), 4 / 3 * np.pi * ps.R ** 3, pbar)
        creep_contacts(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share),
                       (sim.creep_A, sim.creep_n, sim.creep_sigma_ref), dt, (L, False),
                       ps.creep_strain, (ps.wall_delta_flat, pos, on), pbar, False)
        times.append((k + 1) * dt)
        delta_flat.append(cl.delta_flat[0])
    ref = solve_ivp(rate, (0, T), [0.0], t_eval=times, method="LSODA", rtol=1e-10,
                    atol=1e-20).y[0]
    assert delta_flat[-1] > 2 * de                      # substantial creep happened
    assert np.allclose(delta_flat[nstep // 10:], ref[nstep // 10:], rtol=0.01)
    # each sphere took half the flattening (same material on both sides)
    assert ps.creep_strain[0] == pytest.approx(ps.creep_strain[1], rel=1e-12)
    assert ps.creep_strain[0] == pytest.approx(delta_flat[-1] / 2 / (2 * R), rel=1e-9)


def _creep_increment_at(T_C, dt):
    """Creep of a fixed pressed Se–Se contact over a short time dt at T_C."""
    delta = 0.3e-6
    sim = _hand([[W / 2, W / 2, W / 2 - R], [W / 2, W / 2, W / 2 + R - delta]], [R, R],
                cycling=_cycling(temperature_C=T_C))
    sim.tables.hardness[:] = NO_HARDNESS
    ps, cl, t = sim.particles, sim.contacts, sim.tables
    pos, _, on = sim.box.wall_arrays()
    creep_contacts(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share),
                   (sim.creep_A, sim.creep_n, sim.creep_sigma_ref), dt, (sim.box.L[:2].copy(), False),
                   ps.creep_strain, (ps.wall_delta_flat, pos, on), np.zeros(2), False)
    return cl.delta_flat[0], delta


def test_arrhenius_ratio_of_creep_rates():
    hot, delta = _creep_increment_at(70.0, 1e-7)
    cold, _ = _creep_increment_at(25.0, 1e-7)
    assert 0 < hot < 1e-3 * delta     # short step: the rate is the initial rate
    Q = 60e3  # J/mol, Se in assets/materials.toml
    from dempack.materials import load_materials
    assert load_materials()["Se"].creep.Q == Q
    expected = math.exp(-Q / R_GAS * (1 / 343.15 - 1 / 298.15))
    assert hot / cold == pytest.approx(expected, rel=0.01)


def test_volume_conserved_after_heavy_flattening():
    """A Se sphere flattened hard on the plate (plastic + creep): sphere minus
    the cap cut by the plate holds exactly V0 (1 + βc)."""
    sim = _hand([[W / 2, W / 2, R]], [R], numerics={"gravity_m_s2": 3e9},
                pressing=[{"mode": "fixed_gap", "steps": 20000}],
                cycling=_cycling(c_rate=20.0, steps_per_half_cycle=2000))
    sim.dt = 2e-10
    sim.run(steps=20500)
    ps = sim.particles
    for _ in range(30):      # converge the fixed point with the particle held still
        sim.update_radii()
    Rn, c = ps.R[0], ps.lithiation[0]
    h = Rn - ps.x[0, 2]
    assert h > 0.15 * R      # heavily flattened
    solid = 4 / 3 * math.pi * Rn ** 3 - math.pi * h * h * (3 * Rn - h) / 3
    beta = sim.materials[0].swelling
    assert solid == pytest.approx(4 / 3 * math.pi * R ** 3 * (1 + beta * c), rel=1e-6)


def test_total_true_volume_of_creeping_packing():
    sc = scenario(("Se", "Mo6Se8"), particles=150,
                  pressing=[{"pressure_MPa": 100, "speed_m_per_s": 2.0, "hold_steps": 300}],
                  run={"max_overlap_ratio": 0.6})
    d = sc.to_dict()
    d["cycling"] = _cycling(c_rate=0.5, steps_per_half_cycle=3000)
    d["stack"] = {"mode": "servo", "pressure_MPa": 100, "speed_m_per_s": 2.0}
    d["numerics"] = {"max_cap_fraction": 1.0}
    sim = Simulation(Scenario(d, "test"))
    while sim.stage.kind != "cycling":
        sim.run(steps=1000)
    sim.run(steps=1500)      # half way through the discharge: creep + swelling
    for _ in range(40):
        sim.update_radii()
    ps, cl = sim.particles, sim.contacts
    from dempack.physics.volume import QUADRATURE_DIRECTIONS, removed_volumes
    pos, _, on = sim.box.wall_arrays()
    caps = np.empty(ps.n)
    removed_volumes(cl.pair_arrays(ps), sim.flattening_share, cl.adjacency(),
                    (sim.box.L[:2].copy(), False), (pos, on), QUADRATURE_DIRECTIONS, caps,
                    np.empty(ps.n), np.empty(ps.n), np.empty(ps.n), True)
    se = ps.material == 0
    true = np.sum(4 / 3 * np.pi * ps.R[se] ** 3 - caps[se])
    target = np.sum(4 / 3 * np.pi * ps.R0[se] ** 3 * (1 + 0.98 * ps.lithiation[se]))
    assert np.max(caps[se] / (4 / 3 * np.pi * ps.R[se] ** 3)) > 0.05
    assert true == pytest.approx(target, rel=1e-6)


@pytest.mark.parametrize("creep", [True, False])
def test_fixed_gap_packing_relaxes_only_by_creep(creep):
    sc = scenario(("Se", "Mo6Se8"), particles=150,
                  pressing=[{"pressure_MPa": 150, "speed_m_per_s": 2.0, "hold_steps": 500}],
                  run={"max_overlap_ratio": 0.6, "output_interval_steps": 200})
    d = sc.to_dict()
    d["cycling"] = _cycling(c_rate=0.5, steps_per_half_cycle=4000)
    d["stack"] = {"mode": "fixed_gap"}
    sim = Simulation(Scenario(d, "test"))
    sim.swelling[:] = 0.0
    if not creep:
        sim.creep_A[:] = 0.0
    while sim.stage.kind != "cycling":
        sim.run(steps=500)
    sim.run(steps=3000)
    rows = [r for r in sim.history if r["stage"].startswith("cycle")]
    p = np.array([r["punch_stress_Pa"] for r in rows])
    vm = np.array([r["stress_vm_mean_Pa:Se"] for r in rows])
    # Norton flow relaxes the deviatoric stress of the Se at fixed gap, and nothing
    # else does: the punch stress falls towards the mean pressure, monotonically
    if creep:
        assert vm[-1] < 0.9 * vm[0]
        assert p[-1] < 0.95 * p[0]
        assert np.all(np.diff(p) <= 1e-3 * p[0])   # monotone (to servo-free noise)
    else:
        assert abs(p[-1] / p[0] - 1) < 0.03
        assert abs(vm[-1] / vm[0] - 1) < 0.03


def test_removed_volume_counts_intersecting_caps_once():
    """A sphere cut by ten heavily overlapping neighbours (caps intersect): the
    volume outside its power cell equals a Monte Carlo estimate of
    {p in sphere 0 : |p − x_k|² − R_k² < |p − x_0|² − R_0² for some k},
    while the plain sum of cap volumes counts the intersections twice."""
    from dempack.geometry import Box
    from dempack.physics.volume import QUADRATURE_DIRECTIONS, removed_volumes
    from dempack.neighbors import build_contact_list
    from dempack.state import ParticleState
    rng = np.random.default_rng(3)
    nb, R0 = 10, 1.0
    dirs = rng.normal(size=(nb, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    Rj = rng.uniform(0.6, 1.2, nb)
    dist = (R0 + Rj) * rng.uniform(0.75, 0.9, nb)
    x = np.vstack([[10.0, 10.0, 10.0], 10.0 + dirs * dist[:, None]])
    ps = ParticleState.allocate(nb + 1)
    ps.x[:] = x
    ps.R[:] = ps.R0[:] = np.concatenate([[R0], Rj])
    box = Box(L=np.array([20.0, 20.0, 0.0]), periodic_xy=False, z_top=20.0)
    cl = build_contact_list(ps, None, box, 0.1)
    pos, _, on = box.wall_arrays()
    on[:] = False
    out = np.empty(nb + 1)
    free = np.empty(nb + 1)
    removed_volumes(cl.pair_arrays(ps), np.full((1, 1), 0.5), cl.adjacency(),
                    (box.L[:2].copy(), False), (pos, on), QUADRATURE_DIRECTIONS, out, free,
                    np.empty(nb + 1), np.empty(nb + 1), True)
    p = rng.uniform(-1.0, 1.0, size=(2_000_000, 3))
    p = p[np.sum(p * p, 1) <= 1.0]
    pw0 = np.sum(p * p, 1) - R0 ** 2
    cut = np.zeros(len(p), bool)
    for k in range(nb):
        q = p - (x[k + 1] - x[0])
        cut |= np.sum(q * q, 1) - Rj[k] ** 2 < pw0
    V = 4 / 3 * math.pi * R0 ** 3
    mc = cut.mean() * V
    sigma = math.sqrt(cut.mean() * (1 - cut.mean()) / len(p)) * V
    assert abs(out[0] - mc) < 4 * sigma + 1e-3 * mc
    xx = (dist ** 2 + R0 ** 2 - Rj ** 2) / (2 * dist)
    h = R0 - xx
    caps_sum = np.sum(math.pi * h * h * (3 * R0 - h) / 3)
    assert caps_sum > 1.1 * mc      # the intersections are substantial
    # free surface: points of sphere 0's surface inside no neighbour
    u = rng.normal(size=(400_000, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    inside = np.zeros(len(u), bool)
    for k in range(nb):
        inside |= np.sum((u - (x[k + 1] - x[0])) ** 2, 1) < Rj[k] ** 2
    assert free[0] == pytest.approx(1.0 - inside.mean(), abs=1e-2)   # quadrature on 200 directions
    assert free[0] > 1.0 - np.sum(h) / (2 * R0) + 0.02   # the plain sum of cap areas double counts
