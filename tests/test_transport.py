"""Transport through the contact network (issue 7) against hand-computed configurations.

Expectations are written from the formulas (Holm / Batchelor–O'Brien constriction conductance),
not from dempack: g = 2 a σ_h between two particles, g = 4 a σ between a particle and a plate.
"""
import math

import numpy as np
import pytest

from dempack import transport
from dempack.materials import load_materials
from dempack.observe import observables
from _build import hand_sim

W = 40e-6
C = W / 2
# conductivities (S/m) of the material table, which the expectations below are written with
SIGMA_MSE_E = load_materials()["Mo6Se8"].electronic_conductivity
SIGMA_MSE_ION = load_materials()["Mo6Se8"].ionic_conductivity
SIGMA_LPSC_ION = load_materials()["Li6PS5Cl"].ionic_conductivity


def sphere(R):
    return 4.0 / 3.0 * math.pi * R ** 3


def column(R, gaps, h_bot, h_top, xy=(C, C)):
    """Centres of a vertical chain of equal spheres: the first cuts the bottom plate by h_bot,
    consecutive centres are `gaps` apart, the last cuts the top plate by h_top. Returns (x, z_top)."""
    z = [R - h_bot]
    for d in gaps:
        z.append(z[-1] + d)
    return [[xy[0], xy[1], zz] for zz in z], z[-1] + R - h_top


def by_pid(sim, arr):
    """Per-particle values in the order the particles were given (the engine re-sorts them by cell)."""
    return [int(v) for v in np.asarray(arr)[np.argsort(sim.particles.pid)]]


def kill(sim, k):
    """Remove the k-th given particle."""
    sim.particles.alive[sim.particles.pid == k] = False


def test_chain_conductance_is_series_sum_of_contact_conductances():
    R = 4e-6
    gaps = [7.9e-6, 7.8e-6, 7.95e-6, 7.85e-6]
    hb, ht = 0.1e-6, 0.15e-6
    x, H = column(R, gaps, hb, ht)
    sim = hand_sim(x, [R] * 5, [0] * 5, W, H, materials=("Mo6Se8",))
    # equal spheres: a² = R² − (d/2)²; sphere on a plate cut by h: a² = R² − (R − h)²
    a_pp = [math.sqrt(R * R - (d / 2) ** 2) for d in gaps]
    a_b = math.sqrt(R * R - (R - hb) ** 2)
    a_t = math.sqrt(R * R - (R - ht) ** 2)
    for kind, s in (("electronic", SIGMA_MSE_E), ("ionic", SIGMA_MSE_ION)):
        resistance = 1 / (4 * a_b * s) + sum(1 / (2 * a * s) for a in a_pp) + 1 / (4 * a_t * s)
        G = 1 / resistance
        assert transport.conductance(sim, kind) == pytest.approx(G, rel=1e-9)
        assert transport.conductance(sim, kind, method="cg") == pytest.approx(G, rel=1e-8)
        assert transport.effective_conductivity(sim, kind) == pytest.approx(G * H / W ** 2, rel=1e-9)

    # conducting-phase volume fraction: spheres − lenses (two caps of height R − d/2) − plate caps
    def cap(h):
        return math.pi * h * h * (3 * R - h) / 3

    solid = 5 * sphere(R) - sum(2 * cap(R - d / 2) for d in gaps) - cap(hb) - cap(ht)
    eps, sbulk = transport.phase_volume_fraction(sim, "electronic")
    assert eps == pytest.approx(solid / (W * W * H), rel=1e-9)
    assert sbulk == SIGMA_MSE_E
    row = transport.transport_observables(sim)
    G_e = 1 / (1 / (4 * a_b * SIGMA_MSE_E) + sum(1 / (2 * a * SIGMA_MSE_E) for a in a_pp)
               + 1 / (4 * a_t * SIGMA_MSE_E))
    sig_e = G_e * H / W ** 2
    assert row["sigma_eff_e_S_per_m"] == pytest.approx(sig_e, rel=1e-9)
    assert row["tortuosity_e"] == pytest.approx(SIGMA_MSE_E * eps / sig_e, rel=1e-9)
    assert row["active_fraction:Mo6Se8"] == 1.0
    assert by_pid(sim, row["_connected"]) == [3] * 5


