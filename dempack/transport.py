"""Transport through the contact network (DESIGN §3 "percolation", §4 conductivities; issue 7).

Graph
-----
Nodes are the N particles plus two plate nodes: ``BOTTOM = N`` (the bottom plate at z = 0, the current
collector, source of electrons) and ``TOP = N + 1`` (the top punch at z_top, the separator side, source of
Li ions). Side walls are insulating and never appear. An edge joins two alive particles whose (minimum-image,
when the die is laterally periodic) centre distance d < R_i + R_j, and a particle with a plate it cuts
(x_z − R < 0 for the bottom, x_z + R > z_top for the top).

Contact radius (geometric, as in :mod:`dempack.observe`): the radius of the intersection circle,
    a² = R1² − x²,  x = (d² + R1² − R2²)/(2d)           (particle–particle; a² ≈ R*δ for δ ≪ R)
    a² = R² − s²,   s = centre-to-plate distance (clamped to ≥ 0)      (particle–plate)
When one sphere lies inside the other (d ≤ |R1 − R2|) a = min(R1, R2).

Contact conductance (Holm constriction resistance; Batchelor & O'Brien 1977, doi:10.1098/rspa.1977.0100):
a circular contact spot of radius a into a half-space of conductivity σ has constriction resistance
1/(4 a σ) per side, so two bodies in contact have
    g = 1 / (1/(4aσ1) + 1/(4aσ2)) = 2 a σ_h,   σ_h = 2 σ1 σ2 / (σ1 + σ2)   (harmonic mean), S
and a particle on a plate, the plate taken as a perfect conductor, has
    g = 4 a σ_p, S.
The bulk resistance of the particles themselves is neglected: the constriction at the contacts dominates
(it scales as 1/(aσ) with a ≪ R, whereas a sphere's bulk resistance is ~1/(Rσ)). The network is
therefore exact for contact-dominated packings and an upper bound on conductance otherwise.

Connectivity (flag per particle, 0 none, 1 electron only, 2 ion only, 3 both)
------------------------------------------------------------------------------
For each kind (electrons from the bottom plate, ions from the top plate), the conductors of that kind are
the particles whose material has the ``electron_conductor`` / ``ion_conductor`` flag (the flags, not the
conductivities, decide — see assets/materials.toml). Then
- a conductor is connected if it lies in the same connected component as its plate node in the graph of
  conductor–conductor and conductor–plate contacts (scipy.sparse.csgraph.connected_components);
- any other particle (e.g. Se, which conducts neither) is connected if it touches a connected conductor or
  touches the plate directly: the species reaches its surface, but it does not pass the species on.
``active_fraction:M`` = Σ V of alive particles of active material M flagged 3 / Σ V of alive particles of M,
with V = 4/3 π R³ (current radius).

Effective conductivity
----------------------
For each kind the resistor network is the conductor subgraph with the conductances above and its material
conductivity (``electronic_conductivity`` / ``ionic_conductivity``); both plates are electrodes (bottom at
potential V = 1, top at 0) for both kinds, so σ_eff is the through-thickness conductivity of the electrode.
Only the connected component that contains both plates carries current; Kirchhoff's equations (the graph
Laplacian with the two plates as Dirichlet nodes) are solved with scipy.sparse.linalg (Jacobi-preconditioned
conjugate gradients by default — the reduced Laplacian is symmetric positive definite — or SuperLU
``spsolve``). Then
    σ_eff = I · t / (V · A),  t = z_top thickness, A = Lx·Ly die area, I the current out of the bottom plate,
and σ_eff = 0 when the plates are not connected.

Tortuosity factor
-----------------
    τ = σ_bulk · ε / σ_eff
with ε the volume fraction of the conducting phase in the die (its sphere volumes minus the lenses shared
by two conductor particles, minus half of each lens shared with a non-conductor, minus its plate and wall
caps, divided by A·t) and σ_bulk the ε-weighted mean bulk conductivity of the conductor materials (a single
material in the usual composites). τ is NaN when σ_eff = 0 or there is no conductor of that kind.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse import linalg as spla

from .geometry import minimum_image, particle_volume
from .observe import contact_half_widths

KINDS = ("electronic", "ionic")

#: relative residual at which the conjugate-gradient solve stops
CG_RTOL = 1e-12
# "auto": SuperLU below this many unknowns, conjugate gradients from it up. Measured on the
# contact graphs of pressed Se-Mo6Se8 beds (Intel Xeon, one thread, session 11): 368
# particles direct 1.5 ms against cg 2.9 ms; 2,000 particles direct 7.6 ms against cg 5.6 ms
# (the two agree to 1e-14 relative).
DIRECT_BELOW = 1000


# --------------------------------------------------------------------------- geometry
def _pair_geometry(sim):
    """Touching particle pairs: (i, j, a, lens) with a (m) the contact radius
    (`observe.contact_half_widths`, the intersection circle's radius of
    `contact.state.intersection_radius_sq`; the smaller radius for a sphere inside another)
    and lens (m³) the overlap. d = |d⃗| is summed by np.einsum, whose order of the three
    squares differs from `contact.state.distance_overlap`'s in the last bit for about one
    pair in eight: kept so that the transport columns stay what they were."""
    ps, cl, box = sim.particles, sim.contacts, sim.box
    i = np.asarray(cl.i, np.int64)
    j = np.asarray(cl.j, np.int64)
    keep = ps.alive[i] & ps.alive[j] & (i != j)
    i, j = i[keep], j[keep]
    dx = ps.x[j] - ps.x[i]
    minimum_image(dx, box)
    d = np.sqrt(np.einsum("ij,ij->i", dx, dx))
    R1, R2 = ps.R[i], ps.R[j]
    touch = d < R1 + R2
    i, j, d, R1, R2 = i[touch], j[touch], d[touch], R1[touch], R2[touch]
    inside = d <= np.abs(R1 - R2)
    ds = np.where(inside, 1.0, d)                       # avoid 0-division; overwritten below
    rmin = np.minimum(R1, R2)
    a = np.where(inside, rmin, contact_half_widths(R1, R2, d))
    s = R1 + R2 - ds
    lens = np.pi * s * s * (ds * ds + 2.0 * ds * (R1 + R2) - 3.0 * (R1 - R2) ** 2) / (12.0 * ds)
    lens = np.where(inside, 4.0 / 3.0 * np.pi * rmin ** 3, lens)
    return i, j, a, lens


def _plate_geometry(sim):
    """Plate contacts: (k, node, a, cap) with node = N (bottom) or N + 1 (top), cap (m³) the cut volume."""
    ps, box = sim.particles, sim.box
    n = ps.n
    ks, nodes, aa, caps = [], [], [], []
    for node, s_all in ((n, ps.x[:, 2]), (n + 1, box.z_top - ps.x[:, 2])):
        k = np.nonzero(ps.alive & (s_all < ps.R))[0]
        R = ps.R[k]
        s = np.maximum(s_all[k], 0.0)
        h = np.minimum(ps.R[k] - s_all[k], 2.0 * R)
        ks.append(k)
        nodes.append(np.full(k.size, node, np.int64))
        aa.append(np.sqrt(np.maximum(R * R - s * s, 0.0)))
        caps.append(np.pi * h * h * (3.0 * R - h) / 3.0)
    return np.concatenate(ks), np.concatenate(nodes), np.concatenate(aa), np.concatenate(caps)


def contact_graph(sim):
    """Contacts of the current state as one edge list on N + 2 nodes.

    Returns (i, j, a): int64 arrays of node indices (j = N for the bottom plate, N + 1 for the top punch;
    particle pairs have i, j < N) and the contact radius a (m) of each edge. Dead particles and
    insulating side walls are left out. See the module docstring for the formulas.
    """
    i, j, a, _ = _pair_geometry(sim)
    k, node, aw, _ = _plate_geometry(sim)
    return np.concatenate([i, k]), np.concatenate([j, node]), np.concatenate([a, aw])


# --------------------------------------------------------------------------- helpers
def _flags(sim, kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "electronic":
        cond = np.array([m.electron_conductor for m in sim.materials], bool)
        sigma = np.array([m.electronic_conductivity for m in sim.materials], float)
    else:
        cond = np.array([m.ion_conductor for m in sim.materials], bool)
        sigma = np.array([m.ionic_conductivity for m in sim.materials], float)
    mat = sim.particles.material
    return cond[mat] & sim.particles.alive, sigma[mat], cond, sigma


def _conductances(i, j, a, is_cond, sigma, n):
    """Conductor-subgraph edges (u, v, g) with g = 2 a σ_h (pairs) or 4 a σ (plate: v ≥ n)."""
    plate = j >= n
    jj = np.where(plate, i, j)                          # for plate edges both ends read particle i
    keep = is_cond[i] & is_cond[jj]
    u, v, a, plate, jj = i[keep], j[keep], a[keep], plate[keep], jj[keep]
    s1, s2 = sigma[u], sigma[jj]
    tot = s1 + s2
    sh = np.divide(2.0 * s1 * s2, tot, out=np.zeros_like(tot), where=tot > 0)
    g = np.where(plate, 4.0 * a * s1, 2.0 * a * sh)
    return u, v, g


def _components(u, v, nn):
    adj = sp.coo_matrix((np.ones(u.size), (u, v)), shape=(nn, nn)).tocsr()
    return csgraph.connected_components(adj, directed=False)[1]


def _connected(sim, kind, i, j):
    """Boolean (N,) 'reached by this kind's carriers' (see module docstring)."""
    ps = sim.particles
    n = ps.n
    plate_node = n if kind == "electronic" else n + 1
    is_cond, _, _, _ = _flags(sim, kind)
    plate = j >= n
    # only the plate of this kind is a source
    use = ~plate | (j == plate_node)
    i, j, plate = i[use], j[use], plate[use]
    jj = np.where(plate, i, j)
    cc = is_cond[i] & is_cond[jj]
    labels = _components(i[cc], j[cc], n + 2)
    conn = is_cond & (labels[:n] == labels[plate_node])
    # non-conductors: touch a connected conductor or the plate itself
    other = ps.alive & ~is_cond
    reach = np.zeros(n, bool)
    pp = ~plate
    ip, jp = i[pp], j[pp]
    reach[ip[conn[jp]]] = True
    reach[jp[conn[ip]]] = True
    reach[i[plate]] = True
    return conn | (other & reach)


