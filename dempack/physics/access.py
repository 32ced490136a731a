"""Electrochemical access (utilisation) of poorly conducting active particles (issue 16).

Se and Li2Se conduct Li poorly, so a Se particle reacts only where Li can reach it within a
half-cycle: the part of its volume within a diffusion length of its *source contacts*.

Diffusion length over a half-cycle of duration t_half (s):
    L_D = √(D t_half)                                                           (m)
with D (m²/s) the material's ``lithium_diffusivity_m2_s`` (assets/materials.toml, with its
source) and t_half = 1 / C-rate the physical duration of a full half-cycle at the protocol's rate
(10 h at 0.1 C; the same on discharge and charge).

Contact-patch model. A contact spot of radius a on a particle reaches the points within L_D of
the spot. For a, L_D ≪ R the surface is a plane and that region is half of the Minkowski sum of a
disk and a ball (Steiner's formula for a flat disk, S = 2πa², mean-curvature integral π² a):
    V_patch(a, L) = π a² L + (π²/2) a L² + (2/3) π L³                           (m³)
(a cylinder under the spot, half a torus round its rim by Pappus, a hemisphere at its ends; a point
contact, a = 0, reaches a hemisphere of radius L). The reachable fraction of particle i is
    f_i = min(1, Σ_k V_patch(a_k, L_D) / (4/3 π R_i³))
over its source contacts k: patches are added without removing their overlaps, so f is an upper
bound that the clip to 1 keeps a fraction. When the spots cover the whole surface (Σ π a² = 4πR²)
the a² terms add up to the shell 4πR² L_D, the first-order term of the shell model
f = 1 − (1 − L_D/R)³: the two closed forms agree where both hold.

Source contacts (the carriers' way in). In a mixed conductor (Mo6Se8 in Se-60MSe: σ_e 32–154 S/cm,
D_Li 1e-8–1e-10 cm²/s, DESIGN §4) both Li⁺ and e⁻ arrive, much faster than they move on in Se/Li2Se.
A source contact is one with
  - a particle of an ion-conducting material that is connected to the separator through ion
    conductors (``transport`` connectivity), or
  - the top punch (the separator itself),
and the particle counts only if it is also electronically wired (touches an electron conductor that
reaches the current collector, or the collector itself): Se's own σ_e (≈1e-3 S/cm) moves electrons
to the reaction front faster than Li diffuses, so the ion contacts set the reach (assumed; in
Se-60MSe every source is a mixed conductor, where the distinction does not arise). Contacts between
two active particles (Se–Se) are not sources: Li would have to diffuse through both. A particle
of a mixed-conducting active material (both flags) is reached through its whole volume (f = 1)
when it is connected both ways, else f = 0.

Contact radii are the geometric ones of ``transport.contact_graph`` (the intersection circle;
a flat made by creep or plasticity: DESIGN §2).
"""
from __future__ import annotations

import math

import numpy as np


def diffusion_length(D: float, t: float) -> float:
    """L_D = √(D t) (m) for a diffusivity D (m²/s) over a time t (s)."""
    if D < 0.0 or t < 0.0:
        raise ValueError(f"diffusion_length needs D >= 0 and t >= 0, got D={D!r}, t={t!r}")
    return math.sqrt(D * t)


def patch_volume(a, L):
    """V = π a² L + (π²/2) a L² + (2/3) π L³ (m³): the half-space points within L (m) of a
    contact spot of radius a (m) (module docstring: half the Minkowski sum of a disk and a ball)."""
    a = np.asarray(a, float)
    L = np.asarray(L, float)
    return np.pi * a * a * L + 0.5 * np.pi ** 2 * a * L * L + 2.0 / 3.0 * np.pi * L ** 3


def reachable_fraction_of(R, a, L):
    """f = min(1, Σ V_patch(a_k, L) / (4/3 π R³)) of one particle of radius R (m) whose source
    contacts have radii a (m, array), diffusion length L (m)."""
    return float(min(1.0, float(np.sum(patch_volume(a, L))) / (4.0 / 3.0 * np.pi * R ** 3)))


def reachable_fractions(sim, L_D) -> np.ndarray:
    """Reachable fraction f_i (N,) of every particle (module docstring) for diffusion lengths
    L_D (N,) m (per particle; only active particles that are not mixed conductors use theirs).
    Non-active and dead particles get 0."""
    from ..transport import _connected, contact_graph
    ps = sim.particles
    n = ps.n
    i, j, a = contact_graph(sim)
    e_ok = _connected(sim, "electronic", i, j)
    ion_ok = _connected(sim, "ionic", i, j)
    mats = sim.materials
    ion_cond = np.array([m.ion_conductor for m in mats], bool)[ps.material]
    e_cond = np.array([m.electron_conductor for m in mats], bool)[ps.material]
    active = sim.active_material[ps.material] & ps.alive
    # a source: an ion conductor connected to the separator (conductors flagged connected
    # by transport only when they lie in the separator's component), or the top punch
    src = np.zeros(n + 2, bool)
    src[:n] = ion_cond & ion_ok & ps.alive
    src[n + 1] = True
    vol = np.zeros(n + 2)
    L = np.asarray(L_D, float)
    for u, v in ((i, j), (j, i)):           # each edge seen from both ends
        use = (u < n) & src[v]
        uu = u[use]
        np.add.at(vol, uu, patch_volume(a[use], L[uu]))
    f = np.minimum(1.0, vol[:n] / (4.0 / 3.0 * np.pi * ps.R ** 3))
    mixed = ion_cond & e_cond
    f = np.where(mixed, 1.0, f)
    f = np.where(active & e_ok & (ion_ok | ~mixed), f, 0.0)
    return f
