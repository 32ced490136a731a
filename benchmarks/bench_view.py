#!/usr/bin/env python
"""How fast the app's 3D view draws (issue 19, item 6): the interactive VTK view of
gui/view3d.py (`ParticleView`: point-Gaussian impostor spheres) with N = 20k, 100k and 300k
particles, under whatever OpenGL the display offers (Xvfb + Mesa llvmpipe here).

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_view.py
    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_view.py --sizes 20000 --frames 20

For each N (a random dense packing of spheres in a box, coloured by a continuous field), in
three modes alternated --reps times (medians): old, the view before issue 19 item 6 (every
sphere on VTK's splat triangle of 3 radii, multisampled); full, the full picture now (the
triangle of SPLAT_BOUND radii); lod, the level of detail of gui/lod.py (a light copy while
the picture moves):
  - rotate: frames per second while the camera turns (Azimuth 2° and a synchronous Render
    per frame, --frames frames, after 2 warm-up frames); with LOD on, a user's drag is
    simulated by the interactor style's StartInteractionEvent before the frames and
    EndInteractionEvent after;
  - update: the time of one `set_frame` with new positions and radii (it renders once: what a
    new snapshot from a running engine costs the UI thread until it is on screen); with LOD
    on, also the full-quality frame drawn once the frames stop (settle);
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
    ap.add_argument("--frames", type=int, default=10,
                    help="rotation frames timed per N, mode and repetition")
    ap.add_argument("--updates", type=int, default=2,
                    help="new-position updates timed per N, mode and repetition")
    ap.add_argument("--reps", type=int, default=3, help="LOD off / on alternations per N")
    ap.add_argument("--size", type=int, nargs=2, default=(1280, 760), help="view size in pixels")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "view.json")
    a = ap.parse_args(argv)

    from PySide6 import QtWidgets
    from gui.view3d import SPLAT_BOUND, ParticleView
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
    style = view.style
    cam = view.renderer.GetActiveCamera()

    def mode(m: str) -> None:
        """old: the view before issue 19 (VTK's splat triangles of 3 radii, no LOD); full:
        triangles of SPLAT_BOUND radii, no LOD; lod: with the level of detail."""
        view.mapper.SetBoundScale(3.0 if m == "old" else SPLAT_BOUND)
        view.set_level_of_detail(m == "lod")

    def rotate(m: str) -> float:
        mode(m)
        if m == "lod":
            style.InvokeEvent("StartInteractionEvent")
        for _ in range(2):
            cam.Azimuth(2.0)
            win.Render()
        t0 = time.perf_counter()
        for _ in range(a.frames):
            cam.Azimuth(2.0)
            win.Render()
            app.processEvents()
        fps = a.frames / (time.perf_counter() - t0)
        if m == "lod":
            style.InvokeEvent("EndInteractionEvent")
            view.lod.settle()
        return fps

    def update(p: dict, status: dict, k: int, m: str) -> tuple[float, float]:
        """(set_frame s, the settling full frame's s or nan)."""
        mode(m)
        q = dict(p, x=p["x"] + 1e-7 * k, radius=p["radius"] * (1.0 + 1e-3 * k))
        t0 = time.perf_counter()
        view.set_frame(q, status)              # updates the arrays and renders once
        t1 = time.perf_counter()
        active = view.lod.active
        view.lod.settle()                      # the full frame drawn once the frames stop
        return t1 - t0, (time.perf_counter() - t1) if active else float("nan")

    modes = ("old", "full", "lod")
    for n in a.sizes:
        p = packing(n)
        status = {"step": 0, "time_s": 0.0, "die": p["die"], "n": n}
        rss0 = current_rss_mb()
        mode("full")
        view.set_frame(p, status)
        app.processEvents()
        win.Render()
        if not gl:
            try:
                gl = win.ReportCapabilities().splitlines()[1:4]
            except Exception:  # noqa: BLE001 - a report, not a requirement
                gl = ""
        fps = {m: [] for m in modes}
        upd = {m: [] for m in modes}
        settle = []
        count = 0
        for rep in range(a.reps):              # the modes alternated: the cores are shared
            order = modes[rep % 3:] + modes[:rep % 3]
            for m in order:
                fps[m].append(rotate(m))
                if m == "lod":
                    count = view.lod.count if view.lod.wanted() else n
            for m in order * a.updates:
                t, ts = update(p, status, len(upd[m]) + 1, m)
                upd[m].append(t)
                if m == "lod":
                    settle.append(ts)
        med = lambda v: float(np.median(v))  # noqa: E731
        case = {"n": n, "lod_spheres": count,
                "settle_ms_median": 1e3 * float(np.nanmedian(settle)) if settle else None}
        for m in modes:
            case[f"rotate_fps_{m}"] = med(fps[m])
            case[f"update_ms_{m}"] = 1e3 * med(upd[m])
            case[f"rotate_fps_{m}_all"] = fps[m]
            case[f"update_ms_{m}_all"] = [1e3 * u for u in upd[m]]
        case.update(rss_MB=current_rss_mb(), rss_added_MB=current_rss_mb() - rss0)
        res["cases"].append(case)
        print(f"N={n}: rotating (fps) old {case['rotate_fps_old']:.1f}, full "
              f"{case['rotate_fps_full']:.1f}, LOD {case['rotate_fps_lod']:.1f} ({count} "
              f"spheres); new frame (ms) old {case['update_ms_old']:.0f}, full "
              f"{case['update_ms_full']:.0f}, LOD {case['update_ms_lod']:.0f} (+ "
              f"{case['settle_ms_median'] or 0:.0f} full frame when still); RSS "
              f"{case['rss_MB']:.0f} MB", flush=True)
    res["opengl"] = gl
    view.finalize()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
