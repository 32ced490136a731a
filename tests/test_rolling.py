"""Rolling resistance, the worked example of a contact part (dempack.contact.rolling).

A sphere rolling without slip on a plane, resisted by the constant torque
M = μ_r R F_n (F_n = m g), decelerates at a = M / (R (m + I/R²)) = (5/7) μ_r g
(I = 2/5 m R²) and stops after s = v0² / (2a) = 7 v0² / (10 μ_r g)."""
import math

import pytest

from dempack.materials import DEFAULT_MATERIALS_FILE
from _build import hand_sim

R = 5e-6
G = 1e5        # m/s², scaled gravity
V0 = 0.05      # m/s
MU_R = 0.1


@pytest.fixture
def rolling_table(tmp_path, monkeypatch):
    """The shipped material table with Mo6Se8 given a rolling friction μ_r = MU_R."""
    text = DEFAULT_MATERIALS_FILE.read_text()
    head = text.index("[Mo6Se8]\n")
    end = text.index("\n", head)
    src = text.index("[Mo6Se8.source]\n")
    src_end = text.index("\n", src)
    text = (text[:end + 1] + f"rolling_friction = {MU_R}\n" + text[end + 1:src_end + 1]
            .replace("[Mo6Se8.source]\n", "[Mo6Se8.source]\nrolling_friction = \"assumed: test\"\n")
            + text[src_end + 1:])
    path = tmp_path / "materials.toml"
    path.write_text(text)
    monkeypatch.setenv("DEMPACK_MATERIALS", str(path))
    return path


def _rolling_sphere(steps_limit):
    """One Mo6Se8 sphere at rest on the bottom plate under gravity, launched rolling
    without slip along x. Returns (simulation, distance travelled until it stops, stopped)."""
    from dempack.contact import effective_modulus
    from dempack.materials import load_materials

    mats = load_materials()
    m, w = mats["Mo6Se8"], mats["steel"]
    mass = m.density * 4 / 3 * math.pi * R ** 3
    Es = effective_modulus(m.youngs_modulus, m.poisson_ratio, w.youngs_modulus, w.poisson_ratio)
    delta = (3 * mass * G / (4 * Es * math.sqrt(R))) ** (2 / 3)  # Hertz: m g = 4/3 E* √R δ^1.5
    sim = hand_sim([[10e-6, 20e-6, R - delta]], [R], [0], 200e-6, 40e-6, materials=("Mo6Se8",),
                   numerics={"gravity_m_s2": G}, run={"threads": 1})
    ps = sim.particles
    ps.v[0] = [V0, 0.0, 0.0]
    ps.w[0] = [0.0, V0 / R, 0.0]  # no slip at the contact point: v − ω R = 0
    x0 = ps.x[0, 0]
    for step in range(steps_limit):
        sim.step()
        if sim.particles.v[0, 0] <= 1e-3 * V0:
            return sim, sim.particles.x[0, 0] - x0, True
    return sim, sim.particles.x[0, 0] - x0, False


def test_a_rolling_sphere_stops_within_the_predicted_distance(rolling_table):
    s_expected = 7 * V0 ** 2 / (10 * MU_R * G)
    sim, s, stopped = _rolling_sphere(steps_limit=100_000)
    assert sim.contact_slots == (True, None)  # the part is compiled in
    assert stopped
    assert s == pytest.approx(s_expected, rel=0.10)
    # it stopped rolling, not only sliding: the spin is gone too
    assert abs(sim.particles.w[0, 1]) * R < 0.01 * V0


def test_without_rolling_friction_the_part_is_off_and_the_sphere_rolls_on():
    s_expected = 7 * V0 ** 2 / (10 * MU_R * G)
    t_expected = V0 / (5 / 7 * MU_R * G)
    from dempack.materials import load_materials

    assert load_materials()["Mo6Se8"].rolling_friction is None
    sim, s, stopped = _rolling_sphere(steps_limit=0)
    assert sim.contact_slots == (None, None)  # compiled out of the kernels
    steps = int(1.5 * t_expected / sim.dt)
    x0 = sim.particles.x[0, 0]
    for _ in range(steps):
        sim.step()
    # no rolling resistance: after 1.5× the stopping time of the resisted sphere it still
    # rolls at nearly V0 (only the damping of the settled contact acts), so it has gone
    # about V0 · 1.5 t = 3 s, where the resisted one went s
    assert sim.particles.v[0, 0] > 0.9 * V0
    assert sim.particles.x[0, 0] - x0 > 2.5 * s_expected
