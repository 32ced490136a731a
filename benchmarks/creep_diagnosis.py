#!/usr/bin/env python3
"""Why creep does not decide: a diagnosis in numbers (issue 21, deliverable 1).

Runs the Se-60MSe cycling cell (scenarios/cycle_se60mse.toml and its 25 °C twin),
shortened (fewer particles and cycles), and instruments it from outside the kernels;
nothing in dempack/ is changed. Measured, for each run:

1. contact pressures p = F_n/(π a²) (a² = R* δ, the area the creep law and the plastic
   limit use) at every Se contact with an elastic overlap, during cycling (discharge at
   c = 0.25, 0.5, 0.75, its end, mid-charge and the end of charge), against the Se
   hardness H and σ_ref; read just before the creep step that follows (what creep sees)
   and just after it (what one creep step left);
2. the creep time constant of each contact under the engine's law
   (dempack.physics.creep: δ̇ = a A ⟨(p − p̄)/σ_ref⟩^n, p̄ the particle mean pressure +
   confinement): τ0 = δe / δ̇ (the time to creep the whole elastic overlap at the current
   rate) and the times for the excess p − p̄ to fall to 1/2 and 1/10 at fixed approach
   (quadrature of the same law), against the half-cycle (10 h at 0.1 C);
3. the flat δ_flat (ContactList.delta_flat) grown by plasticity (in the force kernel, between
   two creep steps) and by creep (across each creep step), per contact type and per
   half-cycle: ledgers kept by wrapping Simulation.creep_step, the volume-update
   operation of the pipeline and the neighbour-list build (flats that leave with a pair
   are booked as "dropped");
4. the same cell with each switch off in turn (scenario keys only): the creep driver
   (cycling.creep_driver = "contact_pressure"), the confinement pressure
   (numerics.confinement = "off"), the volume-conserving radius growth
   (numerics.max_cap_fraction = 0: the particle keeps its free radius and, with
   confinement on, carries what its caps cut as pressure), both volume corrections off,
   and creep all but off (cycling.temperature_C = -100: A × 1.1e-9); the stack at a fixed
   gap instead of the servo; base cells from a second packing (run.seed = 2).

It also evaluates, with the measured pressures and contact loading rates, what two
creep laws whose rate could limit at 0.1 C would give (the similarity solution of
power-law creeping spheres; Norton flow of each particle), see `alternative_laws`.

    PYTHONPATH=. python benchmarks/creep_diagnosis.py                 # all runs (~15 min)
    PYTHONPATH=. python benchmarks/creep_diagnosis.py --only base_70C base_25C
    PYTHONPATH=. python benchmarks/creep_diagnosis.py --report        # re-analyse the JSON

Writes benchmarks/results/creep_diagnosis.json (runs merge into it with --only).
One simulation at a time, run.threads = 1.

It diagnoses the creep law of revision b76ec75, which issue 21 then replaced
(dempack.physics.creep); to rerun it, check that revision out beside the repository:
    git worktree add /tmp/diag b76ec75 && cd /tmp/diag && PYTHONPATH=. python benchmarks/creep_diagnosis.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dempack  # noqa: E402
import dempack.simulation as dsim  # noqa: E402
from dempack.materials import load_materials  # noqa: E402
from dempack.physics.creep import _contact_state, _creep_increment, mean_pressure  # noqa: E402
from dempack.physics.swelling import true_volume  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "creep_diagnosis.json"
SCENARIO_70 = ROOT / "scenarios" / "cycle_se60mse.toml"
SCENARIO_25 = ROOT / "scenarios" / "cycle_se60mse_25C.toml"

# the shortened cell (everything else as in the shipped scenario files)
DEFAULTS = {"particles": 500, "cycles": 3}

# name: (scenario file, overrides). Keys only: no material or engine change.
VARIANTS = {
    "base_70C": (SCENARIO_70, {}),
    "base_25C": (SCENARIO_25, {}),
    "creep_off": (SCENARIO_70, {"cycling.temperature_C": -100.0}),
    "contact_pressure_70C": (SCENARIO_70, {"cycling.creep_driver": "contact_pressure"}),
    "contact_pressure_25C": (SCENARIO_25, {"cycling.creep_driver": "contact_pressure"}),
    "confinement_off_70C": (SCENARIO_70, {"numerics.confinement": "off"}),
    "confinement_off_25C": (SCENARIO_25, {"numerics.confinement": "off"}),
    "confinement_off_creep_off": (SCENARIO_70, {"numerics.confinement": "off",
                                                "cycling.temperature_C": -100.0}),
    "no_radius_growth_70C": (SCENARIO_70, {"numerics.max_cap_fraction": 0.0}),
    "no_radius_growth_25C": (SCENARIO_25, {"numerics.max_cap_fraction": 0.0}),
    "no_radius_growth_creep_off": (SCENARIO_70, {"numerics.max_cap_fraction": 0.0,
                                                 "cycling.temperature_C": -100.0}),
    "no_volume_correction_70C": (SCENARIO_70, {"numerics.max_cap_fraction": 0.0,
                                               "numerics.confinement": "off"}),
    "no_volume_correction_25C": (SCENARIO_25, {"numerics.max_cap_fraction": 0.0,
                                               "numerics.confinement": "off"}),
    "no_volume_correction_creep_off": (SCENARIO_70, {"numerics.max_cap_fraction": 0.0,
                                                     "numerics.confinement": "off",
                                                     "cycling.temperature_C": -100.0}),
    # the stack held at a fixed gap instead of the 100 MPa servo (DESIGN §4: the lithiated
    # electrode needs ~110 % of its pressed volume; expected to stop with a divergence)
    "fixed_gap_70C": (SCENARIO_70, {"stack.mode": "fixed_gap"}),
    "fixed_gap_creep_off": (SCENARIO_70, {"stack.mode": "fixed_gap",
                                          "cycling.temperature_C": -100.0}),
    # the same two cells from another packing (seed): the run-to-run spread
    "base_70C_seed2": (SCENARIO_70, {"run.seed": 2}),
    "base_25C_seed2": (SCENARIO_25, {"run.seed": 2}),
}

PCTS = (5, 25, 50, 75, 95)
ROW_KEYS = ("porosity", "contact_ratio:Se-Se", "contact_ratio:Se-Mo6Se8",
            "stress_vm_mean_Pa:Se", "stress_vm_mean_Pa:Mo6Se8", "creep_strain_mean:Se",
            "confinement_mean_Pa:Se", "pore_surface_fraction:Se", "thickness_change",
            "volume_deficit", "punch_stress_Pa", "coordination:Se", "lithiation_mean:Se")
DISCHARGE_MARKS = (0.25, 0.5, 0.75)


# ---------------------------------------------------------------- contact state
@njit(cache=False)
def _pair_states(x, R, mat, pi, pj, delta_flat, law, L, periodic_xy, out):
    """out[p] = (δe, R*, a, P, δ): the engine's own contact state (physics.creep)."""
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        de, Rs, a, P, _, _, _, _, _ = _contact_state(x, R, mat, i, j, delta_flat[p], law, L,
                                                     periodic_xy)
        out[p, 0] = de
        out[p, 1] = Rs
        out[p, 2] = a
        out[p, 3] = P
        out[p, 4] = de + delta_flat[p] if de > 0.0 else 0.0


def particle_pressures(sim):
    """(p̄ + confinement as the engine's creep driver uses it, p̄ alone, confinement) per
    particle (Pa). p̄ is computed whatever the driver; `driver` says which one the run uses."""
    ps, cl, box, t = sim.particles, sim.contacts, sim.box, sim.tables
    pos, _, on = box.wall_arrays()
    L = np.asarray(box.L[:2], float)
    pbar = np.zeros(ps.n)
    mean_pressure(cl.pair_arrays(ps), t.normal_columns(ps.confinement, sim.flattening_share), (L, box.periodic_xy),
                  (ps.wall_delta_flat, pos, on),
                  true_volume(ps.R0, sim.swelling[ps.material], ps.lithiation), pbar)
    conf = ps.confinement.copy()
    used = (pbar if sim.scenario.cycling.creep_driver == "excess_pressure"
            else np.zeros(ps.n)) + conf
    return used, pbar, conf


