"""Checkpoints: every array of the particle and contact state plus the loop's
scalars, in one .npz written atomically (temp file + rename), so a crash
never leaves a half-written checkpoint. This module owns what a Simulation saves
(`checkpoint_arrays`), writing it (`write_checkpoint`, `save_checkpoint`), reading and
checking a file (`load_checkpoint`, `check_checkpoint`) and the Simulation restored from
it (`from_checkpoint`); `Simulation.write_checkpoint` and `Simulation.from_checkpoint`
call them.

The scalars are stored as strict JSON (no NaN/Infinity tokens, which are not
JSON): a non-finite float is written as {"__float__": "nan" | "inf" | "-inf"}
and read back as that float, so a resumed run holds exactly what it saved.

Reading is strict: a file that is truncated or corrupted, or whose arrays or
metadata are not what `checkpoint_arrays` writes, raises
`CheckpointError` ('<file>: <what is wrong>', one line) before anything is
restored, so a resume never runs on a damaged state, never crashes in a kernel
(the index arrays are checked against the particle count: numba does not
bounds-check) and leaves the run folder untouched.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .._version import __version__
from ..state import ContactList, ParticleState

_NON_FINITE = "__float__"


def _encode(v):
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        return {_NON_FINITE: "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_encode(x) for x in v]
    if isinstance(v, np.generic):
        return _encode(v.item())
    return v


def _decode(obj: dict):
    if len(obj) == 1 and _NON_FINITE in obj:
        return float(obj[_NON_FINITE])
    return obj


def save_checkpoint(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    text = json.dumps(_encode(meta), allow_nan=False)
    np.savez(tmp, __meta__=np.array(text), **arrays)
    tmp.replace(path)


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed; the message starts with the file and says
    what is wrong with it, on one line."""


def _one_line(e) -> str:
    return " ".join(str(e).split())[:300]


