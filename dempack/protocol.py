"""Run protocol: an ordered list of stages, each an updater that drives the
punch (and, with the battery issue, the lithiation) and says when it is done.

- ServoStage: servo the punch to a target pressure at up to a maximum speed;
  once within tolerance, hold for `hold_steps`; done when the hold is over
  and the stress is still within tolerance (or after `max_steps`: not reached).
- DisplacementRateStage: punch at constant speed until a pressure or a step count.
- FixedGapStage: punch held still for a number of steps.
- SpringStage: spring fixture (stiffness + preload) for a number of steps.
"""
from __future__ import annotations

from .boundary import DisplacementRate, FixedGap, SpringFixture, StressServo


class Stage:
    kind = "stage"
    target = 0.0

    def __init__(self, max_steps: int):
        self.max_steps = max_steps
        self.steps = 0

    def update(self, sim) -> None:
        sim.box.punch_velocity = self.control.velocity(sim.last_punch_stress, sim.box.z_top)

    def after_step(self, sim) -> None:
        self.steps += 1

    def reached(self) -> bool:
        return self.steps < self.max_steps

    def state(self) -> dict:
        return {"steps": self.steps}

    def load_state(self, st: dict) -> None:
        self.steps = st["steps"]


class ServoStage(Stage):
    kind = "servo"

    def __init__(self, target, max_speed, hold_steps, tolerance, max_steps):
        super().__init__(max_steps)
        self.target = target
        self.hold_steps = hold_steps
        self.tolerance = tolerance
        self.control = StressServo(target, max_speed)
        self.held = 0

    @property
    def label(self) -> str:
        return f"press {self.target / 1e6:g} MPa"

    def _err(self):
        return abs(self.control.mean - self.target) / self.target

    def after_step(self, sim) -> None:
        self.steps += 1
        if self.held > 0 or self._err() < self.tolerance:
            self.held += 1

    def done(self, sim) -> bool:
        if self.steps >= self.max_steps:
            return True
        return self.held > 0 and self.held >= self.hold_steps and self._err() < self.tolerance

    def state(self):
        return {"steps": self.steps, "held": self.held, "servo_mean": self.control.mean}

    def load_state(self, st):
        self.steps, self.held, self.control.mean = st["steps"], st["held"], st["servo_mean"]


class DisplacementRateStage(Stage):
    kind = "displacement_rate"

    def __init__(self, speed, until_pressure, steps, max_steps):
        super().__init__(max_steps)
        self.control = DisplacementRate(speed)
        self.target = until_pressure
        self.n = steps

    @property
    def label(self) -> str:
        return (f"compress to {self.target / 1e6:g} MPa" if self.target
                else f"compress {self.control.speed:g} m/s")

    def done(self, sim) -> bool:
        if self.steps >= self.max_steps or (self.n and self.steps >= self.n):
            return True
        return bool(self.target) and sim.last_punch_stress >= self.target

    def reached(self) -> bool:
        return self.steps < self.max_steps


class FixedGapStage(Stage):
    kind = "fixed_gap"

    def __init__(self, steps):
        super().__init__(steps)
        self.control = FixedGap()

    @property
    def label(self) -> str:
        return "fixed gap"

    def done(self, sim) -> bool:
        return self.steps >= self.max_steps

    def reached(self) -> bool:
        return True


class SpringStage(Stage):
    kind = "spring"

    def __init__(self, stiffness, preload, max_speed, steps):
        super().__init__(steps)
        self.stiffness, self.preload, self.max_speed = stiffness, preload, max_speed
        self.control = None
        self.target = preload

    @property
    def label(self) -> str:
        return f"spring {self.preload / 1e6:g} MPa"

    def update(self, sim) -> None:
        if self.control is None:  # the spring is set at the punch height where the stage starts
            self.control = SpringFixture(self.stiffness, self.preload, sim.box.z_top, self.max_speed)
        super().update(sim)

    def done(self, sim) -> bool:
        return self.steps >= self.max_steps

    def reached(self) -> bool:
        return True

    def state(self):
        c = self.control
        return {"steps": self.steps, "z0": None if c is None else c.z0,
                "mean": None if c is None else c.mean}

    def load_state(self, st):
        self.steps = st["steps"]
        if st["z0"] is not None:
            self.control = SpringFixture(self.stiffness, self.preload, st["z0"], self.max_speed)
            self.control.mean = st["mean"]


def build_stages(scenario) -> list:
    """Stages of the scenario's [[pressing]] list, in SI."""
    out = []
    for s in scenario.pressing:
        if s.mode == "servo":
            out.append(ServoStage(s.si("pressure_MPa"), s.si("speed_m_per_s"), s.hold_steps,
                                  s.tolerance, s.max_steps))
        elif s.mode == "displacement_rate":
            out.append(DisplacementRateStage(s.si("speed_m_per_s"), s.si("pressure_MPa"), s.steps,
                                             s.max_steps))
        elif s.mode == "fixed_gap":
            out.append(FixedGapStage(s.steps))
        else:
            out.append(SpringStage(s.si("spring_stiffness_MPa_per_um"), s.si("spring_preload_MPa"),
                                   s.si("speed_m_per_s"), s.steps))
    return out
