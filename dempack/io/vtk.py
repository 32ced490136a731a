"""ParaView output: one .vtp (points + per-particle arrays) per snapshot and a
.pvd collection that indexes them by time. Uses vtk's XML writer. Both are
written atomically (`dempack.io.atomic`): a killed run leaves complete files."""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from .atomic import atomic_write, replacing


def write_vtp(path, points: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
    """Write points (n,3) with point-data arrays (n,) or (n,3) to a binary .vtp
    (atomically: a temporary file renamed over `path`)."""
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

    n = points.shape[0]
    pd = vtkPolyData()
    pts = vtkPoints()
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(points, dtype=np.float64), deep=True))
    pd.SetPoints(pts)
    verts = vtkCellArray()
    conn = np.arange(n, dtype=np.int64)
    offsets = np.arange(n + 1, dtype=np.int64)
    from vtkmodules.util.numpy_support import numpy_to_vtkIdTypeArray
    verts.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True), numpy_to_vtkIdTypeArray(conn, deep=True))
    pd.SetVerts(verts)
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype == np.bool_:
            a = a.astype(np.uint8)
        va = numpy_to_vtk(a, deep=True)
        va.SetName(name)
        pd.GetPointData().AddArray(va)
    with replacing(path) as tmp:
        w = vtkXMLPolyDataWriter()
        w.SetFileName(str(tmp))
        w.SetInputData(pd)
        w.SetDataModeToBinary()
        if not w.Write():
            raise OSError(f"could not write {path}")


def contacts_name(vtp_name: str) -> str:
    """The contacts file beside a snapshot: vtk/particles_<step>.vtp →
    vtk/contacts_<step>.npz (`dempack.runner.snapshot_contacts`)."""
    p = Path(vtp_name)
    return str(p.with_name(p.stem.replace("particles_", "contacts_", 1) + ".npz"))


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """numpy arrays as an uncompressed .npz, written atomically."""
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


class PVDCollection:
    """A ParaView .pvd file listing (time, file) datasets; rewritten (atomically)
    on each add."""

    def __init__(self, path, entries=None):
        self.path = Path(path)
        self.entries = list(entries or [])

    def add(self, time: float, rel_file: str) -> None:
        self.entries.append((float(time), rel_file))
        self.write()

    def truncate(self, keep) -> None:
        self.entries = [e for e in self.entries if keep(e)]
        self.write()

    def write(self) -> None:
        lines = ['<?xml version="1.0"?>',
                 '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
                 "  <Collection>"]
        for t, f in self.entries:
            lines.append(f'    <DataSet timestep="{t:.9g}" group="" part="0" file={quoteattr(f)}/>')
        lines += ["  </Collection>", "</VTKFile>", ""]
        atomic_write(self.path, "\n".join(lines))

    @classmethod
    def read(cls, path):
        import xml.etree.ElementTree as ET

        path = Path(path)
        if not path.exists():
            return cls(path)
        root = ET.parse(path).getroot()
        entries = [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]
        return cls(path, entries)
