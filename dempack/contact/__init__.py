"""Contact laws, one part per file, composed into one compiled pair kernel.

    hertz.py     normal: Hertz on the elastic overlap
    plastic.py   normal, inelastic: the plastic limit (hardness) and its flat
    damping.py   viscous damping from a restitution coefficient
    mindlin.py   tangential: Mindlin spring with history and Coulomb limit
    rolling.py   rolling resistance (constant directional torque)
    law.py       the composition: `pair_law`, `wall_law` (slots switched off compile out)
    state.py     the contact's geometry (overlap, normal, elastic overlap, lever arms, radical
                 plane): `contact_state`, `wall_state`, one formula for the kernel and the readers
    tables.py    per material-pair constants and the flat law table the kernels read

The parts and their composition are numba functions; the loops over pairs and particles
that call them are `dempack.integrate`. Creep of a flat is a physics updater
(`dempack.physics.creep`), not a force part: it grows the flat between steps.
"""
from .damping import damping_coefficient
from .plastic import NO_HARDNESS, plastic_contact
from .tables import (LAW_CB, LAW_COLS, LAW_E, LAW_H, LAW_KT, LAW_MU, LAW_MUR, LAW_RT,
                     ContactTables, effective_modulus, effective_shear_modulus, law_table)

__all__ = ["NO_HARDNESS", "LAW_CB", "LAW_COLS", "LAW_E", "LAW_H", "LAW_KT", "LAW_MU", "LAW_MUR",
           "LAW_RT", "ContactTables", "damping_coefficient", "effective_modulus",
           "effective_shear_modulus", "law_table", "plastic_contact"]
