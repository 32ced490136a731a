"""Report figures (PNG, matplotlib Agg) from a run folder or a sweep folder.

    dempack plot results/run        # timeseries.csv (+ cycles.csv) → timeseries.png (+ cycles.png)
    dempack plot results/sweep      # sweep.csv → sweep_vs_<key>.png, one per varied key

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
