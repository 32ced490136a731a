"""Parameter sweeps: many scenario runs on Dask, gathered into one table (DESIGN §8).

A sweep file names a base scenario and the keys to vary::

    [sweep]
    base = "press_se60mse.toml"   # path relative to this sweep file
    seeds = 3                     # run.seed = s0, s0+1, s0+2 (s0: the base's seed), or a list [1, 7]

    [sweep.set]                   # fixed overrides applied to every case
    "packing.particles" = 500
    pressing = [{pressure_MPa = 360, hold_steps = 3000}]   # whole list of stages replaced

    [sweep.grid]                  # cartesian product of these lists
    "pressing.0.pressure_MPa" = [100, 200, 360]

    [[sweep.zip]]                 # lists of equal length, varied together (one case per position)
    "packing.materials.0.weight_fraction" = [0.3, 0.4, 0.5]
    "packing.materials.1.weight_fraction" = [0.7, 0.6, 0.5]

Cases = grid × every zip group × seeds. Keys are the dotted keys of `--set`
(`dempack.scenario.SCHEMA`); all of a case's overrides are applied together and
validated once, so fractions that must sum to 1 are varied in one zip group.

Each case runs through `dempack.runner.run` (as `dempack run` does) into
`OUT/<case>/`, a stable folder name built from its varied values and seed
(`pressure_MPa=100__Se.weight_fraction=0.3__seed=1`). `OUT/sweep.csv` holds one
row per case: `case`, the varied keys, `seed`, `status` (ok | failed), `error`,
then the summary metrics (final observables, `stageK:porosity` ... per stage).
Invalid cases are found before anything runs and recorded as failed; a case
whose folder holds a summary.json with `completed: true` is not run again, and a
case interrupted with a checkpoint of the same scenario continues from it.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import math
import os
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io.atomic import atomic_write
from .io.tables import _clean, write_table
from .scenario import SCHEMA, Scenario, ScenarioError, load_scenario

SWEEP_KEYS = ("base", "seeds", "set", "grid", "zip", "name")
LIST_KEYS = ("pressing", "packing.materials")  # replaceable whole in [sweep.set]
# summary.json fields that depend on the wall clock, not on the simulation
TIMING_FIELDS = ("run_time_s", "us_per_particle_step")
MAX_NAME = 120


class SweepError(ValueError):
    """A sweep file that cannot run; the message names the file, the key and what is allowed."""


@dataclass
class Case:
    """One run of a sweep: folder `name`, varied {dotted key: value}, seed, and its
    validated Scenario or the validation `error`."""

    name: str
    values: dict
    seed: int
    scenario: Scenario | None = None
    error: str | None = None


@dataclass
class Sweep:
    """A parsed sweep file. `varied` lists the varied keys in column order."""

    path: Path
    base: Path
    seeds: list
    fixed: dict
    grid: dict
    zips: list
    name: str
    varied: list = field(default_factory=list)

    def cases(self) -> list[Case]:
        """All cases (grid × zip groups × seeds), each validated; invalid ones carry `error`."""
        try:
            base = load_scenario(self.base)
        except ScenarioError as e:
            raise SweepError(f"{self.path}: sweep.base = {str(self.base)!r}: {e}") from None
        combos = [dict(zip(self.grid, vals)) for vals in itertools.product(*self.grid.values())]
        for group in self.zips:
            n = len(next(iter(group.values())))
            rows = [{k: v[i] for k, v in group.items()} for i in range(n)]
            combos = [{**c, **r} for c in combos for r in rows]
        short = _short_names(self.varied, base)
        out, seen = [], {}
        for values in combos:
            for seed in self.seeds:
                name = case_name(values, seed, short)
                if name in seen:
                    raise SweepError(f"{self.path}: cases {seen[name]} and {values} (seed {seed}) "
                                     f"are the same run; remove the repeated value")
                seen[name] = values
                case = Case(name, dict(values), seed)
                sc = copy.deepcopy(base)
                sc.source = f"{self.path} (case {name}; base {self.base})"
                try:
                    sc.set_many({**self.fixed, **values, "run.seed": seed})
                    case.scenario = sc
                except ScenarioError as e:
                    case.error = str(e)
                out.append(case)
        return out

    def to_dict(self) -> dict:
        d = {"name": self.name, "base": str(self.base), "seeds": list(self.seeds)}
        if self.fixed:
            d["set"] = dict(self.fixed)
        if self.grid:
            d["grid"] = dict(self.grid)
        if self.zips:
            d["zip"] = [dict(z) for z in self.zips]
        return {"sweep": d}


def _err(path, key, msg):
    return SweepError(f"{path}: {key}: {msg}")


def _check_key(path, where: str, key) -> None:
    """A dotted scenario key: section.key, pressing.I.key or packing.materials.I.key."""
    if not isinstance(key, str):
        raise _err(path, where, f"{key!r} must be a dotted scenario key")
    p = key.split(".")
    ok = False
    allowed = ("section.key with section one of " + ", ".join(s for s in SCHEMA if s not in
               ("pressing", "materials")) + "; pressing.I.key; packing.materials.I.key")
    if len(p) == 2 and p[0] in SCHEMA and p[0] not in ("pressing", "materials"):
        ok, sch = True, SCHEMA[p[0]]
    elif len(p) == 3 and p[0] == "pressing" and p[1].isdigit():
        ok, sch = True, SCHEMA["pressing"]
    elif len(p) == 4 and p[:2] == ["packing", "materials"] and p[2].isdigit():
        ok, sch = True, SCHEMA["materials"]
    if not ok:
        raise _err(path, f"{where}.{key!r}", f"not a scenario key; allowed: {allowed}")
    if p[-1] not in sch:
        raise _err(path, f"{where}.{key!r}", f"unknown key {p[-1]!r}; allowed: {', '.join(sch)}")
    if key == "run.seed":
        raise _err(path, f"{where}.{key!r}", "vary the seed with sweep.seeds (a count or a list)")


def load_sweep(path, overrides: dict | None = None, seeds=None) -> Sweep:
    """Read and check a sweep TOML file. `overrides` ({dotted key: value}) are added to
    [sweep.set] (the CLI's --set); `seeds` (a count or a list) replaces sweep.seeds."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"{path}: sweep file not found")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path}: not valid TOML: {e}") from None
    extra = [k for k in data if k != "sweep"]
    if "sweep" not in data or not isinstance(data["sweep"], dict):
        raise _err(path, "[sweep]", "missing; a sweep file holds one [sweep] table with keys "
                   + ", ".join(SWEEP_KEYS))
    if extra:
        raise _err(path, f"[{extra[0]}]", "unknown table; a sweep file holds only [sweep] "
                   "(with [sweep.set], [sweep.grid], [[sweep.zip]])")
    s = data["sweep"]
    for k in s:
        if k not in SWEEP_KEYS:
            raise _err(path, f"sweep.{k}", f"unknown key; allowed: {', '.join(SWEEP_KEYS)}")
    if not isinstance(s.get("base"), str):
        raise _err(path, "sweep.base", "missing; give the base scenario file, relative to "
                   "the sweep file, e.g. base = \"press_se60mse.toml\"")
    base = (path.parent / s["base"]).resolve()
    if not base.is_file():
        raise _err(path, "sweep.base", f"{s['base']!r}: no such file ({base})")

    fixed = s.get("set", {})
    if not isinstance(fixed, dict):
        raise _err(path, "sweep.set", "must be a table of \"dotted.key\" = value")
    fixed = dict(fixed)
    fixed.update(overrides or {})
    for k, v in fixed.items():
        if k in LIST_KEYS:  # a whole list of tables replaced, e.g. a single pressing stage
            if not (isinstance(v, list) and v and all(isinstance(t, dict) for t in v)):
                raise _err(path, f"sweep.set.{k!r}", "must be a non-empty array of tables, "
                           "e.g. pressing = [{pressure_MPa = 360, hold_steps = 3000}]")
            continue
        _check_key(path, "sweep.set", k)

    grid = s.get("grid", {})
    if not isinstance(grid, dict):
        raise _err(path, "sweep.grid", "must be a table of \"dotted.key\" = [values]")
    zips = s.get("zip", [])
    if isinstance(zips, dict):
        zips = [zips]
    if not isinstance(zips, list) or not all(isinstance(z, dict) for z in zips):
        raise _err(path, "sweep.zip", "must be tables [[sweep.zip]] of \"dotted.key\" = [values]")
    varied: list[str] = []
    for where, table in [("sweep.grid", grid)] + [(f"sweep.zip[{i}]", z) for i, z in enumerate(zips)]:
        lengths = set()
        for k, vals in table.items():
            _check_key(path, where, k)
            if not isinstance(vals, list) or not vals:
                raise _err(path, f"{where}.{k!r}", f"= {vals!r}: must be a non-empty list of values")
            if any(isinstance(v, (list, dict)) for v in vals):
                raise _err(path, f"{where}.{k!r}", "values must be numbers, strings or booleans")
            if k in varied or k in fixed:
                raise _err(path, f"{where}.{k!r}", "varied twice (or also in sweep.set); "
                           "give each key once")
            varied.append(k)
            lengths.add(len(vals))
        if where != "sweep.grid" and len(lengths) > 1:
            raise _err(path, where, f"lists of different lengths {sorted(lengths)}; zipped "
                       "lists must have equal length")
        if where != "sweep.grid" and not table:
            raise _err(path, where, "empty; give at least one \"dotted.key\" = [values]")

    seeds = s.get("seeds", 1) if seeds is None else seeds
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list)):
        raise _err(path, "sweep.seeds", f"= {seeds!r}: must be a count >= 1 or a list of seeds >= 0")
    if isinstance(seeds, int):
        if seeds < 1:
            raise _err(path, "sweep.seeds", f"= {seeds!r}: must be a count >= 1 or a list of seeds >= 0")
        try:
            s0 = int(tomllib.loads(base.read_text()).get("run", {}).get("seed", 1))
        except (tomllib.TOMLDecodeError, TypeError, ValueError):
            s0 = 1
        seeds = list(range(s0, s0 + seeds))
    elif (not seeds or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in seeds)
          or len(set(seeds)) != len(seeds)):
        raise _err(path, "sweep.seeds", f"= {seeds!r}: a list must hold distinct integers >= 0")
    name = s.get("name", path.stem)
    if not isinstance(name, str):
        raise _err(path, "sweep.name", "must be a string")
    return Sweep(path, base, seeds, fixed, dict(grid), [dict(z) for z in zips], name, varied)


