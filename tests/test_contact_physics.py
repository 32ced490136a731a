"""Contact law against closed-form expectations (Hertz impact, Coulomb friction)."""
import math

import numpy as np
import pytest

from dempack.contact import damping_coefficient, effective_modulus
from _build import hand_sim

R = 5e-6


def _pair(v_rel, restitution=None):
    """Two equal Se spheres approaching head-on along x in a large die."""
    W = 100e-6
    gap = 0.01e-6
    x = [[W / 2 - R - gap, W / 2, W / 2], [W / 2 + R + gap, W / 2, W / 2]]
    v = [[v_rel / 2, 0, 0], [-v_rel / 2, 0, 0]]
    sim = hand_sim(x, [R, R], [0, 0], W, W, velocity=v)
    if restitution is not None:
        sim.tables.beta[:] = damping_coefficient(restitution)
    sim.dt = 2e-10
    return sim


def _collide(sim):
    ps = sim.particles
    in_contact = 0
    touched = False
    for _ in range(20000):
        sim.step()
        d = np.linalg.norm(ps.x[1] - ps.x[0])
        if d < ps.R[0] + ps.R[1]:
            in_contact += 1
            touched = True
        elif touched:
            break
    return in_contact * sim.dt


def test_hertz_contact_duration():
    v = 0.2
    sim = _pair(v, restitution=1.0)
    mat = sim.materials[0]
    Es = effective_modulus(mat.youngs_modulus, mat.poisson_ratio, mat.youngs_modulus,
                           mat.poisson_ratio)
    m = sim.particles.mass[0]
    ms, Rs = m / 2, R / 2
    expected = 2.87 * (ms ** 2 / (Rs * Es ** 2 * v)) ** 0.2
    t = _collide(sim)
    assert t == pytest.approx(expected, rel=0.02)


def test_elastic_impact_conserves_kinetic_energy():
    sim = _pair(0.3, restitution=1.0)
    ps = sim.particles
    ke0 = 0.5 * np.sum(ps.mass[:, None] * ps.v ** 2)
    _collide(sim)
    for _ in range(10):
        sim.step()
    ke1 = 0.5 * np.sum(ps.mass[:, None] * ps.v ** 2)
    assert abs(ke1 - ke0) / ke0 < 1e-4
    # momentum is conserved exactly by the pair buffer (action = reaction)
    assert np.allclose(np.sum(ps.mass[:, None] * ps.v, 0), 0.0, atol=1e-25)


@pytest.mark.parametrize("e", [0.5, 0.8])
def test_damped_impact_rebound_matches_restitution(e):
    v = 0.2
    sim = _pair(v, restitution=e)
    _collide(sim)
    ps = sim.particles
    v_after = ps.v[1, 0] - ps.v[0, 0]
    assert v_after / v == pytest.approx(e, rel=0.02)


def test_restitution_independent_of_impact_speed():
    """The calibrated damping gives the same e at very different speeds."""
    out = []
    for v in (0.05, 1.0):
        sim = _pair(v, restitution=0.6)
        _collide(sim)
        out.append((sim.particles.v[1, 0] - sim.particles.v[0, 0]) / v)
    assert out[0] == pytest.approx(0.6, rel=0.02) and out[1] == pytest.approx(0.6, rel=0.02)


def _sphere_on_plate(push_ratio):
    """A sphere resting on the bottom plate under a body force g, pushed
    sideways by a body force push_ratio·μ·m·g; rotation blocked so it must
    slide or stick."""
    W = 100e-6
    g = 5e5
    sim = hand_sim([[W / 2, W / 2, R]], [R], [0], W, 3 * R,
                   numerics={"gravity_m_s2": g})
    ps = sim.particles
    ps.inertia[:] = 1e30
    sim.dt = 2e-10
    mu = sim.tables.friction_wall[0]
    # settle vertically first
    for _ in range(20000):
        sim.step()
    ps.v[:] = 0.0
    m = ps.mass[0]
    sim.body[0] = push_ratio * mu * g
    ratios, xs = [], []
    for _ in range(8000):
        sim.step()
        f = ps.wall_force[0, 0]
        fn = f[2]
        ratios.append(math.hypot(f[0], f[1]) / (mu * fn))
        xs.append(ps.x[0, 0])
    return np.array(ratios), np.array(xs), ps.v[0, 0], m


