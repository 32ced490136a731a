"""The physics of a battery electrode beyond the contact law, one module per physics:

    swelling.py      lithiation swelling, V = V0 (1 + β c)
    creep.py         Norton creep of the contact flats
    volume.py        volume conservation: the radius whose sphere minus its contact caps
                     holds the true volume (the flattened material goes into the pores)
    confinement.py   the confinement pressure of a particle whose volume is used up
    fracture.py      Weibull strength, failure test, fragments
    access.py        electrochemical access: the share of a particle within a diffusion
                     length L_D = √(D t_half) of its ion-source contacts (contact-limited
                     lithiation rule of `dempack.protocol`)

Each is called by the Simulation's updaters (`dempack.simulation`), on the physical clock
of the cycling protocol (`dempack.protocol`).
"""
