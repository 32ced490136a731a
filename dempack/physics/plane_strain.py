"""Plane-strain bookkeeping of a swelling, creeping disk (2D mode, issue 15; the shared
conventions of DESIGN §2).

A disk of the 2D mode is a slice of thickness t = `geometry.DISK_THICKNESS` (m) of a long
cylinder whose axis is y: the total strain along y is zero (plane strain, F_yy = 1), so the
whole volume change of the particle, J = J_e (1 + β c), is an in-plane area change.
Log strains throughout; e_sw = ln(1 + β c)/3 the free linear swelling (β the material's
volume change at full lithiation, c its lithiation), ε_yy^cr its out-of-plane creep strain
(`ParticleState.out_of_plane_creep`, 0 at start), E (Pa), ν its elastic constants.

* ε_yy = 0 = ε_yy^e + e_sw + ε_yy^cr, so the elastic out-of-plane strain is
  ε_yy^e = −(e_sw + ε_yy^cr) and Hooke's law gives the out-of-plane stress (Pa, tension > 0)

      σ_yy = ν (σ_xx + σ_zz) − E (e_sw + ε_yy^cr),

  σ_xx, σ_zz the disk's in-plane (contact, Love–Weber) stress. A free disk of a swelling
  material that has not crept carries σ_yy = −E e_sw (linearised: σzz ≈ −E ε_l of the issue).
* The disk's true in-plane area, the target of the area-conserving radius (the free disk,
  σ_xx = σ_zz = 0: ε_xx^e = ε_zz^e = −ν ε_yy^e, tr ε^e = (1 − 2ν) ε_yy^e, J_e = exp tr ε^e):

      A_true = π R0² (1 + β c) exp(−(1 − 2ν)(e_sw + ε_yy^cr))          (m²).

  Elastic (ε^cr = 0): the area strain is 3 e_sw − (1 − 2ν) e_sw = (2 + 2ν) e_sw, the
  (1 + ν)·2/3 share of the volumetric swelling; fully relaxed (ε_yy^cr = −e_sw, σ_yy = 0 for
  a free disk): A_true = π R0² (1 + β c), all the swelling in-plane. The in-plane contact
  compression is not in A_true: the contacts carry it as overlaps, with the plane-strain
  modulus E/(1 − ν²) in E* (dempack.contact.line).
* The free (not area-conserving) disk radius is R = √(A_true/π).
* The in-plane bulk modulus of plane strain, the stiffness of the mean in-plane stress
  against the area strain, (σ_xx + σ_zz)/2 = K_ps (ε_xx + ε_zz):

      K_ps = λ + G = E / (2 (1 + ν)(1 − 2ν))                             (Pa).

`true_area` returns A_true·t, a volume (m³), so that it stands wherever the 3D code uses
`swelling.true_volume` (the area-conserving radius, the confinement pressure); with t = 1 m it
is numerically the area in m². The functions take scalars or numpy arrays (numba compiles one
version per type).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..geometry import DISK_THICKNESS


@njit(cache=True)
def free_swelling_strain(beta, c):
    """e_sw = ln(1 + β c)/3, the free linear (log) swelling strain (dimensionless)."""
    return np.log(1.0 + beta * c) / 3.0


@njit(cache=True)
def true_area(R0, beta, c, nu, eps_out):
    """A_true·t (m³): the true in-plane area of a plane-strain disk (module docstring),
    A_true = π R0² (1 + β c) exp(−(1 − 2ν)(e_sw + ε_yy^cr)), times t = DISK_THICKNESS, so
    that it is a volume comparable with `volume.removed_areas` and used where 3D uses
    `swelling.true_volume`. R0 (m), β, c, ν dimensionless, eps_out = ε_yy^cr."""
    e = free_swelling_strain(beta, c)
    return (np.pi * R0 * R0 * (1.0 + beta * c) * np.exp(-(1.0 - 2.0 * nu) * (e + eps_out))
            * DISK_THICKNESS)


@njit(cache=True)
def free_radius_2d(R0, beta, c, nu, eps_out):
    """R = √(A_true/π) (m), the radius of a free plane-strain disk (module docstring):
    R0 √(1 + β c) exp(−(1 − 2ν)(e_sw + ε_yy^cr)/2)."""
    e = free_swelling_strain(beta, c)
    return R0 * np.sqrt(1.0 + beta * c) * np.exp(-0.5 * (1.0 - 2.0 * nu) * (e + eps_out))


@njit(cache=True)
def out_of_plane_stress(sxx, szz, E, nu, beta, c, eps_out):
    """σ_yy = ν (σ_xx + σ_zz) − E (e_sw + ε_yy^cr) (Pa, tension > 0): the out-of-plane stress
    of a plane-strain disk (module docstring) from its in-plane stresses sxx, szz (Pa),
    Young's modulus E (Pa), ν, swelling β at lithiation c and out-of-plane creep eps_out."""
    return nu * (sxx + szz) - E * (free_swelling_strain(beta, c) + eps_out)


