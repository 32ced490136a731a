"""The one driver (dempack.drive): chunking changes no result; stop and pause from
another thread; a stopped run leaves its folder resumable."""
import json
import threading

import numpy as np

import dempack
from dempack.drive import RunControl, drive
from dempack.runner import OutputWriters
from dempack.simulation import Simulation


def _sc(quickstart, tiny_overrides):
    return dempack.load_scenario(quickstart, tiny_overrides)


def test_driving_in_tiny_chunks_gives_the_same_run_as_one_call(quickstart, tiny_overrides):
    a = Simulation(_sc(quickstart, tiny_overrides))
    a.run()
    b = Simulation(_sc(quickstart, tiny_overrides))
    states = []
    control = RunControl(on_state=lambda name, msg: states.append(name), chunk_seconds=1e-4)
    drive(b, control=control)
    assert a.done and b.done and a.step_count == b.step_count
    assert np.array_equal(a.particles.x, b.particles.x)
    assert [r["step"] for r in a.history] == [r["step"] for r in b.history]
    assert [r["porosity"] for r in a.history] == [r["porosity"] for r in b.history]
    assert states[0] == "compiling" and states[-1] == "finished" and "running" in states


def test_stop_from_another_thread_leaves_a_resumable_folder(quickstart, tiny_overrides, tmp_path):
    sc = _sc(quickstart, tiny_overrides)
    sc.save(tmp_path / "scenario.toml")
    sim = Simulation(sc, out_dir=tmp_path)
    writers = OutputWriters(sim, tmp_path)
    states = []
    control = RunControl(on_state=lambda name, msg: states.append(name), chunk_seconds=0.01)
    control.pause()  # paused from the start: the driver waits after its first step
    t = threading.Thread(target=drive, args=(sim, writers, control))
    t.start()
    deadline = threading.Event()
    for _ in range(200):  # wait until the pause took effect
        if "paused" in states:
            break
        deadline.wait(0.05)
    assert "paused" in states
    paused_at = sim.step_count
    deadline.wait(0.2)
    assert sim.step_count == paused_at  # a paused run does not step
    control.stop()
    t.join(10)
    assert not t.is_alive()
    assert states[-1] == "stopped" and not sim.done
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["completed"] is False and summary["steps"] == sim.step_count
    res = dempack.resume(tmp_path)
    assert res.sim.done and res.summary["completed"] is True
