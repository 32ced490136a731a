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
