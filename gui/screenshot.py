"""Screenshot of the app in the middle of a run (for README.md):

    xvfb-run -a -s "-screen 0 1280x800x24" python -m gui.screenshot assets/screenshot_cycling.png

Opens SCENARIO (default: the "creep fills pores" demonstration), presses Run,
and grabs the screen once the run is `--at` cycles into cycling.
"""
from __future__ import annotations

import argparse
import sys

from PySide6 import QtCore, QtWidgets

from .app import MainWindow
from .demos import demo_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gui.screenshot")
    p.add_argument("out", help="PNG file")
    p.add_argument("--scenario", default=str(demo_path("demo_creep_fills_pores.toml")))
    p.add_argument("--at", type=float, default=1.25, help="cycles elapsed when grabbed")
    p.add_argument("--colour", default="von Mises stress", help="colour of the particles")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after (s)")
    args = p.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow(args.scenario)
    win.resize(1280, 800)
    win.show()
    win.view.color_combo.setCurrentText(args.colour)
    win.view.clip_box.setChecked(True)
    result = {"rc": 1}

    def grab():
        win.plots.redraw()
        win._draw_pending()
        app.processEvents()
        screen = QtWidgets.QApplication.primaryScreen()
        g = win.frameGeometry()
        img = screen.grabWindow(0, g.x(), g.y(), g.width(), g.height())
        img.save(args.out)
        print(f"saved {args.out} at {win.status_label.text()}")
        result["rc"] = 0
        win.stop()
        QtCore.QTimer.singleShot(500, app.quit)

    def poll():
        s = win.last_status
        if s.get("cycle_x", 0.0) >= args.at and win.state == "running":
            win.pause()
            timer.stop()
            QtCore.QTimer.singleShot(700, grab)   # let the last frame reach the view
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
