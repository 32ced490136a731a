"""Particle fracture (DESIGN §2 "Fracture", issue 4): Weibull strength with
size effect, characteristic stress, failure test, fragment replacement and
breakage statistics.

Strength (McDowell & Bolton 1998, doi:10.1680/geot.1998.48.5.667): each
breakable particle draws at creation

    σ_f = σ_0 (d/d_0)^(−3/m) (−ln U)^(1/m),   U ~ uniform(0, 1],

so that its survival probability under a characteristic stress σ is
P_s = exp(−(d/d_0)^3 (σ/σ_0)^m) (Weibull; d the reference, delithiated diameter).

Characteristic stress, per material (``criterion`` in assets/materials.toml):
- ``octahedral_shear`` (default): τ_oct = √(s:s/3) of the particle stress tensor
  σ_i = (1/V_i) Σ_c sym(l_c ⊗ f_c) (l branch vector centre → contact point,
  f force on i; Christoffersen et al. 1981, doi:10.1115/1.3157599;
  dempack.observe.particle_stress, shared with the observables), s its
  deviator. Between two plates (force F along one axis) σ = diag(0,0,−3F/(2πR²))
  and τ_oct = √2/3 |σ_zz| = F/(√2 π R²) ≈ 0.90 F/d²;
- ``contact_force``: max normal contact force / d² (McDowell & Bolton's σ = F/d²).
A particle fails when its characteristic stress ≥ its strength times
(1 − (1 − k) c_max), k the material's ``lithiated_strength_factor`` (default 1:
a conversion material such as FeS → Li2S + Fe turns into a weak nanocomposite as
it lithiates), c_max the largest lithiation the particle (or its parent) has
reached: the damage of conversion is not undone on delithiation. Checked every
``fracture.check_interval_steps`` steps.

Fragments: a failed particle (radius R, reference radius R0, mass M, velocity v,
spin ω, lithiation c) is replaced by n equal fragments (``fracture.fragments``)
whose centres lie on a regular figure (n = 2 segment, 3 triangle, 4 tetrahedron,
6 octahedron, 8 cube) at distance ρ = R/(1+s) from the parent centre, s = half
the smallest chord between two unit vectors of the figure, so that fragments of
radius r_fit = ρ s fit inside the parent and touch but do not overlap. The first
vector points along the parent's least compressive principal stress (it splits
across the major load), with a random spin about it. Each fragment gets mass
M/n, lithiation c, velocity v + ω × (c_k − x) and spin ω: mass, lithiation,
momentum and centre of mass are conserved. Its reference radius then grows
from the fitting value to the mass-conserving R0 n^(−1/3) (stored in R0_target)
at R0_target/``fracture.release_steps`` per step, and only while its largest
elastic overlap is below ``fracture.max_growth_overlap`` of the smaller radius,
so the overlaps the fragments meet are released gradually and never driven past
what the packing can take (in a confined bed a fragment waits until the bed has
made room; its mass is the final one from the start). Growing fragments are not
checked for failure. A fragment that would start overlapping a neighbour or a
wall (the parent's contacts were flattened) starts smaller still, just clear of
it (at least 0.1 of the fitting radius). Each fragment draws a new strength for
its own (final) size. Fragments are spheres; where the material sets
``fragment_rolling_friction`` they resist rolling as angular debris does
(dempack.contact.rolling, the contact species of dempack.contact.tables; issue 16.2: that
part is dempack's own model, see docs/validation.md "FeS thickening (issue 16.2)"). A
particle whose fragments would be smaller than the material's
``min_fragment_diameter_m`` (d n^(−1/3) < d_min) never breaks (comminution limit).
After a breakage the Simulation rebuilds its neighbour list at once and shortens dt if a
fragment (at its final size) needs it.

Statistics: events (cumulative), fragment count (particles with generation > 0),
broken mass fraction (mass of fragments / mass of breakable particles), and
Hardin's relative breakage B_r = B_t/B_p (Hardin 1985,
doi:10.1061/(ASCE)0733-9410(1985)111:10(1177)). With the mass fraction finer than
d, F(d), and the cut-off d_c (Hardin's 0.074 mm; here each material's minimum
fragment diameter), the breakage potential is B_p = ∫_{d_c} (1 − F(d)) d ln d =
Σ_i w_i max(0, ln(d_i/d_c)) (w_i mass fractions), exact for a particle list;
B_t = B_p(initial) − B_p(now), so B_r ∈ [0, 1].
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..contact.state import contact_state, wall_state
from ..geometry import minimum_image
from ..observe import deviator_sq, particle_stress
from ..state import N_WALLS, ParticleState

CRIT_NONE, CRIT_OCTAHEDRAL, CRIT_CONTACT_FORCE = 0, 1, 2
_CRIT_CODE = {"octahedral_shear": CRIT_OCTAHEDRAL, "contact_force": CRIT_CONTACT_FORCE}


def _figure(n: int) -> np.ndarray:
    """Unit vectors (n,3) of the fragment figure, first vector = +x."""
    if n == 2:
        u = [[1, 0, 0], [-1, 0, 0]]
    elif n == 3:
        u = [[math.cos(a), math.sin(a), 0.0] for a in (0.0, 2 * math.pi / 3, 4 * math.pi / 3)]
    elif n == 4:  # tetrahedron with a vertex on +x
        t = math.acos(-1.0 / 3.0)
        u = [[1, 0, 0]] + [[math.cos(t), math.sin(t) * math.cos(a), math.sin(t) * math.sin(a)]
                           for a in (0.0, 2 * math.pi / 3, 4 * math.pi / 3)]
    elif n == 6:
        u = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    elif n == 8:
        u = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)], float)
        u /= math.sqrt(3.0)
        # rotate so that the first vertex lies on +x (Rodrigues rotation of (1,1,1)/√3 onto x)
        k = np.cross(u[0], [1.0, 0.0, 0.0])
        sn = np.linalg.norm(k)
        cs = float(u[0, 0])
        k /= sn
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        rot = np.eye(3) + sn * K + (1 - cs) * K @ K
        u = u @ rot.T
    else:
        raise ValueError(f"fracture.fragments = {n}: must be one of 2, 3, 4, 6, 8")
    return np.asarray(u, float)


FRAGMENT_COUNTS = (2, 3, 4, 6, 8)


def figure_geometry(n: int) -> tuple[np.ndarray, float]:
    """(unit vectors (n,3), s): fragments of radius r_fit = ρ s at distance
    ρ = R/(1+s) from the centre touch each other and the parent's surface."""
    u = _figure(n)
    d = np.linalg.norm(u[:, None, :] - u[None, :, :], axis=2)
    s = 0.5 * float(np.min(d[np.triu_indices(n, 1)]))
    return u, s