def test_friction_never_exceeds_coulomb_limit_and_slides_above_it():
    ratios, xs, vx, m = _sphere_on_plate(1.5)
    assert ratios.max() <= 1.0 + 1e-9
    assert ratios[-1] == pytest.approx(1.0, rel=1e-6)   # sliding: at the Coulomb limit
    assert vx > 0 and xs[-1] - xs[0] > 0


def test_sphere_sticks_below_coulomb_limit():
    ratios, xs, vx, m = _sphere_on_plate(0.5)
    assert ratios.max() < 1.0
    # the tangential spring takes the load: the force converges to the push
    assert ratios[-1] == pytest.approx(0.5, rel=0.05)
    # and the sphere only moves by the spring's deflection (sub-nm), not slides
    assert abs(xs[-1] - xs[0]) < 1e-9


def _rest_on_plate(material, g, steps=30000):
    """Load quasi-statically: the body force ramps up over 2/3 of the steps."""
    W = 100e-6
    sim = hand_sim([[W / 2, W / 2, R]], [R], [0], W, 4 * R, materials=(material,),
                   numerics={"gravity_m_s2": g})
    sim.dt = 2e-10
    ramp = 2 * steps // 3
    for k in range(steps):
        sim.body[2] = -g * min(1.0, (k + 1) / ramp)
        sim.step()
    ps = sim.particles
    return sim, ps.R[0] - ps.x[0, 2], ps.mass[0]


def test_plastic_contact_flattens_at_hardness_pressure():
    """Se (hardness H) loaded far past yield by a body force m·g rests where
    m g = H π R δ (plastic contact area π R δ), and keeps the flat when unloaded."""
    g = 1e9
    sim, delta, m = _rest_on_plate("Se", g)
    H = sim.materials[0].hardness
    Rc = sim.particles.R[0]  # grown slightly: the flattened cap's volume is conserved
    assert Rc > R
    assert delta == pytest.approx(m * g / (H * math.pi * Rc), rel=0.01)
    flat = sim.particles.wall_delta_flat[0, 0]
    # on the plastic envelope the elastic part is δe = 3πH/(4E*) √(R δ) (Hertz
    # pressure over the plastic contact area equal to H); the rest is the flat
    Es = sim.tables.E_star_wall[0]
    assert flat == pytest.approx(delta - 3 * math.pi * H / (4 * Es) * math.sqrt(Rc * delta), rel=0.02)
    # unload: the plastic overlap stays, the elastic part springs back
    sim.body[:] = 0.0
    sim.particles.v[:] = 0.0
    for _ in range(200):
        sim.step()
    assert sim.particles.wall_delta_flat[0, 0] == flat


def test_elastic_contact_without_hardness_follows_hertz():
    """Mo6Se8 (no hardness) rests at the Hertz overlap δ = (m g / (4/3 E* √R))^(2/3)."""
    g = 1e9
    sim, delta, m = _rest_on_plate("Mo6Se8", g)
    Es = sim.tables.E_star_wall[0]
    assert delta == pytest.approx((m * g / (4 / 3 * Es * math.sqrt(R))) ** (2 / 3), rel=0.01)
    assert sim.particles.wall_delta_flat[0, 0] == 0.0


