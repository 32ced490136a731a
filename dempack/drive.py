"""The one driver of a run, shared by the CLI and the Python API (`dempack.run`,
`dempack.resume`), sweeps (which call `dempack.run` per case) and the app's worker
thread (`gui/worker.py`, which adds only the Qt signal plumbing).

`run_steps(sim, steps)` (`Simulation.run`) is the plain loop of steps and computes.
`drive(sim, writers, control)` runs the Simulation to the end of its protocol (or
`run.max_steps`) in chunks of about `control.chunk_seconds` of wall time. Between
chunks it honours the control's pause and stop (set from any thread), reports its
state through `control.on_state(name, message)` and advances the progress bar. At
the end it leaves the run folder complete (`writers.finish()`), or, when stopped or
interrupted (Ctrl-C), resumable: a checkpoint and a summary of what ran
(`writers.interrupted()`). Chunking never changes results: the Simulation decides
on which steps it observes from its step count alone.

States reported: compiling, running, paused, finished, stopped.
"""
from __future__ import annotations

import math
import threading
import time

from .stepblock import BLOCK_STEPS, plain_steps_ahead, run_block


class RunControl:
    """Commands to a running `drive()` from any thread (pause, resume, stop: each only
    sets a thread-safe flag; stop also asks the Simulation to stop at its next step),
    and where the driver reports its state: on_state(name, message).

    chunk_seconds (s): wall time of one chunk of steps between two looks at the flags."""

    def __init__(self, on_state=None, chunk_seconds: float = 0.5):
        self.on_state = on_state
        self.chunk_seconds = chunk_seconds
        self.state = "idle"
        self.steps_per_s = 0.0
        self._pause = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._sim = None

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        sim = self._sim
        if sim is not None:
            sim.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def report(self, name: str, message: str = "") -> None:
        self.state = name
        if self.on_state is not None:
            self.on_state(name, message)

    def wait_while_paused(self, on_pause=None) -> None:
        """Block (in 50 ms naps) while paused and not stopped; on_pause() runs once
        when the pause begins."""
        if not self.paused:
            return
        if on_pause is not None:
            on_pause()
        self.report("paused", f"paused at step {self._sim.step_count}" if self._sim else "paused")
        while self.paused and not self.stopped:
            self._wake.wait(0.05)
            self._wake.clear()


def _progress_bar(sim):
    from tqdm import tqdm
    return tqdm(total=None, unit="step", dynamic_ncols=True, mininterval=1.0,
                initial=sim.step_count)


def drive(sim, writers=None, control: RunControl | None = None, progress: bool = False,
          on_pause=None) -> None:
    """Run `sim` to the end of its protocol (see the module docstring). writers:
    `dempack.runner.OutputWriters` or None; control: RunControl or None (no pause or
    stop from outside); progress: a tqdm bar on stderr; on_pause(): called when a pause
    begins (the app flushes its last frame there)."""
    control = control or RunControl()
    control._sim = sim
    if control.stopped:
        sim.stop()
    bar = _progress_bar(sim) if progress else None
    max_steps = sim.scenario.run.max_steps
    try:
        control.report("compiling", "compiling numba kernels (first run only; cached after)")
        sim.run(steps=1)
        control.report("running")
        chunk = 10
        while not sim.done and not sim.stopped and not control.stopped:
            if max_steps and sim.step_count >= max_steps:
                break
            if control.paused:
                control.wait_while_paused(on_pause)
                if not control.stopped:
                    control.report("running")
                continue
            t0 = time.perf_counter()
            s0 = sim.step_count
            sim.run(steps=chunk)
            dt = time.perf_counter() - t0
            done = sim.step_count - s0
            if done > 0 and dt > 0:
                rate = done / dt
                control.steps_per_s = (rate if control.steps_per_s == 0
                                       else 0.7 * control.steps_per_s + 0.3 * rate)
                chunk = int(min(max(control.steps_per_s * control.chunk_seconds, 1), 100_000))
            if bar is not None:
                _update_bar(bar, sim)
    except KeyboardInterrupt:
        if writers is not None:
            writers.interrupted()
        raise
    finally:
        if bar is not None:
            _update_bar(bar, sim)
            bar.close()
    # the protocol's end or run.max_steps is a finished run; a stop leaves it resumable
    finished = sim.done or bool(max_steps and sim.step_count >= max_steps)
    if writers is not None:
        if finished:
            writers.finish()
        else:
            writers.interrupted()
    control.report("finished" if finished else "stopped",
                   f"{'finished' if finished else 'stopped'} at step {sim.step_count}")


def _update_bar(bar, sim) -> None:
    bar.update(sim.step_count - bar.n)
    if sim.history:
        row = sim.history[-1]
        bar.set_postfix_str(f"{sim.stage_label} | p {row['punch_stress_Pa'] / 1e6:6.1f} MPa"
                            f" | porosity {row['porosity']:.3f}", refresh=False)


def run_steps(sim, steps: int | None = None) -> None:
    """`Simulation.run`: run the protocol to its end (or `steps` more steps, or to
    run.max_steps), observing every output interval, with the run's numba thread count.
    Returns early if `sim.stop()` is called from an observer. Runs with writers, a
    progress bar, pause and stop: `drive`, which calls this in chunks."""
    max_steps = sim.scenario.run.max_steps
    end = None if steps is None else sim.step_count + steps
    t0 = time.perf_counter()
    import numba
    threads_before = numba.get_num_threads()
    numba.set_num_threads(sim.thread_count())
    if sim.step_count == 0 and not sim.history:
        sim.observe()
        if sim.out_dir is not None:  # a good checkpoint from the start (safety.diverged)
            sim.write_checkpoint()
    try:
        while not sim.done and not sim.stopped:
            left = math.inf if end is None else end - sim.step_count
            if max_steps:
                left = min(left, max_steps - sim.step_count)
            if left <= 0:
                break
            # the plain steps before the next trigger point in one numba call (stepblock);
            # the step after it, and any step a block cannot take, step by step
            plain = plain_steps_ahead(sim, int(min(left, BLOCK_STEPS))) if sim.blocks else 0
            if plain > 0 and run_block(sim, plain) > 0:
                # after the block's last step, as after any step: a compute on the protocol's
                # events (a stage ended, the next one began) or its end (the last row)
                for op in sim.computes:
                    if (sim.done and op.at_end) or op.trigger(sim.step_count):
                        op.act(sim)
                continue
            sim.step()
            for op in sim.computes:  # and a last row when the protocol ends
                if (sim.done and op.at_end) or op.trigger(sim.step_count):
                    op.act(sim)
    finally:
        numba.set_num_threads(threads_before)
        sim.wall_clock += time.perf_counter() - t0