def weibull_strength(rng, d, sigma0, m, d0, size=None):
    """σ_f = σ_0 (d/d_0)^(−3/m) (−ln U)^(1/m), U ~ uniform(0, 1] (Pa).
    d, sigma0, m, d0 broadcast (m, d in SI)."""
    d = np.asarray(d, float)
    U = 1.0 - rng.random(d.shape if size is None else size)
    return sigma0 * (d / d0) ** (-3.0 / m) * (-np.log(U)) ** (1.0 / m)


@njit(cache=True)
def elastic_overlap_ratio(x, R, pi, pj, delta_flat, wall_pos, wall_on, wall_delta_flat, L, periodic_xy):
    """Per particle: the largest elastic overlap of its contacts over the smaller
    radius, (δ − δ_cr)/min(R_i, R_j) (walls: (R − s − δ_cr,wall)/R); δe from
    `contact.state.contact_state` and `wall_state`."""
    n = x.shape[0]
    out = np.zeros(n)
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        _, _, _, _, _, _, de, _, _ = contact_state(x, R, i, j, delta_flat[p], L, periodic_xy)
        if de <= 0.0:
            continue
        r = de / min(R[i], R[j])
        if r > out[i]:
            out[i] = r
        if r > out[j]:
            out[j] = r
    for i in range(n):
        for k in range(N_WALLS):
            if wall_on[k]:
                _, _, de = wall_state(x, R, i, k, wall_pos, wall_delta_flat[i, k])
                r = de / R[i]
                if r > out[i]:
                    out[i] = r
    return out


