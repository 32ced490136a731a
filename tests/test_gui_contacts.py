"""The contact network layer of the 3D view (issue 19, item 4): one line per touching pair
of the snapshot (its contacts_<step>.npz read here with numpy), the phase-pair filter,
2D flats as chords, the >20k guard and its note, breakage flashes."""
import os

import numpy as np
import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

import dempack  # noqa: E402
from gui.app import MainWindow  # noqa: E402
from gui.view3d import ParticleView  # noqa: E402

from _rundirs import rve2d_run  # noqa: E402


def _vtp(path):
    """(points, {radius, material}) read with vtk's generic XML reader (not dempack's)."""
    from vtkmodules.numpy_interface.dataset_adapter import WrapDataObject
    from vtkmodules.vtkIOXML import vtkXMLGenericDataObjectReader

    r = vtkXMLGenericDataObjectReader()
    r.SetFileName(str(path))
    r.Update()
    d = WrapDataObject(r.GetOutput())
    return np.array(d.Points), np.array(d.PointData["radius"]), np.array(d.PointData["material"])


def _last_snapshot(run):
    vtps = sorted((run / "vtk").glob("particles_*.vtp"))
    npz = vtps[-1].with_name(vtps[-1].name.replace("particles_", "contacts_").replace(".vtp", ".npz"))
    with np.load(npz) as z:
        c = {k: np.array(z[k]) for k in z.files}
    return _vtp(vtps[-1]), c


def _min_image(d, L):
    d = d.copy()
    d[:, :2] -= L * np.round(d[:, :2] / L)
    return d


@pytest.fixture(scope="module")
def run3d(tmp_path_factory, tiny_overrides):
    """The quickstart powder, 60 spheres in a periodic cell, pressed to 5 MPa."""
    sc = dempack.load_scenario("scenarios/quickstart.toml",
                               {**tiny_overrides, "die.lateral": "periodic",
                                "run.snapshot_every_outputs": 50})
    out = tmp_path_factory.mktemp("gui_contacts") / "run3d"
    dempack.run(sc, out_dir=out)
    return out


@pytest.fixture(scope="module")
def run2d(tmp_path_factory):
    """A small 2D RVE run (disks in the x–z plane), a snapshot at every output."""
    return rve2d_run(tmp_path_factory.mktemp("gui_contacts") / "run2d", particles=80,
                     steps_per_half_cycle=1500, press_steps=3000, hold_steps=300,
                     snapshot_every=1, **{"run.threads": 1})


def _replay(qtbot, run):
    w = MainWindow(interactive=False, results=run)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    return w


def test_contact_layer_draws_one_line_per_touching_pair_and_filters_by_phase_pair(qtbot, run3d):
    (x, R, mat), c = _last_snapshot(run3d)
    touching = c["touching"].astype(bool)
    assert touching.sum() > 10 and len(c["F_n"]) == len(c["i"]) == len(c["a"])
    w = _replay(qtbot, run3d)
    v = w.view
    assert not v.contacts_box.isChecked() and not v.contacts_shown()   # off by default
    v.contacts_box.setChecked(True)
    assert v.contacts_shown()
    assert v.contact_layer.n_lines() == touching.sum()
    # every segment runs from centre i to the minimum image of centre j (periodic cell)
    seg = v.contact_layer.segments()
    i, j = c["i"][touching], c["j"][touching]
    L = float(w.folder.summary["die_width_m"])
    assert np.any(np.abs(x[j] - x[i])[:, :2] > 0.5 * L)    # some contacts cross the cell's side
    np.testing.assert_allclose(seg[:, 0], x[i], rtol=0, atol=1e-12)
    np.testing.assert_allclose(seg[:, 1], x[i] + _min_image(x[j] - x[i], L), rtol=0, atol=1e-12)
    assert np.all(np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1) < R[i] + R[j])
    # the phase-pair filter: the pairs of that phase pair only
    names = w.folder.materials
    labels = [v.pair_combo.itemText(k) for k in range(v.pair_combo.count())]
    assert labels == ["all", f"{names[0]}\u2013{names[0]}", f"{names[0]}\u2013{names[1]}",
                      f"{names[1]}\u2013{names[1]}"]
    mi, mj = mat[i].astype(int), mat[j].astype(int)
    want = {1: (mi == 0) & (mj == 0), 2: mi != mj, 3: (mi == 1) & (mj == 1)}
    for k, sel in want.items():
        v.pair_combo.setCurrentIndex(k)
        assert v.contact_layer.n_lines() == sel.sum(), labels[k]
    assert sum(s.sum() for s in want.values()) == touching.sum()
    v.contacts_box.setChecked(False)
    assert not v.contacts_shown()


