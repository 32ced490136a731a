"""The creep and volume updaters of a Simulation (run by `pipeline.VolumeUpdate`, and by
the stages that set a shape up): creep over a physical time (`creep_step`, the laws of
`physics.creep`), the Heckel compaction of porous agglomerates (`compact_agglomerates`,
`physics.agglomerate`), the swelling and volume-conserving radii with the confinement
pressure (`update_radii`, `physics.swelling`, `physics.volume`, `physics.confinement`),
the 2D mode's per-particle properties interpolated with lithiation
(`plane_strain_properties`, `physics.plane_strain`), and a stress-free start
(`make_stress_free`, stack.stress_free_start).

Each function takes the Simulation as its first argument, named `self`: the bodies are
`Simulation`'s methods of the same names moved here verbatim, and the Simulation keeps
each as a one-line method (`sim.creep_step(dt)`), so the kernel calls read as they did.
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads

from ..geometry import DISK_THICKNESS, minimum_image, particle_volume
from .agglomerate import agglomerate_confinement, compact, largest_compressive_stress
from .confinement import confinement_pressures
from .creep import (creep_contacts, mean_pressure, normal_stress, normal_stress_2d,
                    normal_stress_threaded, particle_norton_flow, particle_norton_flow_2d)
from .plane_strain import free_radius_2d, interpolate, plane_strain_bulk_modulus, true_area
from .swelling import free_radius, true_volume
from .volume import CIRCLE_DIRECTIONS, QUADRATURE_DIRECTIONS, removed_areas, removed_volumes


def particle_normal_stress(cl, ps, law, box, walls, vol, sig, stiff) -> None:
    """`creep.normal_stress` of the contact list cl over particles ps, on the numba threads
    where there are several (`creep.normal_stress_threaded`: the same result to the bit)."""
    if get_num_threads() > 1:
        normal_stress_threaded(cl.pair_arrays(ps), law, box, walls, vol, sig, stiff,
                               cl.adjacency(), np.empty((cl.n_pairs, 8)))
    else:
        normal_stress(cl.pair_arrays(ps), law, box, walls, vol, sig, stiff)


def creep_step(self, dt_phys: float) -> None:
    """Advance creep by dt_phys (s) of physical time (dempack.physics.creep), by the
    law of cycling.creep_model: Norton flow of each particle driven by its von Mises
    stress, or the similarity-solution contact law driven by the contact pressure less
    the particle's reference pressure (cycling.creep_driver). 2D (box.dimension 2): the
    plane-strain particle Norton law only (creep.normal_stress_2d, particle_norton_flow_2d;
    V = π R² t, the disk's out-of-plane creep advanced)."""
    ps, cl, box, t = self.particles, self.contacts, self.box, self.tables
    pos, _, on = box.wall_arrays()
    L = np.asarray(box.L[:2], float)
    cyc = self.scenario.cycling
    if getattr(box, "dimension", 3) == 2:
        # plane-strain disks (physics.plane_strain): the particle Norton law only
        if cyc.creep_model not in ("particle_norton", "off"):
            raise NotImplementedError(f"cycling.creep_model = {cyc.creep_model!r}: the 2D mode "
                                      "has only 'particle_norton' (or 'off')")
        m = ps.material
        # per-particle properties (lithiation-interpolated): the kernels index their
        # per-material arrays by `mat`, so they get one row per particle
        E, nu, A, n_exp, sref = self.plane_strain_properties()
        own = np.arange(ps.n, dtype=m.dtype)
        sig = np.empty((ps.n, 3, 3))
        kc = np.empty(ps.n)
        normal_stress_2d(cl.pair_arrays(ps), (t.E_star, t.E_star_wall), (L, box.periodic_xy),
                         (ps.wall_delta_flat, pos, on), particle_volume(ps.R, 2),
                         (E, nu, self.swelling[m], ps.lithiation, ps.out_of_plane_creep),
                         sig, kc)
        particle_norton_flow_2d((ps.x, ps.R, own, cl.i, cl.j, cl.delta_flat),
                                (ps.wall_delta_flat, pos, on), (L, box.periodic_xy), sig, kc,
                                (A, n_exp, sref), 1.5 * E / (1.0 + nu), dt_phys,
                                ps.creep_strain, ps.out_of_plane_creep,
                                (ps.confinement, plane_strain_bulk_modulus(E, nu),
                                 self.volume_conserving[m]),
                                np.empty((ps.n, 3, 3)))
        return
    vol = true_volume(ps.R0, self.swelling[ps.material], ps.lithiation)
    if cyc.creep_model in ("particle_norton", "off"):
        sig = np.empty((ps.n, 3, 3))
        kc = np.empty(ps.n)
        particle_normal_stress(cl, ps, t.normal_columns(ps.confinement, self.flattening_share),
                               (L, box.periodic_xy), (ps.wall_delta_flat, pos, on), vol, sig, kc)
        particle_norton_flow(cl.pair_arrays(ps), (ps.wall_delta_flat, pos, on),
                             (L, box.periodic_xy), sig, kc,
                             (self.creep_A, self.creep_n, self.creep_sigma_ref),
                             self.creep_stiffness, dt_phys, ps.creep_strain,
                             (ps.confinement, self.bulk_modulus, self.volume_conserving),
                             np.empty((ps.n, 3, 3)))
        return
    pbar = np.zeros(ps.n)
    if cyc.creep_driver == "excess_pressure":
        mean_pressure(cl.pair_arrays(ps), t.normal_columns(ps.confinement, self.flattening_share),
                      (L, box.periodic_xy),
                      (ps.wall_delta_flat, pos, on), vol, pbar)
    # the confinement pressure is hydrostatic: it does no creep work, and a particle
    # whose volume is used up cannot flatten further (dempack.physics.confinement)
    pbar += ps.confinement
    creep_contacts(cl.pair_arrays(ps), t.normal_columns(ps.confinement, self.flattening_share),
                   (self.creep_A, self.creep_n, self.creep_sigma_ref), dt_phys,
                   (L, box.periodic_xy), ps.creep_strain, (ps.wall_delta_flat, pos, on), pbar,
                   cyc.creep_flats_recede)


def plane_strain_properties(self):
    """(E, ν, A, n, σ_ref) per particle for the 2D mode's plane-strain bookkeeping and
    Norton flow, interpolated with lithiation between each material and its lithiated
    form (`physics.plane_strain.interpolate`; contacts keep the table's E* per material
    pair). A = 0 with cycling.creep_model = "off"."""
    ps = self.particles
    E, nu, A, n, sref = interpolate(self.lithiation_ends, ps.material, ps.lithiation)
    if self.scenario.cycling.creep_model == "off":
        A = np.zeros_like(A)
    return E, nu, A, n, sref


def make_stress_free(self, sweeps: int = 5) -> None:
    """Zero every contact force at the present shape (stack.stress_free_start; the study's
    RVE starts stress-free): each pair's and wall contact's flat becomes its whole overlap
    (δe = 0), the springs and velocities are cleared. The radius update that follows moves
    the overlaps a little (the flats go to the side that makes them), so set and update
    `sweeps` times."""
    if not self.inelastic:
        raise ValueError(f"{self.scenario.source}: stack.stress_free_start needs contacts that "
                         "can flatten (a material with a hardness or creep)")
    ps, box = self.particles, self.box
    pos, _, on = box.wall_arrays()
    for _ in range(sweeps):
        cl = self.contacts
        d = ps.x[cl.j] - ps.x[cl.i]
        minimum_image(d, box)
        overlap = ps.R[cl.i] + ps.R[cl.j] - np.sqrt(np.sum(d * d, axis=1))
        cl.delta_flat[:] = np.where(overlap > 0.0, np.maximum(overlap, 0.0), cl.delta_flat)
        gaps = np.stack([ps.x[:, 2] - pos[0], pos[1] - ps.x[:, 2], ps.x[:, 0] - pos[2],
                         pos[3] - ps.x[:, 0], ps.x[:, 1] - pos[4], pos[5] - ps.x[:, 1]],
                        axis=1)
        wall_overlap = ps.R[:, None] - gaps
        touching = (wall_overlap > 0.0) & on[None, :]
        ps.wall_delta_flat[:] = np.where(touching, wall_overlap, ps.wall_delta_flat)
        self.update_radii()
    self.contacts.xi[:] = 0.0
    ps.wall_xi[:] = 0.0
    ps.v[:] = 0.0
    ps.w[:] = 0.0


def compact_agglomerates(self) -> None:
    """Heckel compaction of the porous agglomerates (dempack.physics.agglomerate): each one's
    internal porosity falls to ε0 exp(−p/P_y), p the largest compressive principal stress
    of its particle stress tensor (elastic normal contact forces, `physics.creep.normal_stress`,
    over its envelope volume), and its R0 shrinks at constant solid volume."""
    if not self.porous.any():
        return
    ps, cl, box, t = self.particles, self.contacts, self.box, self.tables
    sel = self.porous[ps.material] & ps.alive
    if not sel.any():
        return
    pos, _, on = box.wall_arrays()
    vol = true_volume(ps.R0, self.swelling[ps.material], ps.lithiation)
    sig = np.empty((ps.n, 3, 3))
    particle_normal_stress(cl, ps, t.normal_columns(ps.confinement, self.flattening_share),
                           box.periodicity(), (ps.wall_delta_flat, pos, on), vol, sig,
                           np.empty(ps.n))
    p = largest_compressive_stress(sig[sel])
    m = ps.material[sel]
    eps = ps.internal_porosity[sel]
    R0 = ps.R0[sel]
    compact(eps, R0, p, self.agglomerate_eps0[m], self.agglomerate_yield[m])
    ps.internal_porosity[sel] = eps
    ps.R0[sel] = R0


def update_radii(self) -> None:
    """Swelling and volume conservation (see dempack.physics): free
    particles get R = R0 (1 + βc)^(1/3); creeping/plastic ones the radius whose
    sphere minus the union of its contact caps holds V0 (1 + βc). 2D (box.dimension 2):
    disks of thickness t, free R = √(A_true/π) and the area-conserving
    R = √((A_true t + allowance)/(π t)), A_true the plane-strain true area
    (physics.plane_strain.true_area, with the disk's out-of-plane creep), the caps the
    circular segments of volume.removed_areas."""
    if (not self.volume_conserving.any() and not np.any(self.swelling != 0.0)
            and not self.porous.any()):
        return  # nothing swells, compacts or conserves volume: radii stay R0
    ps, cl, box = self.particles, self.contacts, self.box
    beta = self.swelling[ps.material]
    disk = getattr(box, "dimension", 3) == 2
    if disk:  # plane-strain disks: areas × t (physics.plane_strain, volume.removed_areas)
        E_p, nu = self.plane_strain_properties()[:2]
        R_new = free_radius_2d(ps.R0, beta, ps.lithiation, nu, ps.out_of_plane_creep)
    else:
        R_new = free_radius(ps.R0, beta, ps.lithiation)
    cons = self.volume_conserving[ps.material]
    if cons.any():
        pos, _, on = box.wall_arrays()
        caps = np.empty(ps.n)
        # the cached correction is per particle index: recompute it after a
        # neighbour-list rebuild (which re-sorts the particles) and every k updates
        if (self.cap_correction is None or self.cap_correction.shape[1] != ps.n
                or self._cap_correction_list is not cl):
            self.cap_correction = np.zeros((2, ps.n))
            self._radius_updates = 0
        self._cap_correction_list = cl
        every = self.scenario.numerics.cap_correction_every
        (removed_areas if disk else removed_volumes)(
            cl.pair_arrays(ps), self.flattening_share, cl.adjacency(), box.periodicity(),
            (pos, on), CIRCLE_DIRECTIONS if disk else QUADRATURE_DIRECTIONS, caps, np.empty(ps.n),
            self.cap_correction[0], self.cap_correction[1], self._radius_updates % every == 0)
        self._radius_updates += 1
        V = (true_area(ps.R0, beta, ps.lithiation, nu, ps.out_of_plane_creep) if disk
             else true_volume(ps.R0, beta, ps.lithiation))
        # a particle enclosed by its neighbours cannot get its volume back by
        # growing (the fixed point stops contracting): bound the cut-off volume
        allowance = np.where(cons, np.minimum(caps, self.scenario.numerics.max_cap_fraction * V),
                             0.0)
        if self.scenario.numerics.confinement == "on":
            # a disk's excess is an area strain: the plane-strain in-plane bulk modulus
            K = (plane_strain_bulk_modulus(E_p, nu) if disk
                 else self.bulk_modulus[ps.material])
            confinement_pressures(caps, allowance, V, K, ps.confinement)
            if self.porous.any():
                sel = self.porous[ps.material]
                m = ps.material[sel]
                ps.confinement[sel] = agglomerate_confinement(
                    caps[sel] - allowance[sel], V[sel], ps.internal_porosity[sel],
                    self.agglomerate_eps0[m], self.agglomerate_yield[m],
                    self.agglomerate_pc_max[m])
        if disk:  # π R² t = A_true t + allowance
            R_new[cons] = np.sqrt((V[cons] + allowance[cons]) / (np.pi * DISK_THICKNESS))
        else:
            R_new[cons] = np.cbrt(3.0 / (4.0 * np.pi) * (V[cons] + allowance[cons]))
    ps.R[:] = R_new
