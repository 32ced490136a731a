"""Atomic file replacement: every whole-file output (summary.json, scenario.toml,
particles.pvd, each .vtp, a CSV rewritten with a wider header) is written to a
temporary file in the same folder, flushed to disk, and renamed over the target
with `os.replace`. A rename within one file system is atomic (POSIX rename(2)),
so a run killed at any moment leaves either the previous complete file or the
new complete file, never a half-written one. The temporary name is the target's
name + ".tmp"; a leftover from a kill is overwritten by the next write.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


def temporary_path(path) -> Path:
    """The temporary file beside `path` that `atomic_write` renames over it."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(path):
    """`with replacing(p) as tmp:` write the whole file to `tmp` (a path);
    on success it is synced and renamed over `p`; on an exception it is
    removed and `p` is left as it was."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8, newlines untranslated) to `path` atomically."""
    with replacing(path) as tmp:
        if isinstance(data, str):
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(data)
        else:
            tmp.write_bytes(data)
