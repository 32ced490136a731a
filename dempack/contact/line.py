"""Normal part for disks (2D plane strain): elastic line contact, and its plastic limit.

Two cylinders of radii R_i, R_j (unit length along their axes) pressed together by a
force P per unit length touch over a strip of half-width a (Johnson, Contact Mechanics,
1985, §4.3, eq. 4.43 with 1/E* = Σ (1 − ν_k²)/E_k):

    a² = 4 P R* / (π E*),

and their centres approach by (Johnson 1985, §5.6, eq. 5.39, one term per body; the same
form as Gerl & Zippelius, Phys. Rev. E 59 (1999) 2361, arXiv:cond-mat/9808258, without
their −ν′ term, which comes from a different far-field condition)

    δ = Σ_k P (1 − ν_k²)/(π E_k) (2 ln(4 R_k / a) − 1).

dempack splits the compliance evenly between the two bodies (exact for two disks of one
material, the common pair), which gives one closed form in x = P/(π E*) (m):

    δ = x (ln(C R*/x) − 1),   C = 4 R_i R_j / R*²   (C = 16 for equal disks),

and, for a disk on a rigid flat wall (only the disk deforms, R* = R), C = 4. The approach
is not a power of the load: P(δ) is found by Newton's method on y = x/R*,
f(y) = y (ln(C/y) − 1) − δ/R* (concave, so Newton converges monotonically after the first
step), and the contact stiffness is dP/dδ = π E*/(ln(C/y) − 2) per unit length. That
stiffness diverges at y = C/e², where the closed form stops (the log law is a small-contact
law: a ≪ R): beyond y_c = C/e³, where it is π E*, the force continues linearly at that
stiffness, P = P_c + π E* (δ − δ_c), δ_c = 2 y_c R* (an overlap of 0.8 R for equal disks,
0.4 R on a wall; reached only by soft disks at GPa pressures). So the stiffness never
exceeds π E* per unit length and the time step stays bounded.

Plastic limit (the line-contact form of `plastic.plastic_contact`): the mean pressure
P/(2a) over the flat of half-width a, a² = R* δ (the same geometric contact radius the 3D
limit uses), may not exceed the hardness H, so on the plastic envelope P = 2 H √(R* δ);
the elastic overlap there is δ(P) above, the rest is the flat. Unloading follows the same
line law from that elastic overlap, so the force is continuous without a flattened radius.

Forces returned are per disk of thickness t (m): F = P t, stiffness S_n = t dP/dδ.
"""
from __future__ import annotations

import math

from numba import njit

E3 = math.exp(3.0)  # y_c = C/e³: the end of the log law, stiffness π E* (module docstring)


@njit(cache=True, inline="always")
def line_factor(Ri, Rj, Rs):
    """C = 4 R_i R_j / R*² of a disk pair (Rs = R*; 16 for equal disks)."""
    return 4.0 * Ri * Rj / (Rs * Rs)


@njit(cache=True, inline="always")
def line_overlap(P, Rs, Es, C):
    """Approach δ (m) of a line contact under P (N/m) (module docstring):
    x (ln(C R*/x) − 1), x = P/(π E*); linear beyond x = y_c R*, y_c = C/e³."""
    if P <= 0.0:
        return 0.0
    x = P / (math.pi * Es)
    xc = C / E3 * Rs
    if x > xc:
        return 2.0 * xc + (x - xc)
    return x * (math.log(C * Rs / x) - 1.0)


@njit(cache=True, inline="always")
def line_normal(de, Rs, Es, C, t):
    """(S_n/(2E*) (m), S_n (N/m), F (N)) of elastic overlap de > 0 (m) for a disk pair of
    effective radius Rs (m), modulus Es (Pa), factor C (`line_factor`) and thickness t (m).
    The first value is the √(R* δe) of Hertz's law, the quantity the tangential and
    damping parts scale with (S_t = 8 G* √(R* δe) there, 4G*/E* S_n in both)."""
    d = de / Rs
    yc = C / E3
    if d >= 2.0 * yc:  # beyond the log law: linear at its end stiffness π E*
        Sn = math.pi * Es * t
        return Sn / (2.0 * Es), Sn, math.pi * Es * Rs * (yc + d - 2.0 * yc) * t
    lg = math.log(C / d)
    y = d / (lg - 1.0) if lg > 3.0 else yc
    for _ in range(30):
        lg = math.log(C / y)
        yn = y - (y * (lg - 1.0) - d) / (lg - 2.0)
        if yn <= 0.0:
            yn = 0.5 * y
        elif yn > yc:
            yn = 0.5 * (y + yc)
        if abs(yn - y) <= 1e-13 * y:
            y = yn
            break
        y = yn
    Sn = math.pi * Es * t / (math.log(C / y) - 2.0)
    return Sn / (2.0 * Es), Sn, math.pi * Es * Rs * y * t


@njit(cache=True, inline="always")
def line_plastic(Rs, Es, C, H, delta, delta_flat, t):
    """Line contact with a plastic limit H (Pa): (S_n/(2E*), S_n, F, δe, δ_flat updated) for
    overlap delta (m) and flat delta_flat (m) (module docstring). The flat grows where the
    elastic overlap would exceed the one the envelope force P = 2 H √(R* δ) gives."""
    de = delta - delta_flat
    if H < 1e300:
        Ppl = 2.0 * H * math.sqrt(Rs * delta)
        de_pl = line_overlap(Ppl, Rs, Es, C)
        if de > de_pl:
            x = Ppl / (math.pi * Es)
            Sn = math.pi * Es * t / max(math.log(C * Rs / x) - 2.0, 1.0)
            return Sn / (2.0 * Es), Sn, Ppl * t, de_pl, delta - de_pl
    sq, Sn, F = line_normal(de, Rs, Es, C, t)
    return sq, Sn, F, de, delta_flat
