"""Exact resume of fracture runs after SIGKILL (issue 18, item 4).

`dempack run` is killed with SIGKILL at a random moment after its first checkpoint
exists, then continued with `dempack run --resume DIR`; its timeseries.csv, cycles.csv
and breakage.csv must equal, byte for byte, those of an uninterrupted run of the same
scenario (same seed, one thread). Breakage draws strengths and fragment orientations
from the run's random stream and gives fragments new pids, so this holds only if the
checkpoint carries the stream, the pid counter and the breakage log (and nothing in a
run depends on state that is not in the checkpoint).

Both shipped fracture cases, shortened so that particles break within a few thousand
steps (about a second each on one core):
- cycle_fes60mse: 60 particles pressed straight to the 100 MPa stack pressure, one
  cycle of 1000 steps per half-cycle; FeS breaks as it swells against the Mo6Se8;
- crush_many: a 4 x 4 layer of LiCoO2 crushed at twice the plate speed for 10,000 steps.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dempack
from dempack.io.tables import read_csv
from dempack.scenario import SCENARIO_DIR, Scenario, load_scenario

pytestmark = pytest.mark.portability

REPO = Path(dempack.__file__).resolve().parents[1]


def fes_cycling() -> Scenario:
    sc = load_scenario(SCENARIO_DIR / "cycle_fes60mse.toml", {
        "packing.particles": 60, "run.threads": 1,
        "run.output_interval_steps": 200, "run.snapshot_every_outputs": 0,
        "run.checkpoint_every_outputs": 2, "stack.pressure_MPa": 100,
        "cycling.cycles": 1, "cycling.steps_per_half_cycle": 1000,
        "fracture.check_interval_steps": 10})
    d = sc.to_dict()
    d["pressing"] = [{"pressure_MPa": 100, "speed_m_per_s": 10.0, "hold_steps": 200}]
    return Scenario(d, "cycle_fes60mse (shortened)")


def crush_layer() -> Scenario:
    return load_scenario(SCENARIO_DIR / "crush_many.toml", {
        "packing.particles": 16, "run.threads": 1, "run.snapshot_every_outputs": 0,
        "run.output_interval_steps": 250, "run.checkpoint_every_outputs": 2,
        "pressing.0.steps": 10_000, "pressing.0.speed_m_per_s": 0.1})


CASES = {"cycle_fes60mse": fes_cycling, "crush_many": crush_layer}
OUTPUTS = ("timeseries.csv", "cycles.csv", "breakage.csv")


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "dempack.cli", "run", *args, "--threads", "1", "--quiet"]


def env() -> dict:
    """The subprocess imports this checkout's dempack (not another installed one)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_at_random(cmd, out: Path, rows: int, log: Path, rng: random.Random) -> str:
    """Start `cmd`, wait for its first checkpoint and for `rows` rows of timeseries.csv,
    sleep 0-20 ms and SIGKILL it. Returns a description of when (for messages)."""
    with log.open("w") as f:
        p = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not ((out / "checkpoint.npz").is_file() and lines(out / "timeseries.csv") > rows):
            if p.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        delay = rng.uniform(0.0, 0.02)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
    finally:
        rc = p.wait()
    assert rc == -signal.SIGKILL, (f"the run ended (rc {rc}) before it was killed after "
                                   f"{rows} rows:\n{log.read_text()}")
    return f"killed {delay * 1e3:.1f} ms after row {rows}"


@pytest.mark.parametrize("case", CASES)
def test_kill_and_resume_reproduces_fracture_run(case, tmp_path):
    sc = CASES[case]()
    path = tmp_path / f"{case}.toml"
    sc.save(path)
    # A: uninterrupted (in this process; it also compiles the kernels for the CLI runs)
    a = dempack.run(load_scenario(path), out_dir=tmp_path / "A", threads=1)
    events = a.sim.fracture.log
    assert len(events) >= 5, "the shortened case must break particles"
    assert a.sim.particles.n > sc.packing.particles  # fragments were added
    every = sc.run.output_interval_steps
    # B: killed at a random moment between the first breakage and the end, then resumed
    rng = random.Random()
    first_row = events[0]["step"] // every
    last_row = a.sim.step_count // every - 6   # leaves ~1000 steps after the kill point
    rows = rng.randint(max(first_row, 3), last_row)
    b = tmp_path / "B"
    when = kill_at_random(cli(str(path), "--out", str(b)), b, rows, tmp_path / "b.log", rng)
    done = subprocess.run(cli("--resume", str(b)), cwd=REPO, env=env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{when}: resume failed\n{done.stdout}\n{done.stderr}"
    for name in OUTPUTS:
        fa, fb = tmp_path / "A" / name, b / name
        if name == "cycles.csv" and sc.cycling.cycles == 0:
            assert not fa.exists() and not fb.exists()
            continue
        assert fa.read_bytes() == fb.read_bytes(), f"{case}, {when}: {name} differs"
    # the breakage file is the log: one row per event, fragment pids above the initial ones
    log = read_csv(b / "breakage.csv")
    assert len(log["step"]) == len(events)
    assert np.array_equal(log["pid"].astype(int), [e["pid"] for e in events])
    assert np.array_equal(log["stress_Pa"], [e["stress_Pa"] for e in events])


def test_checkpoint_holds_breakage_log_pid_counter_and_random_stream(tmp_path):
    """In memory: a Simulation rebuilt from a checkpoint has the same breakage log,
    pid counter and random-generator state as the one that wrote it."""
    from dempack.simulation import Simulation
    sim = Simulation(crush_layer())
    while len(sim.fracture.log) < 3:
        sim.run(steps=500)
    path = sim.write_checkpoint(tmp_path / "checkpoint.npz")
    back = Simulation.from_checkpoint(sim.scenario, path)
    assert back.fracture.log == sim.fracture.log
    assert back.fracture.next_pid == sim.fracture.next_pid == int(sim.particles.pid.max()) + 1
    assert back.rng.bit_generator.state == sim.rng.bit_generator.state
    assert back.fracture.state() == sim.fracture.state()
