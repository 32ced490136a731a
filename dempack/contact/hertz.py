"""Normal part: Hertz's elastic sphere contact on the elastic overlap δe (m).

    F_n = 4/3 E* √(R* δe) δe = 2/3 S_n δe,   S_n = 2 E* √(R* δe)

(Hertz 1882; Johnson, Contact Mechanics, 1985, §4.2). δe = δ − δ_flat: the flat left by
plasticity or creep (`dempack.contact.plastic`, `dempack.physics` creep) carries no
elastic force. Returns the pieces the damping and tangential parts share.
"""
from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def hertz_normal(de, Rs, Es):
    """(√(R* δe) (m), S_n (N/m), elastic force 2/3 S_n δe (N)) for elastic overlap de > 0,
    effective radius Rs = R* and modulus Es = E* (Pa)."""
    sq = math.sqrt(Rs * de)
    Sn = 2.0 * Es * sq
    return sq, Sn, (2.0 / 3.0) * Sn * de


@njit(cache=True, inline="always")
def hertz_pressure_factor(Rp, Es, Rs, delta):
    """P (Pa m^-3/2) of the mean pressure p = F_n/(π a²) = P δe^{3/2} of a contact of overlap
    delta (m), over the area π a², a² = R* δ (Rs = R*, the contact radius of the plastic
    limit, `plastic`), with F_n = 4/3 E* √R_p δe^{3/2} (the elastic force above on the
    unloading radius Rp, `plastic.flattened_radius`): P = 4/3 E* √R_p / (π R* δ). The form
    the readers between steps take (`dempack.physics.creep`: the creep driver and the
    particle stress); the force kernel evaluates `hertz_normal` (the same force up to
    round-off: another order of operations)."""
    return 4.0 / 3.0 * Es * math.sqrt(Rp) / (math.pi * Rs * delta)
