"""dempack desktop app (PySide6 + pyqtgraph + VTK): `dempack gui [SCENARIO]`.

The engine (dempack/) never imports this package; the app is a thin layer over
the same Python API as the CLI and is fed by dempack.live.LiveBridge.
"""
from __future__ import annotations


def main(argv=None) -> int:
    from .app import main as _main
    return _main(argv)
