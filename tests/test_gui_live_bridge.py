"""dempack.live: the Qt-free bridge the app feeds on (no Qt needed here)."""
from types import SimpleNamespace

import numpy as np
import pytest

from dempack.live import LiveBridge, cycle_position, remaining_steps
from dempack.protocol import CyclingStage
from dempack.scenario import load_scenario
from dempack.simulation import Simulation


@pytest.fixture
def tiny_sim(quickstart, tiny_overrides):
    return Simulation(load_scenario(quickstart, tiny_overrides))


def test_bridge_forwards_every_row_and_copies_arrays(tiny_sim):
    frames = []
    bridge = LiveBridge(frames.append, max_hz=1e9).attach(tiny_sim)
    tiny_sim.run(steps=1000)
    # every output row reached the callback, in order, with the engine's values
    rows = [r for f in frames for r in f.rows]
    assert [r["step"] for r in rows] == [r["step"] for r in tiny_sim.history]
    assert [r["porosity"] for r in rows] == [r["porosity"] for r in tiny_sim.history]
    last = frames[-1]
    ps = tiny_sim.particles
    assert last.status["step"] == tiny_sim.step_count == 1000
    np.testing.assert_array_equal(last.arrays["x"], ps.x[ps.alive])
    assert not np.shares_memory(last.arrays["x"], ps.x)
    before = last.arrays["x"].copy()
    tiny_sim.run(steps=200)          # the engine moves on: the frame must not change
    np.testing.assert_array_equal(last.arrays["x"], before)
    assert bridge.frames_sent == len(frames)


def test_bridge_throttles_but_loses_no_row(tiny_sim):
    frames = []
    bridge = LiveBridge(frames.append, max_hz=1e-3).attach(tiny_sim)  # one frame per 1000 s
    tiny_sim.run(steps=1000)
    assert len(frames) == 1                  # only the first row went out at once
    bridge.flush(tiny_sim)
    assert len(frames) == 2
    rows = [r for f in frames for r in f.rows]
    assert [r["step"] for r in rows] == [r["step"] for r in tiny_sim.history]


def test_cycle_position_and_remaining_steps():
    # 3 cycles, c_res 0.22, 1000 steps per 0->1 half; second half-cycle (charge),
    # c = 0.61: half-way from 1 down to 0.22 -> 0.5 * (1 + 0.5) = 0.75 cycles done
    cyc = CyclingStage(3, 0.1, 0.22, 0.0, 1000, 0.0, ("servo", 1e8, 0.0, 1.0))
    cyc.started, cyc.half, cyc.c = True, 1, 0.61
    sim = SimpleNamespace(stage=cyc, stages=[cyc], stage_index=0, done=False,
                          scenario=SimpleNamespace(cycling=SimpleNamespace(initial_lithiation=0.0)))
    cycle, half, x = cycle_position(sim)
    assert (cycle, half) == (1, "charge")
    assert x == pytest.approx(0.75)
    # 6 - 1.5 half-cycles left, each (1 - 0.22) * 1000 steps
    assert remaining_steps(sim) == int(4.5 * 780)
    # first discharge from c0 = 0 at c = 0.25: a quarter of a half-cycle
    cyc.half, cyc.c = 0, 0.25
    assert cycle_position(sim)[2] == pytest.approx(0.125)


def test_bridge_refuses_a_bad_rate():
    with pytest.raises(ValueError, match="max_hz"):
        LiveBridge(print, max_hz=0)
