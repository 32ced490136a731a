"""The virtual in-situ SEM (issue 22): pores in a section, labelled and tracked
(`dempack.analysis.pores`), and snapshots at half-cycle fractions
(`run.snapshot_at_half_cycle_fractions`).

Expectations are independent of the code: porosities of lattices in closed form, pore
areas of a hand-built cell, lithiation states from the protocol's arithmetic
(c = k/steps_per_half after k discharge steps)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import ndimage

import dempack
from dempack.analysis.pores import (Section, analyse_sections, label_pores, rasterise,
                                    section_of_spheres)
from dempack.io.rundir import RunFolder
from dempack.io.tables import read_csv
from dempack.scenario import DEFAULT_SCENARIO, ScenarioError

# 30·√2 ≈ 42 pixels per diameter: a lattice spacing that is no whole number of pixels, so
# the 144 disks sit at many offsets within a pixel. Counting pixel centres is an unbiased
# estimate of a disk's area over its offset; averaged over many offsets its error is far
# below the 1 % asked (a single disk at 20 pixels per diameter can be off by 1-2 %).
PPD_FINE = 30.0 * math.sqrt(2.0)


def lattice(n, spacing, radius, offset=0.0, periodic=True):
    c = np.array([((i + 0.5 + offset) * spacing, (j + 0.5 + offset) * spacing)
                  for i in range(n) for j in range(n)])
    return Section(c, np.full(n * n, radius), np.zeros(n * n, np.int32),
                   (n * spacing, n * spacing), periodic)


# ---------------------------------------------------------------- rasterised porosity
@pytest.mark.parametrize("ratio", [1.0, 0.8])
@pytest.mark.parametrize("offset", [0.0, 0.37])
def test_square_lattice_of_disks_has_porosity_one_minus_pi_r2_over_s2(ratio, offset):
    s = 2e-6
    r = 0.5 * s * ratio                                   # ratio 1: touching disks, 1 − π/4
    ras = rasterise(lattice(12, s, r, offset), s / PPD_FINE)
    expected = 1.0 - math.pi * r ** 2 / s ** 2
    assert abs(ras.pore.mean() - expected) < 0.01 * expected


def test_section_through_simple_cubic_spheres_has_the_closed_form_porosity():
    # spheres of radius R on a cubic lattice of spacing a = 2R, three layers; the plane at
    # R/2 above the middle layer's centres cuts only that layer (the others are 1.5 R away)
    # in circles of r² = R² − (R/2)², so the porosity is 1 − π (3/4) R² / a²
    R, n = 1e-6, 10
    a = 2.0 * R
    g = (np.arange(n) + 0.5) * a
    x = np.array([(i, j, k) for i in g for j in g for k in (R, 3 * R, 5 * R)])
    sec = section_of_spheres(x, np.full(len(x), R), np.zeros(len(x), int), (n * a, n * a),
                             True, 3 * R + 0.5 * R)
    assert len(sec.radii) == n * n
    np.testing.assert_allclose(sec.radii, math.sqrt(0.75) * R, rtol=1e-12)
    ras = rasterise(sec, 2 * R / PPD_FINE)
    expected = 1.0 - math.pi * 0.75 * R ** 2 / a ** 2
    assert abs(ras.pore.mean() - expected) < 0.01 * expected


def test_periodic_disk_wraps_across_the_edges():
    # a disk centred on the corner of a periodic box shows as four quarter disks: area πr²
    L, r = 10e-6, 2e-6
    sec = Section(np.array([[0.0, 0.0]]), np.array([r]), np.array([0]), (L, L), True)
    ras = rasterise(sec, L / 400)
    solid = np.count_nonzero(~ras.pore) * ras.pixel_area
    assert abs(solid - math.pi * r ** 2) < 0.01 * math.pi * r ** 2
    walls = rasterise(Section(sec.centers, sec.radii, sec.material, (L, L), False), L / 400)
    solid = np.count_nonzero(~walls.pore) * walls.pixel_area          # one quarter inside
    assert abs(solid - 0.25 * math.pi * r ** 2) < 0.01 * 0.25 * math.pi * r ** 2


# ------------------------------------------------------- sections cut at the flats
def _segment(r, a):
    """Area of the part of a disk of radius r beyond a chord at distance a from its centre
    (0 when the line misses the disk)."""
    if a >= r:
        return 0.0
    return r * r * math.acos(a / r) - a * math.sqrt(r * r - a * a)


@pytest.mark.parametrize("flat, share", [(0.0, 0.5), (0.12e-6, 1.0), (0.12e-6, 0.3)])
@pytest.mark.parametrize("s", [0.0, 0.45e-6])
def test_two_overlapping_spheres_are_cut_at_their_separating_plane(flat, share, s):
    # spheres R1, R2 at distance d on a horizontal axis, cut by the plane s above the axis:
    # disks r_k = √(R_k² − s²) split by the chord of the separating plane, at
    # l' = l_1 − f δ from centre 1 (radical plane of the spheres moved apart by the flat,
    # l_1 = (d'² + R1² − R2²)/(2d'), d' = d + δ; f the share of sphere 1): each material's
    # area is its disk less the segment beyond the chord
    R1, R2, d = 1.0e-6, 0.8e-6, 1.5e-6
    x = np.array([[3e-6, 3e-6, 2e-6], [3e-6 + d, 3e-6, 2e-6]])
    flats = {"i": np.array([0]), "j": np.array([1]), "delta_flat": np.array([flat]),
             "share_i": np.array([share])}
    sec = section_of_spheres(x, np.array([R1, R2]), np.array([0, 1]), (8e-6, 8e-6), False,
                             2e-6 + s, flats)
    ras = rasterise(sec, R2 / 200)
    dp = d + flat
    l1 = (dp * dp + R1 * R1 - R2 * R2) / (2 * dp) - share * flat
    r1, r2 = math.sqrt(R1 ** 2 - s * s), math.sqrt(R2 ** 2 - s * s)
    a1 = math.pi * r1 ** 2 - _segment(r1, l1)
    a2 = math.pi * r2 ** 2 - _segment(r2, d - l1)
    # 200 pixels across the smaller disk: the pixel count of a ~300-pixel-perimeter shape
    # is within ~0.1 % of its area; 0.5 % leaves room
    assert np.count_nonzero(ras.image == 0) * ras.pixel_area == pytest.approx(a1, rel=5e-3)
    assert np.count_nonzero(ras.image == 1) * ras.pixel_area == pytest.approx(a2, rel=5e-3)
    # no pixel is counted twice; the flat's side loses the rim of its cap outside the
    # neighbour, so the solid is the union of the disks only without a flat
    solid = np.count_nonzero(~ras.pore) * ras.pixel_area
    assert solid == pytest.approx(a1 + a2, rel=5e-3)
    union = math.pi * (r1 ** 2 + r2 ** 2) - _lens(r1, r2, d)
    if flat == 0.0:
        assert a1 + a2 == pytest.approx(union, rel=1e-12)
    else:
        assert a1 + a2 < union


def _lens(r1, r2, d):
    """Area common to two disks of radii r1, r2 at distance d (closed form)."""
    a = (d * d + r1 * r1 - r2 * r2) / (2 * d)
    return _segment(r1, a) + _segment(r2, d - a)


def test_sections_averaged_over_planes_give_the_engine_porosity(tmp_path):
    # a jittered simple cubic packing (spacing a, R ≈ 0.57 a: each sphere overlaps its six
    # face neighbours by ≈ 0.14 a, chequerboard Se / Mo6Se8 so the Se side of every contact
    # takes its whole flat), flats 0.9 of the overlaps: the engine's porosity observable
    # (dempack.observe) against the mean pore fraction of 100 sections of the snapshot as
    # written to disk (.vtp and contacts_<step>.npz). The midpoint rule over 100 planes and
    # 60 pixels per a keep the section's error ≈ 0.1 %; the engine's caps are exact here
    # (no two caps of a sphere meet: angular radii ≈ 40° < 45°): 2 % is the bound
    from _build import hand_sim

    from dempack.analysis.pores import porosity_over_planes
    from dempack.io.rundir import Snapshot, read_contacts, read_vtp
    from dempack.observe import observables
    from dempack.runner import OutputWriters

    rng = np.random.default_rng(3)
    a, n, nz = 2e-6, 4, 3
    g = (np.arange(n) + 0.5) * a
    idx = np.array([(i, j, k) for i in range(n) for j in range(n) for k in range(nz)])
    x = np.column_stack([g[idx[:, 0]], g[idx[:, 1]], (idx[:, 2] + 0.5) * a])
    x += rng.uniform(-0.03, 0.03, x.shape) * a
    R = 0.57 * a * rng.uniform(0.97, 1.03, len(x))
    sim = hand_sim(x, R, idx.sum(1) % 2, n * a, nz * a, materials=("Se", "Mo6Se8"),
                   lateral="periodic")
    cl, ps = sim.contacts, sim.particles
    dx = ps.x[cl.j] - ps.x[cl.i]
    dx[:, :2] -= n * a * np.round(dx[:, :2] / (n * a))
    overlap = ps.R[cl.i] + ps.R[cl.j] - np.linalg.norm(dx, axis=1)
    assert np.sum(overlap > 0) == 3 * n * n * nz - n * n        # the face neighbours
    cl.delta_flat[:] = np.where(overlap > 0, 0.9 * overlap, 0.0)
    engine = observables(sim)["porosity"]
    OutputWriters(sim, tmp_path).write_snapshot(sim)
    vtp = next((tmp_path / "vtk").glob("particles_*.vtp"))
    xs, arr = read_vtp(vtp)
    flats = read_contacts(Snapshot(0.0, 0, vtp).contacts_path)
    assert len(flats["i"]) == np.sum(overlap > 0)
    cut = porosity_over_planes(xs, arr["radius"], n * a, True, nz * a, flats, planes=100,
                               pixel=a / 60)
    assert cut == pytest.approx(engine, rel=0.02)
    union = porosity_over_planes(xs, arr["radius"], n * a, True, nz * a, None, planes=100,
                                 pixel=a / 60)
    assert union < engine * (1 - 0.04)           # what the old section (flats not cut) shows


# ---------------------------------------------------------------------- labels
def test_two_disjoint_pores_are_two_and_a_pore_across_a_periodic_edge_is_one():
    pore = np.zeros((20, 20), bool)
    pore[2:6, 2:6] = True
    pore[10:15, 8:12] = True
    _, n, _ = label_pores(pore, periodic=False, min_area_px=0)
    assert n == 2
    # touching only at a corner: two pores (4-connectivity)
    diag = np.zeros((6, 6), bool)
    diag[1:3, 1:3] = diag[3:5, 3:5] = True
    assert label_pores(diag, False, 0)[1] == 2
    # one pore cut by the left/right edge and another by the bottom/top edge
    edge = np.zeros((20, 20), bool)
    edge[5:9, :3] = edge[5:9, -2:] = True
    edge[:2, 12:15] = edge[-3:, 12:15] = True
    assert label_pores(edge, periodic=False, min_area_px=0)[1] == 4
    lab, n, _ = label_pores(edge, periodic=True, min_area_px=0)
    assert n == 2 and lab[6, 0] == lab[6, -1] and lab[0, 13] == lab[-1, 13]
    # pores under the minimum area are left out and counted as excluded
    lab, n, excluded = label_pores(pore, False, min_area_px=17)
    assert n == 1 and excluded == 16 and np.count_nonzero(lab) == 20


def cell(rho, s=2e-6, n=4):
    """Touching disks (radius s/2) on an n x n periodic square lattice, centred on the
    lattice points, so each cell holds one pore of area s²(1 − π/4); the cell at the centre
    of the box gets a disk of radius rho at its centre."""
    c = [(i * s, j * s) for i in range(n) for j in range(n)] + [(1.5 * s, 1.5 * s)]
    r = [0.5 * s] * (n * n) + [rho]
    return Section(np.array(c), np.array(r), np.zeros(len(r), np.int32), (n * s, n * s), True)


def test_a_pore_a_particle_grows_into_shrinks_then_closes_and_reopens():
    s = 2e-6
    # at 0.15 s a gap of 0.06 s (2.4 pixels) is left to the corner disks; s/2 fills the pore
    rhos = [0.05 * s, 0.1 * s, 0.15 * s, 0.5 * s, 0.1 * s]
    an = analyse_sections([cell(r) for r in rhos], s / PPD_FINE, min_area_px=0)
    tr = an.tracking
    assert tr.n_pores == 16 and int(an.labels[0].max()) == 16
    # the pore holding the centre disk: the one at the pixel near (1.5 s, 1.62 s)
    ras = an.rasters[0]
    j, i = int(1.5 * s / ras.pixel[1] + 0.12 * s / ras.pixel[1]), int(1.5 * s / ras.pixel[0])
    pid = tr.ids[0][an.labels[0][j, i]]
    assert pid > 0
    a0 = s * s * (1 - math.pi / 4)
    expected = [(a0 - math.pi * r ** 2) / (a0 - math.pi * rhos[0] ** 2) for r in rhos]
    rel = an.area_rel()[:, pid - 1]
    for k in (0, 1, 2):
        assert abs(rel[k] - expected[k]) < 0.02, (k, rel[k], expected[k])
    assert rel[0] > rel[1] > rel[2]
    assert tr.status[3, pid - 1] == "closed" and an.area[3, pid - 1] == 0.0
    assert tr.status[4, pid - 1] == "open" and abs(rel[4] - expected[4]) < 0.02  # same id
    # the other 15 pores keep their pixels: the centre disk stays inside its cell (at s/2
    # it reaches the cell's edge at the corner disks' contact points only)
    others = [p for p in range(16) if p != pid - 1]
    assert np.all(an.area_rel()[:, others] == 1.0)
    assert [e["event"] for e in tr.events] == ["closed", "reopened"]


def test_a_pore_cut_in_two_splits_and_two_pores_joined_merge():
    pore = np.zeros((30, 30), bool)
    pore[5:25, 5:15] = True
    cut = pore.copy()
    cut[14:16, :] = False                                  # a bar cuts it: upper part larger
    cut[5:8, 5:15] = False
    joined = cut.copy()
    joined[14:16, 5:15] = True
    labels = [label_pores(m, False, 0)[0] for m in (pore, cut, joined)]
    from dempack.analysis.pores import track
    tr = track(labels)
    assert tr.n_pores == 2 and tr.parent[1] == 1
    assert tr.status[2, 1] == "merged" and tr.merged_into[1] == 1
    assert [e["event"] for e in tr.events] == ["split", "merged"]


# ------------------------------------------------------------- a tiny cycling run
TRIGGER = {"run.snapshot_every_outputs": 0,
           "run.snapshot_at_half_cycle_fractions": [0.0, 0.5, 1.0],
           "cycling.cycles": 1, "cycling.steps_per_half_cycle": 400,
           "stack.pressure_MPa": 5, "stack.speed_m_per_s": 1.0}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from tests.conftest import TINY_OVERRIDES
    out = tmp_path_factory.mktemp("insitu")
    sc = dempack.load_scenario(DEFAULT_SCENARIO, {**TINY_OVERRIDES, **TRIGGER})
    dempack.run(sc, out_dir=out)
    return out


def test_snapshots_are_written_exactly_at_the_half_cycle_fractions(tiny_run):
    rf = RunFolder(tiny_run)
    n = TRIGGER["cycling.steps_per_half_cycle"]
    c_res = 0.22
    # the first discharge step k gives c = k/n, the first charge step k gives c = 1 − k/n:
    # the first steps reaching fractions 0.5 and 1 of each half-cycle (0 is the state
    # where the half-cycle starts), here all whole steps
    k_mid_charge = math.ceil(0.5 * (1 - c_res) * n)
    expected = [0.0, 0.5, 1.0, 1.0 - k_mid_charge / n, c_res]
    assert len(rf.snapshots) == 5
    got = []
    for k in range(5):
        x, arr = rf.read_snapshot(k)
        lit = arr["lithiation"][arr["material"] == 0]             # Se, the active material
        assert np.ptp(lit) == 0.0
        got.append(float(lit[0]))
    np.testing.assert_allclose(got, expected, atol=1e-9)
    steps = [s.step for s in rf.snapshots]
    start = rf.summary["stages"][0]["step"]                   # pressing ends, cycling starts
    ends = [r["step"] for r in rf.cycle_rows()]
    assert steps[0] == start and steps[2] == ends[0] and steps[4] == ends[1]
    assert steps[1] - steps[0] == n // 2 and steps[3] - steps[2] == k_mid_charge


def test_fractions_outside_0_1_are_refused_naming_key_and_file(write_scenario):
    text = DEFAULT_SCENARIO.read_text().replace(
        "[run]", "[run]\nsnapshot_at_half_cycle_fractions = [0.0, 1.5]")
    path = write_scenario(text)
    with pytest.raises(ScenarioError) as e:
        dempack.load_scenario(path)
    msg = str(e.value)
    assert str(path) in msg and "run.snapshot_at_half_cycle_fractions = [0.0, 1.5]" in msg
    assert "each >= 0 and <= 1 ([1] = 1.5 is not)" in msg
    path = write_scenario(DEFAULT_SCENARIO.read_text().replace(
        "[run]", '[run]\nsnapshot_at_half_cycle_fractions = "half"'), "b.toml")
    with pytest.raises(ScenarioError, match="snapshot_at_half_cycle_fractions = 'half': must be "
                                            "an array of numbers"):
        dempack.load_scenario(path)


def test_pores_csv_has_a_row_per_pore_and_state_and_areas_add_up(tiny_run, tmp_path):
    res = dempack.pores(tiny_run, out=tmp_path, min_area_px=0)
    cols = read_csv(tmp_path / "pores.csv")
    n_states, n_pores = len(res.states), res.analysis.tracking.n_pores
    assert n_states == 5 and n_pores >= 2
    assert len(cols["pore"]) == n_states * n_pores
    pairs = set(zip(cols["pore"].astype(int), cols["state"].astype(int)))
    assert pairs == {(p, k) for p in range(1, n_pores + 1) for k in range(n_states)}
    for k, ras in enumerate(res.analysis.rasters):
        # with min_area_px = 0 nothing is left out: the pores' areas add up to every pore
        # pixel of the section × the pixel area (empty cells: absent or merged pores)
        mine = cols["state"] == k
        total = np.nansum(cols["area_m2"][mine])
        assert total == pytest.approx(np.count_nonzero(ras.pore) * ras.pixel_area, rel=1e-12)
    closed = cols["closed"] == 1
    assert np.all(cols["area_m2"][closed] == 0.0)
    summary = json.loads((tmp_path / "pores.json").read_text(), parse_constant=lambda t: 1 / 0)
    assert summary["pores_tracked"] == int(np.sum(res.analysis.tracking.status[0] == "open"))
    assert summary["no_creep_area_rel"] == pytest.approx(1 - 0.22)
    assert [s["half"] for s in summary["states"]] == ["discharge"] * 3 + ["charge"] * 2
    for f in ("section_0.png", "section_4.png", "pores_relative_area.png"):
        assert (tmp_path / f).stat().st_size > 0
    # with a minimum area, the areas add up to the pore pixels less the small pores' pixels
    res = dempack.pores(tiny_run, out=tmp_path / "min", min_area_px=30, images=False)
    for k, ras in enumerate(res.analysis.rasters):
        lab, _ = ndimage.label(ras.pore, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
        sizes = np.bincount(lab.ravel())[1:]
        kept = sizes[sizes >= 30].sum()          # quickstart: side walls, no periodic merge
        got = np.nansum(res.analysis.area[k])
        assert got == pytest.approx(kept * ras.pixel_area, rel=1e-12)
        assert res.summary["states"][k]["excluded_area_m2"] == pytest.approx(
            sizes[sizes < 30].sum() * ras.pixel_area, rel=1e-12)


def test_pores_command_line(tiny_run, tmp_path, capsys):
    from dempack.cli import main
    assert main(["pores", str(tiny_run), "--out", str(tmp_path), "--no-images",
                 "--depth", "0.3"]) == 0
    assert "pores tracked" in capsys.readouterr().out
    assert (tmp_path / "pores.csv").is_file() and not (tmp_path / "section_0.png").exists()
    assert main(["pores", str(tiny_run), "--depth", "1.5"]) == 2
    assert "depth = 1.5" in capsys.readouterr().err


def test_a_run_folder_without_contacts_files_is_read_as_the_union_with_one_warning(
        tiny_run, tmp_path, caplog):
    import logging
    import shutil

    new = dempack.pores(tiny_run, out=tmp_path / "new", images=False, min_area_px=0)
    assert new.summary["section"]["cut_at_flats"] is True
    old = tmp_path / "old"
    shutil.copytree(tiny_run, old)
    gone = list((old / "vtk").glob("contacts_*.npz"))
    assert len(gone) == 5
    for f in gone:
        f.unlink()
    with caplog.at_level(logging.WARNING, logger="dempack.analysis.pores"):
        res = dempack.pores(old, out=tmp_path / "o", images=False, min_area_px=0)
    warn = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warn) == 1 and "5 of 5 snapshots have no contacts_<step>.npz" in warn[0].message
    assert res.summary["section"]["cut_at_flats"] is False
    # the union of the spheres covers the truncated particles: a pore of the union is a
    # pore of the cut section, and the cut section shows more pore once flats have grown
    for a, b in zip(res.analysis.rasters, new.analysis.rasters):
        assert np.all(b.pore[a.pore])
    assert new.analysis.rasters[-1].pore.mean() > res.analysis.rasters[-1].pore.mean()
