"""Run folders for the replay tests (tests/test_rundir.py, tests/test_gui_results.py):
a tiny cycling run, and the same run stopped part-way as the app's Stop leaves it."""
from __future__ import annotations

import numpy as np

import dempack
from dempack.scenario import DEFAULT_SCENARIO

# added to conftest's TINY_OVERRIDES: a snapshot every 2 rows, one short cycle under a
# 5 MPa stack servo (about 38,000 steps of 60 particles: a few seconds)
CYCLING = {"run.snapshot_every_outputs": 2, "cycling.cycles": 1,
           "cycling.steps_per_half_cycle": 400, "stack.pressure_MPa": 5,
           "stack.speed_m_per_s": 1.0}
STOP_AT = 10_000   # a multiple of the output interval (200), in the pressing stage


def cycling_scenario(tiny_overrides):
    return dempack.load_scenario(DEFAULT_SCENARIO, {**tiny_overrides, **CYCLING})


def finished_run(out, tiny_overrides, seed: int = 1):
    """The tiny cycling run, finished, in `out` (as `dempack run --out`), with run.seed."""
    dempack.run(dempack.load_scenario(DEFAULT_SCENARIO, {**tiny_overrides, **CYCLING,
                                                         "run.seed": seed}), out_dir=out)
    return out


def stopped_run(out, tiny_overrides, stop_at: int = STOP_AT):
    """The cycling run stopped at `stop_at` as a stopped run leaves its folder
    (OutputWriters.interrupted: checkpoint and summary, `completed: false`)."""
    from dempack.runner import OutputWriters
    from dempack.simulation import Simulation

    sc = cycling_scenario(tiny_overrides)
    out.mkdir(parents=True)
    sc.save(out / "scenario.toml")
    sim = Simulation(sc, out_dir=out)
    writers = OutputWriters(sim, out)
    sim.run(steps=stop_at)
    writers.interrupted()
    assert not sim.done
    return out


def vtp_points(path) -> tuple[np.ndarray, np.ndarray]:
    """(points, radius) of a .vtp read independently of dempack.io.rundir (vtk's generic
    XML reader and its numpy dataset adapter)."""
    from vtkmodules.numpy_interface.dataset_adapter import WrapDataObject
    from vtkmodules.vtkIOXML import vtkXMLGenericDataObjectReader

    r = vtkXMLGenericDataObjectReader()
    r.SetFileName(str(path))
    r.Update()
    d = WrapDataObject(r.GetOutput())
    return np.array(d.Points), np.array(d.PointData["radius"])


def rve2d_run(out, particles: int, steps_per_half_cycle: int, press_steps: int,
              hold_steps: int, snapshot_every: int, **more):
    """A small 2D RVE run (scenarios/rve2d_se60mse.toml: grown, one cycle, an output every
    500 steps) written by `dempack.run` into `out`; `more`: further overrides."""
    sc = dempack.load_scenario("scenarios/rve2d_se60mse.toml")
    sc.set_many({"packing.particles": particles, "cycling.cycles": 1,
                 "cycling.steps_per_half_cycle": steps_per_half_cycle,
                 "run.output_interval_steps": 500, "run.snapshot_every_outputs": snapshot_every,
                 "pressing.0.steps": press_steps, "pressing.0.hold_steps": hold_steps, **more})
    dempack.run(sc, out_dir=out)
    return out
