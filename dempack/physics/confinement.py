"""Confinement pressure of over-compressed particles: the high-density correction
of the contact laws (DESIGN §4: "a high-density (multi-contact) correction may be
needed").

A pair contact law sees one overlap at a time. Where a particle is flattened from
many sides (dense packings, swelling inside a rigid skeleton, creep), its contact
caps can cut off more than its volume-conserving radius can restore, and the
packing would hide solid in overlaps. A real particle then carries a hydrostatic
pressure set by its bulk modulus. Each particle gets

    p_i = K_i ⟨V_cut,i − V_allow,i⟩ / V_i,        K = E / (3 (1 − 2ν)),

V_i its true volume V0 (1 + βc), V_cut,i the volume of its sphere outside its cell
(the union of its caps, dempack.physics.volume.removed_volumes) and V_allow,i the part
the particle restores by growing (numerics.max_cap_fraction · V_i for a
volume-conserving particle, else 0).

A superposed hydrostatic pressure does not make a solid yield or creep, so p_i acts
where flattening is decided:
* the contact's plastic limit (mean contact pressure H, dempack.integrate) becomes
  H + s_ij p_i + s_ji p_j, s the share of the flat each side makes
  (dempack.physics.volume.flattening_share) — indentation of a confined solid needs the
  confining pressure on top of its hardness;
* the Norton creep driver uses the particle's mean pressure p̄_i + p_i
  (dempack.physics.creep.creep_contacts).
A particle whose volume is used up therefore stops flattening; the load goes into
its elastic contacts, which push its neighbours (and the punch) away. Nothing stiff
is added to the force law, so the time step is unchanged.
(After the non-local contact idea of Gonzalez & Cuitiño, J. Mech. Phys. Solids 60
(2012) 333, doi:10.1016/j.jmps.2011.10.004, in its simplest form.)
"""
from __future__ import annotations

from numba import njit


def bulk_modulus(E: float, nu: float) -> float:
    """K = E / (3 (1 − 2ν)) (Pa), isotropic linear elasticity."""
    return E / (3.0 * (1.0 - 2.0 * nu))


@njit(cache=True)
def confinement_pressures(removed, allowance, V, K, out):
    """out[i] = K_i ⟨removed_i − allowance_i⟩ / V_i (Pa); volumes in m³, K in Pa."""
    for i in range(out.shape[0]):
        e = removed[i] - allowance[i]
        out[i] = K[i] * e / V[i] if e > 0.0 and V[i] > 0.0 else 0.0
