"""Figures and movies of a run folder (issue 19 item 5), for the command line and the app.

    dempack export RUN_DIR --figure F.png [--dpi 200]     # or F.svg
    dempack export RUN_DIR --movie M.gif [--fps 10]       # or M.mp4 (imageio-ffmpeg)

    export_figure(["results/a"], "f.png", dpi=200, x="cycle", compare=..., reference=True)
    export_movie("results/a", "m.gif", fps=10, size=(960, 720), colour="von Mises stress")

The figure is the plots of the run (dempack.compare.overlay_figure: its time series, or its
half-cycle ends, over time, cycles or steps; a second run overlaid; the study's values as
markers) saved by matplotlib at the DPI asked for (the PNG's size is figsize × dpi and it
records the DPI). The movie renders every snapshot of particles.pvd off screen with VTK
(dempack.render.SnapshotRenderer, no display needed), one frame per snapshot with its time,
step and stage in the caption, assembled with imageio: GIF through Pillow, MP4 (H.264)
through imageio-ffmpeg. No Qt here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .compare import RunData, load_run, overlay_figure, run_names
from .io.rundir import RunFolder, read_vtp
from .plot import _pyplot
from .reference import StudyReference, load_reference

FIGURE_FORMATS = (".png", ".svg")
MOVIE_FORMATS = (".gif", ".mp4")
FIGSIZE = (13.2, 6.6)   # inches: three panels a row, two rows


def _reference(reference) -> StudyReference | None:
    if reference is True:
        return load_reference()
    if reference in (None, False):
        return None
    return reference if isinstance(reference, StudyReference) else load_reference(reference)


def save_figure(fig, path, dpi: int = 150, size_in=None) -> Path:
    """Save a matplotlib figure as PNG or SVG (by the file's suffix) at `dpi`; `size_in`
    (width, height in inches) resizes it first."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"{path}: a figure is saved as {' or '.join(FIGURE_FORMATS)}")
    if not (isinstance(dpi, (int, float)) and 10 <= dpi <= 2400):
        raise ValueError(f"dpi {dpi!r}: expected 10 to 2400")
    if size_in is not None:
        fig.set_size_inches(*size_in)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=path.suffix[1:].lower())
    _pyplot().close(fig)
    return path


def export_figure(runs, path, dpi: int = 150, table: str = "timeseries", x: str = "time",
                  reference=False, size_in=FIGSIZE, title: str = "") -> Path:
    """The plots of one or more runs (run folders or RunData: the first is the reference
    run, the others are overlaid) as a PNG/SVG at `dpi`. `reference`: True, a file or a
    StudyReference draws the study's values as markers."""
    runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    names = run_names([r.path if isinstance(r, RunData) else r for r in runs])
    data = [r if isinstance(r, RunData) else load_run(r, n) for r, n in zip(runs, names)]
    fig, _ = overlay_figure(data, table=table, x=x, reference=_reference(reference), title=title)
    return save_figure(fig, path, dpi=dpi, size_in=size_in)


def _caption(folder: RunFolder, k: int, stages: list[tuple[int, str]]) -> str:
    from bisect import bisect_right
    snap = folder.snapshots[k]
    t = snap.time_s
    when = (f"{t / 3600:.2f} h" if t >= 3600 else f"{t:.1f} s" if t >= 1 else
            f"{t * 1e3:.2f} ms" if t >= 1e-3 else f"{t * 1e6:.2f} µs")
    i = bisect_right([s for s, _ in stages], snap.step) - 1
    stage = stages[i][1] if i >= 0 else ""
    return (f"{folder.path.name}: snapshot {k + 1}/{len(folder.snapshots)}\n"
            f"t = {when}, step {snap.step:,}\n{stage}")


def movie_frames(run_dir, size=(960, 720), colour: str = "material", clip: bool = False):
    """The frames of the replay, one per snapshot, as (height, width, 3) uint8 arrays
    (a generator; the camera frames the tallest die of the run, a continuous colour keeps
    one scale over the run)."""
    from .render import SnapshotRenderer, colour_values

    folder = RunFolder(run_dir)
    if not folder.snapshots:
        raise ValueError(f"{folder.path}: no snapshots in particles.pvd (a run with "
                         "run.snapshot_every_outputs = 0 writes none): no movie")
    rows = folder.rows()
    stages = [(int(r["step"]), str(r.get("stage", ""))) for r in rows]
    dies = [folder.die(s.step) for s in folder.snapshots]
    value_range = None
    if colour != "material":
        lo, hi = np.inf, -np.inf
        for s in folder.snapshots:
            x, a = read_vtp(s.path)
            v = colour_values(a, colour, len(x))
            if v.size:
                lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
        value_range = (lo, hi) if np.isfinite(lo) else None
    r = SnapshotRenderer(int(size[0]), int(size[1]), colour=colour, materials=folder.materials,
                         clip=clip, value_range=value_range)
    tallest = max(dies, key=lambda d: d[2])
    try:
        for k, s in enumerate(folder.snapshots):
            x, arrays = read_vtp(s.path)
            if r.camera_die is None:
                die = tallest
                if die[0] <= 0.0 and len(x):      # no summary.json: the particles' extent
                    die = tuple((x + arrays["radius"][:, None]).max(0))
                r.set_camera(die)
            yield r.render(x, arrays, caption=_caption(folder, k, stages))
    finally:
        r.close()


def export_movie(run_dir, path, fps: float = 10.0, size=(960, 720), colour: str = "material",
                 clip: bool = False, progress=None) -> Path:
    """A movie of the replay: one frame per snapshot, written as GIF (any size) or MP4
    (H.264; width and height are rounded up to even numbers). `progress(k, n)` is called
    after each frame (the app's progress dialog). Returns the path."""
    import imageio.v2 as imageio

    path = Path(path)
    kind = path.suffix.lower()
    if kind not in MOVIE_FORMATS:
        raise ValueError(f"{path}: a movie is written as {' or '.join(MOVIE_FORMATS)}")
    if not 0.1 <= fps <= 60:
        raise ValueError(f"fps {fps!r}: expected 0.1 to 60 frames per second")
    w, h = (int(v) for v in size)
    if kind == ".mp4":
        w, h = w + w % 2, h + h % 2
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ValueError("an MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
                             "a GIF needs nothing more") from None
        writer_kw = {"fps": fps, "codec": "libx264", "macro_block_size": 1,
                     "pixelformat": "yuv420p"}
    else:
        writer_kw = {"duration": 1000.0 / fps, "loop": 0}
    n = len(RunFolder(run_dir).snapshots)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        with imageio.get_writer(tmp, mode="I", **writer_kw) as wr:
            for k, frame in enumerate(movie_frames(run_dir, (w, h), colour, clip)):
                wr.append_data(frame)
                if progress is not None and progress(k + 1, n) is False:
                    raise InterruptedError("movie export cancelled")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