def octahedral_shear(sig):
    """τ_oct = √(s:s/3) = √(2 J2/3) of stress tensors (…,3,3) (Pa), s the deviator
    of the symmetric part."""
    return np.sqrt(deviator_sq(sig) / 3.0)


class FractureModel:
    """Fracture settings and bookkeeping of one Simulation.

    Per material k (index of sim.materials): breakable[k], sigma0[k] Pa,
    weibull_m[k], d0[k] m, d_min[k] m (minimum fragment diameter), crit[k]
    (CRIT_* code). Scenario: interval (steps between checks), n_fragments,
    release_steps. State: events (cumulative breakages), potential0 (Hardin's
    B_p of the initial gradation), mass0 (kg, mass of breakable particles),
    next_pid (the pid the next fragment gets: pids are never reused),
    log (one dict per breakage: step, time_s, pid, material (index), generation,
    diameter_m, stress_Pa, strength_Pa). All of it is in the checkpoint (state() in
    its metadata, the log as arrays: log_arrays), so a resumed run continues the same
    log and pids; the run folder's breakage.csv holds the log (dempack.runner).
    """

    def __init__(self, sim):
        sc = sim.scenario
        fr = sc.fracture
        nm = len(sim.materials)
        self.enabled = bool(fr.enabled)
        self.interval = int(fr.check_interval_steps)
        self.n_fragments = int(fr.fragments)
        self.release_steps = int(fr.release_steps)
        self.max_growth_overlap = float(fr.max_growth_overlap)
        self.breakable = np.zeros(nm, bool)
        self.sigma0 = np.ones(nm)
        self.weibull_m = np.ones(nm)
        self.d0 = np.ones(nm)
        self.d_min = np.zeros(nm)
        self.crit = np.zeros(nm, np.int64)
        self.lith_factor = np.ones(nm)
        for k, (m, entry) in enumerate(zip(sim.materials, sc.packing.materials)):
            law = m.fracture
            if law is None:
                continue
            self.sigma0[k], self.weibull_m[k], self.d0[k] = law.sigma0, law.weibull_m, law.d0
            # a run may resolve breakage more coarsely than the material's comminution
            # limit (fracture.min_fragment_diameter_um): fewer, larger fragments
            self.d_min[k] = max(law.min_fragment_diameter,
                                sc.fracture.si("min_fragment_diameter_um"))
            self.crit[k] = _CRIT_CODE[law.criterion]
            if law.lithiated_strength_factor is not None:
                self.lith_factor[k] = law.lithiated_strength_factor
            choice = entry.fracture
            on = (choice == "on") or (choice == "default" and law.enabled is not False)
            self.breakable[k] = on and self.enabled
        self.events = 0
        self.potential0 = 0.0
        self.mass0 = 0.0
        self.next_pid = None  # set by start() (or from the pids held, older checkpoints)
        self.log: list[dict] = []

    @property
    def active(self) -> bool:
        return bool(self.breakable.any())

    # ------------------------------------------------------------ strengths
    def reference_diameter(self, ps: ParticleState) -> np.ndarray:
        """2 R0, or 2 R0_target while a fragment grows (m)."""
        return 2.0 * np.where(ps.R0_target > ps.R0, ps.R0_target, ps.R0)

    def draw(self, rng, ps: ParticleState, idx) -> None:
        """Draw strengths of particles idx: Weibull with size effect for breakable
        particles whose fragments would not be below d_min; inf otherwise."""
        idx = np.asarray(idx, np.int64)
        if idx.size == 0:
            return
        mat = ps.material[idx]
        d = self.reference_diameter(ps)[idx]
        ok = self.breakable[mat] & (d * self.n_fragments ** (-1.0 / 3.0) >= self.d_min[mat])
        st = np.full(idx.size, np.inf)
        if ok.any():
            mk = mat[ok]
            st[ok] = weibull_strength(rng, d[ok], self.sigma0[mk], self.weibull_m[mk], self.d0[mk])
        ps.strength[idx] = st

    def start(self, sim) -> None:
        """At creation: draw every particle's strength; record the initial
        gradation's breakage potential and the breakable mass."""
        ps = sim.particles
        self.next_pid = int(ps.pid.max()) + 1 if ps.n else 0
        if not self.active:
            ps.strength[:] = np.inf
            return
        self.draw(sim.rng, ps, np.arange(ps.n))
        self.potential0 = self._potential(ps)
        self.mass0 = float(np.sum(ps.mass[self.breakable[ps.material]]))

    def _potential(self, ps: ParticleState) -> float:
        """Σ_i m_i max(0, ln(d_i/d_c)) over breakable particles (kg; divide by mass0)."""
        sel = self.breakable[ps.material]
        if not sel.any():
            return 0.0
        d = self.reference_diameter(ps)[sel]
        dc = self.d_min[ps.material[sel]]
        return float(np.sum(ps.mass[sel] * np.maximum(0.0, np.log(d / dc))))

    # ----------------------------------------------------------------- step
    def characteristic_stress(self, sim):
        """(characteristic stress (N,) Pa per the material's criterion, σ (N,3,3))."""
        ps = sim.particles
        sig, fmax = particle_stress(sim)
        crit = self.crit[ps.material]
        out = np.zeros(ps.n)
        oc = crit == CRIT_OCTAHEDRAL
        out[oc] = octahedral_shear(sig[oc])
        cf = crit == CRIT_CONTACT_FORCE
        out[cf] = fmax[cf] / (2.0 * ps.R[cf]) ** 2
        return out, sig

    def step(self, sim) -> int:
        """Grow the fragments, then test for failure and replace the failed
        particles (run every `interval` steps: `pipeline.FractureUpdate`). Returns the
        number of breakages."""
        ps = sim.particles
        growing = ps.R0_target > ps.R0
        if growing.any():
            cl, box = sim.contacts, sim.box
            pos, _, on = box.wall_arrays()
            ratio = elastic_overlap_ratio(ps.x, ps.R, cl.i, cl.j, cl.delta_flat, pos, on, ps.wall_delta_flat,
                                          np.asarray(box.L[:2], float), box.periodic_xy)
            g = np.flatnonzero(growing & (ratio < self.max_growth_overlap))
            new = np.minimum(ps.R0_target[g],
                             ps.R0[g] + ps.R0_target[g] * self.interval / self.release_steps)
            ps.R[g] *= new / ps.R0[g]
            ps.R0[g] = new
            done = g[new >= ps.R0_target[g]]
            ps.R0_target[done] = 0.0
        cand = np.isfinite(ps.strength) & ~growing
        if not cand.any():
            return 0
        stress, sig = self.characteristic_stress(sim)
        np.maximum(ps.lithiation_max, ps.lithiation, out=ps.lithiation_max)
        weaken = 1.0 - (1.0 - self.lith_factor[ps.material]) * ps.lithiation_max
        failed = np.flatnonzero(cand & (stress >= ps.strength * weaken))
        if failed.size == 0:
            return 0
        for k in failed:
            self.log.append({"step": sim.step_count, "time_s": sim.time, "pid": int(ps.pid[k]),
                             "material": int(ps.material[k]),
                             "generation": int(ps.generation[k]),
                             "diameter_m": float(2.0 * ps.R0[k]),
                             "stress_Pa": float(stress[k]), "strength_Pa": float(ps.strength[k])})
        frag = fragments(ps, failed, sig[failed], self.n_fragments, sim.rng)
        _clear_start(sim, failed, frag, self.n_fragments)
        first_new = ps.n - failed.size
        # above every pid given so far (also with a checkpoint from before next_pid was
        # stored, or pids set by hand)
        self.next_pid = max(self.next_pid or 0, int(ps.pid.max()) + 1)
        old_to_new = ps.replace(failed, frag, first_pid=self.next_pid)
        self.next_pid += frag.n
        self.draw(sim.rng, ps, np.arange(first_new, ps.n))
        self.events += int(failed.size)
        sim._after_particle_change(old_to_new)
        return int(failed.size)

    # ----------------------------------------------------------- statistics
    def observables(self, sim) -> dict:
        """breakage_events, fragment_count, broken_mass_fraction, relative_breakage."""
        ps = sim.particles
        frag = ps.generation > 0
        bmf = float(np.sum(ps.mass[frag]) / self.mass0) if self.mass0 > 0 else 0.0
        br = (1.0 - self._potential(ps) / self.potential0) if self.potential0 > 0 else 0.0
        return {"breakage_events": self.events, "fragment_count": int(np.sum(frag)),
                "broken_mass_fraction": bmf, "relative_breakage": br}

    def summary(self, sim) -> dict:
        """Breakage statistics and the gradation (mass fraction per log-spaced
        diameter bin) of the breakable materials, fragments and all."""
        ps = sim.particles
        out = {**self.observables(sim), "fragments_per_breakage": self.n_fragments,
               "materials": {}}
        d = self.reference_diameter(ps)
        for k, m in enumerate(sim.materials):
            if not self.breakable[k]:
                continue
            sel = ps.material == k
            if not sel.any():
                continue
            dk, mk, gk = d[sel], ps.mass[sel], ps.generation[sel]
            edges = np.geomspace(min(float(dk.min()), self.d_min[k]) * 0.999,
                                 float(dk.max()) * 1.001, 16)
            counts, _ = np.histogram(dk, edges)
            mass, _ = np.histogram(dk, edges, weights=mk)
            fr = gk > 0
            gens = np.bincount(gk, minlength=1)
            out["materials"][m.name] = {
                "bin_edges_um": (edges * 1e6).tolist(),
                "count": counts.tolist(),
                "mass_fraction": (mass / mk.sum()).tolist(),
                "fragment_count": int(fr.sum()),
                "fragment_d50_um": float(np.median(dk[fr]) * 1e6) if fr.any() else None,
                "fragment_d_min_um": float(dk[fr].min() * 1e6) if fr.any() else None,
                "particles_per_generation": gens.tolist(),
            }
        return out

    def state(self) -> dict:
        return {"events": self.events, "potential0": self.potential0, "mass0": self.mass0,
                "next_pid": self.next_pid}

    def load_state(self, st) -> None:
        if st:
            self.events, self.potential0, self.mass0 = st["events"], st["potential0"], st["mass0"]
            self.next_pid = st.get("next_pid")

    def log_arrays(self) -> dict[str, np.ndarray]:
        """The breakage log as checkpoint arrays, one per column ('fracture_log_<key>'):
        int64 for the integer keys, float64 else (exact round trip)."""
        return {LOG_PREFIX + k: np.array([e[k] for e in self.log], dtype=t)
                for k, t in LOG_COLUMNS.items()}

    def load_log(self, arrays: dict) -> None:
        """The log back from `log_arrays` output (absent in older checkpoints: empty)."""
        cols = {k: arrays.get(LOG_PREFIX + k) for k in LOG_COLUMNS}
        if any(c is None for c in cols.values()):
            self.log = []
            return
        cast = {np.int64: int, np.float64: float}
        self.log = [{k: cast[LOG_COLUMNS[k]](cols[k][q]) for k in LOG_COLUMNS}
                    for q in range(len(cols["step"]))]