# ------------------------------------------------------------------------------ case names


def _short_names(keys: list[str], base: Scenario) -> dict:
    """Shortest unique readable suffix of each varied key: 'pressing.0.pressure_MPa' →
    'pressure_MPa'; material indices become material names ('Se.weight_fraction')."""
    mats = [m.material for m in base.packing.materials]

    def parts(key):
        p = key.split(".")
        if p[:2] == ["packing", "materials"] and p[2].isdigit():
            i = int(p[2])
            return ["packing", mats[i] if i < len(mats) else f"material{i}", p[3]]
        if p[0] == "pressing" and p[1].isdigit():
            return [f"pressing{p[1]}", p[2]]
        return p

    out = {}
    for k in keys:
        pk = parts(k)
        for n in range(1, len(pk) + 1):
            cand = ".".join(pk[-n:])
            if all(o == k or ".".join(parts(o)[-n:]) != cand for o in keys):
                break
        out[k] = cand
    return out


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def case_name(values: dict, seed: int, short: dict | None = None) -> str:
    """Folder name of a case: 'key=value' for each varied key, then 'seed=N', joined by '__';
    characters other than letters, digits and ._+-= become '-'; names longer than
    MAX_NAME end in a hash of the full values so they stay unique and stable."""
    short = short or {}
    parts = [f"{short.get(k, k)}={_fmt(v)}" for k, v in values.items()] + [f"seed={seed}"]
    name = re.sub(r"[^A-Za-z0-9._+=-]", "-", "__".join(parts))
    if len(name) > MAX_NAME:
        h = hashlib.sha1(json.dumps([sorted(values.items()), seed], default=str).encode())
        name = name[:MAX_NAME - 9] + "-" + h.hexdigest()[:8]
    return name


