"""Blocks of plain steps in numba (dempack.stepblock) take the same steps as
`Simulation.step` one by one: the same operations in the same order, so the same state.

The tolerance, 1e-9 relative (DESIGN §10: "bit for bit, or within 1e-9 relative where the
order of operations is kept"), leaves the compiler free to contract the kernel differently
where the block calls it; over these few thousand steps a reordered sum would show far
above it, and a step taken twice, skipped, or with the wrong punch velocity, at order one."""
import numba
import numpy as np
import pytest

from dempack import stepblock
from dempack.boundary import SpringFixture, StackServo, StressServo
from dempack.scenario import Scenario
from dempack.simulation import Simulation
from _build import scenario

pytestmark = pytest.mark.portability

RTOL = 1e-9


def _sc(materials, pressing, stack, threads=1, fracture=False):
    sc = scenario(materials, particles=70, pressing=pressing,
                  run={"output_interval_steps": 300, "max_overlap_ratio": 0.6, "threads": threads,
                       "snapshot_every_outputs": 0})
    d = sc.to_dict()
    d["cycling"] = {"cycles": 1, "c_rate": 1.0, "steps_per_half_cycle": 1200,
                    "volume_update_interval": 7}
    d["stack"] = stack
    if fracture:
        d["fracture"] = {"enabled": True}
    return Scenario(d, "test")


def _run(sc, blocks):
    sim = Simulation(sc)
    sim.blocks = blocks
    calls = [0]
    step = sim.step

    def counted():
        calls[0] += 1
        step()
    sim.step = counted
    sim.run()
    return sim, calls[0]


