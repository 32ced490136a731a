"""The engine (dempack/) never imports Qt (DESIGN §5, napari-style contract)."""
import ast
import pathlib
import subprocess
import sys

ENGINE = pathlib.Path(__file__).resolve().parents[1] / "dempack"
QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "qtpy", "gui")


def test_no_qt_import_in_engine_sources():
    bad = []
    for f in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            bad += [f"{f.name}: {n}" for n in names if n.split(".")[0] in QT]
    assert not bad, bad


def test_importing_engine_loads_no_qt():
    code = ("import sys, dempack, dempack.simulation, dempack.runner, dempack.cli; "
            "print([m for m in sys.modules if m.split('.')[0] in %r])" % (QT,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
