"""Command line: `dempack run | sweep | plot | pores | compare | export | gui | materials` (a thin layer over the
Python API; runs go through the one driver, `dempack.drive`).

Messages: the engine reports through the `logging` module (loggers under `dempack`,
e.g. a physics warning from `dempack.safety`); only this module configures
logging, with one handler on the `dempack` logger that prints one line per record
on stderr as `dempack: <level>: <message>`. Levels for `dempack run`:
- default: info (what is being run, where the outputs go), warnings and errors,
  and a progress bar;
- `--quiet`: warnings and errors only, no progress bar (a physics warning says the
  result may be wrong, so it is never hidden);
- `--verbose`: also debug lines (one per output row, each snapshot and checkpoint)
  in place of the progress bar.
The results report (stdout) is printed in every mode.
"""
from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("dempack")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record (so a redirected
    or captured stderr gets it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


class _Formatter(logging.Formatter):
    def format(self, record):
        return f"dempack: {record.levelname.lower()}: {record.getMessage()}"


@contextmanager
def _logging(level: int):
    """Print the `dempack` loggers' records at `level` and above on stderr, one line
    each, for the duration of a command; the logger's previous state is restored."""
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    before = log.level
    log.addHandler(handler)
    log.setLevel(level)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(before)


def _level(args) -> int:
    if getattr(args, "verbose", False):
        return logging.DEBUG
    return logging.WARNING if getattr(args, "quiet", False) else logging.INFO


@contextmanager
def _progress_logging(progress: bool):
    """While a tqdm bar runs, route the `dempack` records through tqdm.write so a
    warning does not tear the bar."""
    if not progress:
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm
    with logging_redirect_tqdm(loggers=[log]):
        yield


def _cmd_run(args) -> int:
    from .scenario import DEFAULT_SCENARIO, load_scenario

    progress = not (args.quiet or args.verbose)
    if args.resume:
        from .runner import resume
        log.info("resuming %s", args.resume)
        with _progress_logging(progress):
            res = resume(args.resume, progress=progress, threads=args.threads)
        _report(res)
        return 0
    path = Path(args.scenario) if args.scenario else DEFAULT_SCENARIO
    sc = load_scenario(path, _overrides(args.set))
    out = Path(args.out) if args.out else Path("results") / path.stem
    from .runner import run
    log.info("running %s -> %s", path, out)
    with _progress_logging(progress):
        res = run(sc, out_dir=out, progress=progress, threads=args.threads)
    _report(res)
    return 0


def _report(res) -> None:
    s = res.summary
    f = s["final"]
    print(f"{s['scenario']}: {s['particles']} particles, {s['steps']} steps, "
          f"dt {s['dt_s']:.3g} s, {s['run_time_s']:.1f} s wall")
    for st in s["stages"]:
        print(f"  {st['stage']:<22} porosity {st['porosity']:.4f}  thickness "
              f"{st['thickness_m'] * 1e6:.2f} um  punch {st['punch_stress_Pa'] / 1e6:.1f} MPa"
              + ("" if st["reached"] else "  (target not reached)"))
    print(f"  final porosity {f['porosity']:.4f}, coordination {f['coordination']:.2f}")
    if res.out_dir is not None:
        print(f"  outputs in {res.out_dir}")


def _overrides(items) -> dict:
    """--set KEY=VALUE arguments → {dotted key: value} (values parsed as TOML)."""
    from .scenario import ScenarioError, parse_value
    overrides = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected key=value, e.g. packing.particles=500")
        k, v = item.split("=", 1)
        overrides[k.strip()] = parse_value(v.strip())
    return overrides


def _cmd_sweep(args) -> int:
    from .sweep import run_sweep

    overrides = _overrides(args.set)
    out = Path(args.out) if args.out else Path("results") / Path(args.sweep).stem
    log.info("sweep %s -> %s", args.sweep, out)
    try:
        res = run_sweep(args.sweep, out, scheduler=args.scheduler, workers=args.workers,
                        threads=args.threads, progress=not args.quiet, overrides=overrides,
                        seeds=args.seeds)
    except KeyboardInterrupt:
        print("dempack: sweep interrupted; run the same command again to continue "
              "(finished cases are skipped)", file=sys.stderr)
        return 130
    print(f"{len(res.rows)} cases: {len(res.ran)} run, {len(res.skipped)} already complete, "
          f"{len(res.failed)} failed; table {out / 'sweep.csv'}")
    for r in res.rows:
        if r["status"] == "failed":
            print(f"  failed {r['case']}:\n    " + "\n    ".join(r["error"].splitlines()))
    return 1 if res.failed else 0


def _cmd_plot(args) -> int:
    from .plot import plot_discharge_ends, plot_results
    if args.discharge_ends:
        out = Path(args.out or args.results[0]) / "discharge_ends.png"
        print(plot_discharge_ends(args.results, out))
        return 0
    if len(args.results) > 1:
        raise SystemExit("dempack plot: several folders are plotted together only with "
                         "--discharge-ends")
    for f in plot_results(args.results[0], args.out):
        print(f)
    return 0


def _cmd_pores(args) -> int:
    from .analysis.pores import pores
    res = pores(args.run_dir, depth=args.depth, pixels_per_diameter=args.pixels_per_diameter,
                min_area_px=args.min_area_px, out=args.out, images=not args.no_images)
    s = res.summary
    sec = s["section"]
    print(f"{s['pores_tracked']} pores tracked ({s['pores_total']} in all) in {len(res.states)} "
          f"states; section at depth {sec['depth_fraction']:g} of the thickness, "
          f"{sec['nx']} x {sec['ny']} pixels of {sec['pixel_m'][0] * 1e6:.3g} um; pores under "
          f"{sec['min_area_px']} pixels left out")
    for st in s["states"]:
        med = st["median_area_rel"]
        print(f"  {st['name']:>4} step {st['step']:>9}  {st['half'] or 'before cycling':<9} "
              f"c {st['lithiation_mean']:.3f}  pores {st['pores']:>4}  median A/A_I "
              + ("-" if med is None else f"{med:.3f}"))
    for c in s["shrink_during_charge"]:
        print(f"  cycle {c['cycle']}: {c['shrink']} of {c['pores_compared']} pores shrink "
              "during the charge")
    print(f"  below the no-creep line ({s['no_creep_area_rel']:.2f}) at the last state: "
          f"{s['below_no_creep_at_last_state']} of {s['pores_tracked']}")
    for f in res.files:
        print(f"  wrote {f}")
    return 0


def _cmd_compare(args) -> int:
    from .compare import compare
    out = Path(args.out) if args.out else Path(args.run_a).parent / (
        f"{Path(args.run_a).resolve().name}_vs_{Path(args.run_b).resolve().name}")
    reference = False if args.no_reference else (args.reference or True)
    cmp = compare(args.run_a, args.run_b, out=out, reference=reference, dpi=args.dpi)
    a, b = cmp.runs
    ends = len({(r["cycle"], r["half"]) for r in cmp.table})
    print(f"A = {a.name} ({len(a.cycles)} half-cycle ends), B = {b.name} ({len(b.cycles)}): "
          f"{ends} half-cycle ends compared")
    last = max(((r["cycle"], r["half"]) for r in cmp.table), default=None,
               key=lambda k: (k[0], k[1] == "charge"))
    for r in cmp.table:
        if (r["cycle"], r["half"]) == last and r["column"] in _DIGEST:
            print(f"  cycle {r['cycle']} {r['half']:<9} {r['column']:<24} A {r['A']:.6g}  "
                  f"B {r['B']:.6g}  B-A {r['B_minus_A']:+.4g}")
    for f in cmp.files:
        print(f"  wrote {f}")
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 960x720") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: 16 to 8192 pixels each way")
    return w, h


