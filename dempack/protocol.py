"""Run protocol: an ordered list of stages, each an updater that drives the
punch (and, with the battery issue, the lithiation) and says when it is done.

PressStage: servo the punch to a target pressure at up to a maximum speed;
once the stress is within the tolerance, hold it for `hold_steps` steps; the
stage ends when the hold is over and the stress is still within tolerance
(or after `max_steps`, flagged as not reached).
"""
from __future__ import annotations

from .boundary import StressServo


class PressStage:
    kind = "press"

    def __init__(self, target: float, max_speed: float, hold_steps: int, tolerance: float,
                 max_steps: int):
        self.target = target
        self.max_speed = max_speed
        self.hold_steps = hold_steps
        self.tolerance = tolerance
        self.max_steps = max_steps
        self.servo = StressServo(target, max_speed)
        self.steps = 0
        self.held = 0

    @property
    def label(self) -> str:
        return f"press {self.target / 1e6:g} MPa"

    def update(self, sim) -> None:
        sim.box.punch_velocity = self.servo.velocity(sim.last_punch_stress, sim.box.z_top)

    def after_step(self, sim) -> None:
        self.steps += 1
        err = abs(self.servo.mean - self.target) / self.target
        if self.held > 0 or err < self.tolerance:
            self.held += 1

    def done(self, sim) -> bool:
        if self.steps >= self.max_steps:
            return True
        err = abs(self.servo.mean - self.target) / self.target
        return self.held >= self.hold_steps and err < self.tolerance and self.held > 0

    def reached(self) -> bool:
        return self.steps < self.max_steps

    def state(self) -> dict:
        return {"steps": self.steps, "held": self.held, "servo_mean": self.servo.mean}

    def load_state(self, st: dict) -> None:
        self.steps = st["steps"]
        self.held = st["held"]
        self.servo.mean = st["servo_mean"]
