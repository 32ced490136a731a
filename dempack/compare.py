"""Two runs side by side, and the study's values beside them (issue 19 item 3).

    dempack compare RUN_A RUN_B [--out DIR]      # compare.csv, compare.md, compare.png

    from dempack.compare import compare, load_run, cycle_differences, overlay_figure
    res = compare("results/a", "results/b", out="results/a_vs_b")
    res.table            # one row per half-cycle end and cycles.csv column:
                         # cycle, half, column, A, B, B_minus_A, relative (= (B − A)/|A|)

`cycle_differences` pairs the half-cycle ends of the two cycles.csv files by (cycle, half)
(an end that one run has not reached gets an empty B or A) and differences every numeric
column. `overlay_figure` draws both runs in the same panels (run A solid with circles, run B
dashed with squares, one colour per series, legends "run: series") over cycles (cycles.csv,
x = cycles elapsed at each half-cycle end) or over time / cycles / steps (timeseries.csv),
with the study's reference values (dempack.reference) as star markers at the end of their
cycle where the panel shows their column. The app draws and exports through the same
functions (gui/compare.py, dempack.export). No Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io.rundir import RunFolder
from .plot import Series, _panels, _pyplot, _time_axis, panel_grid
from .reference import StudyReference, cycles_elapsed, load_reference, reference_rows

KEYS = ("cycle", "half")
TEXT = ("half", "stage")
# column prefix -> (panel title, scale) of the panels that `_panels` and `extra panels` draw
PANEL_OF = {"porosity": ("porosity", 1.0),
            "thickness_m": ("thickness (µm)", 1e6),
            "punch_stress_Pa": ("punch stress (MPa)", 1e-6),
            "contact_ratio": ("contact ratio", 1.0),
            "stress_vm_mean_Pa": ("mean von Mises stress (MPa)", 1e-6),
            "thickness_change": ("thickness change (%)", 100.0),
            "active_fraction": ("active fraction (connected to both conductors)", 1.0)}
X_KEYS = {"cycle": ("cycle_x", "cycles elapsed"), "time": ("time_s", None),
          "step": ("step", "DEM step")}
STYLES = ({"linestyle": "-", "marker": "o"}, {"linestyle": "--", "marker": "s"},
          {"linestyle": ":", "marker": "^"})


@dataclass
class RunData:
    """A run folder's tables as the comparison reads them: its name (the legend's), path,
    materials, timeseries rows (with cycle_x) and cycles.csv rows."""

    name: str
    path: Path
    materials: list[str]
    rows: list[dict]
    cycles: list[dict]

    @classmethod
    def from_folder(cls, folder: RunFolder, name: str | None = None) -> "RunData":
        return cls(name or folder.path.name, folder.path, folder.materials, folder.rows(),
                   folder.cycle_rows())


def load_run(path, name: str | None = None) -> RunData:
    """A run folder read back (FileNotFoundError / ValueError with the reason otherwise)."""
    return RunData.from_folder(RunFolder(path), name)


def run_names(paths) -> list[str]:
    """Legend names of run folders: the folder names, with their parents where two are alike."""
    ps = [Path(p).resolve() for p in paths]
    names = [p.name for p in ps]
    if len(set(names)) < len(names):
        names = [f"{p.parent.name}/{p.name}" for p in ps]
    if len(set(names)) < len(names):
        names = [f"{n} ({k + 1})" for k, n in enumerate(names)]
    return names


def _number(v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return np.nan
    return float(v)


def numeric_columns(*tables: list[dict]) -> list[str]:
    """The columns of the rows (first seen first) that hold numbers, but for the keys."""
    cols = list(dict.fromkeys(k for rows in tables for r in rows for k in r))
    return [c for c in cols if c not in KEYS and c not in TEXT
            and any(np.isfinite(_number(r.get(c))) for rows in tables for r in rows)]


def cycle_differences(a: list[dict], b: list[dict]) -> list[dict]:
    """One row per half-cycle end (in order: cycle, then discharge before charge) and numeric
    column: {cycle, half, column, A, B, B_minus_A, relative}; NaN where a run lacks the end or
    the column, relative NaN where A is 0."""
    by_a = {(int(r["cycle"]), str(r["half"])): r for r in a}
    by_b = {(int(r["cycle"]), str(r["half"])): r for r in b}
    order = {"discharge": 0, "charge": 1}
    ends = sorted(set(by_a) | set(by_b), key=lambda k: (k[0], order.get(k[1], 2), k[1]))
    out = []
    for key in ends:
        ra, rb = by_a.get(key, {}), by_b.get(key, {})
        for c in numeric_columns(a, b):
            va, vb = _number(ra.get(c)), _number(rb.get(c))
            if all(isinstance(r.get(c), (int, np.integer)) and not isinstance(r.get(c), bool)
                   for r in (ra, rb)):
                va, vb = int(ra[c]), int(rb[c])          # steps stay whole numbers
            d = vb - va
            rel = d / abs(va) if np.isfinite(d) and va != 0 else np.nan
            out.append({"cycle": key[0], "half": key[1], "column": c, "A": va, "B": vb,
                        "B_minus_A": d, "relative": rel})
    return out


# ------------------------------------------------------------------------------- figures

def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    names = list(dict.fromkeys(k for r in rows for k in r))
    return {k: np.array([_number(r.get(k)) for r in rows], float) for k in names}


def _run_panels(cols: dict, x: np.ndarray, cycles: bool) -> dict:
    data = _panels(cols, x)
    if cycles and "thickness_change" in cols:
        data["thickness change (%)"] = [Series("thickness change", x, 100.0 * cols["thickness_change"])]
    act = [k for k in cols if k.startswith("active_fraction:")]
    if act:
        data[PANEL_OF["active_fraction"][0]] = [Series(k.split(":", 1)[1], x, cols[k]) for k in act]
    return data


def marker_x(v, rows: list[dict], xkey: str) -> float | None:
    """Where the end of cycle v.cycle lies on the x axis `xkey` (cycle_x, time_s, step) of a
    run's timeseries rows (None: the run has not reached it)."""
    if xkey == "cycle_x":
        return float(v.cycle)
    cx = np.array([_number(r.get("cycle_x")) for r in rows], float)
    xs = np.array([_number(r.get(xkey)) for r in rows], float)
    ok = np.isfinite(cx) & np.isfinite(xs)
    if not ok.any() or v.cycle > cx[ok].max():
        return None
    return float(np.interp(v.cycle, cx[ok], xs[ok]))


