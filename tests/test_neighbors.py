"""Verlet list against brute force; contact history survives rebuilds and re-sorting."""
import numpy as np
import pytest

from dempack.geometry import Box
from dempack.neighbors import build_contact_list
from dempack.simulation import Simulation
from dempack.state import ParticleState
from _build import scenario


def _random_state(n, L, periodic, seed=0):
    rng = np.random.default_rng(seed)
    ps = ParticleState.allocate(n)
    ps.R[:] = rng.uniform(1e-6, 2e-6, n)
    ps.x[:, :2] = rng.uniform(0, L, (n, 2))
    ps.x[:, 2] = rng.uniform(0, L, n)
    return ps


@pytest.mark.parametrize("periodic", [False, True])
def test_half_list_equals_brute_force(periodic):
    L, skin = 30e-6, 0.5e-6
    ps = _random_state(400, L, periodic)
    box = Box(L=np.array([L, L, 0.0]), periodic_xy=periodic, z_top=L)
    cl = build_contact_list(ps, None, box, skin)
    d = ps.x[:, None, :] - ps.x[None, :, :]
    if periodic:
        d[..., :2] -= L * np.rint(d[..., :2] / L)
    dist = np.linalg.norm(d, axis=2)
    cut = ps.R[:, None] + ps.R[None, :] + skin
    iu, ju = np.nonzero(np.triu(dist < cut, 1))
    expected = set(zip(iu.tolist(), ju.tolist()))
    got = set(zip(cl.i.tolist(), cl.j.tolist()))
    assert got == expected and len(got) == cl.n_pairs
    # the CSR transpose lists, for each particle, the pairs where it is second
    for k in range(0, 400, 37):
        col = cl.col_pair[cl.col_start[k]:cl.col_start[k + 1]]
        assert set(col.tolist()) == set(np.flatnonzero(cl.j == k).tolist())
    assert np.all(np.diff(cl.i) >= 0)


def test_history_survives_rebuild_and_resorting():
    """A settling bed stepped with a rebuild (and cell re-sort) at every step
    follows the one with rebuilds only when needed, to round-off; wiping the
    tangential history instead changes the trajectory at once (the control).
    (Compared after 1000 steps: later, granular chaos amplifies round-off.)"""
    def make():
        sc = scenario(("Mo6Se8",), particles=120, lateral="periodic",
                      pressing=[{"mode": "fixed_gap", "steps": 100000}],
                      run={"max_overlap_ratio": 0.6}, numerics={"gravity_m_s2": 1e8})
        return Simulation(sc)
    a, b, c = make(), make(), make()
    for k in range(1000):
        a.step()
        b._max_drift = 1e30  # force a rebuild every step
        b.step()
        c._max_drift = 1e30
        c.contacts.xi[:] = 0.0  # control: history lost at every rebuild
        c.step()
    pa, pb, pc = (np.argsort(s.particles.pid) for s in (a, b, c))
    assert np.any(a.contacts.xi != 0.0)
    scale = np.max(np.abs(a.particles.x))
    assert np.max(np.abs(a.particles.x[pa] - b.particles.x[pb])) < 1e-8 * scale
    assert np.max(np.abs(a.particles.x[pa] - c.particles.x[pc])) > 1e-3 * scale


def test_wall_touch_bits_skip_idle_wall_slots_exactly():
    """ContactList.wall_touch: a particle's wall slots are read and written only
    while it touches a wall or has just left it. Stepping with the bits kept by the
    kernels gives bit for bit the state of stepping with all bits set at every step
    (every slot visited, as before the bits), and every non-zero wall spring or force
    has its bit set. An older checkpoint without the bits reads back as all set."""
    from dempack.state import ContactList

    def make():
        sc = scenario(("Mo6Se8",), particles=120, lateral="walls",
                      pressing=[{"mode": "fixed_gap", "steps": 100000}],
                      run={"max_overlap_ratio": 0.6}, numerics={"gravity_m_s2": 1e8})
        return Simulation(sc)
    a, b = make(), make()
    for k in range(600):
        a.step()
        b.contacts.wall_touch[:] = 255
        b.step()
        if k % 50 == 49:
            ps, bits = a.particles, a.contacts.wall_touch
            used = np.any(ps.wall_xi != 0.0, axis=2) | np.any(ps.wall_force != 0.0, axis=2)
            on = (bits[:, None] >> np.arange(6)) & 1
            assert np.all(on[used] == 1)
    assert np.any(a.particles.wall_force != 0.0) and np.any(a.contacts.wall_touch & 63 == 0)
    for name in ("x", "v", "w", "wall_xi", "wall_force", "force"):
        assert np.array_equal(getattr(a.particles, name), getattr(b.particles, name)), name
    assert np.array_equal(a.contacts.xi, b.contacts.xi)
    d = {k: v for k, v in a.contacts.as_dict().items() if k != "wall_touch"}
    old = ContactList.from_dict(d)
    assert old.wall_touch.shape == (a.particles.n,) and np.all(old.wall_touch == 255)


@pytest.mark.parametrize("periodic", [False, True])
def test_half_list_in_banded_cell_order(periodic, monkeypatch):
    """With narrow bands (several per grid, see neighbors.cell_rank) storage is sorted
    by cell rank and the half list is still exactly the brute-force one."""
    import dempack.neighbors as nb
    monkeypatch.setattr(nb, "BAND_PARTICLES", 3)
    L, skin = 40e-6, 0.5e-6
    ps = _random_state(600, L, periodic, seed=3)
    box = Box(L=np.array([L, L, 0.0]), periodic_xy=periodic, z_top=L)
    lo, cs, nc = nb._grid(ps.x, ps.R, box, skin)
    rank = nb.cell_rank(nc, 600 / float(np.prod(nc)))
    assert np.array_equal(np.sort(rank), np.arange(rank.size))
    assert not np.array_equal(rank, np.arange(rank.size))  # really banded
    cl = build_contact_list(ps, None, box, skin)
    d = ps.x[:, None, :] - ps.x[None, :, :]
    if periodic:
        d[..., :2] -= L * np.rint(d[..., :2] / L)
    cut = ps.R[:, None] + ps.R[None, :] + skin
    iu, ju = np.nonzero(np.triu(np.linalg.norm(d, axis=2) < cut, 1))
    assert set(zip(cl.i.tolist(), cl.j.tolist())) == set(zip(iu.tolist(), ju.tolist()))
    assert np.all(np.diff(cl.i) >= 0) and np.all(cl.i < cl.j)
    cc = nb._cell_coords(ps.x, lo, cs, nc)
    assert np.all(np.diff(rank[(cc[:, 0] * nc[1] + cc[:, 1]) * nc[2] + cc[:, 2]]) >= 0)