def plane_strain_bulk_modulus(E, nu):
    """K_ps = E / (2 (1 + ν)(1 − 2ν)) (Pa): the in-plane bulk modulus of plane strain,
    (σ_xx + σ_zz)/2 = K_ps (ε_xx + ε_zz) (module docstring)."""
    return E / (2.0 * (1.0 + nu) * (1.0 - 2.0 * nu))


def lithiated_properties(materials, table, T):
    """Per-material endpoints for the lithiation interpolation of the 2D mode: for each
    material k, (E0, E1, ν0, ν1, lnA0, lnA1, n0, n1, lnσ0, lnσ1) with 0 its own values and 1
    those of its `lithiated_form` (the same where it has none). At lithiation c a particle's
        E = (1 − c) E0 + c E1,   ν likewise,
        ln A = (1 − c) ln A0 + c ln A1,  n likewise,  ln σ_ref likewise,
    (A at the run's temperature T, K): linear in c (an assumption: the particle as a
    mixture of Se and Li2Se; issue 15, "Li2Se properties interpolated with lithiation where
    the material table has them"). A material without a creep law keeps A = 0 at both ends.
    Returns a (nm, 10) array."""
    out = np.zeros((len(materials), 10))
    for k, m in enumerate(materials):
        lit = table[m.lithiated_form] if m.lithiated_form else m

        def law(x):
            if x.creep is None:
                return -np.inf, 1.0, np.log(1.0)
            return np.log(x.creep.rate_prefactor(T)), x.creep.n, np.log(x.creep.sigma_ref)
        a0, n0, s0 = law(m)
        a1, n1, s1 = law(lit) if (m.creep is not None and lit.creep is not None) else (a0, n0, s0)
        out[k] = (m.youngs_modulus, lit.youngs_modulus, m.poisson_ratio, lit.poisson_ratio,
                  a0, a1, n0, n1, s0, s1)
    return out


def interpolate(ends, mat, c):
    """(E, ν, A, n, σ_ref) per particle (arrays) from `lithiated_properties` rows `ends`,
    material ids mat and lithiation c (module function above)."""
    e = ends[mat]
    w = np.asarray(c, float)
    E = (1 - w) * e[:, 0] + w * e[:, 1]
    nu = (1 - w) * e[:, 2] + w * e[:, 3]
    with np.errstate(invalid="ignore"):
        lnA = (1 - w) * e[:, 4] + w * e[:, 5]
    A = np.where(np.isfinite(lnA), np.exp(np.where(np.isfinite(lnA), lnA, 0.0)), 0.0)
    n = (1 - w) * e[:, 6] + w * e[:, 7]
    sref = np.exp((1 - w) * e[:, 8] + w * e[:, 9])
    return E, nu, A, n, sref