def contact_table(sim):
    """Per pair with an elastic overlap and at least one creeping (Se) side: a dict of
    arrays (SI): i, j, cat, de, Rs, a, P, delta, dcr, p, H_eff, driver thresholds."""
    ps, cl, box, t = sim.particles, sim.contacts, sim.box, sim.tables
    L = np.asarray(box.L[:2], float)
    st = np.zeros((cl.n_pairs, 5))
    _pair_states(ps.x, ps.R, ps.material, cl.i, cl.j, cl.delta_flat,
                 t.normal_columns(ps.confinement, sim.flattening_share), L,
                 box.periodic_xy, st)
    mi = ps.material[cl.i]
    mj = ps.material[cl.j]
    creeps = sim.creep_A > 0.0
    keep = (st[:, 0] > 0.0) & (creeps[mi] | creeps[mj])
    used, pbar, conf = particle_pressures(sim)
    i, j = cl.i[keep], cl.j[keep]
    mi, mj = mi[keep], mj[keep]
    de, Rs, a, P, delta = st[keep].T
    p = P * de ** 1.5
    s = sim.flattening_share[mi, mj]
    H = t.hardness[mi, mj]
    H_eff = H + s * conf[i] + (1.0 - s) * conf[j]  # the force kernel's plastic limit
    return {"i": i, "j": j, "mi": mi, "mj": mj, "de": de, "Rs": Rs, "a": a, "P": P,
            "delta": delta, "dcr": cl.delta_flat[keep], "p": p, "H": H, "H_eff": H_eff,
            "thr_i": used[i], "thr_j": used[j], "pbar_i": pbar[i], "pbar_j": pbar[j],
            "key": pair_keys(ps.pid[i], ps.pid[j])}


def pair_keys(pa, pb):
    lo = np.minimum(pa, pb).astype(np.int64)
    hi = np.maximum(pa, pb).astype(np.int64)
    return lo * 10_000_000 + hi


def side_rates(sim, c, p=None, which="engine"):
    """Creep rate (m/s) of each side of each contact at pressure p (default: its own):
    the engine's law a A ⟨(p − thr)/σ_ref⟩^n (which="engine")."""
    p = c["p"] if p is None else p
    A, n, sr = sim.creep_A, sim.creep_n, sim.creep_sigma_ref
    out = []
    for side in ("i", "j"):
        m = c["m" + side]
        x = np.maximum(p - c["thr_" + side], 0.0)
        out.append(np.where(A[m] > 0.0, c["a"] * A[m] * (x / sr[m]) ** n[m], 0.0))
    return out


def relaxation_times(sim, c, fractions=(0.5, 0.1), npts=400):
    """Times (s) for the driving excess x = p − min(thr) of each contact to fall to
    f·x0 at fixed approach under the engine's law (both sides summed): δe = (p/P)^(2/3),
    dt = −dδe / rate = (2/3)(δe/p) dp / rate(p). NaN where nothing drives creep."""
    A, n, sr = sim.creep_A, sim.creep_n, sim.creep_sigma_ref
    thr = np.full(c["p"].shape, np.inf)
    for side in ("i", "j"):
        m = c["m" + side]
        thr = np.where(A[m] > 0.0, np.minimum(thr, c["thr_" + side]), thr)
    x0 = c["p"] - thr
    res = {}
    ok = x0 > 0.0
    for f in fractions:
        t = np.full(x0.shape, np.nan)
        if ok.any():
            s = np.linspace(0.0, 1.0, npts)
            x = (f * x0[ok])[:, None] * (1.0 / f) ** s[None, :]   # f x0 .. x0, log-spaced
            pp = thr[ok][:, None] + x
            rate = np.zeros_like(pp)
            for side in ("i", "j"):
                m = c["m" + side][ok][:, None]
                xs = np.maximum(pp - c["thr_" + side][ok][:, None], 0.0)
                rate += np.where(A[m] > 0.0, c["a"][ok][:, None] * A[m] * (xs / sr[m]) ** n[m],
                                 0.0)
            u = (pp / c["P"][ok][:, None]) ** (2.0 / 3.0)
            g = (2.0 / 3.0) * u / pp / rate
            trapz = getattr(np, "trapezoid", None) or np.trapz
            t[ok] = trapz(g, pp, axis=1)
        res[f] = t
    return res


def check_relaxation(sim, c, k):
    """Cross-check of `relaxation_times` for contact k with the engine's own backward-Euler
    increment (physics.creep._creep_increment) in 2000 steps up to the quadrature's t_1/2:
    returns (t_1/2 quadrature s, excess left / initial after that time: 0.5 expected)."""
    th = relaxation_times(sim, {key: v[k:k + 1] for key, v in c.items()}, (0.5,))[0.5][0]
    if not np.isfinite(th):
        return None
    A, n, sr = sim.creep_A, sim.creep_n, sim.creep_sigma_ref
    mi, mj = int(c["mi"][k]), int(c["mj"][k])
    P, de, a = float(c["P"][k]), float(c["de"][k]), float(c["a"][k])
    thr = min(c["thr_i"][k] if A[mi] > 0 else np.inf, c["thr_j"][k] if A[mj] > 0 else np.inf)
    x0 = P * de ** 1.5 - thr
    u = de
    for _ in range(2000):
        u -= _creep_increment(u, th / 2000, P, a * A[mi], n[mi], sr[mi], c["thr_i"][k],
                              a * A[mj], n[mj], sr[mj], c["thr_j"][k])
    return float(th), float((P * u ** 1.5 - thr) / x0)


def pct(x, q=PCTS, scale=1.0):
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    return {f"p{k}": float(np.percentile(x, k)) * scale for k in q}


