"""dempack.contact.state: the contact's geometry against hand-computed values, and the force
kernel (`law.pair_law`) and the readers agreeing on it bit for bit (issue 14)."""
import math

import numpy as np
import pytest
from numba import njit

from dempack.contact.hertz import hertz_normal, hertz_pressure_factor
from dempack.contact.law import pair_law
from dempack.contact.plastic import envelope_factor, flattened_radius, plastic_contact
from dempack.contact.state import (apart, contact_arms, contact_state, distance_overlap,
                                   effective_radius, intersection_radius_sq, pair_overlaps,
                                   radical_plane, unit_normal, wall_state)


@njit
def _state(x, R, i, j, flat, L, periodic):
    return contact_state(x, R, i, j, flat, L, periodic)


@njit
def _wall(x, R, i, k, wall_pos, flat):
    return wall_state(x, R, i, k, wall_pos, flat)


@njit
def _geometry(dx, dy, dz, Ri, Rj):
    d, delta = distance_overlap(dx, dy, dz, Ri, Rj)
    n = unit_normal(dx, dy, dz, d) if d > 0.0 else (0.0, 0.0, 0.0)
    return apart(dx, dy, dz, Ri, Rj), d, delta, n, contact_arms(Ri, Rj, delta), \
        radical_plane(d, Ri, Rj), intersection_radius_sq(d, Ri, Rj), effective_radius(Ri, Rj)


@njit
def _kernel(dx, dy, dz, Ri, Rj, dc):
    """pair_law at rest (no velocities), elastic constants of a stiff pair."""
    lw = (100e9, 8 * 40e9, math.sqrt(4 * 40e9 / 100e9), 0.3, 0.0, 1e308, 0.0)
    r = pair_law((dx, dy, dz), (Ri, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
                 (Rj, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), dc, lw,
                 (0.0, 0.0, 0.0), None, None, 1e-9)
    return r[0], r[10], r[11]


def test_pair_geometry_by_hand():
    """R_i = 3, R_j = 2 at d = 4 along (3, 0, 4)/5: δ = 1, n, arms R − δ/2, radical plane
    l_i = (16 + 9 − 4)/8, a² = 9 − l_i², R* = 6/5."""
    is_apart, d, delta, n, arms, planes, a2, Rs = _geometry(2.4, 0.0, 3.2, 3.0, 2.0)
    assert not is_apart
    assert d == pytest.approx(4.0) and delta == pytest.approx(1.0)
    assert n == pytest.approx((0.6, 0.0, 0.8))
    assert arms == pytest.approx((2.5, 1.5))
    assert planes == pytest.approx((21 / 8, 4 - 21 / 8))
    assert a2 == pytest.approx(9 - (21 / 8) ** 2)
    assert Rs == pytest.approx(1.2)
    assert _geometry(0.0, 0.0, 5.0, 3.0, 2.0)[0]          # d = R_i + R_j: apart
    assert _geometry(0.0, 0.0, 0.5, 3.0, 2.0)[6] == 0.0   # j inside i: no circle


def test_contact_state_periodic_image_and_wall():
    x = np.array([[0.05, 0.5, 0.5], [0.95, 0.5, 0.5], [0.5, 0.5, 0.02]])
    R = np.array([0.07, 0.06, 0.05])
    L = np.array([1.0, 1.0])
    touch, dx, dy, dz, d, delta, de, li, lj = _state(x, R, 0, 1, 0.004, L, True)
    assert touch and (dx, dy, dz) == pytest.approx((-0.1, 0.0, 0.0))
    assert d == pytest.approx(0.1) and delta == pytest.approx(0.03)
    assert de == pytest.approx(0.026) and li + lj == pytest.approx(d)
    touch, *_rest = _state(x, R, 0, 1, 0.0, L, False)   # no image: far apart
    assert not touch and _rest[5] < 0.0                  # δe ≤ 0 apart
    wall_pos = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    s, delta, de = _wall(x, R, 2, 0, wall_pos, 0.01)
    assert (s, delta, de) == pytest.approx((0.02, 0.03, 0.02))


def test_kernel_and_readers_agree_bit_for_bit():
    """On random pairs the force kernel touches exactly where the readers' δe > 0, with
    the same lever arms, and `apart` never drops a pair with δ > 0."""
    rng = np.random.default_rng(7)
    for _ in range(3000):
        Ri, Rj = rng.uniform(0.5, 2.0, 2)
        dv = rng.normal(size=3)
        dv *= (Ri + Rj) * rng.uniform(0.7, 1.0000001) / np.linalg.norm(dv)
        dc = 0.0 if rng.random() < 0.5 else rng.uniform(0, 0.1)
        x = np.array([[0.0, 0.0, 0.0], dv])
        R = np.array([Ri, Rj])
        touch, _, _, _, d, delta, de, _, _ = _state(x, R, 0, 1, dc, np.ones(2), False)
        k_touch, ri, rj = _kernel(dv[0], dv[1], dv[2], Ri, Rj, dc)
        assert k_touch == (touch and de > 0.0)
        if k_touch:
            assert (ri, rj) == _geometry(dv[0], dv[1], dv[2], Ri, Rj)[4]
        if _geometry(dv[0], dv[1], dv[2], Ri, Rj)[0]:
            assert delta <= 0.0


def test_pair_overlaps_is_distance_overlap():
    rng = np.random.default_rng(3)
    dx = rng.normal(size=(50, 3))
    R1, R2 = rng.uniform(0.2, 1.0, (2, 50))
    d, delta = pair_overlaps(dx, R1, R2)
    for p in range(50):
        assert (d[p], delta[p]) == _geometry(dx[p, 0], dx[p, 1], dx[p, 2], R1[p], R2[p])[1:3]


@njit
def _plastic(Rs, Es, H, delta, flat):
    return (plastic_contact(Rs, Es, H, delta, flat), flattened_radius(Rs, Es, H, flat),
            envelope_factor(Rs, Es, H))


@njit
def _hertz(Rp, Es, Rs, delta, de):
    return hertz_normal(de, Rp, Es)[2], hertz_pressure_factor(Rp, Es, Rs, delta)


def test_flattened_radius_is_the_unloading_radius_of_plastic_contact():
    """Below the envelope `plastic_contact` unloads on `flattened_radius`'s R_p, and the
    readers' mean pressure P δe^1.5 over π R* δ is the Hertz force on R_p."""
    Rs, Es, H = 2e-6, 20e9, 0.5e9
    (Rp_load, de_load, flat), _, c = _plastic(Rs, Es, H, 1e-7, 0.0)
    assert flat > 0.0 and de_load == pytest.approx(c * math.sqrt(1e-7))
    delta = 0.8e-7  # unloaded: below the envelope
    (Rp, de, flat2), Rp_reader, _ = _plastic(Rs, Es, H, delta, flat)
    assert flat2 == flat and Rp == Rp_reader
    F, P = _hertz(Rp, Es, Rs, delta, de)
    assert P * de ** 1.5 * math.pi * Rs * delta == pytest.approx(F, rel=1e-13)
    assert _plastic(Rs, Es, 1e308, delta, flat)[1] == Rs  # no hardness: R*
