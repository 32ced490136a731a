"""Reading a TOML input file with errors that name the file (materials, study reference
values; scenarios have their own reader, which also checks the text encoding)."""
from __future__ import annotations

import tomllib


def read_toml(path, label: str, what: str, error: type[Exception]) -> dict:
    """The parsed TOML file at `path`; a missing, unreadable or malformed file raises
    `error` with "<label>: <what> not found", "<label>: cannot read <what>: …" or
    "<label>: TOML syntax error: …"."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error(f"{label}: {what} not found") from None
    except OSError as exc:
        raise error(f"{label}: cannot read {what}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{label}: TOML syntax error: {exc}") from None
