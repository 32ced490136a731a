"""A run folder, read back: what `dempack run --out`, a sweep case or the app's "write
outputs" leave (README "Set up and run"), for the app's replay and for scripts.

    rf = RunFolder("results/press")
    rf.snapshots                      # [Snapshot(time_s, step, path)], from particles.pvd
    x, arrays = read_vtp(rf.snapshots[-1].path)   # positions (n, 3) m, point arrays
    rf.rows()                         # timeseries.csv as row dicts (+ cycle_x)
    rf.cycle_rows(), rf.summary       # cycles.csv rows, summary.json

Nothing here writes, and nothing needs the run to be finished: every file is
written atomically (`dempack.io.atomic`), so a folder that a run is still writing
reads as the run so far. Snapshots are read with vtk's XML reader.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .tables import read_csv
from .vtk import PVDCollection, contacts_name

_MARKERS = ("timeseries.csv", "checkpoint.npz", "particles.pvd")


@dataclass(frozen=True)
class Snapshot:
    """One VTK snapshot: physical time (s), DEM step, path of its .vtp file."""
    time_s: float
    step: int
    path: Path

    @property
    def contacts_path(self) -> Path:
        """contacts_<step>.npz beside the .vtp (absent in runs before it was written)."""
        return Path(contacts_name(str(self.path)))


CONTACT_KEYS = ("i", "j", "delta_flat", "share_i")
NETWORK_KEYS = ("touching", "F_n", "a")


def read_contacts(path) -> dict[str, np.ndarray] | None:
    """The contacts of a snapshot (`dempack.runner.snapshot_contacts`): i, j (rows of the
    snapshot), delta_flat (m), share_i, and where the file has them (runs since the contact
    layer) touching (bool), F_n (N), a (m); older files list only the pairs with a flat and
    lack the last three. None where the file is missing (runs written before it existed).
    Raises ValueError naming the file when it is unreadable or lacks a key."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            out = {k: np.array(z[k]) for k in CONTACT_KEYS}
            out.update({k: np.array(z[k]) for k in NETWORK_KEYS if k in z.files})
    except KeyError as e:
        raise ValueError(f"{path}: no array {e} (expected i, j, delta_flat, share_i)") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable contacts file ({e})") from None
    n = len(out["i"])
    if any(len(v) != n for v in out.values()):
        raise ValueError(f"{path}: arrays {', '.join(out)} differ in length")
    return out


def read_vtp(path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(positions (n, 3) m, {point array name: array}) of a snapshot .vtp, read with
    vtk's vtkXMLPolyDataReader (the arrays `dempack.runner.snapshot_arrays` writes:
    radius m, material, stress_vm Pa, lithiation, ...)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such snapshot")
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    if reader.GetErrorCode():
        raise ValueError(f"{path}: not a readable VTK PolyData file")
    poly = reader.GetOutput()
    pts = poly.GetPoints()
    x = vtk_to_numpy(pts.GetData()).astype(float) if pts is not None else np.zeros((0, 3))
    data = poly.GetPointData()
    arrays = {data.GetArrayName(k): np.array(vtk_to_numpy(data.GetArray(k)))
              for k in range(data.GetNumberOfArrays())}
    return x, arrays


def is_run_folder(path) -> bool:
    """True for a folder holding scenario.toml and a time series, checkpoint or snapshots."""
    p = Path(path)
    return (p / "scenario.toml").is_file() and any((p / m).is_file() for m in _MARKERS)


def run_cases(path) -> list[Path]:
    """The run folders directly inside `path` (the cases of a sweep folder), sorted."""
    p = Path(path)
    if not p.is_dir():
        return []
    return sorted(q for q in p.iterdir() if q.is_dir() and is_run_folder(q))


def _rows(path) -> list[dict]:
    """A dempack CSV as row dicts (floats, text; `step` and `cycle` as int), in order."""
    cols = read_csv(path) if Path(path).is_file() else {}
    if not cols:
        return []
    n = len(next(iter(cols.values())))
    rows = [{k: v[i].item() for k, v in cols.items()} for i in range(n)]
    for r in rows:
        for k in ("step", "cycle"):
            if isinstance(r.get(k), float) and np.isfinite(r[k]):
                r[k] = int(r[k])
    return rows