# --------------------------------------------------------------------- the probe
class Probe:
    """Instruments one Simulation from outside its kernels: flats ledger (plastic /
    creep / dropped), pressure samples, rows at the start of cycling and half-cycle ends."""

    active = None  # the probe whose ledger the patched build_contact_list feeds

    def __init__(self, sim):
        self.sim = sim
        names = [m.name for m in sim.materials]
        self.names = names
        nm = len(names)
        self.nm = nm
        self.cat_names = {a * nm + b: f"{names[a]}-{names[b]}"
                          for a in range(nm) for b in range(a, nm)}
        self.ledger = defaultdict(lambda: defaultdict(float))
        self.snap_list = None
        self.samples = []
        self.rows = []
        self.marks_done = set()
        self.cycling_start_row = None
        self.checks = []
        self.interval = sim.scenario.cycling.volume_update_interval
        self.wall_snap = 0.0
        # wrap: the volume-update operation (dempack.pipeline.VolumeUpdate) and creep_step
        inner = sim.updaters[0]
        probe = self

        class InstrumentedVolumeUpdate(type(inner)):
            def __init__(self):
                self.trigger = inner.trigger

            def act(self, s):
                probe.before_update()
                inner.act(s)
                probe.snap()

        sim.updaters[0] = InstrumentedVolumeUpdate()
        self._creep_step = sim.creep_step
        sim.creep_step = self.creep_step
        sim.half_cycle_observers.append(self.half_end)
        Probe.active = self
        self.snap()

    # ---- phase
    def phase(self):
        st = self.sim.stage
        if st is None:
            return "done"
        if st.kind == "cycling":
            return f"c{st.cycle} {st.half_name}"
        return "pressing"

    # ---- flats ledger
    def _cats(self, cl, mat):
        a = mat[cl.i].astype(np.int64)
        b = mat[cl.j].astype(np.int64)
        return np.minimum(a, b) * self.nm + np.maximum(a, b)

    def snap(self):
        sim = self.sim
        ps, cl = sim.particles, sim.contacts
        self.snap_list = cl
        self.snap_dcr = cl.delta_flat.copy()
        self.snap_cat = self._cats(cl, ps.material)
        Ri, Rj = ps.R[cl.i], ps.R[cl.j]
        self.snap_Rs = Ri * Rj / (Ri + Rj)
        self.wall_snap = self._wall_sum()

    def _wall_sum(self):
        ps = self.sim.particles
        creeping = self.sim.creep_A[ps.material] > 0.0
        return float(np.sum(ps.wall_delta_flat[creeping]))

    def _book(self, kind, d, cat, Rs):
        led = self.ledger[self.phase()]
        for c, name in self.cat_names.items():
            sel = cat == c
            if sel.any():
                led[f"{kind}_len_m:{name}"] += float(np.sum(d[sel]))
                led[f"{kind}_area_m2:{name}"] += float(np.sum(np.pi * Rs[sel] * d[sel]))

    def flush_plastic(self, cl=None):
        """Book dcr growth since the last snapshot (made by the force kernel: plastic)."""
        cl = self.snap_list if cl is None else cl
        if cl is None or cl.delta_flat.shape != self.snap_dcr.shape:
            return
        d = cl.delta_flat - self.snap_dcr
        self._book("plastic", d, self.snap_cat, self.snap_Rs)
        w = self._wall_sum()
        self.ledger[self.phase()]["plastic_len_m:wall"] += w - self.wall_snap
        self.snap_dcr = cl.delta_flat.copy()
        self.wall_snap = w

    def before_update(self):
        if self.sim.contacts is self.snap_list:
            self.flush_plastic()
        else:  # a list built outside the patched builder (should not happen)
            self.ledger[self.phase()]["unbooked_rebuilds"] += 1
            self.snap()

    def on_rebuild(self, old_list, new_list):
        """Called by the patched build_contact_list: book the plastic growth on the old
        list, then the flats that did not survive the rebuild, then snapshot the new list."""
        if self.snap_list is None:
            return
        self.flush_plastic(self.snap_list)
        old = self.snap_list
        cats_old = self.snap_cat
        sim = self.sim
        new_cat = self._cats(new_list, sim.particles.material)
        led = self.ledger[self.phase()]
        for c, name in self.cat_names.items():
            lost = float(np.sum(old.delta_flat[cats_old == c])) - float(np.sum(new_list.delta_flat[new_cat == c]))
            led[f"dropped_len_m:{name}"] += lost
        led["rebuilds"] += 1

    # ---- creep step: the creep ledger and pressure samples
    def creep_step(self, dt_phys):
        sim = self.sim
        tag = self.sample_tag()
        before = None
        if tag is not None:
            before = self.sample(tag, dt_phys)
        cl = sim.contacts
        d0 = cl.delta_flat.copy()
        w0 = self._wall_sum()
        self._creep_step(dt_phys)
        ps = sim.particles
        Ri, Rj = ps.R[cl.i], ps.R[cl.j]
        self._book("creep", cl.delta_flat - d0, self._cats(cl, ps.material), Ri * Rj / (Ri + Rj))
        self.ledger[self.phase()]["creep_len_m:wall"] += self._wall_sum() - w0
        self.ledger[self.phase()]["creep_steps"] += 1
        self.ledger[self.phase()]["creep_time_s"] += dt_phys
        if before is not None:
            self.sample_after(before)

    def sample_tag(self):
        """(cycle, label) when this creep step is a sampling point, else None: the first
        creep step past c = 0.25, 0.5, 0.75 of a discharge and past mid-charge, and the
        last creep step of each half-cycle (the next one would fall after its end)."""
        st = self.sim.stage
        if st is None or st.kind != "cycling" or st.rest_left > 0:
            return None
        k = self.interval * st.dc
        key = None
        if st.half_name == "discharge":
            if st.c + k >= 1.0 - 1e-12:
                key = "end of discharge"
            else:
                for m in DISCHARGE_MARKS:
                    if st.c >= m and (st.cycle, f"discharge c={m:g}") not in self.marks_done:
                        key = f"discharge c={m:g}"
                        break
        else:
            if st.c - k <= st.c_res + 1e-12:
                key = "end of charge"
            elif st.c <= 0.5 * (1.0 + st.c_res):
                key = "mid-charge"
        if key is None or (st.cycle, key) in self.marks_done:
            return None
        self.marks_done.add((st.cycle, key))
        return (st.cycle, key)

    def sample(self, tag, dt_phys):
        sim = self.sim
        c = contact_table(sim)
        ri, rj = side_rates(sim, c)
        rate = ri + rj
        tau0 = np.where(rate > 0, c["de"] / np.where(rate > 0, rate, 1.0), np.inf)
        rel = relaxation_times(sim, c)
        c_lim = dict(c)
        c_lim["p"] = c["H_eff"]
        c_lim["de"] = (c["H_eff"] / c["P"]) ** (2.0 / 3.0)
        li, lj = side_rates(sim, c_lim)
        tau0_lim = np.where(li + lj > 0, c_lim["de"] / np.where(li + lj > 0, li + lj, 1.0), np.inf)
        rel_lim = relaxation_times(sim, c_lim)
        thr = np.minimum(np.where(sim.creep_A[c["mi"]] > 0, c["thr_i"], np.inf),
                         np.where(sim.creep_A[c["mj"]] > 0, c["thr_j"], np.inf))
        excess = c["p"] - thr
        conf = sim.particles.confinement
        st = sim.stage
        smp = {"cycle": tag[0], "when": tag[1], "c": float(st.c), "time_s": sim.time,
               "step": sim.step_count, "creep_dt_s": dt_phys, "groups": {}}
        Se = [k for k, m in enumerate(sim.materials) if m.name == "Se"][0]
        groups = {"Se-Se": (c["mi"] == Se) & (c["mj"] == Se),
                  "Se-Mo6Se8": (c["mi"] == Se) ^ (c["mj"] == Se),
                  "all Se": np.ones(c["p"].shape, bool)}
        for g, sel in groups.items():
            if not sel.any():
                continue
            H = float(c["H"][sel][0])
            smp["groups"][g] = {
                "n": int(sel.sum()),
                "p_MPa": pct(c["p"][sel], scale=1e-6),
                "p_mean_MPa": float(np.mean(c["p"][sel])) * 1e-6,
                "H_MPa": H * 1e-6,
                "H_eff_MPa": pct(c["H_eff"][sel], scale=1e-6),
                "share_at_plastic_limit": float(np.mean(c["p"][sel] >= 0.995 * c["H_eff"][sel])),
                "share_p_above_H": float(np.mean(c["p"][sel] > H)),
                "share_p_above_sigma_ref": float(np.mean(
                    c["p"][sel] > sim.creep_sigma_ref[Se])),
                "driver_threshold_MPa": pct(thr[sel], scale=1e-6),
                "pbar_MPa": pct(np.concatenate([c["pbar_i"][sel & (c["mi"] == Se)],
                                                c["pbar_j"][sel & (c["mj"] == Se)]]), scale=1e-6),
                "excess_MPa": pct(excess[sel], scale=1e-6),
                "share_excess_positive": float(np.mean(excess[sel] > 0)),
                "delta_e_nm": pct(c["de"][sel], scale=1e9),
                "delta_nm": pct(c["delta"][sel], scale=1e9),
                "flat_nm": pct(c["dcr"][sel], scale=1e9),
                "R_star_um": pct(c["Rs"][sel], scale=1e6),
                "a_um": pct(c["a"][sel], scale=1e6),
                "tau0_s": pct(tau0[sel]),
                "share_tau0_below_creep_step": float(np.mean(tau0[sel] < dt_phys)),
                "share_tau0_below_half_cycle": float(np.mean(tau0[sel] < 36000.0)),
                "t_half_s": pct(rel[0.5][sel]),
                "t_tenth_s": pct(rel[0.1][sel]),
                # the same contacts loaded to their plastic limit p = H_eff (the most a
                # contact can carry): how fast the engine's law relieves that
                "tau0_at_limit_s": pct(tau0_lim[sel]),
                "t_half_from_limit_s": pct(rel_lim[0.5][sel]),
                "t_tenth_from_limit_s": pct(rel_lim[0.1][sel]),
                # room creep has before the plastic limit takes over: H_eff − driver threshold
                "margin_to_plastic_limit_MPa": pct(c["H_eff"][sel] - thr[sel], scale=1e-6),
                "confinement_MPa": pct(np.concatenate([conf[c["i"][sel & (c["mi"] == Se)]],
                                                       conf[c["j"][sel & (c["mj"] == Se)]]]),
                                       scale=1e-6),
            }
            cr = sel & (excess > 0)
            if cr.any():  # the contacts that creep now (positive driving excess)
                smp["groups"][g]["creeping"] = {
                    "share": float(cr.sum() / sel.sum()),
                    "p_MPa": pct(c["p"][cr], scale=1e-6),
                    "excess_MPa": pct(excess[cr], scale=1e-6),
                    "tau0_s": pct(tau0[cr]),
                    "t_half_s": pct(rel[0.5][cr]),
                    "t_tenth_s": pct(rel[0.1][cr]),
                    "creep_rate_nm_per_h": pct(rate[cr], scale=1e9 * 3600),
                }
        # per-contact data kept for the loading rate and the alternative laws (not saved)
        smp["_raw"] = {k: c[k] for k in ("key", "delta", "de", "Rs", "p", "mi", "mj", "a")}
        smp["_raw"]["excess"] = excess
        self.samples.append(smp)
        # cross-check the quadrature against the engine's own increment on the median contact
        if len(self.checks) < 4:
            ok = np.flatnonzero(excess > 0)
            if ok.size:
                k = ok[np.argsort(c["p"][ok])[ok.size // 2]]
                r = check_relaxation(sim, c, k)
                if r is not None:
                    self.checks.append({"when": f"c{tag[0]} {tag[1]}", "t_half_s": r[0],
                                        "excess_left_engine_increment": r[1]})
        return (smp, c, excess)

    def sample_after(self, before):
        smp, c_before, excess_before = before
        sim = self.sim
        c = contact_table(sim)
        thr = np.minimum(np.where(sim.creep_A[c["mi"]] > 0, c["thr_i"], np.inf),
                         np.where(sim.creep_A[c["mj"]] > 0, c["thr_j"], np.inf))
        # same contacts (same list, no rebuild inside a creep step): match by key
        kb = c_before["key"]
        idx = {k: n for n, k in enumerate(c["key"])}
        m = np.array([idx.get(k, -1) for k in kb])
        ok = m >= 0
        xb = excess_before[ok]
        xa = (c["p"] - thr)[m[ok]]
        pos = xb > 0
        smp["after_creep_step"] = {
            "p_MPa": pct(c["p"], scale=1e-6),
            "excess_MPa": pct(c["p"] - thr, scale=1e-6),
            "excess_left_fraction_median": (float(np.median(np.maximum(xa[pos], 0.0) / xb[pos]))
                                            if pos.any() else None),
            "excess_left_fraction_p90": (float(np.percentile(np.maximum(xa[pos], 0.0) / xb[pos], 90))
                                         if pos.any() else None),
        }

    # ---- rows
    def half_end(self, sim, row):
        self.rows.append({"cycle": row["cycle"], "half": row["half"], "time_s": row["time_s"],
                          **{k: row.get(k) for k in ROW_KEYS}})

    def cycling_started(self):
        """Record the row at the start of cycling (once): called from the loop."""
        if self.cycling_start_row is None:
            st = self.sim.stage
            if st is not None and st.kind == "cycling":
                from dempack.observe import observables
                row = observables(self.sim)
                self.cycling_start_row = {"time_s": row["time_s"],
                                          **{k: row.get(k) for k in ROW_KEYS}}


_original_build = dsim.build_contact_list


def _patched_build(ps, old, box, skin, *a, **kw):
    new = _original_build(ps, old, box, skin, *a, **kw)
    probe = Probe.active
    if probe is not None:
        probe.on_rebuild(old, new)
        probe.sim.contacts = new  # (the caller assigns it too; snapshot the new one now)
        probe.snap()
    return new


dsim.build_contact_list = _patched_build


# ------------------------------------------------------------------------ running
def run_variant(name, particles, cycles, steps_per_half=None):
    path, over = VARIANTS[name]
    overrides = {"packing.particles": particles, "cycling.cycles": cycles, "run.threads": 1,
                 "run.output_interval_steps": 4000, **over}
    if steps_per_half:
        overrides["cycling.steps_per_half_cycle"] = steps_per_half
    sc = dempack.load_scenario(path, overrides)
    t0 = time.perf_counter()
    sim = dsim.Simulation(sc)
    probe = Probe(sim)
    error = None
    try:
        while not sim.done:
            if probe.cycling_start_row is None:
                sim.run(steps=probe.interval)
                probe.cycling_started()
            else:
                sim.run(steps=20000)
    except dsim.DivergenceError as e:
        error = str(e)
    probe.flush_plastic()
    Probe.active = None
    # ledger check: the flats present now = Σ over phases (plastic + creep − dropped)
    cl, ps = sim.contacts, sim.particles
    cats = probe._cats(cl, ps.material)
    check = {}
    for cnum, cname in probe.cat_names.items():
        booked = sum(v.get(f"plastic_len_m:{cname}", 0.0) + v.get(f"creep_len_m:{cname}", 0.0)
                     - v.get(f"dropped_len_m:{cname}", 0.0) for v in probe.ledger.values())
        check[cname] = {"flats_now_um": float(np.sum(cl.delta_flat[cats == cnum])) * 1e6,
                        "booked_um": booked * 1e6}
    wall = time.perf_counter() - t0
    st = [s for s in sim.stages if s.kind == "cycling"][0]
    res = {
        "scenario": str(path.relative_to(ROOT)), "overrides": over,
        "settings": {"particles": int(sim.particles.n), "cycles": cycles,
                     "particle_counts": {m.name: int(np.sum(sim.particles.material == k))
                                         for k, m in enumerate(sim.materials)},
                     "steps_per_half_cycle": st.steps_per_half,
                     "dt_phys_s": st.dt_phys, "volume_update_interval": probe.interval,
                     "creep_dt_s": st.dt_phys * probe.interval, "dt_s": sim.dt,
                     "temperature_C": sc.cycling.temperature_C,
                     "creep_A_per_s": {m.name: float(a) for m, a in zip(sim.materials,
                                                                         sim.creep_A)},
                     "creep_driver": sc.cycling.creep_driver,
                     "confinement": sc.numerics.confinement,
                     "max_cap_fraction": sc.numerics.max_cap_fraction},
        "wall_s": wall, "steps": sim.step_count, "error": error,
        "start_of_cycling": probe.cycling_start_row,
        "half_cycle_ends": probe.rows,
        "ledger": {k: dict(v) for k, v in probe.ledger.items()},
        "samples": probe.samples,
        "quadrature_checks": probe.checks,
        "ledger_check": check,
    }
    return res, sim


def loading_rates(samples):
    """Per persistent Se contact between consecutive discharge samples of a cycle:
    d ln δ/dt (1/s) and dδ/dt (m/s), percentiles over contacts; also returns the
    per-contact arrays of the last interval of each cycle for the alternative laws."""
    out = []
    by_cycle = defaultdict(list)
    for s in samples:
        if s["when"].startswith("discharge") or s["when"] == "end of discharge":
            by_cycle[s["cycle"]].append(s)
    raw_all = []
    for cyc, ss in sorted(by_cycle.items()):
        ss.sort(key=lambda s: s["time_s"])
        for a, b in zip(ss[:-1], ss[1:]):
            ra, rb = a["_raw"], b["_raw"]
            idx = {k: n for n, k in enumerate(ra["key"])}
            m = np.array([idx.get(k, -1) for k in rb["key"]])
            ok = m >= 0
            if not ok.any():
                continue
            dt = b["time_s"] - a["time_s"]
            d0 = ra["delta"][m[ok]]
            d1 = rb["delta"][ok]
            grow = (d1 - d0) / dt
            lnrate = np.log(d1 / d0) / dt
            out.append({"cycle": cyc, "from": a["when"], "to": b["when"], "dt_s": dt,
                        "persistent_contacts": int(ok.sum()),
                        "dln_delta_dt_per_s": pct(lnrate),
                        "ddelta_dt_nm_per_h": pct(grow, scale=1e9 * 3600)})
            raw_all.append({"cycle": cyc, "lnrate": lnrate, "rate": grow,
                            "delta": 0.5 * (d0 + d1), "Rs": rb["Rs"][ok], "p": rb["p"][ok],
                            "de": rb["de"][ok], "mi": rb["mi"][ok], "mj": rb["mj"][ok],
                            "a": rb["a"][ok]})
    return out, raw_all


def save(data, path):
    """Write the results atomically: one line per run and per analysis section (compact
    JSON inside each line, so that a diff shows which run or section changed)."""
    def one(o):
        return json.dumps(o, separators=(",", ":"), default=float)

    parts = []
    for key, val in data.items():
        if key in ("runs", "analysis") and isinstance(val, dict):
            inner = ",\n".join(f"  {one(k)}:{one(v)}" for k, v in val.items())
            parts.append(f" {one(key)}:{{\n{inner}\n }}")
        else:
            parts.append(f" {one(key)}:{one(val)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("{\n" + ",\n".join(parts) + "\n}\n")
    os.replace(tmp, path)


def rounded(o, digits=4):
    """o with every float rounded to `digits` significant digits (for the saved samples)."""
    if isinstance(o, float):
        return float(f"{o:.{digits}g}")
    if isinstance(o, dict):
        return {k: rounded(v, digits) for k, v in o.items()}
    if isinstance(o, list):
        return [rounded(v, digits) for v in o]
    return o


def strip_raw(res):
    """Drop the per-contact arrays; keep the samples of the last cycle and the half-cycle
    ends of the others, rounded to 4 significant digits (the JSON stays ~1 MB)."""
    last = max((s["cycle"] for s in res["samples"]), default=0)
    keep = []
    for s in res["samples"]:
        s.pop("_raw", None)
        if s["cycle"] == last or s["when"].startswith("end"):
            for g, v in s["groups"].items():  # per contact type: the pressures only
                if g != "all Se":
                    s["groups"][g] = {k: v[k] for k in PER_TYPE_KEYS if k in v}
            keep.append(rounded(s, 3))
    res["samples"] = keep
    return res


PER_TYPE_KEYS = ("n", "p_MPa", "H_MPa", "share_at_plastic_limit", "share_p_above_H",
                 "excess_MPa", "margin_to_plastic_limit_MPa")


# --------------------------------------------------------------------- analysis
def material_constants():
    se = load_materials()["Se"]
    cr = se.creep
    T = {"70C": 343.15, "25C": 298.15, "-100C": 173.15}
    G = se.youngs_modulus / (2 * (1 + se.poisson_ratio))
    return {"H_Pa": se.hardness, "E_Pa": se.youngs_modulus, "nu": se.poisson_ratio,
            "G_Pa": G, "A_ref_per_s": cr.A_ref, "n": cr.n, "sigma_ref_Pa": cr.sigma_ref,
            "Q_J_mol": cr.Q, "T_ref_K": cr.T_ref,
            "A_per_s": {k: cr.rate_prefactor(v) for k, v in T.items()},
            "A_ratio_70C_over_25C": cr.rate_prefactor(343.15) / cr.rate_prefactor(298.15)}


# similarity solution of power-law creeping spheres (Storåkers, Biwa & Larsson 1997,
# Int. J. Solids Struct. 34, 3061, doi:10.1016/S0020-7683(96)00176-X; Bower, Fleck,
# Needleman & Ogbonna 1993, doi:10.1098/rspa.1993.0035). Pure creep (m → ∞), Norton
# σ_e = σ0 ε̇^(1/n), i.e. σ0 = σ_ref A^(−1/n):
#   mean pressure  p = κ σ0 (ȧ/(3D))^(1/n),   κ = 3(n + 2)/n  (their eq. 78, Tabor-fitted),
#   contact area   a² = c² D h,  D = 2R* (combined curvature), c² ≈ 1.25 at 1/n = 0.15
#   (Fig. 5: 1.43 at 1/n → 0, 1.10 at 0.27; read from a secondary digest, approximate).
# Hence ȧ = 3 D A (p/(κ σ_ref))^n and ḣ = 2 a ȧ/(c² D) = (6/c²) a A (p/(κ σ_ref))^n.
# The issue's simplified form: ḣ = 2 h A (p/(β σ_ref))^n, β ≈ 3.
C2_SIM = 1.25
BETA_ISSUE = 3.0


def kappa(n):
    return 3.0 * (n + 2.0) / n


def alt_rates(mc, A, p, delta, Rs):
    """Approach rates ḣ (m/s) of a contact at pressure p (Pa), overlap δ, R* under
    (engine law with the bare pressure, a² = R* δ), the similarity solution (a² = 2c²R*δ)
    and the issue's simplified form."""
    n, sr = mc["n"], mc["sigma_ref_Pa"]
    a_eng = np.sqrt(Rs * delta)
    a_sim = np.sqrt(2.0 * C2_SIM * Rs * delta)
    return {"engine_bare_p": a_eng * A * (p / sr) ** n,
            "similarity": 6.0 / C2_SIM * a_sim * A * (p / (kappa(n) * sr)) ** n,
            "issue_form": 2.0 * delta * A * (p / (BETA_ISSUE * sr)) ** n}


def steady_pressures(mc, A, hdot_over_h, delta, Rs, de_over_delta=None):
    """Pressure (Pa) at which each law creeps at the measured approach rate ḣ = (ḣ/h) δ:
    the engine law (excess over p̄, one creeping side), the similarity solution and the
    issue's form. The engine's is an *excess* pressure; the others are the full p."""
    n, sr = mc["n"], mc["sigma_ref_Pa"]
    hdot = hdot_over_h * delta
    a_eng = np.sqrt(Rs * delta)
    a_sim = np.sqrt(2.0 * C2_SIM * Rs * delta)
    D = 2.0 * Rs
    adot = C2_SIM * D * hdot / (2.0 * a_sim)
    return {"engine_excess": sr * (hdot / (a_eng * A)) ** (1.0 / n),
            "similarity": kappa(n) * sr * (adot / (3.0 * D * A)) ** (1.0 / n),
            "issue_form": BETA_ISSUE * sr * (hdot_over_h / (2.0 * A)) ** (1.0 / n)}


def alt_summary(raw, A, mc):
    """With the contact loading rates measured in the second half of the last discharge
    (c 0.5 -> 0.75 -> 1) and the pressures at its samples: the pressure each creep law
    needs to follow that rate, and the time constants each law gives at the measured
    pressures and at p = H (a contact on the plastic limit)."""
    if not raw:
        return None
    last = max(x["cycle"] for x in raw)
    use = [x for x in raw if x["cycle"] == last][-2:]
    cat = lambda k: np.concatenate([x[k] for x in use])  # noqa: E731
    lnr, delta, Rs, p, de = cat("lnrate"), cat("delta"), cat("Rs"), cat("p"), cat("de")
    grow = lnr > 0
    o = {"A_per_s": A, "cycle": last, "contacts": int(lnr.size),
         "contacts_growing_share": float(np.mean(grow)),
         "hdot_over_h_per_s": pct(lnr[grow])}
    ss = steady_pressures(mc, A, lnr[grow], delta[grow], Rs[grow])
    o["pressure_to_creep_at_measured_rate_MPa"] = {k: pct(v, scale=1e-6) for k, v in ss.items()}
    o["share_above_H"] = {k: float(np.mean(v > mc["H_Pa"])) for k, v in ss.items()}
    rates = alt_rates(mc, A, p, delta, Rs)
    o["tau_relax_elastic_overlap_s"] = {k: pct(de / v) for k, v in rates.items()}
    o["tau_h_over_hdot_s"] = {k: pct(delta / v) for k, v in rates.items()}
    rH = alt_rates(mc, A, np.full_like(p, mc["H_Pa"]), delta, Rs)
    o["tau_h_over_hdot_at_H_s"] = {k: pct(delta / v) for k, v in rH.items()}
    o["tau_relax_elastic_overlap_at_H_s"] = {k: pct(de / v) for k, v in rH.items()}
    return o


def analyse(data):
    mc = material_constants()
    runs = data["runs"]
    half_cycle_s = 3600.0 / 0.1
    an = {"material_Se": mc, "half_cycle_s": {"discharge": half_cycle_s,
                                              "charge": half_cycle_s * (1 - 0.22)}}

    # 1. pressures (end of discharge / charge of the last cycle, both temperatures)
    keys = ("n", "p_MPa", "H_MPa", "share_at_plastic_limit", "share_p_above_H",
            "share_p_above_sigma_ref", "excess_MPa", "pbar_MPa", "driver_threshold_MPa",
            "tau0_s", "t_half_s", "t_tenth_s", "share_tau0_below_creep_step", "H_eff_MPa",
            "tau0_at_limit_s", "t_half_from_limit_s", "t_tenth_from_limit_s",
            "margin_to_plastic_limit_MPa", "confinement_MPa", "creeping")

    def pick(v):
        return {k: v[k] for k in keys if k in v}

    press = {}
    for name in ("base_70C", "base_25C", "contact_pressure_70C", "contact_pressure_25C",
                 "creep_off"):
        if name not in runs:
            continue
        r = runs[name]
        last = max(s["cycle"] for s in r["samples"]) if r["samples"] else None
        press[name] = {}
        for s in r["samples"]:
            if s["cycle"] == last or s["when"] == "end of discharge":
                key = f"c{s['cycle']} {s['when']}"
                press[name][key] = {g: (pick(v) if g == "all Se" else
                                        {k: v[k] for k in PER_TYPE_KEYS if k in v})
                                    for g, v in s["groups"].items()}
                press[name][key]["after_creep_step"] = s.get("after_creep_step")
    an["pressures"] = press

    # 3. flattening shares per cycle and in total over cycling
    shares = {}
    for name, r in runs.items():
        led = r["ledger"]
        tot = defaultdict(float)
        per = {}
        for ph, v in led.items():
            if not ph.startswith("c"):
                continue
            cyc = ph.split()[0]
            per.setdefault(cyc, defaultdict(float))
            for k, x in v.items():
                per[cyc][k] += x
                tot[k] += x
        out = {}
        for label, v in (("cycling", tot), *sorted(per.items())):
            o = {}
            for cat in ("Se-Se", "Se-Mo6Se8"):
                pl, cr = v.get(f"plastic_len_m:{cat}", 0.0), v.get(f"creep_len_m:{cat}", 0.0)
                pa, ca = v.get(f"plastic_area_m2:{cat}", 0.0), v.get(f"creep_area_m2:{cat}", 0.0)
                o[cat] = {"plastic_len_um": pl * 1e6, "creep_len_um": cr * 1e6,
                          "creep_share": cr / (pl + cr) if pl + cr > 0 else None,
                          "creep_share_area": ca / (pa + ca) if pa + ca > 0 else None,
                          "dropped_len_um": v.get(f"dropped_len_m:{cat}", 0.0) * 1e6}
            pl, cr = v.get("plastic_len_m:wall", 0.0), v.get("creep_len_m:wall", 0.0)
            o["wall (Se)"] = {"plastic_len_um": pl * 1e6, "creep_len_um": cr * 1e6,
                              "creep_share": cr / (pl + cr) if pl + cr > 0 else None}
            out[label] = o
        pr = led.get("pressing", {})
        out["pressing"] = {cat: {"plastic_len_um": pr.get(f"plastic_len_m:{cat}", 0.0) * 1e6,
                                 "creep_len_um": pr.get(f"creep_len_m:{cat}", 0.0) * 1e6}
                           for cat in ("Se-Se", "Se-Mo6Se8")}
        shares[name] = out
    an["flattening"] = shares

    # 4. contact growth and Se stress per run
    contrib = {}
    for name, r in runs.items():
        rows = r["half_cycle_ends"]
        s0 = r["start_of_cycling"] or {}
        dis = [x for x in rows if x["half"] == "discharge"]
        chg = [x for x in rows if x["half"] == "charge"]
        if not dis:
            contrib[name] = {"error": r.get("error")}
            continue

        def cf(x):
            return x["contact_ratio:Se-Se"] + x["contact_ratio:Se-Mo6Se8"]

        def pores(x):
            """Pore volume relative to the start of cycling: porosity × box volume, the box
            laterally fixed (periodic), its height (1 + thickness_change) × the height at
            the start of cycling."""
            return (x["porosity"] * (1.0 + x["thickness_change"]) / s0["porosity"]
                    if s0 else None)

        def end_row(x):
            return {"cycle": x["cycle"], "Se-Se": x["contact_ratio:Se-Se"],
                    "Se-Mo6Se8": x["contact_ratio:Se-Mo6Se8"], "contacted_Se": cf(x),
                    "stress_vm_Se_MPa": x["stress_vm_mean_Pa:Se"] * 1e-6,
                    "porosity": x["porosity"], "creep_strain_Se": x["creep_strain_mean:Se"],
                    "confinement_Se_MPa": x["confinement_mean_Pa:Se"] * 1e-6,
                    "thickness_change": x["thickness_change"],
                    "pore_volume_rel_start": pores(x), "volume_deficit": x["volume_deficit"],
                    "pore_surface_fraction_Se": x["pore_surface_fraction:Se"]}

        o = {"error": r.get("error"),
             "start": {"Se-Se": s0.get("contact_ratio:Se-Se"),
                       "Se-Mo6Se8": s0.get("contact_ratio:Se-Mo6Se8"),
                       "contacted_Se": (s0["contact_ratio:Se-Se"] + s0["contact_ratio:Se-Mo6Se8"])
                       if s0 else None,
                       "porosity": s0.get("porosity"),
                       "stress_vm_Se_MPa": (s0.get("stress_vm_mean_Pa:Se") or 0) * 1e-6},
             "discharge_ends": [end_row(x) for x in dis],
             "charge_ends": [end_row(x) for x in chg]}
        if len(dis) > 1:
            o["growth_per_cycle_discharge_contacted_Se"] = (cf(dis[-1]) - cf(dis[0])) / (len(dis) - 1)
        if len(chg) > 1:
            o["growth_per_cycle_charge_contacted_Se"] = (cf(chg[-1]) - cf(chg[0])) / (len(chg) - 1)
        contrib[name] = o
    an["contributions"] = contrib

    # 2 + alternative laws at the measured pressures and contact loading rates (per run)
    alt = {name: runs[name]["alternative_laws"] for name in ("base_70C", "base_25C")
           if name in runs and runs[name].get("alternative_laws")}
    # Norton flow of each particle (the study's FE law) at the swelling rate of 0.1 C
    eps = (1.98 ** (1 / 3) - 1) / half_cycle_s
    G3 = 3.0 * mc["G_Pa"]
    npart = {"imposed_strain_rate_per_s": eps, "three_G_Pa": G3,
             "yield_stress_H_over_2.8_MPa": mc["H_Pa"] / 2.8e6}
    for Tk in ("70C", "25C"):
        A = mc["A_per_s"][Tk]
        for c_rate in (0.05, 0.1, 0.5):
            e = eps * c_rate / 0.1
            s_ss = mc["sigma_ref_Pa"] * (e / A) ** (1 / mc["n"])
            npart[f"{Tk} {c_rate:g}C"] = {
                "sigma_ss_MPa": s_ss * 1e-6,
                "tau_build_s": s_ss / (G3 * e),               # σ_ss/(3G ε̇): time to load up
                "tau_linear_s": s_ss / (mc["n"] * G3 * e),     # relaxation about σ_ss
                "contact_pressure_3sigma_MPa": 3 * s_ss * 1e-6}
        for name in (f"base_{Tk}",):
            if name in runs:
                rows = [x for x in runs[name]["half_cycle_ends"] if x["half"] == "discharge"]
                if rows:
                    s = rows[-1]["stress_vm_mean_Pa:Se"]
                    rate = A * (s / mc["sigma_ref_Pa"]) ** mc["n"]
                    npart[f"{Tk} at measured Se stress"] = {
                        "sigma_MPa": s * 1e-6, "creep_rate_per_s": rate,
                        "tau_relax_s": s / (G3 * rate)}
    alt["norton_particle"] = npart
    an["alternative_laws"] = alt
    return an


def verify(data, particles, cycles):
    """The probe only reads: a plain run of base_70C must give the same cycles rows."""
    path, over = VARIANTS["base_70C"]
    sc = dempack.load_scenario(path, {"packing.particles": particles, "cycling.cycles": cycles,
                                      "run.threads": 1, "run.output_interval_steps": 4000,
                                      **over})
    sim = dsim.Simulation(sc)
    sim.run()
    rows = data["runs"]["base_70C"]["half_cycle_ends"]
    same = all(a[k] == b[k] for a, b in zip(sim.cycle_rows, rows) for k in ROW_KEYS)
    print(f"plain run vs instrumented run, {len(rows)} half-cycle rows x {len(ROW_KEYS)} "
          f"columns: {'identical' if same and len(rows) == len(sim.cycle_rows) else 'DIFFERENT'}")
    data["verified_noninvasive"] = bool(same)


def g3(x):
    """A number to 3 significant digits (plain for 1 <= |x| < 1e5)."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if 1 <= abs(x) < 1e5:
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{x:.2g}"


def markdown_tables(data):
    """The tables of docs/validation.md, from the JSON (so that the page shows what ran)."""
    an = data["analysis"]
    out = []
    P = an["pressures"]
    out.append("| run | when | contacts | p5 | p25 | p50 | p75 | p95 | share > H | share > σref "
               "| at plastic limit | H + confinement (p50) | p̄ (p50) | confinement (p50) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("base_70C", "base_25C", "creep_off"):
        for when in ("c1 end of discharge", "c3 discharge c=0.5", "c3 end of discharge",
                     "c3 end of charge"):
            g = P.get(name, {}).get(when)
            if not g:
                continue
            a = g["all Se"]
            q = a["p_MPa"]
            out.append(f"| {name} | {when} | {a['n']} | " + " | ".join(g3(q[k]) for k in q)
                       + f" | {a['share_p_above_H']:.2f} | {a['share_p_above_sigma_ref']:.2f} | "
                       f"{a['share_at_plastic_limit']:.2f} | {g3(a['H_eff_MPa']['p50'])} | "
                       f"{g3(a['pbar_MPa']['p50'])} | {g3(a['confinement_MPa']['p50'])} |")
    out.append("")
    # time constants
    alt = an["alternative_laws"]
    out.append("| quantity | 70 °C | 25 °C |")
    out.append("|---|---|---|")
    A = an["material_Se"]["A_per_s"]
    out.append(f"| A (1/s) | {A['70C']:.3g} | {A['25C']:.3g} |")

    def both(fn):
        r = []
        for name in ("base_70C", "base_25C"):
            try:
                r.append(fn(name))
            except (KeyError, TypeError, IndexError):
                r.append("–")
        return " | ".join(r)

    out.append("| contact loading rate ḣ/h, growing Se contacts, 2nd half of discharge 3 (1/s), "
               "p50 | " + both(lambda n: f"{alt[n]['hdot_over_h_per_s']['p50']:.2g}") + " |")
    out.append("| excess p − p̄ the engine's law needs to creep at that rate (MPa), p50 (p5–p95) | "
               + both(lambda n: "{} ({}–{})".format(
                   *(g3(alt[n]['pressure_to_creep_at_measured_rate_MPa']['engine_excess'][k])
                     for k in ('p50', 'p5', 'p95')))) + " |")
    for when in ("c1 end of discharge", "c3 end of discharge"):
        out.append(f"| contacts creeping (excess > 0), {when}: share; excess p50 (MPa); "
                   "t½ p50 (s) | " + both(lambda n: "{:.2f}; {}; {}".format(
                       P[n][when]['all Se']['creeping']['share'],
                       g3(P[n][when]['all Se']['creeping']['excess_MPa']['p50']),
                       g3(P[n][when]['all Se']['creeping']['t_half_s']['p50']))) + " |")
    out.append("| one creep step (30 s) leaves of the excess, c3 end of discharge, median | "
               + both(lambda n: "{:.3f}".format(P[n]["c3 end of discharge"]["after_creep_step"]
                                                ["excess_left_fraction_median"])) + " |")
    cp = {"base_70C": "contact_pressure_70C", "base_25C": "contact_pressure_25C"}
    out.append("| contact loaded to its plastic limit, driver p − confinement "
               "(contact_pressure runs), c3 end of discharge: τ0 = δe/δ̇ p50; t½ p50 (s) | "
               + both(lambda n: "{}; {}".format(
                   g3(P[cp[n]]['c3 end of discharge']['all Se']['tau0_at_limit_s']['p50']),
                   g3(P[cp[n]]['c3 end of discharge']['all Se']['t_half_from_limit_s']['p50'])))
               + " |")
    out.append("| same, excess driver (base runs): t½ from the limit p25 / p50 (s) | "
               + both(lambda n: "{} / {}".format(
                   g3(P[n]['c3 end of discharge']['all Se']['t_half_from_limit_s']['p25']),
                   g3(P[n]['c3 end of discharge']['all Se']['t_half_from_limit_s']['p50'])))
               + " |")
    out.append("| bare law at p = H = 0.5 GPa on the measured contacts: δe/δ̇ p50; h/ḣ p50 (s) | "
               + both(lambda n: "{}; {}".format(
                   g3(alt[n]['tau_relax_elastic_overlap_at_H_s']['engine_bare_p']['p50']),
                   g3(alt[n]['tau_h_over_hdot_at_H_s']['engine_bare_p']['p50']))) + " |")
    out.append(f"| half-cycle (s): discharge / charge | {an['half_cycle_s']['discharge']:,.0f} / "
               f"{an['half_cycle_s']['charge']:,.0f} | same |")
    out.append("")
    # flattening
    F = an["flattening"]
    out.append("| run | Se–Se: creep share, 3 cycles (cycle 1; cycle 3) | Se–Se flats made in "
               "cycling, plastic + creep (µm) | Se–Mo6Se8: creep share (cycle 1; cycle 3) | "
               "Se–Mo6Se8 flats (µm) |")
    out.append("|---|---|---|---|---|")
    for name in ("base_70C", "base_70C_seed2", "base_25C", "base_25C_seed2", "creep_off",
                 "contact_pressure_70C", "contact_pressure_25C", "confinement_off_70C",
                 "confinement_off_25C"):
        if name not in F:
            continue
        f = F[name]
        cells = []
        for cat in ("Se-Se", "Se-Mo6Se8"):
            tot, c1, c3 = f["cycling"][cat], f.get("c1", {}).get(cat, {}), f.get("c3", {}).get(cat, {})
            sh = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
            cells.append(f"{sh(tot['creep_share'])} ({sh(c1.get('creep_share'))}; "
                         f"{sh(c3.get('creep_share'))})")
            cells.append(f"{tot['plastic_len_um'] + tot['creep_len_um']:.0f}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    pr = F["base_70C"]["pressing"]
    out.append(f"| (pressing, all runs at seed 1 with the base keys: plastic) | – | "
               f"{pr['Se-Se']['plastic_len_um']:.0f} | – | {pr['Se-Mo6Se8']['plastic_len_um']:.0f} |")
    out.append("")
    # switches
    C = an["contributions"]
    out.append("| run | contacted Se surface: start → end of discharge 1 → 3 | growth per "
               "cycle (d1→d3) | Se–Se / Se–Mo6Se8 (d3) | Se σ_vm d3 / end of charge 3 (MPa) | "
               "pore volume d3 / start | thickness change d3 | volume deficit d3 |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name in VARIANTS:
        c = C.get(name)
        if not c:
            continue
        if not c.get("discharge_ends"):
            import re
            m = re.search(r"t = ([0-9.e+]+) s\): (overlap [0-9.]+)", c.get("error") or "")
            why = (f"stopped at t = {float(m.group(1)):,.0f} s (c ≈ "
                   f"{float(m.group(1)) / an['half_cycle_s']['discharge']:.2f} of discharge 1): "
                   f"{m.group(2)} of the smaller radius > run.max_overlap_ratio" if m
                   else f"stopped: {(c.get('error') or '')[:90]}")
            out.append(f"| {name} | {why} | | | | | | |")
            continue
        d1, d3 = c["discharge_ends"][0], c["discharge_ends"][-1]
        ch = c["charge_ends"][-1] if c["charge_ends"] else None
        out.append(f"| {name} | {c['start']['contacted_Se']:.3f} → {d1['contacted_Se']:.3f} → "
                   f"{d3['contacted_Se']:.3f} | {c.get('growth_per_cycle_discharge_contacted_Se', 0):+.3f} | "
                   f"{d3['Se-Se']:.3f} / {d3['Se-Mo6Se8']:.3f} | {d3['stress_vm_Se_MPa']:.0f} / "
                   f"{(ch['stress_vm_Se_MPa'] if ch else float('nan')):.0f} | "
                   f"{d3['pore_volume_rel_start']:.3f} | {d3['thickness_change']:+.3f} | "
                   f"{d3['volume_deficit']:.3f} |")
    out.append("")
    # alternative laws
    out.append("| law (at the measured contact loading rates and pressures) | 70 °C | 25 °C |")
    out.append("|---|---|---|")
    for k, lab in (("similarity", "similarity solution, κ = 3(n+2)/n, c² = 1.25"),
                   ("issue_form", "issue's form ḣ = 2hA(p/(3σref))^n")):
        out.append(f"| {lab}: p needed to creep at the measured rate, p50 (p95) MPa; share > H | "
                   + both(lambda n: "{} ({}); {:.2f}".format(
                       g3(alt[n]['pressure_to_creep_at_measured_rate_MPa'][k]['p50']),
                       g3(alt[n]['pressure_to_creep_at_measured_rate_MPa'][k]['p95']),
                       alt[n]['share_above_H'][k])) + " |")
        out.append(f"| {lab}: at p = H: h/ḣ p50; δe/ḣ p50 (s) | "
                   + both(lambda n: "{}; {}".format(
                       g3(alt[n]['tau_h_over_hdot_at_H_s'][k]['p50']),
                       g3(alt[n]['tau_relax_elastic_overlap_at_H_s'][k]['p50']))) + " |")
    npt = alt["norton_particle"]
    for cr in ("0.05C", "0.1C", "0.5C"):
        out.append(f"| Norton flow of the particle at {cr}: σ_ss (MPa); σ_ss/(3Gε̇) (s); "
                   f"/n (s) | " + " | ".join(
                       "{}; {}; {}".format(g3(npt[f'{T} {cr}']['sigma_ss_MPa']),
                                           g3(npt[f'{T} {cr}']['tau_build_s']),
                                           g3(npt[f'{T} {cr}']['tau_linear_s']))
                       for T in ("70C", "25C")) + " |")
    out.append("| Norton flow at the measured Se σ_vm (end of discharge 3): σ (MPa); "
               "σ/(3G A(σ/σref)^n) (s) | " + " | ".join(
                   "{}; {}".format(g3(npt[f'{T} at measured Se stress']['sigma_MPa']),
                                   g3(npt[f'{T} at measured Se stress']['tau_relax_s']))
                   if f'{T} at measured Se stress' in npt else "–" for T in ("70C", "25C")) + " |")
    return "\n".join(out)


def print_report(data):
    """The headline numbers on stdout."""
    an = data.get("analysis", {})
    print("\nflattening during cycling (share made by creep, by flat length):")
    for name, v in an.get("flattening", {}).items():
        c = v.get("cycling", {})
        print(f"  {name:32s} " + "  ".join(
            f"{k}: creep {c[k]['creep_share']:.3f}" if c.get(k, {}).get("creep_share") is not None
            else f"{k}: -" for k in ("Se-Se", "Se-Mo6Se8")))
    print("\ncontacted fraction of the Se surface / Se von Mises stress at discharge ends:")
    for name, v in an.get("contributions", {}).items():
        d = v.get("discharge_ends") or []
        print(f"  {name:32s} start {v.get('start', {}).get('contacted_Se') or float('nan'):.3f}  "
              + "  ".join(f"c{x['cycle']} {x['contacted_Se']:.3f} {x['stress_vm_Se_MPa']:.0f} MPa"
                          for x in d))


def main():
    from dempack.scenario import SCHEMA
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=DEFAULTS["particles"])
    ap.add_argument("--cycles", type=int, default=DEFAULTS["cycles"])
    ap.add_argument("--steps-per-half", type=int, default=0,
                    help="cycling.steps_per_half_cycle (0: the scenario's 12000)")
    ap.add_argument("--only", nargs="*", default=None, choices=list(VARIANTS))
    ap.add_argument("--report", action="store_true", help="re-analyse the saved JSON")
    ap.add_argument("--verify", action="store_true",
                    help="run base_70C without the probe and compare its cycles rows with the "
                         "instrumented run saved in the JSON (bit for bit)")
    ap.add_argument("--tables", action="store_true",
                    help="print the markdown tables of docs/validation.md from the JSON")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = json.loads(args.out.read_text()) if args.out.exists() else {"runs": {}}
    if args.tables:
        print(markdown_tables(data))
        return
    if (args.verify or not args.report) and "creep_model" in SCHEMA["cycling"]:
        raise SystemExit("creep_diagnosis.py measures the creep law of revision b76ec75, since "
                         "replaced; run it from a worktree of that revision (see its docstring)")
    if args.verify:
        verify(data, args.particles, args.cycles)
        save(data, args.out)
        return
    if not args.report:
        names = args.only if args.only else list(VARIANTS)
        for name in names:
            print(f"== {name}", flush=True)
            res, sim = run_variant(name, args.particles, args.cycles, args.steps_per_half)
            lr, raw = loading_rates(res["samples"])
            res["loading_rates"] = lr
            strip_raw(res)
            data["runs"][name] = res
            print(f"   {res['steps']} steps, {res['wall_s']:.0f} s"
                  + (f", ERROR {res['error'][:200]}" if res["error"] else ""), flush=True)
            for x in res["half_cycle_ends"]:
                print(f"   c{x['cycle']} {x['half']:9s} Se-Se {x['contact_ratio:Se-Se']:.3f} "
                      f"Se-Mo {x['contact_ratio:Se-Mo6Se8']:.3f} "
                      f"vm(Se) {x['stress_vm_mean_Pa:Se'] / 1e6:6.1f} MPa "
                      f"por {x['porosity']:.4f} creep {x['creep_strain_mean:Se']:.3f}", flush=True)
            res["alternative_laws"] = alt_summary(raw, res["settings"]["creep_A_per_s"]["Se"],
                                                  material_constants())
            data["analysis"] = analyse(data)
            data["command"] = ("PYTHONPATH=. python benchmarks/creep_diagnosis.py"
                               + (f" --particles {args.particles}" if args.particles != 500 else "")
                               + (f" --cycles {args.cycles}" if args.cycles != 3 else ""))
            data["dempack_commit"] = os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip()
            save(data, args.out)
    else:
        for res in data["runs"].values():
            strip_raw(res)
        data["analysis"] = analyse(data)
        save(data, args.out)
    print_report(data)


if __name__ == "__main__":
    main()
