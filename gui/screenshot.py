"""Screenshots of the app (for README.md and tests).

In the middle of a run:

    xvfb-run -a -s "-screen 0 1280x800x24" python -m gui.screenshot assets/screenshot_cycling.png

opens SCENARIO (default: the "creep fills pores" demonstration), presses Run,
and grabs the screen once the run is `--at` cycles into cycling. A run folder or a
scenario's set-up: `dempack gui RUN_DIR --screenshot FILE.png [--frame K]`
(`save_window`).
"""
from __future__ import annotations

import argparse
import sys
import time

from PySide6 import QtCore, QtGui, QtWidgets

from .app import MainWindow
from .demos import demo_path


def grab(win) -> QtGui.QPixmap:
    """The window as shown. On a display (xcb, Xvfb) the screen is grabbed, which
    holds the OpenGL view; off screen (QT_QPA_PLATFORM=offscreen) the widgets render
    themselves (the 3D view is then an image)."""
    app = QtWidgets.QApplication.instance()
    if app.platformName() == "offscreen":
        return win.grab()
    screen = win.screen() or QtWidgets.QApplication.primaryScreen()
    g = win.frameGeometry()
    return screen.grabWindow(0, g.x(), g.y(), g.width(), g.height())


def _ready(win) -> bool:
    """What the window was opened with is drawn: a replay frame, or the set-up."""
    if win.folder is not None:
        sp = win.section_panel
        if win.bottom_tabs.currentIndex() == 1 and (
                sp.busy or sp.depth_timer.isActive() or sp.section is None
                or (sp.analysis is None and "failed" not in sp.message)):
            return False                   # the Section tab: its section and pore tracking
        return win.shown_frame is not None or not win.folder.snapshots
    return win.preview_state in ("shown", "failed", "invalid", "skipped")


def save_window(app, win, path, timeout: float = 300.0) -> int:
    """Wait (at most `timeout` s) until the window shows what it opened, then save it as
    a PNG at `path`. 0 when saved, 1 otherwise (the reason on stderr)."""
    t_end = time.monotonic() + timeout
    while not _ready(win) and time.monotonic() < t_end:
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.02)
    if not _ready(win):
        print(f"dempack gui: nothing to show after {timeout:g} s; no screenshot", file=sys.stderr)
        return 1
    for _ in range(10):                 # layout, the plots' redraw, the view's render
        app.processEvents()
        time.sleep(0.02)
    win.plots.redraw()
    win.view.render(still=True)
    app.processEvents()
    if not grab(win).save(str(path)):
        print(f"dempack gui: could not write {path}", file=sys.stderr)
        return 1
    print(f"saved {path}: {win.status_label.text() or win.state_label.text()}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gui.screenshot")
    p.add_argument("out", help="PNG file")
    p.add_argument("--scenario", default=str(demo_path("demo_creep_fills_pores.toml")))
    p.add_argument("--at", type=float, default=1.25, help="cycles elapsed when grabbed")
    p.add_argument("--colour", default="von Mises stress", help="colour of the particles")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after (s)")
    p.add_argument("--results", metavar="RUN_DIR",
                   help="instead of running: open this run folder at snapshot --frame")
    p.add_argument("--frame", type=int, default=-1, help="with --results: snapshot shown")
    p.add_argument("--x-axis", default="time", choices=("time", "cycle", "step"),
                   help="x axis of the plots")
    p.add_argument("--tab", default="Summary", choices=("Summary", "Cycles"),
                   help="with --results: the run folder's tab shown")
    p.add_argument("--bottom", default="Plots", choices=("Plots", "Section"),
                   help="with --results: the tab below the 3D view (Section: the virtual SEM)")
    p.add_argument("--depth", type=float, default=0.5,
                   help="with --bottom Section: depth of the section (fraction of the bed)")
    args = p.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    if args.results:
        win = MainWindow(interactive=False)
        win.resize(1280, 800)
        win.show()
        win.view.color_combo.setCurrentText(args.colour)
        win.view.clip_box.setChecked(True)
        win.plots.x_combo.setCurrentText(args.x_axis)
        if not win.open_results(args.results, frame=args.frame):
            return 1
        win.results_panel.setCurrentIndex(("Summary", "Cycles").index(args.tab))
        if args.bottom == "Section":
            win.section_panel.depth_slider.setValue(round(100 * args.depth))
            win.bottom_tabs.setCurrentIndex(1)
        rc = save_window(app, win, args.out, timeout=args.timeout)
        win.close()
        return rc
    win = MainWindow(args.scenario)
    win.resize(1280, 800)
    win.show()
    win.view.color_combo.setCurrentText(args.colour)
    win.view.clip_box.setChecked(True)
    result = {"rc": 1}

    def take():
        win.plots.redraw()
        win._draw_pending()
        app.processEvents()
        grab(win).save(args.out)
        print(f"saved {args.out} at {win.status_label.text()}")
        result["rc"] = 0
        win.stop()
        QtCore.QTimer.singleShot(500, app.quit)

    def poll():
        s = win.last_status
        if s.get("cycle_x", 0.0) >= args.at and win.state == "running":
            win.pause()
            timer.stop()
            QtCore.QTimer.singleShot(700, take)   # let the last frame reach the view
        elif win.state in ("finished", "failed", "stopped"):
            print(f"run ended before {args.at} cycles: {win.state_label.text()}")
            timer.stop()
            app.quit()

    timer = QtCore.QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    QtCore.QTimer.singleShot(int(args.timeout * 1000), app.quit)
    QtCore.QTimer.singleShot(300, win.run)
    app.exec()
    win.close()
    return result["rc"]


if __name__ == "__main__":
    sys.exit(main())
