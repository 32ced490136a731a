"""Every shipped scenario finishes (issue 18.7), shortened so that CI can afford it.

Each file in scenarios/ (a new one is picked up by itself) runs to the end of its
protocol through `dempack.run` into a run folder, shortened by one rule for all:

- at most 60 particles (16 for a one-layer crush, whose die is sized by its count);
- pressing holds of at most 300 steps; one cycle of at most 1000 steps per half-cycle;
- mass scaling ×4 (`numerics.density_scaling`, the dt grows ×2, so the punch's approach
  takes half the steps); an output row every 1000 steps, no VTK snapshots; one thread.

A full set is ~60k steps per scenario, most of them the punch closing the loose bed;
the file stays around a minute on two busy cores.

Asserted for each: the run completes (`completed` true in the returned summary and in
summary.json, read as strict JSON), every pressing stage reached its target before its
step limit, no value is NaN where it is defined, and no warning is logged but the one
that shortening itself causes (below).

NaN where a value is defined: a tortuosity is undefined (NaN) where its conduction
network does not percolate (σ_eff = 0, `transport.tortuosity_factor`), the inertial
number where the punch carries no stress, and the stack target and deviation where the
punch has no stress target (a displacement-rate, fixed-gap or grow stage, cycling in a
fixed gap or box, and the last row when such a stage ended the protocol); any other NaN in
timeseries.csv or cycles.csv fails.

The one warning allowed, the inertial number above 1e-3: I = γ̇ d √(ρ/p) with γ̇ = v/h.
Shortened, the bed is (400/60)^(1/3) ≈ 1.9 to (2000/60)^(1/3) ≈ 3.2 times thinner at the
same punch speed v (γ̇ that much larger), and the mass scaling ×4 multiplies √ρ by 2;
while cycling, the punch follows the swelling, whose rate per step grows as the steps per
half-cycle fall (up to ×12 here). A run that is quasi-static at its full size (I ≤ 1e-3,
benchmarks/run_scenarios.py checks the shipped defaults) is not once shortened, and says
so (measured: I = 0.002–0.03 in the shortened runs). Any other warning fails.

press_se50se10sp runs all three stages: its 360 MPa divergence (a dense Super P sphere wedged
between electrolyte particles, held by the bulk modulus of carbon) is gone with the porous
agglomerate model of issue 16 (dempack.physics.agglomerate).

A sweep file runs one of its cases, the one with the highest pressure and the most Se
(sweep_se_fraction: 360 MPa, 60 wt% Se; the hardest to press).
"""
from __future__ import annotations

import json
import logging
import math
import tomllib

import numpy as np
import pytest

import dempack
from dempack.scenario import SCENARIO_DIR, Scenario, load_scenario

FILES = sorted(SCENARIO_DIR.glob("*.toml"))
MAX_PARTICLES = 60
MAX_LAYER = 16
MAX_HOLD = 300
MAX_STEPS_PER_HALF = 1000
ALLOWED = ("inertial number I = ",)
# stages left out (see the module docstring): stem -> number of [[pressing]] stages run
STAGES_RUN: dict[str, int] = {}


def shorten(sc: Scenario, stem: str) -> Scenario:
    """The module docstring's rule applied to a loaded scenario."""
    d = sc.to_dict()
    d["run"].update({"threads": 1, "snapshot_every_outputs": 0, "output_interval_steps": 1000,
                     "checkpoint_every_outputs": 20, "max_steps": 0})
    layer = d["packing"].get("layout", "random") == "layer"
    d["packing"]["particles"] = min(d["packing"]["particles"],
                                    MAX_LAYER if layer else MAX_PARTICLES)
    d.setdefault("numerics", {})
    d["numerics"]["density_scaling"] = 4.0 * d["numerics"].get("density_scaling", 1.0)
    d["pressing"] = d["pressing"][:STAGES_RUN.get(stem, len(d["pressing"]))]
    for st in d["pressing"]:
        if "hold_steps" in st:
            st["hold_steps"] = min(st["hold_steps"], MAX_HOLD)
    cy = d.get("cycling", {})
    if cy.get("cycles", 0) > 0:
        cy["cycles"] = 1
        cy["steps_per_half_cycle"] = min(cy.get("steps_per_half_cycle", 10_000),
                                         MAX_STEPS_PER_HALF)
    return Scenario(d, f"{sc.source} (shortened)")


def shipped(path) -> Scenario:
    """The scenario of a file; for a sweep, its case of highest pressure and most Se."""
    if "sweep" not in tomllib.loads(path.read_text()):
        return load_scenario(path)
    from dempack.sweep import load_sweep
    cases = [c for c in load_sweep(path).cases() if c.error is None]
    assert cases, f"{path.name}: no valid case"
    hardest = max(cases, key=lambda c: tuple(v for k, v in sorted(c.values.items())
                                             if "pressure" in k or ".0.weight" in k)
                  + (-c.seed,))
    return hardest.scenario


def undefined(row: dict, key: str, held: bool = False) -> bool:
    """NaN by definition (module docstring); held: the stack is held while cycling (a
    fixed gap or box: no stress target)."""
    if key.startswith("tortuosity_"):
        s = row.get(f"sigma_eff_{key.split('_', 1)[1]}_S_per_m")
        return s is None or not s > 0.0
    if key in ("stack_target_Pa", "stack_deviation"):
        # a punch driven at a speed or held (a gap, a box, growth) has no stress target (nor,
        # in the row after the protocol's end, "done", where such a stage was the last)
        stage = str(row.get("stage", ""))
        return stage.startswith(("compress", "fixed gap", "grow", "done")) or (
            held and stage.startswith("cycl"))
    if key == "inertial_number":
        p = row.get("punch_stress_Pa")
        return p is None or not p > 0.0
    return False


def nan_where_defined(rows: list[dict], held: bool = False) -> list:
    return [(r.get("step"), k) for r in rows for k, v in r.items()
            if (v is None or (isinstance(v, float) and math.isnan(v)))
            and not undefined(r, k, held)]


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_shipped_scenario_runs_to_the_end(path, tmp_path):
    sc = shorten(shipped(path), path.stem)
    log = Collect()
    logging.getLogger("dempack").addHandler(log)
    try:
        res = dempack.run(sc, out_dir=tmp_path)
    finally:
        logging.getLogger("dempack").removeHandler(log)
    s = res.summary
    assert s["completed"] is True and res.sim.done

    def strict(token):
        raise AssertionError(f"summary.json holds {token}")
    on_disk = json.loads((tmp_path / "summary.json").read_text(), parse_constant=strict)
    assert on_disk["completed"] is True and on_disk["steps"] == s["steps"]
    assert len(s["stages"]) == len(sc.pressing) + (1 if sc.cycling.cycles else 0)
    for st in s["stages"]:
        assert st["reached"], f"stage {st['stage']} hit its step limit at step {st['step']}"
    rows = res.table()
    assert rows and rows[-1]["step"] == s["steps"]
    if sc.cycling.cycles:
        cycles = res.sim.cycle_rows.rows()
        assert [(r["cycle"], r["half"]) for r in cycles] == [(1, "discharge"), (1, "charge")]
        rows = rows + cycles
    assert nan_where_defined(rows, sc.stack.mode in ("fixed_gap", "fixed_box")) == []
    assert np.all(np.isfinite(res.sim.particles.x)) and np.all(np.isfinite(res.sim.particles.R))
    others = [m for m in log.messages if not any(a in m for a in ALLOWED)]
    assert others == [], others
