"""A finished (or stopped, or still running) run folder in the app: File → Open results…
and `dempack gui RUN_DIR`.

ReplayBar: play/pause, a time slider over the snapshots of particles.pvd, the frame
shown (time, step, stage) and the playback speed; the window draws the snapshot the
slider asks for and moves the plots' cursor to its time. ResultsPanel: the summary
(summary.json as a tree, with a one-line digest) and the cycles table (cycles.csv).
The files are read with `dempack.io.rundir` (vtk's XML reader for the snapshots).
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

FPS = (1, 2, 5, 10, 20, 30)


class ReplayBar(QtWidgets.QWidget):
    """Signals: frame_requested(k) when the slider moves (by hand, by play, or by
    set_frame), resume_requested() from the "Resume run" button."""

    frame_requested = QtCore.Signal(int)
    resume_requested = QtCore.Signal()
    close_requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        st = self.style()
        SP = QtWidgets.QStyle.StandardPixmap
        h = QtWidgets.QHBoxLayout(self)
        h.setContentsMargins(4, 2, 4, 2)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setObjectName("replay_play")
        self.play_button.setCheckable(True)
        self.play_button.setIcon(st.standardIcon(SP.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause the replay (Space)")
        self.play_button.toggled.connect(self._on_play)
        h.addWidget(self.play_button)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setObjectName("replay_slider")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(5)
        self.slider.setToolTip("Snapshot shown (drag; arrow keys step one snapshot)")
        self.slider.valueChanged.connect(self.frame_requested)
        h.addWidget(self.slider, 1)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("replay_label")
        self.label.setMinimumWidth(260)
        h.addWidget(self.label)
        self.fps = QtWidgets.QComboBox()
        self.fps.setObjectName("replay_fps")
        self.fps.addItems([f"{f} fps" for f in FPS])
        self.fps.setCurrentText("10 fps")
        self.fps.setToolTip("Snapshots per second while playing (fewer when drawing is slower)")
        self.fps.currentIndexChanged.connect(self._on_fps)
        h.addWidget(self.fps)
        self.resume_button = QtWidgets.QPushButton("Resume run")
        self.resume_button.setObjectName("replay_resume")
        self.resume_button.setIcon(st.standardIcon(SP.SP_MediaSeekForward))
        self.resume_button.clicked.connect(self.resume_requested)
        h.addWidget(self.resume_button)
        close = QtWidgets.QToolButton()
        close.setIcon(st.standardIcon(SP.SP_DialogCloseButton))
        close.setToolTip("Close the run folder")
        close.clicked.connect(self.close_requested)
        h.addWidget(close)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._advance)
        self._on_fps()

    # ----------------------------------------------------------- frames
    def set_count(self, n: int) -> None:
        """n snapshots: the slider runs over 0 .. n-1 (disabled without snapshots)."""
        self.pause()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 1)
        self.play_button.setEnabled(n > 1)

    def set_frame(self, k: int) -> None:
        """Move the slider to snapshot k (emits frame_requested when it moves)."""
        self.slider.setValue(k)

    @property
    def frame(self) -> int:
        return self.slider.value()

    def set_resumable(self, ok: bool, why: str) -> None:
        self.resume_button.setEnabled(ok)
        self.resume_button.setToolTip(why)

    # --------------------------------------------------------- playback
    @property
    def playing(self) -> bool:
        return self.play_button.isChecked()

    def play(self) -> None:
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    def toggle(self) -> None:
        self.play_button.setChecked(not self.play_button.isChecked())

    def _on_play(self, on: bool) -> None:
        SP = QtWidgets.QStyle.StandardPixmap
        self.play_button.setIcon(self.style().standardIcon(SP.SP_MediaPause if on else SP.SP_MediaPlay))
        if on:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)          # play again from the start
            self.timer.start()
        else:
            self.timer.stop()

    def _on_fps(self, *_):
        self.timer.setInterval(int(1000 / FPS[self.fps.currentIndex()]))

    def _advance(self) -> None:
        """Next snapshot; the timer's events coalesce while a slow frame is drawn, so a
        slow view plays slower instead of queueing frames."""
        k = self.slider.value()
        if k >= self.slider.maximum():
            self.pause()
            return
        self.slider.setValue(k + 1)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


class ResultsPanel(QtWidgets.QTabWidget):
    """Summary (summary.json as a tree under a one-line digest) and Cycles (cycles.csv).
    Signal: step_requested(step) when a cycles row is double-clicked."""

    step_requested = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        w = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(w)
        v.setContentsMargins(2, 2, 2, 2)
        self.digest = QtWidgets.QLabel("")
        self.digest.setObjectName("summary_digest")
        self.digest.setWordWrap(True)
        self.digest.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        v.addWidget(self.digest)
        self.summary_tree = QtWidgets.QTreeWidget()
        self.summary_tree.setObjectName("summary_tree")
        self.summary_tree.setHeaderLabels(["key", "value"])
        self.summary_tree.setColumnWidth(0, 170)
        v.addWidget(self.summary_tree, 1)
        self.addTab(w, "Summary")
        self.cycles_table = QtWidgets.QTableWidget()
        self.cycles_table.setObjectName("cycles_table")
        self.cycles_table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.cycles_table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.cycles_table.setToolTip("One row per half-cycle end (cycles.csv); double-click a "
                                     "row to show the snapshot nearest to it")
        self.cycles_table.cellDoubleClicked.connect(self._on_cycle_row)
        self.addTab(self.cycles_table, "Cycles")
        self._cycle_steps: list[int] = []

    def set_summary(self, summary: dict, folder) -> None:
        t = self.summary_tree
        t.clear()
        if not summary:
            self.digest.setText(f"{folder}: no summary.json yet (the run has not finished or "
                                "stopped)")
            return
        f = summary.get("final", {})
        state = ("completed" if summary.get("completed")
                 else "stopped (resumable from its checkpoint)")
        parts = [f"<b>{summary.get('scenario', '?')}</b>: {summary.get('particles', '?')} "
                 f"particles, {summary.get('steps', 0):,} steps, {state}"]
        if isinstance(f.get("porosity"), float):
            parts.append(f"final porosity {f['porosity']:.4f}")
        if isinstance(f.get("punch_stress_Pa"), float):
            parts.append(f"stack pressure {f['punch_stress_Pa'] / 1e6:.1f} MPa")
        if isinstance(summary.get("run_time_s"), float):
            parts.append(f"{summary['run_time_s']:.1f} s wall")
        self.digest.setText(", ".join(parts))
        self._fill(t.invisibleRootItem(), summary)
        for k in range(t.topLevelItemCount()):
            it = t.topLevelItem(k)
            if it.text(0) in ("final", "stages"):
                it.setExpanded(True)

    def _fill(self, parent, value) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            it = QtWidgets.QTreeWidgetItem(parent, [str(k), "" if isinstance(v, (dict, list))
                                                    else _fmt(v)])
            if isinstance(v, dict) and "stage" in v:
                it.setText(1, str(v["stage"]))
            if isinstance(v, (dict, list)):
                self._fill(it, v)

    def set_cycles(self, rows: list[dict]) -> None:
        tb = self.cycles_table
        cols = list(dict.fromkeys(k for r in rows for k in r))
        tb.clear()
        tb.setColumnCount(len(cols))
        tb.setRowCount(len(rows))
        tb.setHorizontalHeaderLabels(cols)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                item = QtWidgets.QTableWidgetItem(_fmt(r.get(c)))
                item.setData(QtCore.Qt.UserRole, r.get(c))
                tb.setItem(i, j, item)
        self._cycle_steps = [int(r.get("step", 0)) for r in rows]
        self.setTabEnabled(1, bool(rows))
        self.setTabToolTip(1, "" if rows else "no cycles.csv: this run has no cycling")
        tb.resizeColumnsToContents()

    def _on_cycle_row(self, row: int, _col: int) -> None:
        if 0 <= row < len(self._cycle_steps):
            self.step_requested.emit(self._cycle_steps[row])

    def cycles_rows(self) -> list[dict]:
        """The table's content as row dicts (header → value), for tests and scripts."""
        tb = self.cycles_table
        cols = [tb.horizontalHeaderItem(j).text() for j in range(tb.columnCount())]
        return [{c: tb.item(i, j).data(QtCore.Qt.UserRole) for j, c in enumerate(cols)}
                for i in range(tb.rowCount())]


def space_shortcut(widget, bar: ReplayBar) -> QtGui.QShortcut:
    """Space toggles play/pause while the window has focus."""
    sc = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key_Space), widget)
    sc.activated.connect(bar.toggle)
    return sc
