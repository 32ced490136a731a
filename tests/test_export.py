"""Figure and movie export of a run folder (issue 19 item 5), headless: `dempack export
RUN_DIR --figure F.png --dpi N` writes a PNG of figsize × N pixels that records N dpi (SVG by
its suffix); `--movie M.gif` renders every snapshot off screen with VTK, one GIF frame each."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dempack.cli import main
from dempack.export import FIGSIZE, export_figure, export_movie

from _rundirs import finished_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_overrides):
    return finished_run(tmp_path_factory.mktemp("export") / "run", tiny_overrides)


def _snapshots(run_dir) -> int:
    return len(list(ET.parse(run_dir / "particles.pvd").getroot().iter("DataSet")))


def test_figure_png_has_the_dpi_and_size_asked_for(run_dir, tmp_path, capsys):
    from PIL import Image
    png = tmp_path / "plots.png"
    assert main(["export", str(run_dir), "--figure", str(png), "--dpi", "72"]) == 0
    assert "72 dpi" in capsys.readouterr().out
    with Image.open(png) as im:
        assert im.format == "PNG"
        assert im.size == (round(FIGSIZE[0] * 72), round(FIGSIZE[1] * 72))
        assert im.info["dpi"] == pytest.approx((72, 72), abs=0.05)
        a = np.asarray(im.convert("RGB"))
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 50          # something is drawn
    # the same API at another DPI and size: pixels follow
    export_figure([run_dir], tmp_path / "big.png", dpi=120, size_in=(5, 4), x="cycle")
    with Image.open(tmp_path / "big.png") as im:
        assert im.size == (600, 480) and im.info["dpi"] == pytest.approx((120, 120), abs=0.05)
    svg = export_figure([run_dir], tmp_path / "plots.svg", dpi=100)
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:1000]
    with pytest.raises(ValueError, match="png or .svg"):
        export_figure([run_dir], tmp_path / "plots.jpg")


def _offscreen(code: str) -> str:
    """Run `code` in a fresh interpreter and return its stdout. Movies render with VTK's
    off-screen OpenGL windows; rendered here, in the test process, their contexts pile up
    beside the app tests' Qt VTK widgets and Mesa crashes under Xvfb. A subprocess is also
    how a user runs `dempack export`."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_movie_gif_has_one_frame_per_snapshot(run_dir, tmp_path):
    import imageio.v3 as iio
    gif = tmp_path / "replay.gif"
    _offscreen("from dempack.cli import main; raise SystemExit(main(['export', "
               f"{str(run_dir)!r}, '--movie', {str(gif)!r}, '--size', '160x120', '--fps', '20']))")
    frames = iio.imread(gif, index=None)
    n = _snapshots(run_dir)
    assert n > 10 and frames.shape[:3] == (n, 120, 160)
    # the particles are drawn (material colours, not a white page), and frames differ
    assert (frames[-1].astype(int).sum(-1) < 600).mean() > 0.05
    assert not np.array_equal(frames[0], frames[-1])
    out = _offscreen(
        "from dempack.export import export_movie; calls = []\n"
        f"export_movie({str(run_dir)!r}, {str(tmp_path / 'c.gif')!r}, size=(64, 48), "
        "colour='von Mises stress', progress=lambda k, m: calls.append((k, m)))\n"
        "print(len(calls), *calls[-1])")
    assert [int(v) for v in out.split()] == [n, n, n]
    with pytest.raises(ValueError, match="colour 'pink' unknown"):
        export_movie(run_dir, tmp_path / "d.gif", colour="pink")
    assert not (tmp_path / "d.gif").exists()


def test_movie_mp4(run_dir, tmp_path):
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    mp4 = tmp_path / "replay.mp4"
    _offscreen("from dempack.export import export_movie; "
               f"export_movie({str(run_dir)!r}, {str(mp4)!r}, size=(95, 71), fps=10)")
    frames, secs = ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == _snapshots(run_dir) and secs == pytest.approx(frames / 10, abs=0.15)
