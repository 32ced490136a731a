"""Observables (DESIGN §3): porosity, contacts, contact ratio, particle stress.

- contact radius = radius of the intersection circle of two spheres of radii
  R1, R2 at centre distance d < R1+R2:
  a² = R1² − x², x = (d² + R1² − R2²)/(2d)      (a² ≈ R*δ for δ ≪ R);
  contact ratio A–B = Σ π a² over A–B contacts / surface of the A particles.
- solid volume (porosity) = Σ sphere ∩ power cell: lenses split at their radical
  planes, wall caps cut, multiple overlaps counted once
  (dempack.physics.volume.removed_volumes); a porous agglomerate (Super P,
  dempack.physics.agglomerate) counts (1 − ε_i) of its envelope inside its cell, so its
  internal pores are pores of the electrode:
      porosity = 1 − Σ_i s_i / V_die,  s_i = V_i − V_cut,i for a dense particle and
      min((1 − ε_i) V0_i, V_i − V_cut,i) for an agglomerate of envelope V0_i = 4/3 π R0_i³.
- particle stress tensor σ_i = (1/V_i) Σ_c sym(l_c ⊗ f_c) (l branch vector centre →
  contact point, f contact force on i; Christoffersen et al. 1981,
  doi:10.1115/1.3157599), from the contact forces of the last step
  (`particle_stress`, also the fracture criterion's stress);
  von Mises σ_e = √(3/2 s:s), s = σ − tr(σ)/3 I.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .geometry import WALL_NORMALS, separation, wall_gap
from .state import N_WALLS


@njit(cache=True)
def _contacts(x, R, mat, alive, pi, pj, L, periodic_xy, nm, delta_flat):
    """Per particle contact count, contact area (nm,nm) of A touching B (m², π a²
    per contact) and the largest elastic overlap (δ − δ_cr)/min(R1, R2) with its pair."""
    n = x.shape[0]
    ncontact = np.zeros(n, np.int64)
    area = np.zeros((nm, nm))
    max_ratio = 0.0
    wi = -1
    wj = -1
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        if not (alive[i] and alive[j]):
            continue
        dx, dy, dz = separation(x, i, j, L, periodic_xy)
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        R1 = R[i]
        R2 = R[j]
        if d >= R1 + R2:
            continue
        delta = R1 + R2 - d
        de = delta - delta_flat[p]
        r = de / min(R1, R2)
        if r > max_ratio:
            max_ratio = r
            wi = int(i)
            wj = int(j)
        ncontact[i] += 1
        ncontact[j] += 1
        if d > abs(R1 - R2):
            xx = (d * d + R1 * R1 - R2 * R2) / (2 * d)
            a2 = max(R1 * R1 - xx * xx, 0.0)
        else:
            a2 = 0.0
        area[mat[i], mat[j]] += math.pi * a2
        area[mat[j], mat[i]] += math.pi * a2
    return ncontact, area, max_ratio, wi, wj


@njit(cache=True)
def contact_stress_sums(x, R, alive, pi, pj, fbuf, wall_force, wall_pos, wall_on, L,
                        periodic_xy):
    """Per particle: S = Σ_c l_c ⊗ f_c (N m; divide by V for the stress tensor)
    and the largest compressive normal contact force (N), over the pair and wall
    contacts of alive particles that carried a force in the last step.
    l_c = centre → contact point (mid-plane of the overlap for pairs, the wall
    plane for walls); f_c = force on the particle."""
    n = x.shape[0]
    S = np.zeros((n, 3, 3))
    fmax = np.zeros(n)
    for p in range(pi.shape[0]):
        f0 = fbuf[p, 0]
        f1 = fbuf[p, 1]
        f2 = fbuf[p, 2]
        if f0 == 0.0 and f1 == 0.0 and f2 == 0.0:
            continue
        i = pi[p]
        j = pj[p]
        if not (alive[i] and alive[j]):
            continue
        dx, dy, dz = separation(x, i, j, L, periodic_xy)
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        if d == 0.0:
            continue
        nv = (dx / d, dy / d, dz / d)  # i → j
        delta = R[i] + R[j] - d
        ri = R[i] - 0.5 * delta
        rj = R[j] - 0.5 * delta
        fv = (f0, f1, f2)
        for a in range(3):
            for b in range(3):
                t = nv[a] * fv[b]
                S[i, a, b] += ri * t   # l_i = ri n, f_i = f
                S[j, a, b] += rj * t   # l_j = −rj n, f_j = −f
        fn = -(nv[0] * f0 + nv[1] * f1 + nv[2] * f2)
        if fn > fmax[i]:
            fmax[i] = fn
        if fn > fmax[j]:
            fmax[j] = fn
    for i in range(n):
        if not alive[i]:
            continue
        for k in range(N_WALLS):
            if not wall_on[k]:
                continue
            f0 = wall_force[i, k, 0]
            f1 = wall_force[i, k, 1]
            f2 = wall_force[i, k, 2]
            if f0 == 0.0 and f1 == 0.0 and f2 == 0.0:
                continue
            s = wall_gap(x, i, k, wall_pos)
            fv = (f0, f1, f2)
            for a in range(3):
                for b in range(3):
                    S[i, a, b] += -s * WALL_NORMALS[k, a] * fv[b]  # l = −s n_wall
            fn = WALL_NORMALS[k, 0] * f0 + WALL_NORMALS[k, 1] * f1 + WALL_NORMALS[k, 2] * f2
            if fn > fmax[i]:
                fmax[i] = fn
    return S, fmax


def particle_stress(sim):
    """(σ (N,3,3) Pa symmetric particle stress tensors σ_i = (1/V_i) Σ_c sym(l_c ⊗ f_c),
    max normal contact force (N,) N) from the contact forces of the last step (pairs:
    `Simulation.pair_contact_forces`, recomputed from the current state where the step
    did not record them; walls: the last step's wall forces)."""
    ps, cl, box = sim.particles, sim.contacts, sim.box
    pos, _, on = box.wall_arrays()
    S, fmax = contact_stress_sums(ps.x, ps.R, ps.alive, cl.i, cl.j, sim.pair_contact_forces(),
                                  ps.wall_force, pos, on, np.asarray(box.L[:2], float),
                                  box.periodic_xy)
    V = 4.0 / 3.0 * np.pi * ps.R ** 3
    sig = S / V[:, None, None]
    return 0.5 * (sig + np.swapaxes(sig, 1, 2)), fmax


def deviator_sq(sig):
    """s:s (Pa²) of stress tensors (…,3,3), s = sym(σ) − tr(σ)/3 I."""
    s = 0.5 * (sig + np.swapaxes(sig, -1, -2))
    tr = np.trace(s, axis1=-2, axis2=-1)
    dev = s - tr[..., None, None] / 3.0 * np.eye(3)
    return np.sum(dev * dev, axis=(-2, -1))


def von_mises(sig):
    """σ_e = √(3/2 s:s) of stress tensors (…,3,3)."""
    return np.sqrt(1.5 * deviator_sq(sig))


def analyse(sim) -> dict:
    """Per-particle and aggregate contact quantities of the current state.

    Returns a dict with 'ncontact' (N), 'stress' (N,3,3) Pa, 'stress_vm' (N) Pa,
    'area' (nm,nm) m² contact area of A touching B, 'pore_surface' (N) share of
    each sphere's surface outside its contact caps, 'solid_volume' m³ (lenses
    split at their radical planes and wall caps removed, multiple overlaps counted
    once: dempack.physics.volume.removed_volumes), 'max_overlap_ratio' and the worst pair.
    """
    ps, cl, box = sim.particles, sim.contacts, sim.box
    pos, _, on = box.wall_arrays()
    nm = len(sim.materials)
    L = np.asarray(box.L[:2], float)
    nc, area, mr, wi, wj = _contacts(ps.x, ps.R, ps.material, ps.alive, cl.i, cl.j, L,
                                     box.periodic_xy, nm, cl.delta_flat)
    sig, _ = particle_stress(sim)
    V = 4.0 / 3.0 * np.pi * ps.R ** 3
    # solid = Σ sphere ∩ cell: each lens split at its separating plane (radical
    # plane, flats to the side that made them), wall caps cut, and what triple
    # overlaps would remove twice counted once
    from .physics.volume import QUADRATURE_DIRECTIONS, removed_volumes
    removed = np.empty(ps.n)
    free = np.empty(ps.n)
    removed_volumes(ps.x, ps.R, ps.material, cl.i, cl.j, cl.delta_flat, sim.flattening_share,
                    cl.row_start, cl.col_start, cl.col_pair, L, box.periodic_xy, pos, on, QUADRATURE_DIRECTIONS,
                    removed, free, np.empty(ps.n), np.empty(ps.n), True)
    envelope = (V - removed)[ps.alive]
    # a porous agglomerate holds the solid (1 − ε) V0 of its true envelope V0; squeezed beyond
    # what its radius restores, its pores take up the cut, never its solid
    from .physics.swelling import true_volume
    eps = ps.internal_porosity[ps.alive]
    v0 = true_volume(ps.R0, sim.swelling[ps.material], ps.lithiation)[ps.alive]
    solid = np.where(eps > 0.0, np.minimum((1.0 - eps) * v0, envelope), envelope)
    solid_volume = float(np.sum(solid))
    return {"ncontact": nc, "stress": sig, "stress_vm": von_mises(sig), "area": area,
            "pore_surface": free,
            "solid_volume": solid_volume, "envelope_volume": float(np.sum(envelope)),
            "max_overlap_ratio": mr,
            "worst_pair": (wi, wj)}


def observables(sim, a: dict | None = None) -> dict:
    """One row of the time series (SI units; see DESIGN §3)."""
    a = analyse(sim) if a is None else a
    ps, box = sim.particles, sim.box
    names = [m.name for m in sim.materials]
    alive = ps.alive
    thickness = box.z_top
    die_volume = box.area * thickness
    porosity = 1.0 - a["solid_volume"] / die_volume
    from .physics.swelling import true_volume
    v_true = float(np.sum(true_volume(ps.R0, sim.swelling[ps.material], ps.lithiation)[ps.alive]))
    st = sim.stage
    ref = sim.reference_thickness
    punch = sim.punch_stress()
    # after the protocol's end the last stage's control is still what holds the punch
    last = st if st is not None else (sim.stages[-1] if sim.stages else None)
    target = last.stack_target(sim) if last is not None else math.nan
    row = {
        "step": sim.step_count,
        "time_s": sim.time,
        "stage": sim.stage_label,
        "cycle": getattr(st, "cycle", 0) if st is not None and st.kind == "cycling" else 0,
        "porosity": porosity,
        "relative_density": 1.0 - porosity,
        # 1 - (geometric solid volume)/(true volume V0(1+βc)): what overlaps cut beyond the
        # volume-conserving radius (numerics.max_cap_fraction); with numerics.confinement on
        # it is carried as the particles' elastic volume change p/K (dempack.physics.confinement)
        # (envelope volumes: a porous agglomerate's internal pores are not a deficit)
        "volume_deficit": 1.0 - a["envelope_volume"] / v_true if v_true > 0 else 0.0,
        "thickness_m": thickness,
        "thickness_change": (thickness / ref - 1.0) if ref else 0.0,
        "punch_stress_Pa": punch,
        # what the stage's punch control aims at (servo target, spring fixture law
        # p0 + k (h − h0)), NaN where it has none; deviation = punch stress / target − 1
        "stack_target_Pa": target,
        "stack_deviation": punch / target - 1.0 if target > 0.0 else math.nan,
        "wall_stress_Pa": sim.side_wall_stress(),
        "coordination": float(np.mean(a["ncontact"][alive])) if alive.any() else 0.0,
        "kinetic_energy_J": 0.5 * float(np.sum(ps.mass[alive] * np.sum(ps.v[alive] ** 2, 1))),
        "max_overlap_ratio": a["max_overlap_ratio"],
        "inertial_number": sim.inertial_number(),
    }
    surf = 4.0 * np.pi * ps.R ** 2
    V = 4.0 / 3.0 * np.pi * ps.R ** 3
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        row[f"coordination:{name}"] = float(np.mean(a["ncontact"][sel])) if sel.any() else 0.0
    for k, A in enumerate(names):
        sel = alive & (ps.material == k)
        sA = float(np.sum(surf[sel]))
        for q, B in enumerate(names):
            row[f"contact_ratio:{A}-{B}"] = float(a["area"][k, q] / sA) if sA > 0 else 0.0
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        w = V[sel]
        row[f"stress_vm_mean_Pa:{name}"] = (float(np.sum(w * a["stress_vm"][sel]) / np.sum(w))
                                            if sel.any() else 0.0)
    for k, name in enumerate(names):
        sel = alive & (ps.material == k)
        w = V[sel]
        row[f"creep_strain_mean:{name}"] = (float(np.sum(w * ps.creep_strain[sel]) / np.sum(w))
                                            if sel.any() else 0.0)
        row[f"lithiation_mean:{name}"] = (float(np.sum(w * ps.lithiation[sel]) / np.sum(w))
                                          if sel.any() else 0.0)
        if sim.materials[k].active:
            # electrochemical access (dempack.physics.access), weighted by V0 (mass):
            # utilisation = mean reachable fraction of the current half-cycle (1 under the
            # uniform rule); capacity_fraction = |c − c_start| mean, the charge passed in this
            # half-cycle so far over the theoretical capacity
            w0 = ps.R0[sel] ** 3
            W0 = float(np.sum(w0))
            row[f"utilisation:{name}"] = (float(np.sum(w0 * ps.reachable[sel]) / W0)
                                          if W0 > 0 else 0.0)
            row[f"capacity_fraction:{name}"] = (
                float(np.sum(w0 * np.abs(ps.lithiation[sel] - ps.lithiation_start[sel])) / W0)
                if W0 > 0 else 0.0)
        # share of the particles' surface outside all contact caps, i.e. facing a pore
        row[f"pore_surface_fraction:{name}"] = (float(np.sum(w * a["pore_surface"][sel]) / np.sum(w))
                                                if sel.any() else 0.0)
        # hydrostatic pressure of particles squeezed beyond what they restore by
        # growing (dempack.physics.confinement), volume-weighted
        row[f"confinement_mean_Pa:{name}"] = (float(np.sum(w * ps.confinement[sel]) / np.sum(w))
                                              if sel.any() else 0.0)
        if sim.porous[k]:
            # envelope-volume mean internal porosity of a porous agglomerate (physics.agglomerate)
            row[f"internal_porosity_mean:{name}"] = (
                float(np.sum(w * ps.internal_porosity[sel]) / np.sum(w)) if sel.any() else 0.0)
    from .transport import transport_observables
    t = transport_observables(sim)
    sim._connected = t.pop("_connected")
    row.update(t)
    row.update(sim.fracture.observables(sim))  # breakage statistics (dempack.physics.fracture)
    return row
