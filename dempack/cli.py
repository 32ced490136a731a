"""Command line: `dempack run | materials` (thin layer over the Python API)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(args) -> int:
    from .scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario, parse_value

    if args.resume:
        from .runner import resume
        res = resume(args.resume, progress=not args.quiet, threads=args.threads)
        _report(res)
        return 0
    path = Path(args.scenario) if args.scenario else DEFAULT_SCENARIO
    overrides = {}
    for item in args.set or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected key=value, e.g. packing.particles=500")
        k, v = item.split("=", 1)
        overrides[k.strip()] = parse_value(v.strip())
    sc = load_scenario(path, overrides)
    out = Path(args.out) if args.out else Path("results") / path.stem
    from .runner import run
    print(f"dempack: running {path} -> {out}", file=sys.stderr)
    res = run(sc, out_dir=out, progress=not args.quiet, threads=args.threads)
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
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(fn=_cmd_run)
    m = sub.add_parser("materials", help="list the material table with units and sources")
    m.add_argument("--file", help="materials TOML (default assets/materials.toml)")
    m.set_defaults(fn=_cmd_materials)
    args = p.parse_args(argv)
    from .materials import MaterialError
    from .scenario import ScenarioError
    from .simulation import DivergenceError
    try:
        return args.fn(args)
    except (ScenarioError, MaterialError, DivergenceError, FileNotFoundError, ValueError) as e:
        print(f"dempack: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dempack: interrupted; checkpoint written, continue with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