def overlay_figure(runs: list[RunData], table: str = "cycles", x: str = "cycle",
                   reference: StudyReference | None = None, title: str = ""):
    """Both (all) runs in the same panels → (fig, data). table "cycles": cycles.csv at each
    half-cycle end, x = cycles elapsed; table "timeseries": every row, x "time", "cycle"
    (cycles elapsed) or "step". data = {panel title: [Series]}: each run's series labelled
    "run name: series", and the reference markers labelled "study <figure>: <value>"
    (only values that apply to run A's materials, at a cycle run A or B has reached)."""
    if not runs:
        raise ValueError("overlay_figure: no run")
    if table not in ("cycles", "timeseries"):
        raise ValueError(f"table: {table!r}: expected 'cycles' or 'timeseries'")
    if x not in X_KEYS:
        raise ValueError(f"x: {x!r}: expected one of {', '.join(X_KEYS)}")
    cycles = table == "cycles"
    xkey, xlabel = ("cycle_x", "cycles elapsed (half-cycle ends)") if cycles else X_KEYS[x]
    t_all = np.concatenate([np.array([_number(r.get("time_s")) for r in run.rows], float)
                            for run in runs])
    factor = 1.0
    if xkey == "time_s":
        scaled, xlabel = _time_axis(t_all[np.isfinite(t_all)])
        finite = t_all[np.isfinite(t_all)]
        factor = float(scaled[np.argmax(finite)] / finite.max()) if finite.size and finite.max() else 1.0
    data: dict[str, list[Series]] = {}
    styles: dict[str, list[tuple[dict, str]]] = {}
    for k, run in enumerate(runs):
        rows = run.cycles if cycles else run.rows
        if not rows:
            continue
        cols = _columns(rows)
        xv = cycles_elapsed(rows) if cycles else cols.get(xkey, np.full(len(rows), np.nan)) * factor
        for panel, series in _run_panels(cols, xv, cycles).items():
            for j, s in enumerate(series):
                data.setdefault(panel, []).append(Series(f"{run.name}: {s.label}", s.x, s.y))
                styles.setdefault(panel, []).append((STYLES[k % len(STYLES)], f"C{j % 10}"))
    if not data:
        raise ValueError(f"{', '.join(str(r.path) for r in runs)}: no {table} rows to plot"
                         + (" (no cycles.csv: these runs did not cycle)" if cycles else ""))
    reached = max((cycles_elapsed(r.cycles).max() for r in runs if r.cycles), default=0.0)
    if reference is not None:
        titles = {t: (t, s) for t, s in PANEL_OF.values()}
        for v in reference.markers(runs[0].materials):
            panel, scale = PANEL_OF.get(v.column.split(":")[0], (None, 1.0))
            if panel not in data or panel not in titles or v.cycle > reached:
                continue
            xm = marker_x(v, runs[0].rows, xkey)
            if xm is None:
                continue
            label = f"study {v.label()}" + (f" {v.column.split(':', 1)[1]}" if ":" in v.column else "")
            data[panel].append(Series(label, np.array([xm * (factor if xkey == 'time_s' else 1.0)]),
                                      np.array([v.si * scale])))
            styles[panel].append(({"linestyle": "none", "marker": "*", "markersize": 13,
                                   "markeredgecolor": "k"}, "gold"))
    n = len(data)
    fig, axes = panel_grid(n, 4.4, 3.3)
    for ax, (panel, series) in zip(axes.flat, data.items()):
        for s, (style, colour) in zip(series, styles[panel]):
            ok = np.isfinite(s.x) & np.isfinite(s.y)
            kw = dict(style)
            if not cycles and kw.get("marker") in ("o", "s", "^"):
                kw["marker"] = ""                       # dense time series: lines only
            ax.plot(s.x[ok], s.y[ok], color=colour, label=s.label, **kw)
        ax.set(xlabel=xlabel, title=panel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title or " vs ".join(r.name for r in runs))
    return fig, data


