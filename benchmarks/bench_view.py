#!/usr/bin/env python
"""How fast the app's 3D view draws (issue 19, item 6): the interactive VTK view of
gui/view3d.py (`ParticleView`: point-Gaussian impostor spheres) with N = 20k, 100k and 300k
particles, under whatever OpenGL the display offers (Xvfb + Mesa llvmpipe here).

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_view.py
    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_view.py --sizes 20000 --frames 20

For each N (a random dense packing of spheres in a box, coloured by a continuous field):
  - rotate: frames per second while the camera turns (Azimuth 2° and a synchronous Render
    per frame, --frames frames, after 3 warm-up frames);
  - update: the time of one `set_frame` with new positions and radii (it renders once: what a
    new snapshot from a running engine costs the UI thread);
  - memory: the process's resident memory after the view holds N particles.
Goals (issue 19): ≥ 30 fps at 100k on a real GPU, ≥ 10 fps at 100k with Mesa llvmpipe on 2
cores. The engine never waits for the view: the live bridge drops frames (tests/
test_gui_live_bridge.py); this benchmark measures the view alone.
Results: benchmarks/results/view.json, with the machine and the OpenGL renderer string.
Time it with nothing else running on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

import numpy as np  # noqa: E402

from bench_hertz_bed import current_rss_mb, machine_info  # noqa: E402


def packing(n: int, seed: int = 1) -> dict:
    """n spheres of radius ~2.5 µm at random in a cube at solid fraction ~0.6, with a
    material id and a continuous field to colour by."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(2e-6, 3e-6, n)
    L = (4.0 / 3.0 * np.pi * np.sum(r ** 3) / 0.6) ** (1.0 / 3.0)
    x = rng.uniform(0.0, L, (n, 3))
    return {"x": x, "radius": r, "material": rng.integers(0, 2, n).astype(np.int32),
            "stress_vm": rng.uniform(0.0, 3e8, n), "die": (L, L, L, False)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000, 300000])
    ap.add_argument("--frames", type=int, default=30, help="rotation frames timed per N")
    ap.add_argument("--updates", type=int, default=5, help="new-position updates timed per N")
    ap.add_argument("--size", type=int, nargs=2, default=(1280, 760), help="view size in pixels")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "view.json")
    a = ap.parse_args(argv)

    from PySide6 import QtWidgets
    from gui.view3d import ParticleView
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    view = ParticleView(interactive=True)
    view.resize(*a.size)
    view.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    view.set_materials(["A", "B"])
    view.color_combo.setCurrentText("von Mises stress")
    win = view.render_window
    gl = ""
    res = {"benchmark": "view", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "machine": machine_info(), "display": os.environ.get("DISPLAY", ""),
           "window": [view.width(), view.height()], "cases": []}
    for n in a.sizes:
        p = packing(n)
        status = {"step": 0, "time_s": 0.0, "die": p["die"], "n": n}
        rss0 = current_rss_mb()
        view.set_frame(p, status)
        app.processEvents()
        win.Render()
        if not gl:
            try:
                gl = win.ReportCapabilities().splitlines()[1:4]
            except Exception:  # noqa: BLE001 - a report, not a requirement
                gl = ""
        cam = view.renderer.GetActiveCamera()
        for _ in range(3):
            cam.Azimuth(2.0)
            win.Render()
        t0 = time.perf_counter()
        for _ in range(a.frames):
            cam.Azimuth(2.0)
            win.Render()
            app.processEvents()
        fps = a.frames / (time.perf_counter() - t0)
        upd = []
        for k in range(a.updates):
            q = dict(p, x=p["x"] + 1e-7 * (k + 1), radius=p["radius"] * (1.0 + 1e-3 * (k + 1)))
            t0 = time.perf_counter()
            view.set_frame(q, status)              # updates the arrays and renders once
            upd.append(time.perf_counter() - t0)
        case = {"n": n, "rotate_fps": fps, "update_ms_median": 1e3 * float(np.median(upd)),
                "update_ms_all": [1e3 * u for u in upd], "rss_MB": current_rss_mb(),
                "rss_added_MB": current_rss_mb() - rss0}
        res["cases"].append(case)
        print(f"N={n}: {fps:.1f} fps rotating, {case['update_ms_median']:.0f} ms per new frame, "
              f"RSS {case['rss_MB']:.0f} MB", flush=True)
    res["opengl"] = gl
    view.finalize()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