def test_a_2d_run_draws_each_flat_as_a_chord_of_length_2a_across_the_centre_line(qtbot, run2d):
    (x, R, mat), c = _last_snapshot(run2d)
    touching = c["touching"].astype(bool)
    assert touching.sum() > 10
    w = _replay(qtbot, run2d)
    v = w.view
    assert v.die[1] == 0.0
    v.contacts_box.setChecked(True)
    seg = v.contact_layer.segments()
    assert len(seg) == touching.sum()
    i, j, a = c["i"][touching], c["j"][touching], c["a"][touching].astype(float)
    assert np.all(a > 0)
    chord = seg[:, 1] - seg[:, 0]
    np.testing.assert_allclose(np.linalg.norm(chord, axis=1), 2 * a, rtol=1e-9)
    assert np.all(seg[:, :, 1] == 0.0)                    # in the disks' plane y = 0
    d = x[j] - x[i]
    if w.folder.summary.get("lateral") == "periodic":
        d = _min_image(d, float(w.folder.summary["die_width_m"]))
    cos = np.abs(np.sum(chord * d, axis=1)) / (np.linalg.norm(chord, axis=1) * np.linalg.norm(d, axis=1))
    assert cos.max() < 1e-6                               # ⟂ the centre line
    # centred on the centre line, at the radical line between the two disks
    mid = 0.5 * (seg[:, 0] + seg[:, 1]) - x[i]
    cross = mid[:, 0] * d[:, 2] - mid[:, 2] * d[:, 0]
    assert np.abs(cross).max() < 1e-9 * np.linalg.norm(d, axis=1).max() ** 2
    t = np.sum(mid * d, axis=1) / np.sum(d * d, axis=1)
    assert np.all((t > 0) & (t < 1))


def _two_spheres(n_contacts):
    x = np.array([[0.0, 0.0, 0.0], [1.5e-6, 0.0, 0.0]])
    arrays = {"x": x, "radius": np.full(2, 1e-6), "material": np.array([0, 1]),
              "id": np.array([0, 1]), "generation": np.zeros(2, np.int32)}
    arrays["contacts"] = {"i": np.zeros(n_contacts, np.int32), "j": np.ones(n_contacts, np.int32),
                          "delta_flat": np.zeros(n_contacts), "share_i": np.zeros(n_contacts),
                          "touching": np.ones(n_contacts, bool),
                          "F_n": np.full(n_contacts, 1e-4, np.float32),
                          "a": np.full(n_contacts, 4e-7, np.float32)}
    return arrays, {"die": (3e-6, 3e-6, 2e-6, False)}


def test_above_20k_contacts_the_layer_stays_off_and_says_why(qtbot):
    v = ParticleView(interactive=False)
    qtbot.addWidget(v)
    v.set_materials(["Se", "Mo6Se8"])
    v.show()
    v.set_frame(*_two_spheres(20_001))
    v.contacts_box.setChecked(True)
    assert not v.contacts_shown() and v.contact_layer.n_lines() == 0
    assert v.contacts_anyway.isVisibleTo(v)
    assert "20,001 contacts: layer off above 20k for view speed" in v.contacts_anyway.text()
    v.contacts_anyway.setChecked(True)                    # the user asks: drawn anyway
    assert v.contacts_shown() and v.contact_layer.n_lines() == 20_001
    v.set_frame(*_two_spheres(20_000))                    # at the limit: drawn, no note
    assert v.contacts_shown() and not v.contacts_anyway.isVisibleTo(v)


def test_a_new_fragment_flashes(qtbot):
    v = ParticleView(interactive=False)
    qtbot.addWidget(v)
    arrays, status = _two_spheres(1)
    v.set_frame(arrays, status)
    assert v.flashed == 0 and not v.flash_actor.GetVisibility()
    nxt = {**arrays, "generation": np.array([1, 0], np.int32)}   # particle 0 broke
    v.set_frame(nxt, status)
    assert v.flashed == 1 and v.flash_actor.GetVisibility()
    v.set_frame(nxt, status)                              # nothing new: no new flash
    assert v.flashed == 0
    qtbot.waitUntil(lambda: not v.flash_actor.GetVisibility(), timeout=5000)


def test_live_frames_carry_the_contacts_only_when_asked():
    # a periodic grid of overlapping spheres (as tests/test_pores.py), away from the walls
    from _build import hand_sim

    from dempack.live import LiveBridge
    from dempack.observe import particle_stress

    a, n = 2e-6, 3
    g = (np.arange(n) + 0.5) * a
    x = np.array([(gx, gy, gz + a) for gx in g for gy in g for gz in g])
    sim = hand_sim(x, np.full(len(x), 0.53 * a), np.arange(len(x)) % 2, n * a, (n + 2) * a,
                   materials=("Se", "Mo6Se8"), lateral="periodic")
    frames = []
    bridge = LiveBridge(frames.append)
    bridge.flush(sim)
    assert "contacts" not in frames[-1].arrays
    bridge.with_contacts = True
    bridge.flush(sim)
    c = frames[-1].arrays["contacts"]
    # the face neighbours: x and y across the periodic cell's sides too, z within the columns
    assert c["touching"].sum() == 2 * n ** 3 + n * n * (n - 1)
    assert np.all(c["F_n"][c["touching"]] > 0)
    # the largest normal force of each sphere is the engine's (particle_stress), no walls here
    fmax = np.zeros(len(x))
    t = c["touching"]
    np.maximum.at(fmax, c["i"][t], c["F_n"][t])
    np.maximum.at(fmax, c["j"][t], c["F_n"][t])
    np.testing.assert_allclose(fmax, particle_stress(sim)[1], rtol=1e-6)
    # the contact radius of two equal spheres at distance d: a² = R² − d²/4
    R, d = 0.53 * a, a
    np.testing.assert_allclose(c["a"][t], np.sqrt(R * R - d * d / 4), rtol=1e-6)
