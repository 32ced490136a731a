"""The main window's status bar: the run's state, a busy indicator, and the status line of
a live run (step, time, stage, steps/s, ETA, particles) or of the snapshot replayed."""
from __future__ import annotations

from PySide6 import QtWidgets


def fmt_time(t: float) -> str:
    """Physical time with a readable unit."""
    if t >= 3600.0:
        return f"{t / 3600.0:.2f} h"
    if t >= 1.0:
        return f"{t:.1f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.2f} µs"


def fmt_duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def live_status_text(s: dict, rate: float) -> str:
    """The status line of a live frame's status `s` at `rate` steps/s (0: not known yet)."""
    parts = [f"step {s['step']:,}", f"t {fmt_time(s['time_s'])}", s["stage"]]
    if s.get("cycle") and not s["stage"].startswith("cycle"):
        parts.append(f"cycle {s['cycle']} {s['half']}")
    parts.append(f"{rate:,.0f} steps/s" if rate else "– steps/s")
    rem = s.get("remaining_steps")
    if s.get("done"):
        parts.append("done")
    elif rem is not None and rate > 0:
        parts.append(f"ETA {fmt_duration(rem / rate)}")
    else:
        parts.append("ETA – (pressing to target)")
    parts.append(f"{s['n']:,} particles")
    return "  |  ".join(parts)


class StatusBar:
    """Owns the status bar's widgets: the state label, the busy indicator, the status line."""

    def __init__(self, bar: QtWidgets.QStatusBar):
        self.state_label = QtWidgets.QLabel("idle")
        self.state_label.setObjectName("state")
        self.busy = QtWidgets.QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setObjectName("run_status")
        bar.addWidget(self.state_label)
        bar.addWidget(self.busy)
        bar.addPermanentWidget(self.status_label)

    def show_state(self, name: str, msg: str = "") -> None:
        """A run's state (and its message); the busy indicator while building or compiling."""
        self.state_label.setText(name + (f": {msg}" if msg else ""))
        self.busy.setVisible(name in ("building", "compiling"))
        if name == "failed":
            self.status_label.setText(msg[:200])

    def show_live(self, status: dict, rate: float) -> None:
        self.status_label.setText(live_status_text(status, rate))