@pytest.mark.parametrize("lateral", ["walls", "periodic"])
def test_one_thread_and_threaded_kernels_agree(lateral):
    """The fused one-thread kernel (each pair once, scattered in place) and the
    threaded one (pair buffer + per-particle gather) are two implementations of
    the same step: from the same state they agree to round-off, on a settled
    two-material bed with plastic flats (Se hardness) and wall contacts."""
    import copy

    import numba

    from _build import scenario
    from dempack.integrate import contact_forces
    from dempack.simulation import Simulation

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    sc = scenario(("Se", "Mo6Se8"), particles=150, lateral=lateral,
                  pressing=[{"mode": "fixed_gap", "steps": 100000}],
                  run={"max_overlap_ratio": 0.6}, numerics={"gravity_m_s2": 1e8})
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = Simulation(sc)
        for _ in range(1500):
            a.step()
        b = copy.deepcopy(a)
        for _ in range(3):
            a.step()
        numba.set_num_threads(2)
        for _ in range(3):
            b.step()
    finally:
        numba.set_num_threads(before)
    pa, pb, ca, cb = a.particles, b.particles, a.contacts, b.contacts
    assert np.count_nonzero(ca.delta_flat) > 0  # plastic flats exist
    assert np.count_nonzero(pa.wall_force[:, 0, 2]) > 0  # particles rest on the bottom plate
    assert np.array_equal(ca.i, cb.i) and np.array_equal(pa.pid, pb.pid)
    fa, fb = contact_forces(a), contact_forces(b)
    fscale = np.max(np.abs(fa))
    for got, want, scale in [(pb.x, pa.x, np.max(np.abs(pa.x))),
                             (pb.v, pa.v, np.max(np.abs(pa.v))),
                             (pb.w, pa.w, np.max(np.abs(pa.w))),
                             (fb, fa, fscale), (pb.force, pa.force, fscale),
                             (pb.wall_force, pa.wall_force, fscale),
                             (cb.xi, ca.xi, np.max(np.abs(ca.xi))),
                             (cb.delta_flat, ca.delta_flat, np.max(np.abs(ca.delta_flat)))]:
        assert scale > 0.0
        assert np.max(np.abs(got - want)) <= 1e-9 * scale
    assert b.last_punch_stress == pytest.approx(a.last_punch_stress, rel=1e-9, abs=1e-6)
    assert b._max_drift == pytest.approx(a._max_drift, rel=1e-9)


@pytest.mark.parametrize("threads", [1, 2])
def test_elastic_kernels_match_the_general_ones(threads):
    """Where no pair has a hardness and nothing creeps, the step runs kernels compiled
    without the flats (delta_flat = None). They must give the same step as the general
    kernels, which test the hardness at run time: a settled bed of Mo6Se8 made
    elastic (no hardness, as the benchmark material) advanced both ways from one state."""
    import copy

    import numba

    from _build import scenario
    from dempack.contact import NO_HARDNESS
    from dempack.simulation import Simulation

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs two numba threads")
    sc = scenario(("Mo6Se8",), particles=120, lateral="walls",
                  pressing=[{"mode": "fixed_gap", "steps": 100000}],
                  numerics={"gravity_m_s2": 1e8})
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(threads)
        a = Simulation(sc)
        assert a.inelastic  # Mo6Se8 has a hardness
        a.tables.hardness[:] = NO_HARDNESS
        a.tables.hardness_wall[:] = NO_HARDNESS
        a.inelastic = False
        for _ in range(800):
            a.step()
        b = copy.deepcopy(a)
        b.inelastic = True  # the general kernels, hardness tested at run time
        for _ in range(20):
            a.step()
            b.step()
    finally:
        numba.set_num_threads(before)
    pa, pb = a.particles, b.particles
    assert np.count_nonzero(pa.wall_force[:, 0, 2]) > 0  # resting on the bottom plate
    assert np.count_nonzero(np.linalg.norm(a.contacts.xi, axis=1)) > 0  # springs loaded
    assert not np.any(a.contacts.delta_flat) and not np.any(b.contacts.delta_flat)
    for got, want in [(pb.x, pa.x), (pb.v, pa.v), (pb.w, pa.w), (pb.force, pa.force),
                      (b.contacts.xi, a.contacts.xi)]:
        assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))