# --------------------------------------------------------------------------- running cases


def is_complete(folder: Path) -> bool:
    """True when folder/summary.json says the run completed."""
    f = Path(folder) / "summary.json"
    try:
        return bool(json.loads(f.read_text()).get("completed"))
    except (OSError, ValueError):
        return False


def _can_resume(out: Path, sc: Scenario) -> bool:
    if not (out / "checkpoint.npz").is_file() or not (out / "scenario.toml").is_file():
        return False
    try:
        return load_scenario(out / "scenario.toml").to_dict() == sc.to_dict()
    except ScenarioError:
        return False


def run_case(scenario: dict, source: str, out_dir: str, threads: int | None = 1) -> dict:
    """Run one case (on a Dask worker): the same `dempack.runner.run` as `dempack run`,
    or `runner.resume` when out_dir holds a checkpoint of this very scenario.
    Returns {'status': 'ok', 'summary': ...} or {'status': 'failed', 'error': ...};
    never raises, so one failing case does not stop the others."""
    from .runner import resume, run
    try:
        sc = Scenario(scenario, source)
        if threads is not None:
            sc.set("run.threads", threads)
        out = Path(out_dir)
        res = resume(out) if _can_resume(out, sc) else run(sc, out_dir=out)
        # as written to summary.json (NaN → None), so rows read back later are identical
        return {"status": "ok", "error": "", "summary": _clean(res.summary)}
    except Exception as e:  # noqa: BLE001 — any failure is recorded in sweep.csv
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "summary": None}


