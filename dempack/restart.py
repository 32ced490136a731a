"""A stopped run, set up to continue: the part of `dempack.resume` that comes before
the driver, for callers that drive the run themselves (the app's worker thread,
`gui/worker.py`, which needs pause and stop).

    sim, writers = restart("results/press")
    drive(sim, writers, control)          # dempack.drive: what dempack.resume runs

Semantics of `dempack.resume`: the scenario saved in the folder, the state of its
checkpoint.npz (`Simulation.from_checkpoint`, which refuses a checkpoint that is
not the folder's), and the writers continuing the folder's files from that step
(`OutputWriters(resume_step=...)`), so that the folder ends as an uninterrupted run
leaves it.
"""
from __future__ import annotations



def restart(out_dir, threads: int | None = None):
    """(Simulation, OutputWriters) continuing the run of `out_dir` from its checkpoint;
    threads: numba threads (default: the scenario's)."""
    from .io.rundir import RunFolder
    from .runner import OutputWriters
    from .scenario import load_scenario
    from .simulation import Simulation

    folder = RunFolder(out_dir)
    out = folder.path
    sc = load_scenario(folder.scenario_path)
    if threads is not None:
        sc.set("run.threads", threads)
    sim = Simulation.from_checkpoint(sc, folder.checkpoint_path, out_dir=out)
    # the rows up to the checkpoint stay in timeseries.csv and cycles.csv (the writers
    # keep them and stream on): nothing of them is read into memory
    return sim, OutputWriters(sim, out, resume_step=sim.step_count)