def test_contact_forces_of_the_current_state_follow_hertz_and_change_nothing():
    """The observables' contact forces (integrate.contact_forces) of two Mo6Se8 spheres
    at rest, overlapping by δ (elastic, far below yield): F = 4/3 E* √R* δ^(3/2) along
    the centre line, on i from j pointing from j to i; the springs and flats are copies,
    so the simulation's history is unchanged."""
    from _build import hand_sim
    from dempack.integrate import contact_forces

    R, W = 5e-6, 40e-6
    delta = 2e-9
    c = W / 2
    sim = hand_sim([[c - R + delta / 2, c, c], [c + R - delta / 2, c, c]], [R, R], [0, 0], W, W,
                   materials=("Mo6Se8",))
    cl = sim.contacts
    assert cl.n_pairs == 1
    xi0, dcr0 = cl.xi.copy(), cl.delta_flat.copy()
    f = contact_forces(sim)
    Es = sim.tables.E_star[0, 0]
    hertz = 4.0 / 3.0 * Es * math.sqrt(R / 2) * delta ** 1.5
    i = cl.i[0]
    sign = -1.0 if sim.particles.x[i, 0] < c else 1.0  # force on i points away from j
    assert f[0, 0] == pytest.approx(sign * hertz, rel=1e-9)
    assert abs(f[0, 1]) < 1e-12 * hertz and abs(f[0, 2]) < 1e-12 * hertz
    assert np.array_equal(cl.xi, xi0) and np.array_equal(cl.delta_flat, dcr0)


@pytest.mark.portability
def test_threaded_step_is_reproducible():
    """Same state and thread count → bit-identical steps (row chunks and per-thread
    sums are added in a fixed order, whatever the schedule)."""
    import copy

    import numba

    from _build import scenario
    from dempack.simulation import Simulation

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    sc = scenario(("Se", "Mo6Se8"), particles=150, lateral="periodic",
                  pressing=[{"mode": "fixed_gap", "steps": 100000}],
                  run={"max_overlap_ratio": 0.6}, numerics={"gravity_m_s2": 1e8})
    before = numba.get_num_threads()
    try:
        a = Simulation(sc)
        numba.set_num_threads(2)
        for _ in range(1000):
            a.step()
        b = copy.deepcopy(a)
        for _ in range(200):
            a.step()
            b.step()
    finally:
        numba.set_num_threads(before)
    cs, cl = a._chunks, a.contacts
    assert cs.shape == (3,)  # two chunks of rows, and pairs of chunk 0 reach into chunk 1
    assert np.any(cl.j[cl.row_start[cs[0]]:cl.row_start[cs[1]]] >= cs[1])
    for name in ("x", "v", "w", "force", "torque", "wall_force"):
        assert np.array_equal(getattr(a.particles, name), getattr(b.particles, name)), name
    assert np.array_equal(a.contacts.xi, b.contacts.xi)
    assert np.array_equal(a.contacts.delta_flat, b.contacts.delta_flat)


def test_output_steps_record_the_forces_of_the_step():
    """On a step followed by an output row the kernels record each pair's force (what
    the particle stresses read, DESIGN §2): two Mo6Se8 spheres released at rest with an
    overlap δ0 record the Hertz force of δ0; after the step they have moved apart, and
    a recomputation at the new overlap δ1 < δ0 gives Hertz(δ1) instead (no damping,
    so that the force is Hertz's alone while they move)."""
    from _build import hand_sim
    from dempack.integrate import contact_forces

    R, W, d0 = 5e-6, 40e-6, 4e-9
    c = W / 2
    sim = hand_sim([[c - R + d0 / 2, c, c], [c + R - d0 / 2, c, c]], [R, R], [0, 0], W, W,
                   materials=("Mo6Se8",), numerics={"gravity_m_s2": 0.0})
    sim.scenario.run.output_interval_steps = 1
    sim.tables.beta[:] = 0.0
    Es = sim.tables.E_star[0, 0]

    def hertz(d):
        return 4.0 / 3.0 * Es * math.sqrt(R / 2) * d ** 1.5

    sim.step()
    ps = sim.particles
    d1 = 2 * R - abs(ps.x[1, 0] - ps.x[0, 0])
    assert 0.0 < d1 < d0
    recorded = sim.pair_contact_forces()
    assert abs(recorded[0, 0]) == pytest.approx(hertz(d0), rel=1e-9)
    assert abs(contact_forces(sim)[0, 0]) == pytest.approx(hertz(d1), rel=1e-6)
    sim.scenario.run.output_interval_steps = 10 ** 6
    sim.step()  # not recorded: read from the current state
    d2 = 2 * R - abs(ps.x[1, 0] - ps.x[0, 0])
    assert abs(sim.pair_contact_forces()[0, 0]) == pytest.approx(hertz(d2), rel=1e-6)
