"""Report figures (PNG, matplotlib Agg) from a run folder or a sweep folder.

    dempack plot results/run        # timeseries.csv (+ cycles.csv) → timeseries.png (+ cycles.png)
    dempack plot results/sweep      # sweep.csv → sweep_vs_<key>.png, one per varied key
    dempack plot results/a results/b --discharge-ends   # Fig. 4d/e style, the runs together

Every figure function returns `(fig, data)`, where `data` is
{panel title: [Series(label, x, y, yerr), ...]}: exactly the arrays handed to
matplotlib, so tests compare them with the CSV files (not pixels).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Series:
    """One plotted line: label, x, y and (sweeps) the error bar yerr (std over seeds)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    yerr: np.ndarray | None = None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # headless; the engine stays Qt-free
    import matplotlib.pyplot as plt
    return plt


def _materials(cols: dict, prefix: str) -> list[str]:
    return [k.split(":", 1)[1] for k in cols if k.startswith(prefix + ":")]


def _time_axis(t: np.ndarray) -> tuple[np.ndarray, str]:
    """Physical time in a readable unit: hours for cycling runs, µs for pressing."""
    span = float(np.nanmax(t)) if t.size else 0.0
    if span > 3600.0:
        return t / 3600.0, "physical time (h)"
    if span < 1e-3:
        return t * 1e6, "physical time (µs)"
    return t, "physical time (s)"


def _panels(cols: dict, x: np.ndarray) -> dict:
    """The standard panels of a run: porosity, thickness, punch stress, contact ratios,
    von Mises stress per material (y in display units)."""
    data = {}
    if "porosity" in cols:
        data["porosity"] = [Series("porosity", x, cols["porosity"])]
    if "thickness_m" in cols:
        data["thickness (µm)"] = [Series("thickness", x, cols["thickness_m"] * 1e6)]
    if "punch_stress_Pa" in cols:
        data["punch stress (MPa)"] = [Series("punch", x, cols["punch_stress_Pa"] / 1e6)]
    pairs = _materials(cols, "contact_ratio")
    if pairs:
        data["contact ratio"] = [Series(p, x, cols[f"contact_ratio:{p}"]) for p in pairs]
    mats = _materials(cols, "stress_vm_mean_Pa")
    if mats:
        data["mean von Mises stress (MPa)"] = [Series(m, x, cols[f"stress_vm_mean_Pa:{m}"] / 1e6)
                                               for m in mats]
    if "coordination" in cols:
        data["coordination number"] = [Series("all", x, cols["coordination"])]
    return data


