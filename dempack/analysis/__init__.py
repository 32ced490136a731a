"""Analyses of finished (or running) runs: what is computed from a run folder's outputs
after the fact, not during the run (`dempack.observe` is the live one).

- `pores`: the virtual in-situ SEM: pores in a section, labelled and tracked from
  snapshot to snapshot (`dempack pores RUN_DIR`, `dempack.pores(run_dir)`).
"""
