"""The virtual in-situ SEM of an open run folder (issue 22, item 4): a section of the snapshot
the replay shows, with the relative pore areas through the run beside it (the study's
Fig. 3c/d: Xiong et al. 2024, Nat. Commun. 15, doi:10.1038/s41467-024-48174-8).

SectionPanel: left, the plane z_s = (1 − d) h (d the depth slider, h the bed thickness at the
snapshot) with the particles coloured by material (the colours of the 3D view) and the pore
contours dashed; right, the relative area A/A_I of each pore present in the first snapshot
at every snapshot (grey), their median (black), the no-creep line 1 − c_res (red, dashed) and
a marker at the snapshot shown. The geometry is `dempack.analysis.pores`: particles cut at
their contacts' separating planes (as the engine's porosity counts them).

One section (~0.05 s at 2000 particles) is computed on the UI thread and cached per
(snapshot, depth); the tracking through all snapshots runs in a background thread and
arrives by a queued signal (a newer depth or folder drops an older result).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .view3d import MATERIAL_RGB

log = logging.getLogger(__name__)

MAX_VIEW_PIXELS = 640          # pixels across the section view (at most)
SECTION_CACHE = 64             # (snapshot, depth) sections kept


def material_lut(n: int) -> np.ndarray:
    """(n + 1, 3) uint8 colours: row 0 pore (white), row m + 1 material m (MATERIAL_RGB)."""
    rgb = [(1.0, 1.0, 1.0)] + [MATERIAL_RGB[m % len(MATERIAL_RGB)] for m in range(max(n, 1))]
    return np.round(255.0 * np.array(rgb)).astype(np.uint8)


class SectionPanel(QtWidgets.QWidget):
    """set_folder(RunFolder or None), set_frame(k); depth from the slider (0 top of the bed,
    100 % its bottom). Attributes for scripts and tests: frame, depth, section (the
    dempack.analysis.pores Raster shown), labels (its pores), analysis and states (the
    tracking at the current depth, None until it arrives), message (what went wrong)."""

    tracking_ready = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.folder = None
        self.frame: int | None = None
        self.section = None
        self.labels = None
        self.analysis = None
        self.states = None
        self.c_res = None
        self.message = ""
        self._run = None               # dempack.analysis.pores.RunStates of the folder
        self._cache: dict = {}
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._pending = False

        v = QtWidgets.QVBoxLayout(self)
        v.setContentsMargins(2, 2, 2, 2)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("depth below the top of the bed"))
        self.depth_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.depth_slider.setObjectName("section_depth")
        self.depth_slider.setRange(0, 100)
        self.depth_slider.setValue(50)
        self.depth_slider.setToolTip("Depth of the section plane, as a fraction of the bed's "
                                     "thickness (0 %: top, the separator side)")
        top.addWidget(self.depth_slider, 1)
        self.depth_label = QtWidgets.QLabel("50 %")
        self.depth_label.setMinimumWidth(40)
        top.addWidget(self.depth_label)
        self.materials_label = QtWidgets.QLabel("")
        self.materials_label.setObjectName("section_materials")
        top.addWidget(self.materials_label)
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("section_caption")
        top.addWidget(self.caption, 2)
        v.addLayout(top)
        h = QtWidgets.QHBoxLayout()
        self.image_plot = pg.PlotWidget()
        self.image_plot.setObjectName("section_image")
        self.image_plot.setAspectLocked(True)
        self.image_plot.setLabel("bottom", "x (µm)")
        self.image_plot.setLabel("left", "y (µm)")
        self.image = pg.ImageItem()
        self.image_plot.addItem(self.image)
        self.contours = pg.IsocurveItem(level=0.5, pen=pg.mkPen("k", width=1,
                                                                 style=QtCore.Qt.DashLine))
        self.contours.setParentItem(self.image)
        h.addWidget(self.image_plot, 1)
        self.area_plot = pg.PlotWidget()
        self.area_plot.setObjectName("section_areas")
        self.area_plot.setLabel("left", "relative pore area A / A_I")
        self.area_plot.setLabel("bottom", "snapshot (state)")
        self.area_plot.setTitle("pores in the section (Fig. 3d)", size="9pt")
        self.area_plot.setYRange(0.0, 2.0)
        self.area_legend = self.area_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.pore_curves = self.area_plot.plot([], [], pen=pg.mkPen((150, 150, 150), width=1),
                                               connect="finite")
        self.median_curve = self.area_plot.plot([], [], pen=pg.mkPen("k", width=2),
                                                symbol="o", symbolSize=5, name="median")
        self.no_creep = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c44e52", width=1.5,
                                                              style=QtCore.Qt.DashLine))
        self.no_creep.hide()
        self.area_plot.addItem(self.no_creep)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#1f77b4", width=1.5))
        self.marker.hide()
        self.area_plot.addItem(self.marker)
        h.addWidget(self.area_plot, 1)
        v.addLayout(h, 1)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("section_status")
        self.status.setWordWrap(True)
        v.addWidget(self.status)

        self.depth_timer = QtCore.QTimer(self)
        self.depth_timer.setSingleShot(True)
        self.depth_timer.setInterval(250)       # track again once the slider rests
        self.depth_timer.timeout.connect(self._start_tracking)
        self.depth_slider.valueChanged.connect(self._on_depth)
        self.tracking_ready.connect(self._on_tracking, QtCore.Qt.QueuedConnection)

    # ------------------------------------------------------------ inputs
    @property
    def depth(self) -> float:
        return self.depth_slider.value() / 100.0

    def set_folder(self, folder) -> None:
        """A run folder (dempack.io.rundir.RunFolder) to section, or None to clear."""
        from dempack.analysis.pores import read_run

        self._generation += 1
        self.folder = folder
        self.frame = None
        self._cache.clear()
        self._run = None
        self.analysis = self.states = self.section = self.labels = None
        self.message = ""
        self.image.clear()
        self.contours.setData(None)
        self.pore_curves.setData([], [])
        self.median_curve.setData([], [])
        self.no_creep.hide()
        self.marker.hide()
        self.caption.setText("")
        if folder is None or not folder.snapshots:
            self._say("no snapshots to section" if folder is not None else "")
            return
        try:
            self._run = read_run(folder, self.depth)
        except (OSError, ValueError, KeyError) as e:
            self._say(f"no section: {e}")
            return
        self.c_res = self._run.c_res
        self._set_legend()
        self._start_tracking()

    def set_frame(self, k: int) -> None:
        """Show the section of snapshot k (the replay's) and mark it in the areas plot."""
        self.frame = k
        if self._run is None or not 0 <= k < len(self._run.states):
            return
        if not self.isVisible():        # drawn when the tab is shown (replay stays fast)
            self._pending = True
            return
        self._pending = False
        try:
            ras, lab, z = self._section(k, self.depth)
        except (ValueError, MemoryError) as e:
            self._say(f"snapshot {k + 1}: no section: {e}")
            return
        self.section, self.labels = ras, lab
        lut = material_lut(len(self._run.materials))
        idx = np.clip(ras.image.astype(np.int32) + 1, 0, len(lut) - 1)
        rgb = lut[idx]                                     # (ny, nx, 3), row 0 at y = 0
        self.image.setImage(np.ascontiguousarray(rgb.transpose(1, 0, 2)), levels=(0, 255))
        ny, nx = ras.image.shape
        self.image.setRect(QtCore.QRectF(0.0, 0.0, nx * ras.pixel[0] * 1e6,
                                         ny * ras.pixel[1] * 1e6))
        self.contours.setData(np.ascontiguousarray((lab > 0).T.astype(float)), level=0.5)
        st = self._run.states[k]
        self.caption.setText(f"snapshot {k + 1}: z = {z * 1e6:.2f} µm, "
                             f"c = {st.lithiation_mean:.2f}, {int(lab.max())} pores, "
                             f"pore fraction {float(np.mean(ras.pore)):.3f}")
        self.marker.setValue(k)
        self.marker.setVisible(self.analysis is not None)

    def showEvent(self, e):
        super().showEvent(e)
        if self._pending and self.frame is not None:
            self.set_frame(self.frame)

    # ------------------------------------------------------------ compute
    def _section(self, k: int, depth: float):
        """(Raster, pore labels, z) of snapshot k at `depth`, cached."""
        from dempack.analysis.pores import label_pores, rasterise

        key = (k, round(depth, 4))
        if key in self._cache:
            return self._cache[key]
        run = self._run
        R = run.particles[k][1]
        pixel = max(2.0 * float(R.min()) / 20.0 if len(R) else run.width,
                    run.width / MAX_VIEW_PIXELS)
        sec = run.section(k, depth)
        ras = rasterise(sec, pixel)
        lab, _, _ = label_pores(ras.pore, ras.periodic, 0)
        if len(self._cache) >= SECTION_CACHE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (ras, lab, sec.z)
        return self._cache[key]

    def _on_depth(self, value: int) -> None:
        self.depth_label.setText(f"{value} %")
        if self._run is None:
            return
        if self.frame is not None:
            self.set_frame(self.frame)
        self.depth_timer.start()

    def _start_tracking(self) -> None:
        """Label and track the pores of every snapshot at the current depth, off the UI
        thread (dempack.analysis.pores.analyse_run)."""
        from dempack.analysis.pores import analyse_run

        if self._run is None:
            return
        self._generation += 1
        gen, depth = self._generation, self.depth
        run = replace(self._run, depth=depth,           # a copy: the UI may move on
                      states=[replace(st, z_m=self._run.plane_height(k, depth))
                              for k, st in enumerate(self._run.states)])
        self.analysis = None
        self.marker.hide()
        self._say(f"tracking the pores of {len(run.states)} snapshots at depth "
                  f"{depth:.0%} …")

        def work():
            try:
                an = analyse_run(run)
                self.tracking_ready.emit((gen, run, an, None))
            except Exception as e:             # reported in the panel, never raised in a thread
                self.tracking_ready.emit((gen, run, None, e))

        self._worker = threading.Thread(target=work, name="pore-tracking", daemon=True)
        self._worker.start()

    def _on_tracking(self, payload) -> None:
        gen, run, an, err = payload
        depth = run.depth
        if gen != self._generation:
            return                                           # a newer depth or folder
        if err is not None:
            self._say(f"pore tracking failed: {err}")
            return
        self.analysis, self.states = an, run.states
        rel = an.area_rel()
        first = np.flatnonzero(an.tracking.status[0] == "open")
        n = len(self.states)
        xs = np.arange(n, dtype=float)
        if first.size:
            y = np.hstack([rel[:, first].T, np.full((first.size, 1), np.nan)])
            x = np.tile(np.append(xs, np.nan), first.size)
            self.pore_curves.setData(x, y.ravel(), connect="finite")
            with np.errstate(all="ignore"):
                med = np.array([np.nanmedian(rel[k, first]) if np.isfinite(rel[k, first]).any()
                                else np.nan for k in range(n)])
            self.median_curve.setData(xs, med, connect="finite")
        else:
            self.pore_curves.setData([], [])
            self.median_curve.setData([], [])
        self.no_creep.setValue(1.0 - self.c_res)
        self.no_creep.show()
        self.area_plot.setXRange(-0.2, max(n - 1, 1) + 0.2)
        step = max(1, n // 12)
        self.area_plot.getAxis("bottom").setTicks(
            [[(k, f"{k + 1}\nc={st.lithiation_mean:.2f}") for k, st in enumerate(run.states)
              if k % step == 0]])
        if self.frame is not None:
            self.marker.setValue(self.frame)
            self.marker.show()
        self._say(f"{first.size} pores present in the first snapshot tracked through {n} "
                  f"snapshots at depth {depth:.0%}; red dashed: no creep, 1 − c_res = "
                  f"{1.0 - self.c_res:.2f}" + ("" if self._run.cut_at_flats else
                                               "; this run's snapshots have no contacts "
                                               "files: the section is the union of the "
                                               "spheres (less pore than the engine)"))

    # ------------------------------------------------------------ helpers
    def _set_legend(self) -> None:
        lut = material_lut(len(self._run.materials))
        self.materials_label.setText("  ".join(
            f'<span style="color:#{lut[m + 1][0]:02x}{lut[m + 1][1]:02x}{lut[m + 1][2]:02x}">'
            f"&#9632;</span> {name}" for m, name in enumerate(self._run.materials))
            + "  ┄ pore contour")
        self.area_legend.clear()
        self.area_legend.addItem(self.median_curve, "median of the first snapshot's pores")
        self.area_legend.addItem(self.no_creep_proxy(), "no creep: 1 − c_res")

    def no_creep_proxy(self):
        return pg.PlotDataItem([], [], pen=pg.mkPen("#c44e52", width=1.5,
                                                    style=QtCore.Qt.DashLine))

    def _say(self, text: str) -> None:
        self.message = text
        self.status.setText(text)

    @property
    def busy(self) -> bool:
        """The pore tracking is running in its thread."""
        return self._worker is not None and self._worker.is_alive()

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the background tracking (tests, closing the window)."""
        if self._worker is not None:
            self._worker.join(timeout)
