"""Issue 16.3: porosity of Se-60MSe against the Se-50SE-10SP composite at 100, 270 and 360 MPa.

Runs scenarios/press_se60mse.toml and scenarios/press_se50se10sp.toml (each presses to 100,
270 and 360 MPa in turn) and records the porosity at the end of each pressing stage
(`Simulation.stage_results`), with the mean internal porosity of the Super P agglomerates
(dempack.physics.agglomerate) where the run has them. Writes
benchmarks/results/press_porosity_table.json and the markdown table into docs/validation.md
between the markers `<!-- press-porosity-table:begin -->` and `<!-- press-porosity-table:end -->`.

    python benchmarks/press_porosity_table.py                    # scenario defaults (1000 particles)
    python benchmarks/press_porosity_table.py --particles 300 --no-doc
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402
from dempack.simulation import DivergenceError, Simulation  # noqa: E402

SCENARIOS = [("press_se60mse", "Se-60MSe"), ("press_se50se10sp", "Se-50SE-10SP")]
BEGIN, END = "<!-- press-porosity-table:begin -->", "<!-- press-porosity-table:end -->"


def run_one(stem: str, particles: int | None, seed: int | None) -> dict:
    """Run one pressing scenario; returns its stage rows (porosity, punch stress, internal
    porosity of porous agglomerates) and wall time, or the divergence message."""
    sc = dempack.load_scenario(ROOT / "scenarios" / f"{stem}.toml")
    if particles:
        sc.packing.particles = particles
    if seed is not None:
        sc.run.seed = seed
    t0 = time.perf_counter()
    sim = Simulation(sc)
    stages, error = [], None
    done = 0

    def record():
        nonlocal done
        for r in sim.stage_results[done:]:
            row = {"stage": r["stage"], "reached": r["reached"], "porosity": r["porosity"],
                   "punch_stress_MPa": r["punch_stress_Pa"] / 1e6}
            ps = sim.particles
            for k, m in enumerate(sim.materials):
                if sim.porous[k]:
                    sel = ps.alive & (ps.material == k)
                    w = ps.R0[sel] ** 3
                    row[f"internal_porosity:{m.name}"] = float((w * ps.internal_porosity[sel]).sum()
                                                               / w.sum())
            stages.append(row)
        done = len(sim.stage_results)

    try:
        max_steps = sc.run.max_steps
        while not sim.done and not (max_steps and sim.step_count >= max_steps):
            sim.run(200)
            record()
    except DivergenceError as e:
        error = str(e)
    record()
    return {"scenario": stem, "particles": int(sim.particles.n), "seed": sc.run.seed,
            "counts": {m.name: int((sim.particles.material == k).sum())
                       for k, m in enumerate(sim.materials)},
            "volume_fractions": {m.name: float(f) for m, f in zip(sim.materials, sim.volume_fractions)},
            "stages": stages, "error": error, "wall_s": round(time.perf_counter() - t0, 1)}


def table(results: list[dict], commit: str) -> str:
    """The markdown table: one row per pressure, a porosity column per scenario."""
    pressures = [100, 270, 360]
    head = "| pressure (MPa) | " + " | ".join(f"{lab} porosity" for _, lab in SCENARIOS) + \
        " | Super P internal porosity | composite more porous |"
    lines = [head, "|" + "---|" * (len(SCENARIOS) + 3)]
    by = {r["scenario"]: r for r in results}
    for i, p in enumerate(pressures):
        cells, vals = [], []
        for stem, _ in SCENARIOS:
            st = by[stem]["stages"]
            v = st[i]["porosity"] if i < len(st) else None
            vals.append(v)
            cells.append(f"{v:.3f}" if v is not None else "diverged")
        comp = by["press_se50se10sp"]["stages"]
        ip = comp[i].get("internal_porosity:carbon_black") if i < len(comp) else None
        more = ("yes" if vals[1] > vals[0] else "no") if None not in vals else "-"
        ipc = f"{ip:.3f}" if ip is not None else "-"
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {ipc} | {more} |")
    counts = "; ".join(f"{r['scenario']}: {r['particles']} particles "
                       f"({', '.join(f'{k} {v}' for k, v in r['counts'].items())}), seed {r['seed']}, "
                       f"{r['wall_s']:.0f} s" for r in results)
    return "\n".join(lines) + f"\n\nRun: {counts}; commit {commit}; `python benchmarks/press_porosity_table.py`.\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=None, help="override packing.particles")
    ap.add_argument("--seed", type=int, default=None, help="override run.seed")
    ap.add_argument("--result", default=str(ROOT / "benchmarks" / "results" / "press_porosity_table.json"))
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/validation.md")
    a = ap.parse_args(argv)
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    results = []
    for stem, _ in SCENARIOS:
        r = run_one(stem, a.particles, a.seed)
        print(json.dumps({k: r[k] for k in ("scenario", "particles", "stages", "error", "wall_s")}),
              flush=True)
        results.append(r)
    md = table(results, commit)
    print(md)
    out = {"what": "issue 16.3: porosity at the end of each pressing stage", "commit": commit,
           "machine": platform.node(), "date": time.strftime("%Y-%m-%d"), "results": results,
           "table_md": md}
    Path(a.result).parent.mkdir(parents=True, exist_ok=True)
    Path(a.result).write_text(json.dumps(out, indent=1))
    if not a.no_doc:
        doc = ROOT / "docs" / "validation.md"
        text = doc.read_text()
        if BEGIN in text and END in text:
            pre, rest = text.split(BEGIN, 1)
            _, post = rest.split(END, 1)
            text = pre + BEGIN + "\n" + md + END + post
        else:
            text += f"\n{BEGIN}\n{md}{END}\n"
        doc.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