def summary_metrics(summary: dict) -> dict:
    """The sweep.csv metrics of one run: run size and time, the final observables, and
    porosity / thickness / punch stress / coordination at the end of each stage."""
    row = {k: summary.get(k) for k in ("completed", "particles", "steps", "physical_time_s",
                                         "run_time_s")}
    for k, v in summary.get("final", {}).items():
        if k not in ("step", "time_s", "stage") and not isinstance(v, (dict, list)):
            row[k] = v
    for i, st in enumerate(summary.get("stages", [])):
        for k in ("porosity", "thickness_m", "punch_stress_Pa", "coordination", "reached"):
            if k in st:
                row[f"stage{i}:{k}"] = st[k]
    return row


def _row(case: Case, varied: list, status: str, error: str, summary: dict | None) -> dict:
    row = {"case": case.name}
    row.update({k: case.values.get(k, "") for k in varied})
    row.update({"seed": case.seed, "status": status, "error": error})
    if summary is not None:
        row.update(summary_metrics(summary))
    return row


def read_sweep_csv(path) -> tuple[dict, list[str]]:
    """Read sweep.csv → ({column: array}, varied keys). Numeric columns are float arrays
    (blank → NaN, e.g. metrics of failed cases); the varied keys are the columns between
    'case' and 'seed'."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
        f.seek(0)
        header = next(csv.reader(f))
    if "case" not in header or "seed" not in header:
        raise ValueError(f"{path}: not a sweep table (needs columns 'case' and 'seed')")
    varied = header[header.index("case") + 1:header.index("seed")]
    cols = {}
    for k in header:
        raw = [r[k] for r in rows]
        try:
            cols[k] = np.array([float(v) if v != "" else math.nan for v in raw])
            if all(v == "" for v in raw):
                cols[k] = np.array(raw)
        except ValueError:
            cols[k] = np.array(raw)
    return cols, varied


@dataclass
class SweepResult:
    """Outcome of a sweep: rows of sweep.csv (one per case, in sweep order), the names of
    the cases run now, skipped (already complete) and failed, and the output folder."""

    rows: list
    ran: list
    skipped: list
    failed: list
    out_dir: Path

    @property
    def table(self) -> dict:
        """sweep.csv as {column: array}."""
        return read_sweep_csv(self.out_dir / "sweep.csv")[0]


def default_workers() -> int:
    """Worker processes of the default LocalCluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_sweep(sweep, out_dir, scheduler: str | None = None, workers: int | None = None,
              threads: int | None = 1, progress: bool = True, client=None,
              overrides: dict | None = None, seeds=None) -> SweepResult:
    """Run every case of `sweep` (a Sweep or a sweep file path) into out_dir/<case>/ and
    write out_dir/sweep.csv (updated as cases finish).

    Runs on `client` if given, else on the Dask scheduler at `scheduler`
    ('tcp://host:port'), else on a new LocalCluster of `workers` processes
    (default: the machine's cores) with one thread each. `threads`: numba threads
    per case (run.threads; default 1, since each worker runs one case at a time).
    `overrides`, `seeds`: see load_sweep.
    """
    sw = sweep if isinstance(sweep, Sweep) else load_sweep(sweep, overrides, seeds)
    out = Path(out_dir).resolve()  # workers may run elsewhere: absolute case folders
    out.mkdir(parents=True, exist_ok=True)
    import tomli_w
    atomic_write(out / "sweep.toml", tomli_w.dumps(sw.to_dict()))
    cases = sw.cases()
    rows = {}
    ran, skipped, failed = [], [], []
    todo = []
    for c in cases:
        folder = out / c.name
        if c.error is not None:
            rows[c.name] = _row(c, sw.varied, "failed", c.error, None)
            failed.append(c.name)
        elif is_complete(folder):
            rows[c.name] = _row(c, sw.varied, "ok", "",
                                json.loads((folder / "summary.json").read_text()))
            skipped.append(c.name)
        else:
            todo.append(c)

    def flush():
        write_table(out / "sweep.csv", [rows[c.name] for c in cases if c.name in rows])

    flush()
    if todo:
        own = None
        if client is None:
            from distributed import Client, LocalCluster
            if scheduler:
                client = own = Client(scheduler)
            else:
                n = min(workers or default_workers(), len(todo))
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = own = Client(cluster)
        try:
            _submit_and_gather(client, sw, todo, out, threads, rows, ran, failed, flush, progress)
        finally:
            if own is not None:
                cluster = own.cluster
                own.close()
                if cluster is not None and not scheduler:
                    cluster.close()
    flush()
    return SweepResult([rows[c.name] for c in cases], ran, skipped, failed, out)


def _submit_and_gather(client, sw, todo, out, threads, rows, ran, failed, flush, progress):
    from distributed import as_completed
    futures = {}
    for c in todo:
        fut = client.submit(run_case, c.scenario.to_dict(), c.scenario.source, str(out / c.name),
                            threads, pure=False, key=f"dempack-case-{c.name}-{time.time_ns()}")
        futures[fut] = c
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="case", desc=sw.name, dynamic_ncols=True)
    for fut in as_completed(futures):
        c = futures[fut]
        try:
            r = fut.result()
        except Exception as e:  # noqa: BLE001 — a worker died (e.g. KilledWorker)
            r = {"status": "failed", "error": f"{type(e).__name__}: {e}", "summary": None}
        rows[c.name] = _row(c, sw.varied, r["status"], r["error"], r["summary"])
        (ran if r["status"] == "ok" else failed).append(c.name)
        flush()
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{len(failed)} failed", refresh=False)
    if bar is not None:
        bar.close()