def panel_grid(n: int, width: float = 4.2, height: float = 3.2):
    """(figure, axes) for n panels: 2 columns (3 beyond 4 panels), width × height inches each."""
    plt = _pyplot()
    ncol = 3 if n > 4 else 2
    nrow = max(1, -(-n // ncol))
    return plt.subplots(nrow, ncol, figsize=(width * ncol, height * nrow), squeeze=False,
                        constrained_layout=True)


def _draw(data: dict, xlabel: str, title: str, marker: str = ""):
    n = len(data)
    fig, axes = panel_grid(n)
    for ax, (panel, series) in zip(axes.flat, data.items()):
        for s in series:
            if s.yerr is not None:
                ax.errorbar(s.x, s.y, yerr=s.yerr, marker="o", capsize=3, label=s.label)
            else:
                ax.plot(s.x, s.y, marker=marker, label=s.label)
        ax.set(xlabel=xlabel, title=panel)
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def timeseries_figure(cols: dict, title: str = ""):
    """Observables vs physical time from timeseries.csv columns → (fig, data)."""
    x, xlabel = _time_axis(np.asarray(cols["time_s"], dtype=float))
    data = _panels(cols, x)
    return _draw(data, xlabel, title), data


def cycles_figure(cols: dict, title: str = ""):
    """Observables at each half-cycle end from cycles.csv → (fig, data);
    x = cycle for discharge ends, cycle + 0.5 for charge ends."""
    half = np.asarray(cols["half"]).astype(str)
    x = np.asarray(cols["cycle"], dtype=float) + np.where(half == "charge", 0.5, 0.0)
    data = _panels(cols, x)
    if "thickness_change" in cols:
        data["thickness change (%)"] = [Series("vs end of pressing", x,
                                               100.0 * cols["thickness_change"])]
    return _draw(data, "cycle (discharge end; +0.5 charge end)", title, marker="o"), data


def discharge_ends_figure(runs: dict, reference=None, title: str = ""):
    """The study's Fig. 4d/e style (DESIGN §10) for one or more runs {name: cycles.csv
    columns} → (fig, data): at each discharge end, against cycle, the contact ratio (%) of
    every ordered phase pair whose first phase lithiates (left)
    and the mean von Mises stress (GPa, log scale) of every material (right). `reference`
    (a dempack.reference.StudyReference, or None) adds its Fig. 4d/e values at their
    cycles as stars: markers, not curves (the study gives 1st- and 20th-cycle values)."""
    plt = _pyplot()
    data = {"contact ratio (%)": [], "mean von Mises stress (GPa)": []}
    many = len(runs) > 1
    for name, cols in runs.items():
        half = np.asarray(cols["half"]).astype(str)
        sel = half == "discharge"
        x = np.asarray(cols["cycle"], dtype=float)[sel]
        tag = f"{name}: " if many else ""
        # the phases that lithiate (a lithiation_mean column that is not all zero), or all
        lith = [m for m in _materials(cols, "lithiation_mean")
                if np.nanmax(np.abs(np.asarray(cols[f"lithiation_mean:{m}"], dtype=float))) > 0]
        for pair in _materials(cols, "contact_ratio"):
            if not lith or pair.split("-")[0] in lith:
                y = np.asarray(cols[f"contact_ratio:{pair}"], dtype=float)[sel] * 100.0
                data["contact ratio (%)"].append(Series(tag + pair.replace("-", "–"), x, y))
        for m in _materials(cols, "stress_vm_mean_Pa"):
            y = np.asarray(cols[f"stress_vm_mean_Pa:{m}"], dtype=float)[sel] * 1e-9
            data["mean von Mises stress (GPa)"].append(Series(tag + m, x, y))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, (panel, series) in zip(axes, data.items()):
        for s in series:
            ax.plot(s.x, s.y, marker="o", ms=3, label=s.label)
        ax.set(xlabel="cycle (discharge end)", title=panel)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    top = max((float(np.nanmax(s.y)) for s in data["mean von Mises stress (GPa)"] if s.y.size),
              default=0.0)
    if top > 1e-2:       # a phase that carries next to nothing (< 1 MPa) stays off the scale
        axes[1].set_ylim(bottom=1e-3)
    if reference is not None:
        for v in reference:
            if v.figure not in ("Fig. 4d", "Fig. 4e") or v.value is None or v.cycle is None:
                continue
            ax = axes[0] if v.figure == "Fig. 4d" else axes[1]
            y = v.value if v.unit == "%" else v.value * {"GPa": 1.0, "MPa": 1e-3}.get(v.unit, 1.0)
            ax.plot([v.cycle], [y], "*", ms=13, mec="k", color="gold", linestyle="None",
                    label=f"study {v.figure}: {v.value:g} {v.unit} {v.column.split(':')[-1]}")
    for ax in axes:
        ax.legend(fontsize=6.5, ncol=2)
    fig.suptitle(title)
    return fig, data


# ------------------------------------------------------------------------------------ sweeps

SWEEP_METRICS = [("porosity", "final porosity", 1.0), ("thickness_m", "thickness (µm)", 1e6),
                 ("punch_stress_Pa", "punch stress (MPa)", 1e-6),
                 ("coordination", "coordination number", 1.0)]


def _sweep_metrics(cols: dict) -> list[tuple[str, str, float]]:
    out = [m for m in SWEEP_METRICS if m[0] in cols]
    out += [(f"contact_ratio:{p}", f"contact ratio {p}", 1.0) for p in _materials(cols, "contact_ratio")]
    out += [(f"stress_vm_mean_Pa:{m}", f"von Mises {m} (MPa)", 1e-6)
            for m in _materials(cols, "stress_vm_mean_Pa")]
    stages = sorted({k.split(":")[0] for k in cols if k.startswith("stage") and k.endswith(":porosity")},
                    key=lambda s: int(s[5:]))
    if len(stages) > 1:
        out += [(f"{s}:porosity", f"porosity after {s}", 1.0) for s in stages]
    return [m for m in out if np.isfinite(np.asarray(cols[m[0]], dtype=float)).any()]


def _determined_by(x: np.ndarray, other: np.ndarray) -> bool:
    """True when each value of x comes with a single value of `other` (zipped keys)."""
    return all(len(set(other[x == v].tolist())) == 1 for v in np.unique(x))


def _short(key: str, varied: list[str]) -> str:
    """Last part of a dotted key, or its last three parts if the last is not unique."""
    last = key.split(".")[-1]
    if sum(k.split(".")[-1] == last for k in varied) > 1:
        return ".".join(key.split(".")[-3:])
    return last


def independent_keys(cols: dict, varied: list[str]) -> list[str]:
    """Varied keys that do not follow an earlier one (the second key of a zip group does)."""
    ok = np.asarray(cols["status"]).astype(str) == "ok"
    out = []
    for k in varied:
        if not any(_determined_by(np.asarray(cols[o])[ok], np.asarray(cols[k])[ok]) for o in out):
            out.append(k)
    return out


def sweep_series(cols: dict, varied: list[str], xkey: str, metric: str, scale: float = 1.0):
    """Mean ± sample std (ddof=1; 0 for a single seed) over seeds of `metric` vs the
    varied key `xkey`, one Series per combination of the other independent varied
    keys; failed cases are left out."""
    ok = np.asarray(cols["status"]).astype(str) == "ok"
    x_all = np.asarray(cols[xkey])
    others = []  # independent varied keys: not following x or another kept key (zip groups)
    for k in varied:
        if k != xkey and not any(_determined_by(np.asarray(cols[o])[ok], np.asarray(cols[k])[ok])
                                 for o in [xkey] + others):
            others.append(k)
    y_all = np.asarray(cols[metric], dtype=float) * scale
    groups = sorted({tuple(np.asarray(cols[k])[i] for k in others) for i in np.flatnonzero(ok)},
                    key=lambda g: tuple(map(str, g)))
    out = []
    for g in groups:
        sel = ok.copy()
        for k, v in zip(others, g):
            sel &= np.asarray(cols[k]) == v
        xs = np.unique(x_all[sel])
        mean, std = [], []
        for xv in xs:
            y = y_all[sel & (x_all == xv)]
            y = y[np.isfinite(y)]
            mean.append(y.mean() if y.size else np.nan)
            std.append(y.std(ddof=1) if y.size > 1 else 0.0)
        label = ", ".join(f"{_short(k, varied)}={v:g}" if isinstance(v, (float, np.floating))
                          else f"{_short(k, varied)}={v}" for k, v in zip(others, g)) or metric
        out.append(Series(label, xs, np.array(mean), np.array(std)))
    return out


def sweep_figure(cols: dict, varied: list[str], xkey: str, title: str = ""):
    """One panel per summary metric vs the varied key `xkey` → (fig, data)."""
    data = {label: sweep_series(cols, varied, xkey, m, scale) for m, label, scale in _sweep_metrics(cols)}
    return _draw(data, xkey, title), data


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def plot_discharge_ends(run_dirs, path, reference=True) -> Path:
    """`discharge_ends_figure` of run folders (their cycles.csv; names: the folder names)
    with the study's values (reference True: the shipped assets/study_reference.toml),
    saved as the PNG `path`; returns it."""
    from .io.tables import read_csv
    from .reference import load_reference
    runs = {}
    for d in run_dirs:
        f = Path(d) / "cycles.csv"
        if not f.is_file() or f.stat().st_size == 0:
            raise FileNotFoundError(f"{f}: no half-cycle ends to plot (a run that cycles writes "
                                    "cycles.csv)")
        runs[Path(d).name] = read_csv(f)
    fig, _ = discharge_ends_figure(runs, load_reference() if reference is True else reference)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_results(results_dir, out_dir=None) -> list[Path]:
    """Write the PNG figures of a run folder (timeseries.csv, cycles.csv) or a sweep
    folder (sweep.csv) into out_dir (default results_dir/figures); returns the files."""
    from .io.tables import read_csv
    from .sweep import read_sweep_csv

    src = Path(results_dir)
    out = Path(out_dir) if out_dir is not None else src / "figures"
    plt = _pyplot()
    written = []

    def save(fig, name):
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if (src / "sweep.csv").is_file():
        cols, varied = read_sweep_csv(src / "sweep.csv")
        if not (np.asarray(cols["status"]).astype(str) == "ok").any():
            raise ValueError(f"{src / 'sweep.csv'}: no successful case to plot")
        for key in independent_keys(cols, varied) or ["seed"]:
            fig, _ = sweep_figure(cols, varied, key, title=f"{src.name}: metrics vs {key}")
            save(fig, f"sweep_vs_{_safe(key)}.png")
    elif (src / "timeseries.csv").is_file():
        fig, _ = timeseries_figure(read_csv(src / "timeseries.csv"), title=src.name)
        save(fig, "timeseries.png")
        if (src / "cycles.csv").is_file() and (src / "cycles.csv").stat().st_size > 0:
            fig, _ = cycles_figure(read_csv(src / "cycles.csv"), title=src.name)
            save(fig, "cycles.png")
    else:
        raise FileNotFoundError(f"{src}: neither a run folder (timeseries.csv) nor a sweep "
                                "folder (sweep.csv)")
    return written
