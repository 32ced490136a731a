"""Swelling on lithiation (DESIGN §2): V = V0 (1 + β c), R_free = R0 (1 + β c)^(1/3),
β the material's volume change at full lithiation, c ∈ [0, 1] its lithiation state."""
from __future__ import annotations

import numpy as np


def free_radius(R0, beta, c):
    """R = R0 (1 + β c)^(1/3) (m)."""
    return R0 * np.cbrt(1.0 + beta * c)


def true_volume(R0, beta, c):
    """V = 4/3 π R0³ (1 + β c) (m³)."""
    return 4.0 / 3.0 * np.pi * R0 ** 3 * (1.0 + beta * c)
