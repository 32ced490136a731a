"""The 2D line contact of disks (dempack.contact.line) against Johnson's closed form, and the
2D mode's step kernel using it."""
import math

import numpy as np
import pytest

from dempack.contact import effective_modulus
from dempack.contact.law import WALL_LINE_FACTOR
from dempack.contact.line import line_factor, line_normal, line_overlap, line_plastic
from dempack.geometry import DISK_THICKNESS
from dempack.integrate import contact_forces
from _build import hand_sim

E, NU = 10e9, 0.33


def johnson_approach(P, radii, moduli):
    """Approach of the centres of two cylinders under P per unit length, one term per body
    (Johnson 1985, §5.6, eq. 5.39): Σ_k P (1 − ν_k²)/(π E_k) (2 ln(4 R_k/a) − 1), with
    a² = 4 P R*/(π E*) (eq. 4.43); a rigid body (E = inf) contributes nothing."""
    inv_es = sum((1 - NU ** 2) / Ek for Ek in moduli if math.isfinite(Ek))
    Rs = 1.0 / sum(1.0 / r for r in radii if math.isfinite(r))
    a = math.sqrt(4.0 * P * Rs * inv_es / math.pi)
    return sum(P * (1 - NU ** 2) / (math.pi * Ek) * (2.0 * math.log(4.0 * r / a) - 1.0)
               for r, Ek in zip(radii, moduli) if math.isfinite(Ek))


@pytest.mark.parametrize("P", [1e2, 1e3, 1e4, 2e4])   # N per m of disk: y = x/R* up to 0.45 < C/e³
def test_equal_disks_follow_johnson(P):
    R = 5e-6
    Es = effective_modulus(E, NU, E, NU)
    Rs = R / 2
    delta = johnson_approach(P, (R, R), (E, E))
    C = line_factor(R, R, Rs)
    assert C == pytest.approx(16.0)
    assert line_overlap(P, Rs, Es, C) == pytest.approx(delta, rel=1e-12)
    _, Sn, F = line_normal(delta, Rs, Es, C, DISK_THICKNESS)
    assert F / DISK_THICKNESS == pytest.approx(P, rel=1e-9)   # Newton inverts the closed form
    # stiffness dP/dδ against a central difference of the closed form
    h = 1e-4 * P
    slope = 2 * h / (johnson_approach(P + h, (R, R), (E, E)) - johnson_approach(P - h, (R, R), (E, E)))
    assert Sn / DISK_THICKNESS == pytest.approx(slope, rel=1e-6)


def test_disk_on_rigid_wall_follows_johnson():
    R, P = 4e-6, 2e4
    Es = E / (1 - NU ** 2)                          # rigid wall: E* of the disk alone
    delta = johnson_approach(P, (R, math.inf), (E, math.inf))
    _, _, F = line_normal(delta, R, Es, WALL_LINE_FACTOR, 1.0)
    assert F == pytest.approx(P, rel=1e-9)


def test_plastic_envelope_caps_the_mean_pressure():
    R, H = 5e-6, 0.5e9
    Es = effective_modulus(E, NU, E, NU)
    Rs = R / 2
    C = line_factor(R, R, Rs)
    delta = 0.1 * R                                   # past the elastic range at 0.5 GPa
    _, _, F, de, flat = line_plastic(Rs, Es, C, H, delta, 0.0, 1.0)
    assert flat > 0.0
    assert F == pytest.approx(2.0 * H * math.sqrt(Rs * delta), rel=1e-12)  # P = 2 a H, a² = R*δ
    assert de + flat == pytest.approx(delta, rel=1e-12)
    assert de == pytest.approx(line_overlap(F, Rs, Es, C), rel=1e-12)
    # unloading from the envelope: the same line law on the elastic overlap left, continuous
    _, _, F2, de2, flat2 = line_plastic(Rs, Es, C, H, delta * (1 - 1e-9), flat, 1.0)
    assert flat2 == flat and F2 == pytest.approx(F, rel=1e-5)


def test_2d_kernel_uses_the_line_law():
    """Two Se disks in the x–z plane: the step kernel's pair force (contact_forces) is the line
    law's at their overlap, along x, with no y component."""
    R, W, overlap = 5e-6, 60e-6, 0.01e-6
    x = [[W / 2 - R + overlap / 2, 0.0, 20e-6], [W / 2 + R - overlap / 2, 0.0, 20e-6]]
    sim = hand_sim(x, [R, R], [0, 0], W, 40e-6, run={"dimension": 2},
                   numerics={"gravity_m_s2": 0.0})
    assert sim.contact_slots[1] == DISK_THICKNESS
    assert sim.particles.mass[0] == pytest.approx(
        sim.materials[0].density * math.pi * R * R * DISK_THICKNESS)
    f = contact_forces(sim)
    mat = sim.materials[0]
    Es = effective_modulus(mat.youngs_modulus, mat.poisson_ratio, mat.youngs_modulus,
                           mat.poisson_ratio)
    P = [p for p in range(sim.contacts.n_pairs)]
    touching = [p for p in P if np.any(f[p] != 0.0)]
    assert len(touching) == 1
    fp = f[touching[0]]
    _, _, F = line_normal(overlap, R / 2, Es, 16.0, DISK_THICKNESS)
    assert abs(fp[0]) == pytest.approx(F, rel=1e-9)
    assert fp[1] == 0.0 and abs(fp[2]) < 1e-12 * F
    for _ in range(50):
        sim.step()
    assert np.all(sim.particles.x[:, 1] == 0.0) and np.all(sim.particles.v[:, 1] == 0.0)