# ------------------------------------------------------------------------------- compare

@dataclass
class Comparison:
    """What `compare` computed and wrote: the runs, the difference table, the reference
    rows (dempack.reference.reference_rows) and the files."""

    runs: list[RunData]
    table: list[dict]
    reference: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def markdown(cmp: Comparison) -> str:
    """The comparison as Markdown: the runs, one table per half-cycle end (column | A | B |
    B − A | relative), and the study's values beside the runs' values at their cycle."""
    a, b = cmp.runs
    lines = [f"# {a.name} vs {b.name}", "", f"- A: `{a.path}`", f"- B: `{b.path}`", "",
             "Every numeric column of cycles.csv at each half-cycle end; relative = (B − A)/|A|; "
             "an empty cell: that run has no value there.", ""]
    ends = list(dict.fromkeys((r["cycle"], r["half"]) for r in cmp.table))
    for c, h in ends:
        lines += [f"## cycle {c}, {h} end", "", f"| column | A: {a.name} | B: {b.name} | B − A | relative |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['column']} | {_fmt(r['A'])} | {_fmt(r['B'])} | {_fmt(r['B_minus_A'])} | "
                  f"{_fmt(r['relative'])} |" for r in cmp.table if (r["cycle"], r["half"]) == (c, h)]
        lines.append("")
    if cmp.reference:
        lines += ["## The study's values (assets/study_reference.toml)", "",
                  "Runs' values at the end of the value's cycle, in the value's unit; "
                  "approx.: read off a plot or an order of magnitude.", "",
                  f"| figure | quantity | study | unit | column | cycle | A: {a.name} | B: {b.name} |",
                  "|---|---|---|---|---|---:|---:|---:|"]
        for r in cmp.reference:
            study = _fmt(r["study"]) + (" (approx.)" if r["approximate"] else "")
            lines.append(f"| {r['figure']} | {r['quantity']} | {study} | {r['unit']} | {r['column']} | "
                         f"{_fmt(r['cycle'])} | {_fmt(r[a.name])} | {_fmt(r[b.name])} |")
        lines.append("")
    return "\n".join(lines)


def compare(run_a, run_b, out=None, reference=True, dpi: int = 110) -> Comparison:
    """Compare two run folders: the difference table of their cycles.csv at each half-cycle
    end, the study's values beside them (`reference`: True for the shipped file, a path, a
    StudyReference, or False) and, with `out`, write compare.csv, compare.md and compare.png
    (the overlay figure over cycles) there."""
    paths = [Path(run_a), Path(run_b)]
    names = run_names(paths)
    runs = [load_run(p, n) for p, n in zip(paths, names)]
    for r in runs:
        if not r.cycles:
            raise ValueError(f"{r.path}: no cycles.csv rows (the run did not reach a half-cycle "
                             "end): nothing to compare at half-cycle ends")
    ref = None
    if reference is True:
        ref = load_reference()
    elif isinstance(reference, StudyReference):
        ref = reference
    elif reference:
        ref = load_reference(reference)
    table = cycle_differences(runs[0].cycles, runs[1].cycles)
    refrows = reference_rows(ref, {r.name: (r.materials, r.cycles) for r in runs}) if ref else []
    cmp = Comparison(runs, table, refrows)
    if out is not None:
        from .io.atomic import atomic_write
        from .io.tables import write_table
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_table(out / "compare.csv", table)
        atomic_write(out / "compare.md", markdown(cmp))
        fig, _ = overlay_figure(runs, "cycles", reference=ref)
        fig.savefig(out / "compare.png", dpi=dpi)
        _pyplot().close(fig)
        cmp.files = [out / "compare.csv", out / "compare.md", out / "compare.png"]
    return cmp
