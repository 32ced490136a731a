"""The main window's actions, menus (File, Run, View, Demonstrations, Help) and Run toolbar.

The actions are the window's attributes (`win.act_run`, `win.act_quit`, …: the tests and
gui/compare.py reach them there); Menus.update() enables each for the window's state.
"""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from .demos import DEMOS
from .editor import scenario_files


def _action(win, text, slot, icon=None, shortcut=None, name=None) -> QtGui.QAction:
    """An action of `win` named `name` (default: its text, lower case, '_' for spaces)."""
    a = QtGui.QAction(text, win)
    if icon is not None:
        a.setIcon(win.style().standardIcon(icon))
    if shortcut:
        a.setShortcut(shortcut)
    a.setObjectName(name or text.lower().replace(" ", "_").strip("."))
    a.triggered.connect(slot)
    return a


class Menus:
    """Owns the window's actions, menus and toolbar, and which actions are enabled."""

    def __init__(self, win):
        self.win = w = win
        SP = QtWidgets.QStyle.StandardPixmap
        runs, results = w.runs, w.results
        w.act_new = _action(w, "New", w.new_scenario, SP.SP_FileIcon, "Ctrl+N")
        w.act_open = _action(w, "Open…", w.open_dialog, SP.SP_DialogOpenButton, "Ctrl+O", "open")
        w.act_save = _action(w, "Save as…", w.save_dialog, SP.SP_DialogSaveButton, "Ctrl+S",
                             "save")
        w.act_outdir = _action(w, "Output folder…", w.choose_out_dir, None, None, "output_folder")
        w.act_open_results = _action(w, "Open results…", results.open_dialog,
                                     SP.SP_DirOpenIcon, "Ctrl+Shift+O", "open_results")
        w.act_reload_results = _action(w, "Reload results", results.reload, None, "Ctrl+R",
                                       "reload_results")
        w.act_close_results = _action(w, "Close results", results.close, None, None,
                                      "close_results")
        w.act_resume_run = _action(w, "Resume run from checkpoint", results.resume,
                                   SP.SP_MediaSeekForward, None, "resume_run")
        w.act_build_setup = _action(w, "Build the set-up now", lambda: w.setup.schedule(0, True),
                                    None, None, "build_setup")
        w.act_run = _action(w, "Run", runs.run, SP.SP_MediaPlay, "F5")
        w.act_pause = _action(w, "Pause", runs.pause, SP.SP_MediaPause, "F6")
        w.act_resume = _action(w, "Resume", runs.resume, SP.SP_MediaSeekForward, "F7")
        w.act_stop = _action(w, "Stop", runs.stop, SP.SP_MediaStop, "F8")
        w.act_reset = _action(w, "Reset", runs.reset, SP.SP_BrowserReload, "F9")
        w.act_png = _action(w, "Export plots as PNG…", w.export_plots_png, None, None,
                            "export_png")
        w.act_csv = _action(w, "Export plots as CSV…", w.export_plots_csv, None, None,
                            "export_csv")
        w.act_view_png = _action(w, "Export 3D view as PNG…", w.export_view_png, None, None,
                                 "export_view_png")
        w.act_quit = _action(w, "Quit", w.close, None, "Ctrl+Q")
        w.act_lod = _action(w, "Fast rotate (level of detail)", w.view.set_level_of_detail, None,
                            None, "fast_rotate")
        w.act_lod.setCheckable(True)
        w.act_lod.setChecked(w.view.lod.enabled)
        w.act_lod.setToolTip("While you rotate or zoom the 3D view, or new frames arrive, draw a "
                             "random subset of the spheres without anti-aliasing; the full "
                             "picture follows once the view is still. Only where the full "
                             "picture is slow to draw (no GPU, many particles).")
        self._make_menus()
        self._make_toolbar()
        self.update()

    def _make_menus(self) -> None:
        w = self.win
        m = w.menuBar().addMenu("&File")
        m.addActions([w.act_new, w.act_open])
        ready = m.addMenu("Open ready scenario")
        for p in scenario_files():
            a = ready.addAction(p.stem)
            a.triggered.connect(lambda _=False, p=p: w.open_scenario(p))
        m.addActions([w.act_save, w.act_outdir])
        m.addSeparator()
        m.addActions([w.act_open_results, w.act_reload_results, w.act_close_results])
        m.addSeparator()
        m.addActions([w.act_png, w.act_csv, w.act_view_png])
        m.addSeparator()
        m.addAction(w.act_quit)
        m = w.menuBar().addMenu("&Run")
        m.addActions([w.act_run, w.act_pause, w.act_resume, w.act_stop, w.act_reset])
        m.addSeparator()
        m.addActions([w.act_build_setup, w.act_resume_run])
        m = w.menuBar().addMenu("&View")
        m.setToolTipsVisible(True)
        m.addAction(w.act_lod)
        m = w.menuBar().addMenu("&Demonstrations")
        w.demo_actions = []
        for title, fname, colour in DEMOS:
            a = m.addAction(title)
            a.triggered.connect(lambda _=False, f=fname, c=colour: w.open_demo(f, c))
            w.demo_actions.append(a)
        m = w.menuBar().addMenu("&Help")
        m.addAction("About dempack", w.about)

    def _make_toolbar(self) -> None:
        w = self.win
        tb = w.addToolBar("Run")
        tb.setObjectName("run_toolbar")
        tb.addActions([w.act_open, w.act_save, w.act_open_results])
        tb.addSeparator()
        tb.addActions([w.act_run, w.act_pause, w.act_resume, w.act_stop, w.act_reset])
        tb.addSeparator()
        w.write_box = QtWidgets.QCheckBox("write outputs")
        w.write_box.setToolTip("Write timeseries.csv, vtk/, checkpoint, summary.json like "
                               "`dempack run --out` into the output folder")
        w.write_box.toggled.connect(w._on_write_toggled)
        tb.addWidget(w.write_box)
        w.out_label = QtWidgets.QLabel("")
        tb.addWidget(w.out_label)

    def update(self) -> None:
        """Enable each action for the window's state (a run, an open run folder)."""
        w = self.win
        busy = w.thread is not None
        s = w.state
        w.act_run.setEnabled(not busy and w.editor.is_valid())
        w.act_pause.setEnabled(busy and s in ("running", "compiling", "building"))
        w.act_resume.setEnabled(busy and s == "paused")
        w.act_stop.setEnabled(busy)
        w.act_reset.setEnabled(True)
        w.editor.setEnabled(not busy)
        for a in w.demo_actions:
            a.setEnabled(not busy)
        f = w.folder
        w.act_open_results.setEnabled(not busy)
        w.act_reload_results.setEnabled(not busy and f is not None)
        w.act_close_results.setEnabled(f is not None)
        ok, why = w.results.resumable()
        w.act_resume_run.setEnabled(not busy and ok)
        w.act_resume_run.setToolTip(why)
        w.replay_bar.set_resumable(not busy and ok, why)