def test_mixed_contact_uses_harmonic_mean():
    """Mo6Se8 on the bottom plate touching Li6PS5Cl on the top plate."""
    R1, R2, d = 4e-6, 3e-6, 6.8e-6
    hb, ht = 0.1e-6, 0.2e-6
    z1 = R1 - hb
    H = z1 + d + R2 - ht
    sim = hand_sim([[C, C, z1], [C, C, z1 + d]], [R1, R2], [0, 1], W, H,
                   materials=("Mo6Se8", "Li6PS5Cl"))
    xx = (d * d + R1 * R1 - R2 * R2) / (2 * d)
    a = math.sqrt(R1 * R1 - xx * xx)
    a_b = math.sqrt(R1 * R1 - (R1 - hb) ** 2)
    a_t = math.sqrt(R2 * R2 - (R2 - ht) ** 2)
    s1, s2 = SIGMA_MSE_ION, SIGMA_LPSC_ION
    G = 1 / (1 / (4 * a_b * s1) + (s1 + s2) / (4 * a * s1 * s2) + 1 / (4 * a_t * s2))
    assert transport.conductance(sim, "ionic") == pytest.approx(G, rel=1e-9)
    # Li6PS5Cl is no electron path: no electronic current reaches the top plate
    assert transport.conductance(sim, "electronic") == 0.0
    row = transport.transport_observables(sim)
    assert row["sigma_eff_e_S_per_m"] == 0.0
    assert math.isnan(row["tortuosity_e"])
    # MSe: electrons from the plate, ions through the electrolyte; LPSC touches a connected MSe
    assert by_pid(sim, row["_connected"]) == [3, 3]


@pytest.mark.parametrize("lateral", ["periodic", "walls"])
def test_simple_cubic_lattice_matches_closed_form(lateral):
    """m × m columns of n equal spheres on a simple cubic lattice of spacing s = 2R − δ.

    By symmetry every sphere of one layer has the same potential, so no current crosses the lateral
    contacts: each column is a chain with conductance G_col = 1 / (2/g_w + (n − 1)/g), g = 2 a σ,
    a² = R² − (s/2)², g_w = 4 a_w σ, a_w² = R² − (R − h)². The die holds m² columns on an area (m s)²
    and has thickness t = 2 (R − h) + (n − 1) s, so σ_eff = m² G_col t / (m s)² = G_col t / s².
    """
    R, delta, h, m, n = 3e-6, 0.05e-6, 0.03e-6, 4, 5
    s = 2 * R - delta
    width = m * s
    t = 2 * (R - h) + (n - 1) * s
    x = [[(p + 0.5) * s, (q + 0.5) * s, R - h + k * s]
         for p in range(m) for q in range(m) for k in range(n)]
    sim = hand_sim(x, [R] * len(x), [0] * len(x), width, t, materials=("Mo6Se8",), lateral=lateral)
    a = math.sqrt(R * R - (s / 2) ** 2)
    a_w = math.sqrt(R * R - (R - h) ** 2)
    sigma = SIGMA_MSE_E
    G_col = 1 / (2 / (4 * a_w * sigma) + (n - 1) / (2 * a * sigma))
    expected = G_col * t / s ** 2
    got = transport.effective_conductivity(sim, "electronic")
    assert got == pytest.approx(expected, rel=1e-2)
    assert got == pytest.approx(expected, rel=1e-9)   # the network is exact here
    # lateral contacts exist (periodic: 2 m² n of them; walls: 2 m (m − 1) n) but carry no current
    i, j, _ = transport.contact_graph(sim)
    lateral_pairs = int(np.sum((i < len(x)) & (j < len(x)))) - m * m * (n - 1)
    assert lateral_pairs == (2 * m * m * n if lateral == "periodic" else 2 * m * (m - 1) * n)


def _bridge_chain():
    """Five Mo6Se8 (R = 4 µm) from plate to plate and a Se sphere (R = 3 µm) touching the fourth."""
    R, Rs = 4e-6, 3e-6
    x, H = column(R, [7.9e-6] * 4, 0.1e-6, 0.1e-6)
    x.append([C + R + Rs - 0.1e-6, C, x[3][2]])
    return x, [R] * 5 + [Rs], [0] * 5 + [1], H


def test_removing_the_only_bridge_disconnects_particles_above_it():
    x, radii, mat, H = _bridge_chain()
    sim = hand_sim(x, radii, mat, W, H, materials=("Mo6Se8", "Se"))
    before = transport.transport_observables(sim)
    assert before["active_fraction:Se"] == 1.0
    assert before["active_fraction:Mo6Se8"] == 1.0
    assert by_pid(sim, before["_connected"]) == [3] * 6
    assert before["sigma_eff_e_S_per_m"] > 0

    kill(sim, 1)          # the bridge between the bottom sphere and the rest
    after = transport.transport_observables(sim)
    # bottom sphere: electrons only; removed: none; above the gap: ions only (from the top)
    assert by_pid(sim, after["_connected"]) == [1, 0, 2, 2, 2, 2]
    assert after["active_fraction:Se"] == 0.0
    assert after["active_fraction:Mo6Se8"] == 0.0
    assert after["sigma_eff_e_S_per_m"] == 0.0
    assert after["sigma_eff_ion_S_per_m"] == 0.0
    assert math.isnan(after["tortuosity_e"]) and math.isnan(after["tortuosity_ion"])