# arrays renamed since checkpoints were first written: old name -> current name
RENAMED_ARRAYS = {"c_dcr": "c_delta_flat", "p_wall_dcr": "p_wall_delta_flat"}


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) of a checkpoint file. Raises CheckpointError when the file is
    missing, not a readable .npz (truncated, corrupted), or its metadata is missing or
    not a JSON object. The content is checked by `check_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint here (a run writes checkpoint.npz every "
                              "run.checkpoint_every_outputs output rows and when it ends)")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 — whatever a damaged zip/npy raises (zipfile,
        # zlib, EOF, header parsing, allocation): the file cannot be read
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or corrupted "
                              f"({type(e).__name__}: {_one_line(e)})") from None
    for old, new in RENAMED_ARRAYS.items():  # checkpoints written before a rename
        if old in arrays and new not in arrays:
            arrays[new] = arrays.pop(old)
    m = arrays.pop("__meta__", None)
    if m is None:
        raise CheckpointError(f"{path}: no metadata (__meta__) in the archive: not a dempack "
                              "checkpoint, or corrupted")
    if not (isinstance(m, np.ndarray) and m.shape == () and m.dtype.kind == "U"):
        what = (f"a {m.dtype} array of shape {m.shape}" if isinstance(m, np.ndarray)
                else type(m).__name__)
        raise CheckpointError(f"{path}: metadata (__meta__) must be one JSON text, found {what}")
    try:
        meta = json.loads(str(m), object_hook=_decode)
    except (ValueError, TypeError, RecursionError) as e:
        raise CheckpointError(f"{path}: metadata (__meta__) is not valid JSON "
                              f"({type(e).__name__}: {_one_line(e)})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata (__meta__) must be a JSON object, found "
                              f"{type(meta).__name__}")
    return arrays, meta


# ------------------------------------------------------------------ content checks

# per-particle arrays that older checkpoints lack; ParticleState.from_dict and
# ContactList.from_dict fill them with safe defaults
OPTIONAL_PARTICLE = ("R0_target", "lithiation_max", "confinement", "lithiation_start",
                     "reachable", "internal_porosity", "out_of_plane_creep")
OPTIONAL_CONTACT = ("wall_touch",)
# float arrays that may hold +inf (strength: an unbreakable particle)
MAY_BE_INFINITE = ("p_strength",)
POSITIVE = ("p_R0", "p_R", "p_mass", "p_inertia")
# contact list arrays: shapes in P (pairs) and N (particles)
CONTACT_SHAPES = {"i": ("P",), "j": ("P",), "row_start": ("N+1",), "col_start": ("N+1",),
                  "col_pair": ("P",), "xi": ("P", 3), "delta_flat": ("P",), "x_ref": ("N", 3),
                  "R_ref": ("N",), "wall_touch": ("N",)}


def _fail(path, why):
    raise CheckpointError(f"{path}: {why}")


def _array(path, arrays, name, ref_dtype, shape, what=""):
    """arrays[name] checked for dtype (kind and size; byte order is free) and shape,
    converted to the native dtype in place; returns it."""
    a = arrays.get(name)
    if a is None:
        _fail(path, f"array {name} missing{what}")
    if not isinstance(a, np.ndarray):
        _fail(path, f"{name} is not an array")
    ref = np.dtype(ref_dtype)
    if a.dtype.kind != ref.kind or a.dtype.itemsize != ref.itemsize:
        _fail(path, f"array {name} has dtype {a.dtype}, expected {ref}")
    if a.shape != tuple(shape):
        _fail(path, f"array {name} has shape {a.shape}, expected {tuple(shape)}{what}")
    a = arrays[name] = a.astype(ref, copy=False)
    if ref.kind == "f":
        bad = (np.isnan(a) | (a == -np.inf)) if name in MAY_BE_INFINITE else ~np.isfinite(a)
        if bad.any():
            _fail(path, f"array {name} holds {a.flat[np.argmax(bad.ravel())]} at flat index "
                        f"{int(np.argmax(bad.ravel()))}")
    return a


def _in_range(path, name, a, lo, hi, what):
    """Every entry of integer array a in [lo, hi)."""
    if a.size and (a.min() < lo or a.max() >= hi):
        k = int(np.argmax((a < lo) | (a >= hi)))
        _fail(path, f"array {name} holds {int(a[k])} at index {k}: {what} must be in "
                    f"[{lo}, {hi})")


_META_KINDS = {
    # key: (kind, required)
    "step_count": ("count", True), "time": ("finite", True), "dt": ("positive", True),
    "skin": ("positive", True), "z_top": ("finite", True), "punch_velocity": ("finite", True),
    "periodic_xy": ("bool", True), "stage_index": ("count", True),
    "stage_state": ("list", True), "stage_results": ("tables", True),
    "last_punch_stress": ("number", True), "max_drift": ("number or null", True),
    "outputs_written": ("count", True), "volume_fractions": ("numbers", True),
    "rng_state": ("table", True), "wall_clock": ("number", True),
    "reference_thickness": ("number or null", False), "creep_time": ("number", False),
    "radius_updates": ("count", False),
    "cycle_rows": ("tables", False),  # written before 2026-12 (the rows now stay in cycles.csv); ignored
    "fracture": ("table or null", False),
}
_KIND_TEXT = {"count": "an integer >= 0", "finite": "a finite number",
              "positive": "a finite number > 0", "bool": "true or false", "list": "a list",
              "tables": "a list of objects", "number": "a number",
              "number or null": "a number or null", "numbers": "a list of numbers",
              "table": "an object", "table or null": "an object or null"}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _meta_ok(kind, v) -> bool:
    if kind == "count":
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 63
    if kind == "finite":
        return _is_number(v) and math.isfinite(v)
    if kind == "positive":
        return _is_number(v) and math.isfinite(v) and v > 0
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "list":
        return isinstance(v, list)
    if kind == "tables":
        return isinstance(v, list) and all(isinstance(x, dict) for x in v)
    if kind == "number":
        return _is_number(v)
    if kind == "number or null":
        return v is None or _is_number(v)
    if kind == "numbers":
        return isinstance(v, list) and all(_is_number(x) for x in v)
    if kind == "table":
        return isinstance(v, dict)
    return v is None or isinstance(v, dict)  # table or null


def _compatible(fresh, saved) -> bool:
    """A saved state value may replace a freshly built object's value of this type."""
    if fresh is None:
        return True
    if isinstance(fresh, bool):
        return isinstance(saved, bool)
    if _is_number(fresh):
        return _is_number(saved)
    if isinstance(fresh, (list, tuple)):
        return isinstance(saved, list)
    return isinstance(saved, type(fresh))


def _restore_trial(path, key, fresh_state, load, saved):
    """Check `saved` against an object's fresh state() (same types where both have a key)
    and load it (load(saved)); any failure names the metadata key."""
    if not isinstance(saved, dict):
        _fail(path, f"metadata {key} must be an object, found {type(saved).__name__}")
    for k, v in fresh_state.items():
        if k in saved and not _compatible(v, saved[k]):
            _fail(path, f"metadata {key}.{k} = {_short(saved[k])}: must be of the type of "
                        f"{_short(v)}")
    try:
        load(saved)
    except Exception as e:  # noqa: BLE001 — a state its owner cannot restore
        _fail(path, f"metadata {key} cannot be restored ({type(e).__name__}: {_one_line(e)})")


def _short(v) -> str:
    t = json.dumps(v, default=str)
    return t if len(t) <= 60 else t[:57] + "..."


def _common_length(arrays, names) -> int:
    """The most common first dimension of the arrays `names` (0 if none)."""
    lens = [arrays[k].shape[0] for k in names
            if isinstance(arrays.get(k), np.ndarray) and arrays[k].ndim >= 1]
    if not lens:
        return 0
    values, counts = np.unique(lens, return_counts=True)
    return int(values[np.argmax(counts)])


def check_checkpoint(path, arrays: dict, meta: dict, sim) -> None:
    """Check a checkpoint's content against what `checkpoint_arrays` writes,
    before `sim` (built empty from the run's scenario) is restored from it: every
    particle array present (those of OPTIONAL_PARTICLE may be missing), of its dtype,
    of shape (N, ...) with N the length most of them have (so that the message names
    the one array that is off), finite (strength may be +inf), radii, masses
    and inertias > 0, material ids < the scenario's material count; the contact list
    consistent (0 <= i < j < N, CSR rows and columns matching i and j, col_pair a
    permutation); box_L (3,) finite with a positive width; cap_correction (2, N); the
    metadata keys of the right types, matching the scenario (boundaries, stages,
    materials) and restorable (stage states, random generator, fracture state).
    Raises CheckpointError naming the file and what is wrong. Converts arrays stored
    in another byte order to the native one, in place."""
    from ..state import ContactList, ParticleState

    path = Path(path)
    # ------------------------------------------------------------- particles
    # N (particles) and P (pairs): the length most arrays agree on, so that the message
    # blames the one array that is off, not all the others
    n = _common_length(arrays, ["p_" + f for f in ParticleState.__dataclass_fields__])
    if n == 0:
        _fail(path, "no particle arrays (p_x, p_R, ...) or they hold no particle")
    fields = ParticleState.allocate(n).as_dict()
    for k in arrays:
        if k.startswith("p_") and k[2:] not in fields:
            _fail(path, f"unknown particle array {k} (particle arrays: "
                        f"{', '.join('p_' + f for f in fields)})")
    for f, ref in fields.items():
        name = "p_" + f
        if name not in arrays and f in OPTIONAL_PARTICLE:
            continue
        _array(path, arrays, name, ref.dtype, ref.shape, f" (N = {n} particles)")
    for name in POSITIVE:
        a = arrays[name]
        if np.any(a <= 0):
            k = int(np.argmax(a <= 0))
            _fail(path, f"array {name} holds {a[k]} at index {k}: must be > 0")
    nm = len(sim.materials)
    _in_range(path, "p_material", arrays["p_material"], 0, nm,
              f"a material id of the scenario's {nm} materials")
    # -------------------------------------------------------------- contacts
    P = _common_length(arrays, ["c_" + f for f, d in CONTACT_SHAPES.items() if d[0] == "P"])
    dims = {"N": n, "N+1": n + 1, "P": P}
    ref_cl = ContactList()
    cfields = ref_cl.__dataclass_fields__
    for k in arrays:
        if k.startswith("c_") and k[2:] not in cfields:
            _fail(path, f"unknown contact array {k} (contact arrays: "
                        f"{', '.join('c_' + f for f in cfields)})")
    for f in cfields:
        name = "c_" + f
        if name not in arrays and f in OPTIONAL_CONTACT:
            continue
        ref = getattr(ref_cl, f)
        spec = CONTACT_SHAPES.get(f)
        shape = (tuple(dims[d] if isinstance(d, str) else d for d in spec) if spec
                 else arrays[name].shape if isinstance(arrays.get(name), np.ndarray) else ())
        _array(path, arrays, name, ref.dtype, shape, f" (N = {n} particles, P = {P} pairs)")
    i, j = arrays["c_i"], arrays["c_j"]
    _in_range(path, "c_i", i, 0, n, "a particle index")
    _in_range(path, "c_j", j, 0, n, "a particle index")
    if np.any(i >= j):
        k = int(np.argmax(i >= j))
        _fail(path, f"arrays c_i, c_j: pair {k} is ({int(i[k])}, {int(j[k])}); the list holds "
                    "each pair once, with i < j")
    for name in ("c_row_start", "c_col_start"):
        rs = arrays[name]
        if rs[0] != 0 or rs[-1] != P or np.any(np.diff(rs) < 0):
            _fail(path, f"array {name} is not a row index of the {P} pairs (must rise from 0 "
                        f"to {P})")
    owner = np.repeat(np.arange(n), np.diff(arrays["c_row_start"]))
    if not np.array_equal(owner, i):
        _fail(path, "arrays c_i and c_row_start disagree (pairs must be sorted by i)")
    cp = arrays["c_col_pair"]
    _in_range(path, "c_col_pair", cp, 0, max(P, 1), "a pair index")
    if np.any(np.bincount(cp, minlength=P) != 1):
        _fail(path, "array c_col_pair is not a permutation of the pairs")
    if not np.array_equal(j[cp], np.repeat(np.arange(n), np.diff(arrays["c_col_start"]))):
        _fail(path, "arrays c_j, c_col_start and c_col_pair disagree")
    # ----------------------------------------------------------- box, caches
    L = _array(path, arrays, "box_L", np.float64, (3,), " (box size)")
    if not (L[0] > 0 and L[1] > 0):
        _fail(path, f"array box_L = {L.tolist()}: the box width must be > 0")
    if "cap_correction" in arrays:
        _array(path, arrays, "cap_correction", np.float64, (2, n), f" (2 x N, N = {n})")
    # -------------------------------------------------------------- metadata
    for key, (kind, required) in _META_KINDS.items():
        if key not in meta:
            if required:
                _fail(path, f"metadata {key} missing (must be {_KIND_TEXT[kind]})")
            continue
        if not _meta_ok(kind, meta[key]):
            _fail(path, f"metadata {key} = {_short(meta[key])}: must be {_KIND_TEXT[kind]}")
    sc = sim.scenario
    periodic = sc.die.lateral == "periodic"
    if meta["periodic_xy"] != periodic:
        _fail(path, f"the checkpoint is of a run with {'periodic' if meta['periodic_xy'] else 'walled'}"
                    f" sides (periodic_xy = {str(meta['periodic_xy']).lower()}) but the scenario "
                    f"says die.lateral = {sc.die.lateral!r}: resume with the scenario.toml that "
                    "the run wrote")
    if len(meta["volume_fractions"]) not in (0, nm):
        _fail(path, f"metadata volume_fractions has {len(meta['volume_fractions'])} entries, "
                    f"the scenario {nm} materials")
    ns = len(sim.stages)
    if len(meta["stage_state"]) != ns:
        _fail(path, f"metadata stage_state has {len(meta['stage_state'])} stages, the "
                    f"scenario {ns} (pressing stages and cycling)")
    if meta["stage_index"] > ns:
        _fail(path, f"metadata stage_index = {meta['stage_index']}: the scenario has {ns} stages")
    for k, (stage, st) in enumerate(zip(sim.stages, meta["stage_state"])):
        _restore_trial(path, f"stage_state[{k}]", stage.state(), stage.load_state, st)
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = meta["rng_state"]
    except Exception as e:  # noqa: BLE001
        _fail(path, f"metadata rng_state cannot be restored ({type(e).__name__}: {_one_line(e)})")
    if meta.get("fracture") is not None:
        fr = sim.fracture
        _restore_trial(path, "fracture", fr.state(), fr.load_state, meta["fracture"])
    _check_breakage_log(path, arrays, nm)


def _check_breakage_log(path, arrays: dict, nm: int) -> None:
    """The breakage log's columns (`FractureModel.log_arrays`): none (an older checkpoint)
    or all of them, 1-D, of one length, of their dtype, finite; materials < nm."""
    from ..physics.fracture import LOG_COLUMNS, LOG_PREFIX

    names = [k for k in arrays if k.startswith(LOG_PREFIX)]
    if not names:
        return
    for k in names:
        if k[len(LOG_PREFIX):] not in LOG_COLUMNS:
            _fail(path, f"unknown breakage-log array {k} (columns: "
                        f"{', '.join(LOG_PREFIX + c for c in LOG_COLUMNS)})")
    missing = [LOG_PREFIX + c for c in LOG_COLUMNS if LOG_PREFIX + c not in arrays]
    if missing:
        _fail(path, f"breakage-log arrays missing: {', '.join(missing)}")
    length = _common_length(arrays, [LOG_PREFIX + c for c in LOG_COLUMNS])
    for c, dtype in LOG_COLUMNS.items():
        a = arrays[LOG_PREFIX + c]
        if a.ndim != 1 or a.shape[0] != length:
            _fail(path, f"{LOG_PREFIX + c} has shape {a.shape}: must be ({length},) like the "
                        "other breakage-log columns")
        if a.dtype != np.dtype(dtype):
            _fail(path, f"{LOG_PREFIX + c} has dtype {a.dtype}: must be {np.dtype(dtype)}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            _fail(path, f"{LOG_PREFIX + c} holds NaN or infinity")
    mat = arrays[LOG_PREFIX + "material"]
    if length and (mat.min() < 0 or mat.max() >= nm):
        _fail(path, f"{LOG_PREFIX}material holds ids outside 0..{nm - 1} (the scenario's "
                    "materials)")
    for c in ("step", "pid", "generation"):
        a = arrays[LOG_PREFIX + c]
        if length and a.min() < 0:
            _fail(path, f"{LOG_PREFIX + c} holds negative values")


def checkpoint_arrays(sim) -> tuple[dict, dict]:
    """(arrays, meta) of a checkpoint: the particle and contact state, the breakage
    log and the loop's scalars. Not the output tables: timeseries.csv and cycles.csv
    beside the checkpoint hold them (`runner.resume` continues them), so a
    checkpoint's size does not grow with the number of rows or cycles."""
    arrays = {"p_" + k: v for k, v in sim.particles.as_dict().items()}
    arrays.update({"c_" + k: v for k, v in sim.contacts.as_dict().items()})
    arrays["box_L"] = sim.box.L
    if sim.cap_correction is not None:
        arrays["cap_correction"] = sim.cap_correction
    arrays.update(sim.fracture.log_arrays())  # the breakage log, one array per column
    meta = {
        "version": __version__, "step_count": sim.step_count, "time": sim.time,
        "dt": sim.dt, "skin": sim.skin, "z_top": sim.box.z_top,
        "punch_velocity": sim.box.punch_velocity, "periodic_xy": sim.box.periodic_xy,
        "stage_index": sim.stage_index,
        "stage_state": [s.state() for s in sim.stages],
        "stage_results": sim.stage_results, "last_punch_stress": sim.last_punch_stress,
        "max_drift": sim._max_drift if np.isfinite(sim._max_drift) else None,
        "drift_limit": sim._drift_limit,
        "outputs_written": sim.outputs_written,
        "volume_fractions": [float(f) for f in getattr(sim, "volume_fractions", [])],
        "rng_state": sim.rng.bit_generator.state,
        "wall_clock": sim.wall_clock,
        "reference_thickness": sim.reference_thickness,
        "creep_time": sim._creep_time,
        "radius_updates": sim._radius_updates,
        "fracture": sim.fracture.state(),
    }
    return arrays, meta


def write_checkpoint(sim, path=None) -> Path:
    """Write `sim`'s checkpoint to `path` (default out_dir/checkpoint.npz), atomically, and
    record it as the last good one (`sim.last_checkpoint`, named when a run diverges)."""
    path = Path(path) if path is not None else sim.out_dir / "checkpoint.npz"
    arrays, meta = sim.checkpoint_arrays()
    save_checkpoint(path, arrays, meta)
    sim.last_checkpoint = (path, sim.step_count)
    return path


def from_checkpoint(cls, scenario, path, out_dir=None):
    """The Simulation (of class `cls`, built from `scenario`) saved in the checkpoint file
    `path`, writing to `out_dir`. Its history and cycle_rows start empty:
    the rows up to the checkpoint are in the run folder's CSVs, which
    `runner.OutputWriters(..., resume_step=...)` continues (`dempack.resume`). A
    `cycle_rows` entry of a checkpoint written before 2026-12 is ignored."""
    from ..geometry import Box  # here: `import dempack` (this module) stays free of numba
    arrays, meta = load_checkpoint(path)
    sim = cls(scenario, out_dir=out_dir, _empty=True)
    check_checkpoint(path, arrays, meta, sim)  # raises CheckpointError naming the file
    sim.particles = ParticleState.from_dict({k[2:]: v for k, v in arrays.items() if k.startswith("p_")})
    sim.contacts = ContactList.from_dict({k[2:]: v for k, v in arrays.items() if k.startswith("c_")})
    sim.box = Box(L=arrays["box_L"], periodic_xy=bool(meta["periodic_xy"]), z_top=meta["z_top"],
                  punch_velocity=meta["punch_velocity"], dimension=sim.dimension)
    sim.step_count = meta["step_count"]
    sim.time = meta["time"]
    sim.dt = meta["dt"]
    sim.skin = meta["skin"]
    sim.stage_index = meta["stage_index"]
    for s, st in zip(sim.stages, meta["stage_state"]):
        s.load_state(st)
    sim.stage_results = meta["stage_results"]
    sim.last_punch_stress = meta["last_punch_stress"]
    sim._max_drift = meta["max_drift"] if meta["max_drift"] is not None else np.inf
    sim.outputs_written = meta["outputs_written"]
    sim.volume_fractions = np.array(meta["volume_fractions"])
    sim.rng.bit_generator.state = meta["rng_state"]
    sim.wall_clock = meta["wall_clock"]
    sim.reference_thickness = meta.get("reference_thickness")
    sim._creep_time = meta.get("creep_time", 0.0)
    sim.fracture.load_state(meta.get("fracture"))
    sim.fracture.load_log(arrays)
    sim._drift = np.zeros(sim.particles.n)
    sim._set_drift_limit()  # older checkpoints; else the limit of the list it holds
    sim._drift_limit = meta.get("drift_limit", sim._drift_limit)
    sim.cap_correction = arrays.get("cap_correction")
    sim._cap_correction_list = sim.contacts  # the list the correction was computed on
    sim._radius_updates = meta.get("radius_updates", 0)
    sim.apply_thread_count()
    return sim