def _close(a, b, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(float(np.max(np.abs(a), initial=0.0)), 1e-300)
    assert np.allclose(a, b, rtol=RTOL, atol=RTOL * scale), what


CASES = {
    "servo press, spring stack": (("Se", "Mo6Se8"),
                                  [{"pressure_MPa": 50, "speed_m_per_s": 2.0, "hold_steps": 200}],
                                  {"mode": "spring", "pressure_MPa": 50,
                                   "spring_stiffness_MPa_per_um": 1.6, "speed_m_per_s": 5.0}),
    "rate press, gap, servo stack": (("Se", "Mo6Se8"),
                                     [{"mode": "displacement_rate", "speed_m_per_s": 2.0,
                                       "pressure_MPa": 40},
                                      {"mode": "fixed_gap", "steps": 500}],
                                     {"mode": "servo", "pressure_MPa": 30,
                                      "speed_m_per_s": 2.0}),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_take_the_steps_of_step_by_step(case, threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"needs {threads} numba threads")
    sc = _sc(*CASES[case], threads=threads)
    a, calls_a = _run(sc, blocks=False)
    b, calls_b = _run(_sc(*CASES[case], threads=threads), blocks=True)
    assert a.done and b.done
    assert a.step_count == b.step_count == calls_a
    # the blocks ran most steps: Python took the trigger points (an update every 7 steps,
    # a row every 300, the rebuilds, the half-cycle ends) and the first step
    assert calls_b < 0.5 * calls_a
    assert [r["stage"] for r in a.stage_results] == [r["stage"] for r in b.stage_results]
    assert [r["step"] for r in a.stage_results] == [r["step"] for r in b.stage_results]
    for name in ("x", "v", "w", "R", "lithiation", "confinement"):
        _close(getattr(a.particles, name), getattr(b.particles, name), name)
    _close([a.time, a.box.z_top, a.last_punch_stress], [b.time, b.box.z_top, b.last_punch_stress],
           "clocks")
    rows_a, rows_b = list(a.cycle_rows), list(b.cycle_rows)
    assert len(rows_a) == len(rows_b) == 2
    for ra, rb in zip(rows_a, rows_b):
        keys = [k for k in ra if isinstance(ra[k], float) and np.isfinite(ra[k])]
        _close([ra[k] for k in keys], [rb[k] for k in keys], f"cycles row {ra['half']}")


def test_a_fracture_run_takes_the_same_steps_in_blocks():
    """Fracture replaces particles at its trigger points; the blocks run between them."""
    case = (("FeS", "Mo6Se8"), [{"pressure_MPa": 60, "speed_m_per_s": 2.0, "hold_steps": 200}],
            {"mode": "servo", "pressure_MPa": 60, "speed_m_per_s": 2.0})
    a, _ = _run(_sc(*case, fracture=True), blocks=False)
    b, calls_b = _run(_sc(*case, fracture=True), blocks=True)
    assert a.step_count == b.step_count and calls_b < 0.5 * a.step_count
    assert a.particles.n == b.particles.n
    for name in ("x", "R", "generation"):
        _close(getattr(a.particles, name), getattr(b.particles, name), name)


@pytest.mark.parametrize("control", [StressServo(1e8, 2.0), StackServo(1e8, 2.0),
                                     SpringFixture(1.6e12, 1e8, 5e-5, 10.0)])
def test_packed_controller_follows_its_law_by_hand(control):
    """The one formula (boundary.punch_velocity) against the laws written out here:
    σ̄ ← σ̄ + α(σ − σ̄) (σ̄ = σ at the first call), e = (σ_t − σ̄)/(b σ_t),
    servo v = −v_max clip(e), PI: I ← clip(I + e/N_i), v = −v_max clip(e + I),
    spring σ_t = max(p0 + k (z − z0), 1 Pa)."""
    rng = np.random.default_rng(3)
    mean, integral = None, 0.0
    for _ in range(500):
        stress, z = rng.uniform(0.0, 2e8), rng.uniform(4.9e-5, 5.1e-5)
        mean = stress if mean is None else mean + control.alpha * (stress - mean)
        target = (max(control.preload + control.stiffness * (z - control.z0), 1.0)
                  if isinstance(control, SpringFixture) else control.target)
        e = (target - mean) / (control.band * target)
        if isinstance(control, StackServo):
            integral = min(1.0, max(-1.0, integral + e / control.integral_steps))
            want = -control.max_speed * min(1.0, max(-1.0, e + integral))
        else:
            want = -control.max_speed * min(1.0, max(-1.0, e))
        got = control.velocity(stress, z)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert control.mean == pytest.approx(mean, rel=1e-12)


def test_snapshots_at_half_cycle_fractions_fire_on_the_same_steps():
    """A snapshot at listed half-cycle fractions fires on a step's protocol events: the blocks
    stop short of each fraction, and the step that ends the pressing (the first half-cycle's
    fraction 0) is asked after its block, so the snapshots come on the same steps."""
    steps = {}
    for blocks in (False, True):
        sc = _sc(*CASES["servo press, spring stack"])
        sc.run.snapshot_at_half_cycle_fractions = [0.0, 0.25, 0.5, 1.0]
        sim = Simulation(sc)
        sim.blocks = blocks
        seen = steps[blocks] = []
        sim.snapshot_observers.append(lambda s: seen.append((s.step_count, s.stage_label)))
        sim.run()
    # 2 half-cycles × 4 fractions, the end of the first half-cycle and the start of the
    # second being one state
    assert len(steps[False]) == 7
    assert steps[True] == steps[False]


def test_no_block_where_an_operation_cannot_say_when_it_fires():
    """An operation whose trigger cannot say its next step (a custom trigger) allows no
    block: every step runs in Python."""
    from dempack.pipeline import Operation

    class EveryOddStep(Operation):
        def __init__(self):
            self.trigger = lambda step: step % 2 == 1
            self.seen = 0

        def act(self, sim):
            self.seen += 1

    sim = Simulation(_sc(*CASES["servo press, spring stack"]))
    sim.run(steps=10)
    assert stepblock.plain_steps_ahead(sim, 1000) > 0
    op = EveryOddStep()
    sim.updaters.append(op)
    assert stepblock.plain_steps_ahead(sim, 1000) == 0
    sim.run(steps=100)
    assert op.seen == 50