# the breakage log's keys (FractureModel.log) and their checkpoint dtypes
LOG_COLUMNS = {"step": np.int64, "time_s": np.float64, "pid": np.int64, "material": np.int64,
               "generation": np.int64, "diameter_m": np.float64, "stress_Pa": np.float64,
               "strength_Pa": np.float64}
LOG_PREFIX = "fracture_log_"


def _clear_start(sim, failed, frag: ParticleState, n: int, floor: float = 0.1) -> None:
    """Shrink the starting radius (R, R0 together) of each fragment so that it
    overlaps neither a wall nor a particle its parent was listed with (other
    failing parents excepted: their own fragments lie inside them); at least
    `floor` of the fitting radius. The growth then releases the overlaps."""
    ps, cl, box = sim.particles, sim.contacts, sim.box
    failing = np.zeros(ps.n, bool)
    failing[failed] = True
    for q, k in enumerate(failed):
        sl = slice(q * n, (q + 1) * n)
        xs = frag.x[sl]
        rmax = np.minimum(xs[:, 2], box.z_top - xs[:, 2])
        if not box.periodic_xy:
            for d in range(2):
                rmax = np.minimum(rmax, np.minimum(xs[:, d], box.L[d] - xs[:, d]))
        partners = np.concatenate([cl.j[cl.i == k], cl.i[cl.j == k]])
        partners = partners[~failing[partners]]
        if partners.size:
            dv = ps.x[partners][None, :, :] - xs[:, None, :]
            minimum_image(dv, box)
            gap = np.linalg.norm(dv, axis=2) - ps.R[partners][None, :]
            rmax = np.minimum(rmax, gap.min(axis=1))
        scale = np.clip(rmax / frag.R[sl], floor, 1.0)
        frag.R[sl] *= scale
        frag.R0[sl] *= scale


