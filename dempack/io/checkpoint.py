"""Checkpoints: every array of the particle and contact state plus the loop's
scalars, in one .npz written atomically (temp file + rename), so a crash
never leaves a half-written checkpoint.

The scalars are stored as strict JSON (no NaN/Infinity tokens, which are not
JSON): a non-finite float is written as {"__float__": "nan" | "inf" | "-inf"}
and read back as that float, so a resumed run holds exactly what it saved.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

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


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint here")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(str(z["__meta__"]), object_hook=_decode)
    return arrays, meta
