"""Porous agglomerates (Super P carbon black): internal porosity and its compaction.

A conductive carbon black is not a dense particle: ~40 nm primaries fuse into aggregates that
cluster into micrometre agglomerates holding most of their volume as pores. dempack keeps
the agglomerate's envelope as the particle (the sphere the contact law sees) and gives it a
state variable, its internal porosity ε_i (`ParticleState.internal_porosity`):

* its solid (skeletal) volume is V_s = (1 − ε) V_env, its mass ρ_s V_s (ρ_s the material's
  density, the skeletal one; the envelope density is ρ_s (1 − ε));
* the electrode's porosity counts the internal pores: solid volume = Σ (1 − ε_i) × (the
  particle's envelope volume inside its cell) (`dempack.observe.analyse`);
* ε falls irreversibly with the largest compressive principal stress p_i of the particle's
  stress tensor (the analogue of a die test's axial pressure) by Heckel's law
  (Heckel, Trans. Metall. Soc. AIME 221 (1961) 671; `materials.AgglomerateLaw`):

      ε_i ← min(ε_i, ε0 exp(−p_i/P_y)),

  and the envelope shrinks at constant solid volume, R0³ (1 − ε) = const:

      R0_new = R0 ((1 − ε_old)/(1 − ε_new))^(1/3);

  the radius R then follows R0 through the volume update (`dempack.physics.volume`).
* an agglomerate squeezed by its contacts beyond what its volume-conserving radius restores
  (its caps cut e = V_cut − V_allow > 0 off its envelope V, dempack.physics.volume) has its
  pores, not its solid, take up the cut: its envelope in the cell, V − e, holds the solid
  (1 − ε) V at the porosity ε_g = 1 − (1 − ε) V/(V − e), and it resists further squeezing
  with the Heckel pressure of the denser of ε and ε_g (`agglomerate_confinement`),
      p_c = P_y ln(ε0 / min(ε, ε_g)),
  in place of the dense solid's K e/V (dempack.physics.confinement): the contact's plastic
  limit is H + p_c. (With the dense solid's bulk modulus, K ≈ 11 GPa for carbon, a small
  Super P sphere wedged between hard electrolyte particles took ~10 GPa of confinement, its
  contacts stayed elastic and their overlap ran past run.max_overlap_ratio at 270–360 MPa.)
  The confinement is capped at H_hard − H, H_hard the largest hardness among the run's
  particle materials: beyond it the contact's plastic limit H + p_c would exceed the hardness
  of the body it is pressed against, which yields first (the kernel's pair limit uses the
  softer side's hardness, so the cap stands in for that per-particle).
  The porosity observable counts such a particle's solid as min((1 − ε) V, V − e).
The update runs with the volume update (`pipeline.VolumeUpdate`), before the radii.
"""
from __future__ import annotations

import numpy as np


def heckel_porosity(p, eps0, yield_pressure):
    """ε(p) = ε0 exp(−max(p, 0)/P_y) (Heckel 1961): internal porosity at compressive stress p (Pa)."""
    return eps0 * np.exp(-np.maximum(p, 0.0) / yield_pressure)


def largest_compressive_stress(sig):
    """p = −(smallest principal stress) of stress tensors (…, 3, 3) (Pa, tension > 0 in σ):
    the largest compressive principal stress, 0 where none is compressive."""
    return np.maximum(-np.linalg.eigvalsh(0.5 * (sig + np.swapaxes(sig, -1, -2)))[..., 0], 0.0)


def compact(eps, R0, p, eps0, yield_pressure):
    """Heckel compaction of agglomerates in place: eps (n,) internal porosity, R0 (n,) envelope
    reference radius (m), p (n,) largest compressive principal stress (Pa), eps0 and
    yield_pressure (n,) per particle. ε ← min(ε, ε0 exp(−p/P_y)) (irreversible) and
    R0 ← R0 ((1 − ε_old)/(1 − ε_new))^(1/3) (solid volume conserved). Returns the new ε."""
    new = np.minimum(eps, heckel_porosity(p, eps0, yield_pressure))
    R0 *= np.cbrt((1.0 - eps) / (1.0 - new))
    eps[:] = new
    return new


def agglomerate_confinement(excess, V, eps, eps0, yield_pressure, p_max=np.inf):
    """p_c = min(P_y ln(ε0 / min(ε, ε_g)), p_max) (Pa, ≥ 0): the Heckel pressure that squeezing an
    agglomerate further needs. excess (n,) m³ the volume its caps cut beyond what it restores
    (≤ 0: none), V (n,) m³ its envelope volume, eps its internal porosity;
    ε_g = 1 − (1 − ε) V / (V − excess) the porosity its envelope in the cell would have;
    p_max (Pa) the cap (module docstring: the harder partner yields first)."""
    solid = (1.0 - eps) * V
    cell = np.maximum(V - np.maximum(excess, 0.0), solid)
    eps_g = 1.0 - solid / np.where(cell > 0.0, cell, 1.0)
    e = np.maximum(np.minimum(eps, eps_g), 1e-9 * np.maximum(eps0, 1e-300))
    return np.clip(yield_pressure * np.log(np.maximum(eps0, 1e-300) / e), 0.0, p_max)
