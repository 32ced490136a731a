"""Per material-pair constants of the contact parts, and their flat law table.

Mixing rules: friction, restitution and hardness of a pair are the smaller of the two
materials' (the weaker surface controls; the softer body yields); rolling friction is the
larger (the more angular body resists rolling, whatever it rolls on);
1/E* = (1−ν1²)/E1 + (1−ν2²)/E2 and 1/G* = 2(2−ν1)(1+ν1)/E1 + 2(2−ν2)(1+ν2)/E2
(Di Renzo & Di Maio 2004, doi:10.1016/j.ces.2003.09.037).

Contact species (issue 16.2): where a material's fragments roll differently from its intact
particles (``[material.fracture] fragment_rolling_friction``, the shape resistance of angular
crushed debris), the force kernels index the tables by species, not material: species
k = material for an intact particle (generation 0) and nm + material for a fragment, over
tables of 2nm rows that repeat the materials' constants and differ only in μ_r
(`ContactTables.species_columns`, `contact_species`). Elsewhere (no material sets it) the
kernels take the materials and the nm tables as before, unchanged.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .damping import SQRT_5_6, damping_coefficient
from .plastic import NO_HARDNESS

# columns of a law table (see `law_table`): one row of constants per material pair
LAW_E, LAW_KT, LAW_RT, LAW_MU, LAW_CB, LAW_H, LAW_MUR = range(7)
LAW_COLS = 7


def contact_species(material, generation, nm):
    """Contact species (N,) int32 of each particle: material, plus nm for a fragment
    (generation > 0); module docstring."""
    return (material + nm * (generation > 0)).astype(np.int32)


@njit(cache=True)
def law_table(E_star, G_star, friction, beta, hardness, rolling_friction):
    """Per-pair constants of the contact law, shape (*E_star.shape, LAW_COLS): E*, 8G*,
    √(4G*/E*) (= √(S_t/S_n), so γ_t = γ_n √(S_t/S_n) shares γ_n's square root),
    μ, 2√(5/6) β, hardness H, rolling friction μ_r. Built at each kernel call (tables
    are tiny, and tests may change them between steps)."""
    npairs = E_star.size
    out = np.empty((npairs, LAW_COLS))
    E = E_star.ravel()
    G = G_star.ravel()
    mu = friction.ravel()
    b = beta.ravel()
    H = hardness.ravel()
    mr = rolling_friction.ravel()
    for k in range(npairs):
        out[k, LAW_E] = E[k]
        out[k, LAW_KT] = 8.0 * G[k]
        out[k, LAW_RT] = math.sqrt(4.0 * G[k] / E[k])
        out[k, LAW_MU] = mu[k]
        out[k, LAW_CB] = 2.0 * SQRT_5_6 * b[k]
        out[k, LAW_H] = H[k]
        out[k, LAW_MUR] = mr[k]
    return out


def effective_modulus(E1, nu1, E2, nu2):
    """E* (Pa): 1/E* = (1−ν1²)/E1 + (1−ν2²)/E2."""
    return 1.0 / ((1 - nu1 ** 2) / E1 + (1 - nu2 ** 2) / E2)


def effective_shear_modulus(E1, nu1, E2, nu2):
    """G* (Pa) of Mindlin: 1/G* = 2(2−ν1)(1+ν1)/E1 + 2(2−ν2)(1+ν2)/E2."""
    return 1.0 / (2 * (2 - nu1) * (1 + nu1) / E1 + 2 * (2 - nu2) * (1 + nu2) / E2)


class ContactTables:
    """Per material-pair constants (nm × nm) and per material–wall constants (nm).

    Attributes: E_star, G_star, friction, beta, hardness (NO_HARDNESS where both are
    elastic), rolling_friction (pairs); the same with the suffix _wall (particle–wall).
    `rolling` is True when some pair or wall has a rolling friction (the rolling part
    is compiled into the kernels only then)."""

    def __init__(self, materials, wall):
        nm = len(materials)
        self.E_star = np.zeros((nm, nm))
        self.G_star = np.zeros((nm, nm))
        self.friction = np.zeros((nm, nm))
        self.beta = np.zeros((nm, nm))
        for a, ma in enumerate(materials):
            for b, mb in enumerate(materials):
                self.E_star[a, b] = effective_modulus(ma.youngs_modulus, ma.poisson_ratio,
                                                      mb.youngs_modulus, mb.poisson_ratio)
                self.G_star[a, b] = effective_shear_modulus(ma.youngs_modulus, ma.poisson_ratio,
                                                            mb.youngs_modulus, mb.poisson_ratio)
                self.friction[a, b] = min(ma.friction, mb.friction)
                self.beta[a, b] = damping_coefficient(min(ma.restitution, mb.restitution))
        self.E_star_wall = np.array([effective_modulus(m.youngs_modulus, m.poisson_ratio,
                                                       wall.youngs_modulus, wall.poisson_ratio)
                                     for m in materials])
        self.G_star_wall = np.array([effective_shear_modulus(m.youngs_modulus, m.poisson_ratio,
                                                             wall.youngs_modulus, wall.poisson_ratio)
                                     for m in materials])
        self.friction_wall = np.array([min(m.friction, wall.friction) for m in materials])
        self.beta_wall = np.array([damping_coefficient(min(m.restitution, wall.restitution))
                                   for m in materials])
        h = [m.hardness if m.hardness is not None else NO_HARDNESS for m in materials]
        hw = wall.hardness if wall.hardness is not None else NO_HARDNESS
        self.hardness = np.minimum.outer(np.array(h), np.array(h))
        self.hardness_wall = np.minimum(np.array(h), hw)
        mr = np.array([getattr(m, "rolling_friction", None) or 0.0 for m in materials])
        mrw = getattr(wall, "rolling_friction", None) or 0.0
        self.rolling_friction = np.maximum.outer(mr, mr)
        self.rolling_friction_wall = np.maximum(mr, mrw)
        # fragments' μ_r per material (that of the intact particles where unset)
        fr = [m.fracture.fragment_rolling_friction
              if getattr(m, "fracture", None) is not None
              and getattr(m.fracture, "fragment_rolling_friction", None) is not None else mr[k]
              for k, m in enumerate(materials)]
        self.fragment_rolling = np.array(fr, float).reshape(nm)
        self.wall_rolling = float(mrw)
        # True when some material's fragments have a μ_r of their own: the kernels then take
        # `species_columns` and `contact_species` in place of the materials'
        self.fragment_species = bool(np.any(self.fragment_rolling != mr))
        self._species = None

    @property
    def rolling(self) -> bool:
        return bool(np.any(self.rolling_friction > 0.0) or np.any(self.rolling_friction_wall > 0.0)
                    or np.any(self.fragment_rolling > 0.0))

    def species_columns(self, flat_share):
        """(pair columns, wall columns, flat share) over the 2nm contact species (module
        docstring): row s repeats material s mod nm; μ_r of species s is the material's
        for s < nm and its fragments' for s >= nm; a pair takes the larger μ_r (as the
        materials), a wall max(μ_r, μ_r,wall). Built once (the tables of a run are fixed)."""
        if self._species is None:
            nm = self.E_star.shape[0]
            idx = np.arange(2 * nm) % nm
            ix = np.ix_(idx, idx)
            mr = np.concatenate([np.diag(self.rolling_friction), self.fragment_rolling])
            pair = (np.ascontiguousarray(self.E_star[ix]), np.ascontiguousarray(self.G_star[ix]),
                    np.ascontiguousarray(self.friction[ix]), np.ascontiguousarray(self.beta[ix]),
                    np.ascontiguousarray(self.hardness[ix]), np.maximum.outer(mr, mr))
            wall = (self.E_star_wall[idx], self.G_star_wall[idx], self.friction_wall[idx],
                    self.beta_wall[idx], self.hardness_wall[idx],
                    np.maximum(mr, self.wall_rolling))
            self._species = (pair, wall, np.ascontiguousarray(np.asarray(flat_share)[ix]))
        return self._species

    def pair_columns(self):
        """The particle-pair constants as the kernels take them (`law_table`'s arguments)."""
        return (self.E_star, self.G_star, self.friction, self.beta, self.hardness,
                self.rolling_friction)

    def wall_columns(self):
        """The particle–wall constants as the kernels take them (`law_table`'s arguments)."""
        return (self.E_star_wall, self.G_star_wall, self.friction_wall, self.beta_wall,
                self.hardness_wall, self.rolling_friction_wall)

    def normal_columns(self, confinement, flat_share):
        """law = (E_star, hardness, E_star_wall, hardness_wall, confinement, flat_share): the
        elastic-plastic normal contact's constants as the stress and creep kernels of
        dempack.physics.creep take them, with what the plastic limit adds to the hardness as
        in the force kernel: each particle's confinement pressure (N,) Pa
        (`ParticleState.confinement`) and the flat's share per material pair (nm, nm)
        (`Simulation.flattening_share`)."""
        return (self.E_star, self.hardness, self.E_star_wall, self.hardness_wall, confinement,
                flat_share)