def _cmd_export(args) -> int:
    from .export import export_figure, export_movie
    if not (args.figure or args.movie):
        print("dempack: error: export: give --figure F.png|.svg and/or --movie M.gif|.mp4",
              file=sys.stderr)
        return 2
    if args.figure:
        runs = [args.run_dir] + ([args.compare] if args.compare else [])
        f = export_figure(runs, args.figure, dpi=args.dpi, table=args.table, x=args.x,
                          reference=args.reference or bool(args.with_reference))
        print(f"wrote {f} ({args.dpi} dpi)")
    if args.movie:
        def progress(k, n):
            log.debug("frame %d/%d", k, n)
        f = export_movie(args.run_dir, args.movie, fps=args.fps, size=args.size,
                         colour=args.colour, clip=args.clip, progress=progress)
        print(f"wrote {f}")
    return 0


_DIGEST = ("porosity", "thickness_change", "punch_stress_Pa", "contact_ratio:Se-Se",
           "stress_vm_mean_Pa:Se")


def _cmd_gui(args) -> int:
    # the app lives in the top-level `gui` package; imported by name so that the
    # engine never imports Qt (tests/test_engine_is_qt_free.py)
    import importlib
    try:
        app = importlib.import_module("gui.app")
    except ImportError as e:
        print(f"dempack: error: the app needs PySide6, pyqtgraph and vtk ({e}); "
              "install with: pip install -e .", file=sys.stderr)
        return 2
    return app.launch(args)


