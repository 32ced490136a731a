"""Headless runs: a Simulation with its writers (CSV, VTK, checkpoint, summary),
driven by `dempack.drive.drive` (the driver the app shares).

    res = dempack.run(sc, out_dir="results/x")   # or dempack.resume("results/x")
    res.timeseries["porosity"]                   # numpy array per column
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .drive import drive
from .io import CSVWriter, PVDCollection, RowLog, write_json, write_vtp
from .io.vtk import contacts_name, write_npz
from .scenario import Scenario, load_scenario
from .simulation import Observer, Simulation

log = logging.getLogger(__name__)


@dataclass
class Result:
    """Outcome of a run: time series {column: array}, summary dict, the
    Simulation (particle state in sim.particles) and the output folder.

    With an output folder the rows live in its CSVs, not in memory (sim.history and
    sim.cycle_rows are `RowLog`s streamed to timeseries.csv and cycles.csv): the
    time series and the summary's cycles are read back from them at the end of the
    run, so a 1,000-cycle run holds no more in memory than a short one. Without a
    folder every row stays in memory (nothing else holds it)."""

    timeseries: dict
    summary: dict
    sim: Simulation
    out_dir: Path | None

    def table(self):
        """Rows of the time series as a list of dicts (with an output folder: read
        back from timeseries.csv, where a value that is not defined is None)."""
        return self.sim.history.rows()


def _columns(history) -> dict:
    """{column: array} over every column of any row (first-seen order); a row
    without a column, or with None there, has NaN (None in a text column), as in
    timeseries.csv. history: rows (a RowLog reads a streamed one back from its file)."""
    history = list(history)
    out = {}
    names = list(dict.fromkeys(k for r in history for k in r))
    for k in names:
        vals = [r.get(k) for r in history]
        try:
            out[k] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        except (TypeError, ValueError):
            out[k] = np.array(vals, dtype=object)
    return out


def snapshot_arrays(sim: Simulation) -> dict:
    """Per-particle arrays for a snapshot (VTK, GUI), alive particles only."""
    ps = sim.particles
    a = getattr(sim, "_last_analysis", None)
    if a is None or a["stress_vm"].shape[0] != ps.n:
        from .observe import analyse
        a = sim._last_analysis = analyse(sim)
    alive = ps.alive
    out = {
        "radius": ps.R[alive], "material": ps.material[alive], "id": ps.pid[alive],
        "velocity": ps.v[alive], "lithiation": ps.lithiation[alive],
        "creep_strain": ps.creep_strain[alive], "generation": ps.generation[alive],
        "confinement": ps.confinement[alive],
    }
    out["stress_vm"] = a["stress_vm"][alive]
    out["coordination"] = a["ncontact"][alive].astype(np.int32)
    con = getattr(sim, "_connected", None)
    if con is None or con.shape[0] != ps.n:
        from .transport import connectivity
        con = sim._connected = connectivity(sim)["connected"]
    out["connected"] = con[alive].astype(np.int8)  # 0 none, 1 electron, 2 ion, 3 both
    return out


def snapshot_contacts(sim: Simulation) -> dict:
    """The contacts of a snapshot's contacts_<step>.npz, one row per pair that touches
    (d < R_i + R_j) or keeps an irreversible flat (δ_cr ≠ 0), both alive: i, j (int32:
    rows of the snapshot, i.e. indexes among the alive particles), delta_flat (m, the flat
    δ_cr; 0 where none), share_i (the share f_i of the flat that i made,
    `dempack.physics.volume.flattening_share`), touching (bool), F_n (float32, N: normal
    force, compression > 0; 2D: per DISK_THICKNESS = 1 m of disk, i.e. N/m) and a (float32, m: contact radius, 2D half-chord) from
    `dempack.observe.pair_network` (0 where not touching). With the radius of the .vtp,
    delta_flat and share_i fix each contact's separating plane
    (`dempack.physics.volume.cap_heights`), so a section cuts the particles as the engine's
    porosity does (dempack.analysis.pores); touching, F_n and a draw the force chains
    (the app's contact layer)."""
    from .observe import pair_network
    ps, cl = sim.particles, sim.contacts
    alive = ps.alive
    row = np.cumsum(alive) - 1
    i, j = np.asarray(cl.i), np.asarray(cl.j)
    df = np.asarray(cl.delta_flat, float)
    if len(i):
        net = pair_network(sim)
        keep = ((df != 0.0) & alive[i] & alive[j]) | net["touching"]
    else:
        net = {k: np.zeros(0) for k in ("touching", "F_n", "a")}
        keep = np.zeros(0, bool)
    i, j = i[keep], j[keep]
    share = sim.flattening_share[ps.material[i], ps.material[j]] if len(i) else np.zeros(0)
    return {"i": row[i].astype(np.int32), "j": row[j].astype(np.int32), "delta_flat": df[keep],
            "share_i": np.asarray(share, float), "touching": net["touching"][keep].astype(bool),
            "F_n": net["F_n"][keep].astype(np.float32), "a": net["a"][keep].astype(np.float32)}


class OutputWriters:
    """CSV row every output; VTK every k outputs; checkpoint every k outputs;
    breakage.csv: the breakage events since the last row, one row per event
    (FractureModel.log; material by name), written with each output row.

    The Simulation's row logs become views of the files (`RowLog(writer)`):
    timeseries.csv and cycles.csv hold the rows, memory only the last of each. On
    resume (resume_step) the files keep their rows up to that step and continue.
    Rows recorded in memory before the writers were attached are written first."""

    def __init__(self, sim: Simulation, out_dir: Path, resume_step: int | None = None):
        self.sim = sim
        self.out = out_dir
        (out_dir / "vtk").mkdir(parents=True, exist_ok=True)
        self.csv = CSVWriter(out_dir / "timeseries.csv", keep_until_step=resume_step)
        sim.history = self._stream(sim.history, self.csv)
        # breakage.csv, created at the first event; written afresh from the log, which on
        # resume is the checkpoint's (every event up to its step)
        self.breakage_csv = CSVWriter(out_dir / "breakage.csv")
        self._breakage_written = 0
        self.write_breakage(sim)
        self.cycles_csv = None
        if sim.scenario.cycling.cycles > 0:
            self.cycles_csv = CSVWriter(out_dir / "cycles.csv", keep_until_step=resume_step)
            sim.cycle_rows = self._stream(sim.cycle_rows, self.cycles_csv)
            sim.half_cycle_observers.append(self.write_cycle_row)
        if resume_step is not None:
            self.pvd = PVDCollection.read(out_dir / "particles.pvd")
            self.pvd.truncate(lambda e: int(Path(e[1]).stem.split("_")[-1]) <= resume_step)
        else:
            self.pvd = PVDCollection(out_dir / "particles.pvd")
        r = sim.scenario.run
        sim.observers.append(Observer(self.write_row, 1))
        if r.snapshot_every_outputs:
            sim.observers.append(Observer(self.write_snapshot, r.snapshot_every_outputs))
        sim.snapshot_observers.append(self.write_snapshot)  # run.snapshot_at_half_cycle_fractions
        sim.observers.append(Observer(self.write_checkpoint, r.checkpoint_every_outputs))

    @staticmethod
    def _stream(rows: RowLog, writer: CSVWriter) -> RowLog:
        """A RowLog streamed to `writer`'s file, after the rows already in `rows`."""
        if rows.streamed and rows.writer is writer:
            return rows
        for r in rows:  # recorded before the writers were attached (none on resume)
            writer.write(r)
        return RowLog(writer)

    def write_row(self, sim, row):
        self.csv.write(row)
        log.debug("step %d (%s): porosity %.4f, punch %.4g MPa, thickness %.4g um",
                  row["step"], row.get("stage", ""), row["porosity"],
                  row["punch_stress_Pa"] / 1e6 + 0.0, row["thickness_m"] * 1e6)
        self.write_breakage(sim)

    def write_breakage(self, sim, row=None):
        events = sim.fracture.log
        for e in events[self._breakage_written:]:
            self.breakage_csv.write({**e, "material": sim.materials[e["material"]].name})
        self._breakage_written = len(events)

    def write_cycle_row(self, sim, row):
        self.cycles_csv.write(row)
        log.debug("cycle %s %s ends at step %d", row.get("cycle"), row.get("half"), sim.step_count)

    def write_snapshot(self, sim, row=None):
        """The particles as vtk/particles_<step>.vtp, indexed in particles.pvd (once per
        step: a step that is both a periodic and a triggered snapshot writes one)."""
        name = f"vtk/particles_{sim.step_count:09d}.vtp"
        if any(f == name for _, f in self.pvd.entries):
            return
        ps = sim.particles
        write_vtp(self.out / name, ps.x[ps.alive], snapshot_arrays(sim))
        write_npz(self.out / contacts_name(name), snapshot_contacts(sim))
        self.pvd.add(sim.time, name)
        log.debug("snapshot %s", self.out / name)

    def write_checkpoint(self, sim, row=None):
        self.write_breakage(sim)  # the file holds at least the checkpoint's events
        sim.write_checkpoint(self.out / "checkpoint.npz")
        log.debug("checkpoint %s at step %d", self.out / "checkpoint.npz", sim.step_count)

    def finish(self):
        sim = self.sim
        if sim.scenario.run.snapshot_every_outputs:
            self.write_snapshot(sim)
        self.write_checkpoint(sim)
        write_json(self.out / "summary.json", sim.summary())

    def interrupted(self):
        """What a stopped or interrupted run leaves: its checkpoint and a summary of
        what ran (`completed: false`), so `dempack run --resume` continues it."""
        self.write_checkpoint(self.sim)
        write_json(self.out / "summary.json", self.sim.summary())


def run(scenario: Scenario | str | Path | None = None, out_dir=None, progress: bool = False,
        threads: int | None = None) -> Result:
    """Run a scenario to the end. With out_dir, write timeseries.csv, summary.json,
    VTK snapshots (vtk/*.vtp + particles.pvd), scenario.toml and checkpoint.npz."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if threads is not None:
        sc.set("run.threads", threads)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        sc.save(out / "scenario.toml")
    sim = Simulation(sc, out_dir=out)
    writers = OutputWriters(sim, out) if out is not None else None
    return _finish(sim, writers, out, progress)


def resume(out_dir, progress: bool = False, threads: int | None = None) -> Result:
    """Continue a run from `out_dir/checkpoint.npz` with the scenario saved there
    (`dempack.restart.restart`, then the driver)."""
    from .restart import restart
    sim, writers = restart(out_dir, threads=threads)
    return _finish(sim, writers, writers.out, progress)


def _finish(sim, writers, out, progress) -> Result:
    drive(sim, writers, progress=progress)
    return Result(_columns(sim.history), sim.summary(), sim, out)