# --------------------------------------------------------------------------- public API
def connectivity(sim, graph=None) -> dict:
    """Percolation state of the packing.

    Returns {"connected": (N,) int8 — 0 none, 1 electron only, 2 ion only, 3 both (dead particles 0),
    "active_fraction:M": volume fraction (0–1) of the alive particles of each active material M that are
    flagged 3 (0 where M has no particle)}. ``graph`` may pass a precomputed :func:`contact_graph`.
    """
    i, j, _ = contact_graph(sim) if graph is None else graph
    ps = sim.particles
    e = _connected(sim, "electronic", i, j)
    ion = _connected(sim, "ionic", i, j)
    flag = (e.astype(np.int8) + 2 * ion.astype(np.int8)) * ps.alive
    out = {"connected": flag.astype(np.int8)}
    V = particle_volume(ps.R, getattr(sim, "dimension", 3))
    for k, m in enumerate(sim.materials):
        if not m.active:
            continue
        sel = ps.alive & (ps.material == k)
        tot = float(np.sum(V[sel]))
        out[f"active_fraction:{m.name}"] = float(np.sum(V[sel & (flag == 3)]) / tot) if tot > 0 else 0.0
    return out


def conductance(sim, kind="electronic", graph=None, method="auto"):
    """Conductance (S) between the bottom plate and the top punch through the conductors of ``kind``
    ("electronic" | "ionic"); 0 when they are not connected. ``method``: "direct" (SuperLU ``spsolve``),
    "cg" (Jacobi-preconditioned conjugate gradients, relative residual 1e-12) or "auto" (direct below
    DIRECT_BELOW unknowns, where its factorisation is cheaper than cg's iterations; else cg, falling
    back to direct if it does not converge: cg is ~10× faster than SuperLU on large 3D contact
    graphs)."""
    if method not in ("auto", "direct", "cg"):
        raise ValueError(f"method must be 'auto', 'direct' or 'cg', got {method!r}")
    i, j, a = contact_graph(sim) if graph is None else graph
    n = sim.particles.n
    is_cond, sigma, _, _ = _flags(sim, kind)
    u, v, g = _conductances(i, j, a, is_cond, sigma, n)
    pos = g > 0
    u, v, g = u[pos], v[pos], g[pos]
    nn = n + 2
    bot, top = n, n + 1
    labels = _components(u, v, nn)
    if labels[bot] != labels[top]:
        return 0.0
    W = sp.coo_matrix((np.concatenate([g, g]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                      shape=(nn, nn)).tocsr()
    nodes = np.nonzero(labels == labels[bot])[0]
    free = nodes[(nodes != bot) & (nodes != top)]
    deg = np.asarray(W.sum(axis=1)).ravel()
    Wff = W[free][:, free]
    L = (sp.diags(deg[free]) - Wff).tocsc()
    rhs = np.asarray(W[free, bot].todense()).ravel()      # bottom at V = 1, top at V = 0
    if free.size == 0:
        V = np.zeros(0)
    elif method == "direct" or (method == "auto" and free.size < DIRECT_BELOW):
        V = spla.spsolve(L, rhs)
    else:
        M = sp.diags(1.0 / deg[free])
        V, info = spla.cg(L, rhs, rtol=CG_RTOL, atol=0.0, M=M, maxiter=10 * free.size + 100)
        if info != 0:
            if method == "cg":
                raise RuntimeError(f"conjugate gradients did not converge (info={info})")
            V = spla.spsolve(L, rhs)
    Vall = np.zeros(nn)
    Vall[bot] = 1.0
    Vall[free] = V
    row = W[bot]
    return float(np.sum(row.data * (1.0 - Vall[row.indices])))


def effective_conductivity(sim, kind="electronic", graph=None, method="auto") -> float:
    """Through-thickness effective conductivity σ_eff = G · t / A (S/m), G from :func:`conductance`,
    t = z_top (m), A = Lx·Ly (m²). 0 when the plates are not connected through conductors of ``kind``."""
    G = conductance(sim, kind, graph=graph, method=method)
    return G * sim.box.z_top / sim.box.area


def phase_volume_fraction(sim, kind="electronic", pair_geom=None, plate_geom=None):
    """ε (–) and σ_bulk (S/m) of the conducting phase of ``kind``: see the module docstring."""
    ps = sim.particles
    is_cond, sigma, _, _ = _flags(sim, kind)
    i, j, _, lens = _pair_geometry(sim) if pair_geom is None else pair_geom
    k, _, _, caps = _plate_geometry(sim) if plate_geom is None else plate_geom
    V = 4.0 / 3.0 * np.pi * ps.R ** 3
    Vp = np.where(is_cond, V, 0.0)
    np.subtract.at(Vp, i, 0.5 * lens)              # each particle gives up half of each of its lenses:
    np.subtract.at(Vp, j, 0.5 * lens)              # a lens between two conductors is removed once
    Vp[~is_cond] = 0.0
    np.subtract.at(Vp, k, np.where(is_cond[k], caps, 0.0))
    # side walls (non-periodic): caps cut off too
    if not sim.box.periodic_xy:
        for axis, lim in ((0, sim.box.L[0]), (1, sim.box.L[1])):
            for s in (ps.x[:, axis], lim - ps.x[:, axis]):
                h = np.where(is_cond, np.clip(ps.R - s, 0.0, 2.0 * ps.R), 0.0)
                Vp -= np.pi * h * h * (3.0 * ps.R - h) / 3.0
    Vp = np.maximum(Vp, 0.0)
    tot = float(np.sum(Vp))
    eps = tot / (sim.box.area * sim.box.z_top)
    sbulk = float(np.sum(Vp * sigma) / tot) if tot > 0 else 0.0
    return eps, sbulk


def tortuosity_factor(sigma_eff, sigma_bulk, eps) -> float:
    """τ = σ_bulk · ε / σ_eff (–); NaN when σ_eff ≤ 0 or ε = 0."""
    if sigma_eff <= 0.0 or eps <= 0.0:
        return float("nan")
    return sigma_bulk * eps / sigma_eff


def transport_observables(sim) -> dict:
    """One time-series row fragment: ``active_fraction:M`` per active material, ``sigma_eff_e_S_per_m``,
    ``sigma_eff_ion_S_per_m`` (S/m), ``tortuosity_e``, ``tortuosity_ion`` (–) and ``_connected`` (N,)
    int8 flags (keys starting with '_' are not written to CSV). In the 2D mode only the
    connectivity (active_fraction): the conductance law is a 3D one."""
    pair = _pair_geometry(sim)
    plate = _plate_geometry(sim)
    graph = (np.concatenate([pair[0], plate[0]]), np.concatenate([pair[1], plate[1]]),
             np.concatenate([pair[2], plate[2]]))
    con = connectivity(sim, graph)
    out = {k: v for k, v in con.items() if k.startswith("active_fraction:")}
    out["_connected"] = con["connected"]
    if getattr(sim, "dimension", 3) == 2:
        # the resistor network's contact conductance 2aσ and the lens volumes are those of
        # spheres (Holm's constriction); a strip contact between disks has another (logarithmic)
        # law: the 2D mode reports the connectivity only, no conductivity or tortuosity
        return out
    for kind, tag in (("electronic", "e"), ("ionic", "ion")):
        s = effective_conductivity(sim, kind, graph=graph)
        eps, sb = phase_volume_fraction(sim, kind, pair, plate)
        out[f"sigma_eff_{tag}_S_per_m"] = s
        out[f"tortuosity_{tag}"] = tortuosity_factor(s, sb, eps)
    return out