def gui_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of `dempack gui` (gui.app.main parses the same ones)."""
    p.add_argument("path", nargs="?", metavar="SCENARIO|RUN_DIR",
                   help="scenario TOML file (default: quickstart), or a run folder (or a sweep "
                        "folder) to replay")
    p.add_argument("--screenshot", metavar="FILE.png",
                   help="render the window with that run (or the scenario's set-up) loaded, "
                        "save it as a PNG and exit")
    p.add_argument("--frame", type=int, default=-1, metavar="K",
                   help="with a run folder: the snapshot shown, 0-based (negative: from the "
                        "end; default -1, the last)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="--screenshot: give up after this many seconds (default 300)")
    return p


def _cmd_materials(args) -> int:
    from .materials import format_table, load_materials
    print(format_table(load_materials(args.file)))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dempack", description="DEM of battery cathode powders")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario (default: scenarios/quickstart.toml)")
    r.add_argument("scenario", nargs="?", help="scenario TOML file")
    r.add_argument("--out", help="output folder (default results/<scenario name>)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set packing.particles=500")
    r.add_argument("--resume", metavar="DIR", help="continue the run whose outputs are in DIR")
    r.add_argument("--threads", type=int, default=None, help="numba threads (default: scenario)")
    talk = r.add_mutually_exclusive_group()
    talk.add_argument("--quiet", "-q", action="store_true",
                      help="warnings and errors only, no progress bar")
    talk.add_argument("--verbose", "-v", action="store_true",
                      help="debug messages (a line per output row) instead of the progress bar")
    r.set_defaults(fn=_cmd_run)
    w = sub.add_parser("sweep", help="run a parameter sweep on Dask (one row per case in sweep.csv)")
    w.add_argument("sweep", help="sweep TOML file (base scenario + keys to vary + seeds)")
    w.add_argument("--out", help="output folder (default results/<sweep name>)")
    w.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler (default: a LocalCluster on this machine)")
    w.add_argument("--workers", type=int, default=None,
                   help="LocalCluster worker processes (default: number of cores)")
    w.add_argument("--threads", type=int, default=1, help="numba threads per case (default 1)")
    w.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key in every case, e.g. --set packing.particles=300")
    w.add_argument("--seeds", type=int, default=None,
                   help="number of seeds per point (default: the sweep file's seeds)")
    w.add_argument("--quiet", "-q", action="store_true",
                   help="warnings and errors only, no progress bar")
    w.set_defaults(fn=_cmd_sweep)
    pl = sub.add_parser("plot", help="PNG figures of a run folder or a sweep folder")
    pl.add_argument("results", nargs="+",
                    help="run folder (timeseries.csv) or sweep folder (sweep.csv); several run "
                         "folders with --discharge-ends")
    pl.add_argument("--out", help="folder for the PNGs (default RESULTS/figures; with "
                                  "--discharge-ends, the first RESULTS)")
    pl.add_argument("--discharge-ends", action="store_true",
                    help="the study's Fig. 4d/e style: contact ratios and mean von Mises stress "
                         "at each discharge end of the runs, with the study's values as stars "
                         "(discharge_ends.png)")
    pl.set_defaults(fn=_cmd_plot)
    po = sub.add_parser("pores", help="virtual in-situ SEM: pores in a section of each snapshot, "
                        "tracked (pores.csv, pores.json, PNGs)")
    po.add_argument("run_dir", metavar="RUN_DIR", help="run folder with VTK snapshots")
    po.add_argument("--depth", type=float, default=0.5,
                    help="depth of the section plane below the top of the bed, as a fraction "
                         "of its thickness, 0 to 1 (default 0.5)")
    po.add_argument("--pixels-per-diameter", type=float, default=20.0,
                    help="pixels across the smallest particle diameter (default 20)")
    po.add_argument("--min-area-px", type=int, default=10,
                    help="pores of fewer pixels are left out (default 10)")
    po.add_argument("--out", help="output folder (default RUN_DIR)")
    po.add_argument("--no-images", action="store_true", help="write no PNG")
    po.set_defaults(fn=_cmd_pores)
    c = sub.add_parser("compare", help="compare two run folders: cycles.csv at each half-cycle "
                       "end (compare.csv, compare.md), overlay figure (compare.png) with the "
                       "study's reference values")
    c.add_argument("run_a", metavar="RUN_A", help="run folder A")
    c.add_argument("run_b", metavar="RUN_B", help="run folder B (differences are B - A)")
    c.add_argument("--out", help="output folder (default: RUN_A's parent / A_vs_B)")
    c.add_argument("--reference", metavar="FILE.toml",
                   help="study reference values (default assets/study_reference.toml)")
    c.add_argument("--no-reference", action="store_true", help="no study values")
    c.add_argument("--dpi", type=int, default=110, help="resolution of compare.png (default 110)")
    c.set_defaults(fn=_cmd_compare)
    e = sub.add_parser("export", help="figure (PNG/SVG at a DPI) and movie (GIF/MP4 of the "
                       "replay, rendered off screen) of a run folder")
    e.add_argument("run_dir", metavar="RUN_DIR", help="run folder")
    e.add_argument("--figure", metavar="F.png|F.svg", help="the plots as a PNG or SVG")
    e.add_argument("--dpi", type=int, default=150, help="figure resolution (default 150)")
    e.add_argument("--table", choices=("timeseries", "cycles"), default="timeseries",
                   help="plot every row (timeseries.csv) or the half-cycle ends (cycles.csv)")
    e.add_argument("--x", choices=("time", "cycle", "step"), default="time",
                   help="x axis of a timeseries figure (default time)")
    e.add_argument("--compare", metavar="RUN_B", help="overlay a second run folder")
    e.add_argument("--with-reference", action="store_true",
                   help="draw the study's reference values as markers")
    e.add_argument("--reference", metavar="FILE.toml",
                   help="with this reference file instead of assets/study_reference.toml")
    e.add_argument("--movie", metavar="M.gif|M.mp4",
                   help="one frame per snapshot (GIF needs nothing more; MP4 imageio-ffmpeg)")
    e.add_argument("--fps", type=float, default=10.0, help="movie frames per second (default 10)")
    e.add_argument("--size", type=_size, default=(960, 720), metavar="WxH",
                   help="movie frame size in pixels (default 960x720)")
    e.add_argument("--colour", "--color", default="material",
                   help="colour the particles by: material (default), 'von Mises stress', "
                        "lithiation, 'creep strain', ...")
    e.add_argument("--clip", action="store_true", help="cut away the front half of the die")
    e.add_argument("--verbose", "-v", action="store_true", help="a line per movie frame")
    e.set_defaults(fn=_cmd_export)
    g = sub.add_parser("gui", help="open the desktop app (PySide6) with a scenario or a run folder")
    gui_arguments(g)
    g.set_defaults(fn=_cmd_gui)
    m = sub.add_parser("materials", help="list the material table with units and sources")
    m.add_argument("--file", help="materials TOML (default assets/materials.toml)")
    m.set_defaults(fn=_cmd_materials)
    args = p.parse_args(argv)
    from .io.checkpoint import CheckpointError
    from .materials import MaterialError
    from .reference import ReferenceError
    from .scenario import ScenarioError
    from .simulation import DivergenceError
    try:
        with _logging(_level(args)):
            return args.fn(args)
    except ScenarioError as e:  # one line per problem, each naming the file and the key
        for line in e.lines():
            print(f"dempack: error: {' '.join(line.splitlines())}", file=sys.stderr)
        return 2
    except (CheckpointError, MaterialError, ReferenceError, DivergenceError, FileNotFoundError,
            ValueError) as e:
        print(f"dempack: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dempack: interrupted; checkpoint written, continue with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
