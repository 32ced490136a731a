"""Compare the four battery cases (issue 3): contact ratios, active-material
von Mises stress and electrode thickness per half-cycle.

    python benchmarks/battery_cases_figure.py results/ --out assets/battery_cases.png

reads results/<case>/cycles.csv for the cases below (run them first with
`dempack run scenarios/<case>.toml --out results/<case>`), writes the figure and
prints the numbers as a table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CASES = [("cycle_se60mse", "Se", "Se-MSe 70 °C"), ("cycle_se60mse_25C", "Se", "Se-MSe 25 °C"),
         ("cycle_lco60mse", "LiCoO2", "LCO-MSe 70 °C"), ("cycle_fes60mse", "FeS", "FeS-MSe 70 °C")]


def load(results: Path):
    from dempack.io.tables import read_csv
    out = {}
    for case, active, label in CASES:
        f = results / case / "cycles.csv"
        if f.exists():
            out[case] = (active, label, read_csv(f))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--out", type=Path, default=Path("assets/battery_cases.png"))
    a = ap.parse_args(argv)
    data = load(a.results)
    if not data:
        raise SystemExit(f"no cycles.csv under {a.results}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    print(f"{'case':<16} {'cyc':>3} {'half':<9} {'CR A-A':>7} {'CR A-MSe':>8} "
          f"{'vm A MPa':>9} {'vm MSe MPa':>10} {'dThick':>7} {'poros':>6} {'creep A':>8}")
    for case, (act, label, c) in data.items():
        x = c["cycle"] + np.where(c["half"] == "charge", 0.5, 0.0)
        dis = c["half"] == "discharge"
        cr_aa = c[f"contact_ratio:{act}-{act}"]
        cr_am = c[f"contact_ratio:{act}-Mo6Se8"]
        vm_a = c[f"stress_vm_mean_Pa:{act}"] / 1e6
        line, = ax[0, 0].plot(x[dis], cr_aa[dis], "o-", label=f"{label}: {act}-{act}")
        ax[0, 0].plot(x[dis], cr_am[dis], "s--", color=line.get_color(),
                      label=f"{label}: {act}-MSe")
        ax[0, 1].plot(x[dis], vm_a[dis], "o-", color=line.get_color(), label=label)
        ax[1, 0].plot(x, 100 * c["thickness_change"], "o-", color=line.get_color(), label=label)
        ax[1, 1].plot(x, c["porosity"], "o-", color=line.get_color(), label=label)
        for k in range(len(x)):
            print(f"{label:<16} {int(c['cycle'][k]):>3} {c['half'][k]:<9} {cr_aa[k]:7.3f} "
                  f"{cr_am[k]:8.3f} {vm_a[k]:9.1f} {c['stress_vm_mean_Pa:Mo6Se8'][k] / 1e6:10.1f} "
                  f"{100 * c['thickness_change'][k]:6.1f}% {c['porosity'][k]:6.3f} "
                  f"{c[f'creep_strain_mean:{act}'][k]:8.3f}")
    ax[0, 0].set(xlabel="cycle (end of discharge)", ylabel="contact ratio",
                 title="contact ratio of the active material")
    ax[0, 1].set(xlabel="cycle (end of discharge)", ylabel="mean von Mises stress (MPa)",
                 title="active-material stress (volume-weighted mean)")
    ax[1, 0].set(xlabel="cycle", ylabel="thickness change (%)",
                 title="electrode thickness vs end of pressing")
    ax[1, 1].set(xlabel="cycle", ylabel="porosity", title="porosity")
    for a_ in ax.flat:
        a_.legend(fontsize=7)
        a_.grid(alpha=0.3)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"figure: {a.out}")


if __name__ == "__main__":
    main()
