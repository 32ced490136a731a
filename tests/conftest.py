"""Shared fixtures: the shipped quickstart scenario, the overrides that make it a
tiny end-to-end run, and a writer of scenario files into tmp_path."""
from __future__ import annotations

import os
import textwrap

import pytest

# The app tests draw the 3D view off screen (gui.view3d.widget_backend_available): each
# interactive VTK widget holds an OpenGL context of the X server, and a few dozen app
# windows in one process crash Mesa under Xvfb. The widget itself is tested on its own
# (test_gui_app.py::test_interactive_vtk_widget_under_a_display).
os.environ.setdefault("DEMPACK_GUI_3D", "offscreen")

from dempack.scenario import DEFAULT_SCENARIO

# ~60 particles pressed to 5 MPa: a few seconds per run once numba is compiled
TINY_OVERRIDES = {
    "packing.particles": 60,
    "pressing.0.pressure_MPa": 5,
    # a smoke test, not quasi-static (I ~ 1e-2, it logs a warning): twice the quickstart's speed
    "pressing.0.speed_m_per_s": 1.0,
    "pressing.0.hold_steps": 200,
    "run.output_interval_steps": 200,
    "run.max_overlap_ratio": 0.6,
    # one numba thread: 2-thread OpenMP loops crawl when other jobs share the 2 cores
    "run.threads": 1,
}


@pytest.fixture(scope="session")
def quickstart():
    """Absolute path of scenarios/quickstart.toml."""
    return DEFAULT_SCENARIO


@pytest.fixture(scope="session")
def tiny_overrides():
    """{dotted key: value} turning the quickstart into a tiny run."""
    return dict(TINY_OVERRIDES)


@pytest.fixture(scope="session")
def tiny_set_args():
    """The same overrides as CLI arguments: ['--set', 'k=v', ...]."""
    out = []
    for k, v in TINY_OVERRIDES.items():
        out += ["--set", f"{k}={v}"]
    return out


@pytest.fixture
def write_scenario(tmp_path):
    """write_scenario(text, name='scenario.toml') -> path of the dedented file."""
    def _write(text: str, name: str = "scenario.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return _write