def fragments(ps: ParticleState, idx, sig, n: int, rng) -> ParticleState:
    """Fragments of particles idx (see the module docstring): a ParticleState of
    len(idx)·n particles, strengths unset (inf), pids unset."""
    u0, s = figure_geometry(n)
    nb = len(idx)
    out = ParticleState.allocate(nb * n)
    for q, k in enumerate(idx):
        # least compressive principal direction (largest eigenvalue; compression < 0)
        w, vec = np.linalg.eigh(sig[q])
        e = vec[:, -1] if w[-1] - w[0] > 1e-12 * max(abs(w[0]), abs(w[-1]), 1e-300) else None
        if e is None:
            e = rng.standard_normal(3)
            e /= np.linalg.norm(e)
        # orthonormal frame (e, f, g) with a random spin about e
        a = np.array([1.0, 0.0, 0.0]) if abs(e[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        f = np.cross(e, a)
        f /= np.linalg.norm(f)
        g = np.cross(e, f)
        phi = rng.uniform(0.0, 2.0 * np.pi)
        f, g = math.cos(phi) * f + math.sin(phi) * g, -math.sin(phi) * f + math.cos(phi) * g
        frame = np.stack([e, f, g], axis=1)  # columns
        u = u0 @ frame.T
        R, R0 = ps.R[k], ps.R0[k]
        rho = R / (1.0 + s)
        fit = s / (1.0 + s)  # r_fit / R
        sl = slice(q * n, (q + 1) * n)
        off = rho * u
        out.x[sl] = ps.x[k] + off
        out.v[sl] = ps.v[k] + np.cross(ps.w[k], off)
        out.w[sl] = ps.w[k]
        out.R[sl] = R * fit
        out.R0[sl] = R0 * fit
        out.R0_target[sl] = R0 * n ** (-1.0 / 3.0)
        out.mass[sl] = ps.mass[k] / n
        out.inertia[sl] = 0.4 * (ps.mass[k] / n) * (R * n ** (-1.0 / 3.0)) ** 2
        out.material[sl] = ps.material[k]
        out.lithiation[sl] = ps.lithiation[k]
        out.lithiation_max[sl] = ps.lithiation_max[k]
        out.lithiation_start[sl] = ps.lithiation_start[k]
        out.reachable[sl] = ps.reachable[k]
        out.creep_strain[sl] = ps.creep_strain[k]
        out.generation[sl] = ps.generation[k] + 1
    return out