class RunFolder:
    """A run folder (see the module docstring). Raises FileNotFoundError when `path`
    does not exist and ValueError when it is not a run folder (a sweep folder: use
    `run_cases` to list its cases)."""

    def __init__(self, path):
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder")
        if not is_run_folder(self.path):
            hint = (f"; it holds {len(run_cases(self.path))} run folders (a sweep): open one"
                    if run_cases(self.path) else "")
            raise ValueError(f"{path}: not a run folder (no scenario.toml with a "
                             f"timeseries.csv, checkpoint.npz or particles.pvd){hint}")
        self.summary: dict = self._json("summary.json")
        self.snapshots: list[Snapshot] = self._snapshots()
        self._rows: list[dict] | None = None

    # ----------------------------------------------------------- files
    @property
    def scenario_path(self) -> Path:
        return self.path / "scenario.toml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.npz"

    @property
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    @property
    def completed(self) -> bool:
        """The run reached the end of its protocol (summary.json says so)."""
        return bool(self.summary.get("completed", False))

    @property
    def materials(self) -> list[str]:
        """Material names, in the order of the `material` index of the snapshots."""
        if self.summary.get("materials"):
            return list(self.summary["materials"])
        try:
            data = tomllib.loads(self.scenario_path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            return []
        return [m.get("material", "?") for m in data.get("packing", {}).get("materials", [])]

    def _json(self, name) -> dict:
        f = self.path / name
        try:
            return json.loads(f.read_text()) if f.is_file() else {}
        except (OSError, ValueError):
            return {}

    def _snapshots(self) -> list[Snapshot]:
        out = []
        for t, rel in PVDCollection.read(self.path / "particles.pvd").entries:
            f = self.path / rel
            try:
                step = int(Path(rel).stem.split("_")[-1])
            except ValueError:
                continue
            if f.is_file():
                out.append(Snapshot(float(t), step, f))
        return out

    # ---------------------------------------------------------- tables
    def rows(self, until_step: int | None = None, with_cycle_x: bool = True) -> list[dict]:
        """timeseries.csv as row dicts (new dicts at each call), with `cycle_x` (cycles
        elapsed, see `cycle_x`) as the app's live rows have, or exactly the file's
        columns (with_cycle_x=False); only the rows with step ≤ until_step when given."""
        if self._rows is None:
            rows = _rows(self.path / "timeseries.csv")
            for r, x in zip(rows, self.cycle_x(rows)):
                r["cycle_x"] = float(x)
            self._rows = rows
        drop = () if with_cycle_x else ("cycle_x",)
        return [{k: v for k, v in r.items() if k not in drop} for r in self._rows
                if until_step is None or r["step"] <= until_step]

    def cycle_rows(self) -> list[dict]:
        """cycles.csv as row dicts (one per half-cycle end); [] for a run without cycling."""
        return _rows(self.path / "cycles.csv")

    def cycle_x(self, rows: list[dict]) -> np.ndarray:
        """Cycles elapsed at each row, as a real number (0 before cycling): linear in
        physical time between the start of cycling and each half-cycle end of
        cycles.csv (half-cycle h ends at (h + 1)/2). The live value
        (`dempack.live.cycle_position`) follows the lithiation, which at a constant
        C-rate is linear in time too; rests within a half-cycle are where they differ."""
        t = np.array([r.get("time_s", np.nan) for r in rows], float)
        ends = [r["time_s"] for r in self.cycle_rows() if "time_s" in r]
        cyc = [k for k, r in enumerate(rows) if str(r.get("stage", "")).startswith("cycle")]
        if not cyc:
            return np.zeros(len(rows))
        before = [r.get("time_s") for r in self.summary.get("stages", [])
                  if r.get("mode") != "cycling" and r.get("time_s") is not None]
        t0 = max(before) if before else (t[cyc[0] - 1] if cyc[0] > 0 else t[cyc[0]])
        knots_t = np.array([t0] + ends, float)
        knots_x = 0.5 * np.arange(len(knots_t))
        if len(knots_t) == 1:                   # cycling started, no half-cycle ended yet
            return np.zeros(len(rows))
        # past the last half-cycle end: extrapolate at the last half-cycle's rate
        slope = 0.5 / max(knots_t[-1] - knots_t[-2], 1e-300)
        x = np.interp(t, knots_t, knots_x)
        x = np.where(t > knots_t[-1], knots_x[-1] + (t - knots_t[-1]) * slope, x)
        return np.where(t < t0, 0.0, x)

    # -------------------------------------------------------- snapshots
    def read_snapshot(self, k: int) -> tuple[np.ndarray, dict]:
        """read_vtp of snapshot k (negative: from the end)."""
        return read_vtp(self.snapshots[k].path)

    def die(self, step: int) -> tuple[float, float, float, bool]:
        """(Lx, Ly, z_top m, periodic) of the die at `step`: the width from summary.json
        (0 when the run has written none yet; Ly = 0 for a 2D run, whose disks lie in the
        x–z plane), the punch height (the `thickness_m` column) interpolated between rows."""
        rows = self.rows()
        width = float(self.summary.get("die_width_m") or 0.0)
        periodic = self.summary.get("lateral") == "periodic"
        steps = np.array([r["step"] for r in rows], float)
        z = np.array([r.get("thickness_m", np.nan) for r in rows], float)
        ok = np.isfinite(z)
        z_top = float(np.interp(step, steps[ok], z[ok])) if ok.any() else 0.0
        return width, (0.0 if self.summary.get("dimension") == 2 else width), z_top, periodic
