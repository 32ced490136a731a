"""dempack — discrete-element simulation of all-solid-state battery cathode powders.

Python API::

    import dempack
    sc = dempack.load_scenario("scenarios/press_se60mse.toml")
    sc.set("packing.particles", 500)
    res = dempack.run(sc, out_dir="results/press")
    res.timeseries["porosity"]
"""
from ._version import __version__

import os as _os

# numba's default TBB layer costs ~40 us per parallel loop here (DESIGN §7)
_os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")

from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402
from .materials import load_materials  # noqa: E402
from .io.checkpoint import CheckpointError  # noqa: E402


def run(scenario=None, out_dir=None, progress=False, threads=None):
    """Run a scenario (object, path, or None for quickstart); see dempack.runner.run."""
    from .runner import run as _run
    return _run(scenario, out_dir=out_dir, progress=progress, threads=threads)


def resume(out_dir, progress=False, threads=None):
    """Continue a run from its output folder's checkpoint."""
    from .runner import resume as _resume
    return _resume(out_dir, progress=progress, threads=threads)


def pores(run_dir, **kw):
    """Virtual in-situ SEM of a run folder: pores in a section of each snapshot, labelled and
    tracked (pores.csv, pores.json, PNGs) -> PoreResult; see dempack.analysis.pores.pores."""
    from .analysis.pores import pores as _pores
    return _pores(run_dir, **kw)


def run_sweep(sweep_file, out_dir, scheduler=None, workers=None, progress=False, **kw):
    """Run a parameter sweep on Dask (LocalCluster, or `scheduler`) → SweepResult (rows of
    sweep.csv); see dempack.sweep.run_sweep. (Named run_sweep: `dempack.sweep` is the module.)"""
    from .sweep import run_sweep as _run_sweep
    return _run_sweep(sweep_file, out_dir, scheduler=scheduler, workers=workers,
                      progress=progress, **kw)


__all__ = ["__version__", "Scenario", "ScenarioError", "CheckpointError", "load_scenario",
           "load_materials", "run", "resume", "run_sweep", "pores"]
