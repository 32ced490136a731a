"""The physics of a battery electrode beyond the contact law, one module per physics:

    swelling.py      lithiation swelling, V = V0 (1 + β c)
    creep.py         Norton creep: of each particle mapped onto its flats, or of the
                     contact flats (similarity-solution law)
    volume.py        volume conservation: the radius whose sphere minus its contact caps
                     holds the true volume (the flattened material goes into the pores)
    confinement.py   the confinement pressure of a particle whose volume is used up
    agglomerate.py   porous agglomerates: Heckel compaction, their confinement
    plane_strain.py  the 2D mode's plane-strain bookkeeping (true area, σ_yy, K_ps, the
                     Se → Li2Se interpolation)
    fracture.py      Weibull strength, failure test, fragments
    access.py        electrochemical access: the share of a particle within a diffusion
                     length L_D = √(D t_half) of its ion-source contacts (contact-limited
                     lithiation rule of `dempack.protocol`)
    updates.py       the creep and volume updaters of a Simulation, which call the above:
                     creep_step, compact_agglomerates, update_radii, make_stress_free

Each is called by the Simulation's updaters (`dempack.pipeline`, through
`physics.updates`), on the physical clock of the cycling protocol (`dempack.protocol`).
"""