def test_active_fraction_drops_by_the_disconnected_volume():
    """Two separate columns; Se spheres on the upper and lower part of column A and on column B."""
    R = 4e-6
    xa, H = column(R, [7.9e-6] * 4, 0.1e-6, 0.1e-6, xy=(10e-6, C))
    xb, _ = column(R, [7.9e-6] * 4, 0.1e-6, 0.1e-6, xy=(30e-6, C))
    rA, rB, rC = 3e-6, 2.5e-6, 2e-6
    se = [[10e-6, C + R + rA - 0.1e-6, xa[3][2]],      # on A's 4th sphere (above the bridge)
          [30e-6, C + R + rB - 0.1e-6, xb[2][2]],      # on B's 3rd sphere
          [10e-6, C - R - rC + 0.1e-6, xa[0][2]]]      # on A's bottom sphere (below the bridge)
    x = xa + xb + se
    radii = [R] * 10 + [rA, rB, rC]
    sim = hand_sim(x, radii, [0] * 10 + [1] * 3, W, H, materials=("Mo6Se8", "Se"))
    before = transport.connectivity(sim)
    assert before["active_fraction:Se"] == 1.0
    kill(sim, 1)
    after = transport.connectivity(sim)
    Vs = [sphere(r) for r in (rA, rB, rC)]
    assert after["active_fraction:Se"] == pytest.approx(Vs[1] / sum(Vs), rel=1e-12)
    assert before["active_fraction:Se"] - after["active_fraction:Se"] == pytest.approx(
        (Vs[0] + Vs[2]) / sum(Vs), rel=1e-12)
    # Mo6Se8: 9 equal spheres alive, the 5 of column B still connected both ways
    assert after["active_fraction:Mo6Se8"] == pytest.approx(5 / 9, rel=1e-12)
    assert by_pid(sim, after["connected"]) == [1, 0, 2, 2, 2] + [3] * 5 + [2, 3, 1]


def test_non_conductors_do_not_pass_carriers_on():
    """A Se sphere touching only another Se sphere that touches the network is not connected."""
    x, radii, mat, H = _bridge_chain()
    Rs = radii[5]
    x.append([x[5][0] + 2 * Rs - 0.1e-6, C, x[5][2]])
    sim = hand_sim(x, radii + [Rs], mat + [1], W, H, materials=("Mo6Se8", "Se"))
    con = transport.connectivity(sim)
    assert by_pid(sim, con["connected"]) == [3] * 6 + [0]
    assert con["active_fraction:Se"] == pytest.approx(0.5, rel=1e-12)


def test_electrons_and_ions_meet_at_an_active_particle():
    """Carbon on the bottom plate, Li6PS5Cl on the top, a Se sphere touching both (not each other)."""
    H, R, Rs = 20e-6, 4e-6, 3.4e-6
    c = [C - 4e-6, C, R - 0.05e-6]
    lp = [C + 4e-6, C, H - R + 0.05e-6]
    se = [C, C, 0.5 * (c[2] + lp[2])]
    sim = hand_sim([c, lp, se], [R, R, Rs], [0, 1, 2], W, H,
                   materials=("carbon_black", "Li6PS5Cl", "Se"))
    row = transport.transport_observables(sim)
    assert by_pid(sim, row["_connected"]) == [1, 2, 3]
    assert row["active_fraction:Se"] == 1.0
    assert row["sigma_eff_e_S_per_m"] == 0.0 and row["sigma_eff_ion_S_per_m"] == 0.0


def test_observables_row_carries_transport_columns():
    x, radii, mat, H = _bridge_chain()
    sim = hand_sim(x, radii, mat, W, H, materials=("Mo6Se8", "Se"))
    row = observables(sim)
    for key in ("active_fraction:Se", "active_fraction:Mo6Se8", "sigma_eff_e_S_per_m",
                "sigma_eff_ion_S_per_m", "tortuosity_e", "tortuosity_ion"):
        assert key in row
    assert not any(k.startswith("_") for k in row)
    assert by_pid(sim, sim._connected) == [3] * 6


def test_snapshot_carries_connected_flag():
    """VTK snapshots carry the per-particle connected flag (0 none .. 3 both)."""
    from dempack.observe import observables
    from dempack.runner import snapshot_arrays
    R = 2e-6
    x = [[10e-6, 10e-6, R * 0.99], [10e-6, 10e-6, 3 * R * 0.99]]
    sim = hand_sim(x, [R, R], [0, 0], 20e-6, 4 * R * 0.99, materials=("Mo6Se8",))
    observables(sim)
    snap = snapshot_arrays(sim)
    assert snap["connected"].tolist() == [3, 3]
