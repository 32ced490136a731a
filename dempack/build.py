"""Scenario → state: what a Simulation is built of, in one visible order
(`Simulation.__init__` calls them so):

1. materials (`build_materials`): the scenario's materials from the table, the contact
   tables, and the per-material property arrays the kernels index by material id;
2. contact parts (`build_contact_parts`): elastic or inelastic kernels, the optional
   slots (rolling, the 2D mode's line contact), chosen once;
3. (the loop's own state: step count, time, rows, random generator: `Simulation.__init__`)
4. stages and operations (`build_operations`): the protocol's stages, the fracture model,
   the updaters and computes of `dempack.pipeline`;
5. geometry and packing (`generate`: sizes drawn, the die width, the particles inserted;
   or `from_particles`: hand-placed), the die (`make_box`), the masses (`update_mass`),
   the time step (`time_step`, from the Rayleigh time: `rayleigh_time`, `rayleigh_dt`)
   and the first neighbour list. A Simulation restored from a checkpoint
   (`io.checkpoint.from_checkpoint`) takes 1–4 and loads the state of 5.

Each function takes the Simulation (or its class) and sets its attributes; none runs a
step.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .contact import ContactTables
from .geometry import DISK_THICKNESS, Box, particle_volume
from .neighbors import build_contact_list
from .packing import (SizeDistribution, insert_random, insert_random_disks, layer_positions,
                      layer_width, particle_counts, volume_fractions)
from .physics.confinement import bulk_modulus
from .physics.fracture import FractureModel
from .physics.plane_strain import lithiated_properties
from .physics.volume import flattening_share
from .pipeline import FractureUpdate, ObserveRow, SnapshotAtFractions, VolumeUpdate
from .protocol import build_stages
from .state import ParticleState


def rayleigh_time(R, density, shear_modulus, nu):
    """Rayleigh-wave time π R √(ρ/G) / (0.1631 ν + 0.8766) (s) (Li et al. 2005,
    doi:10.1016/j.powtec.2005.04.030)."""
    return math.pi * R * math.sqrt(density / shear_modulus) / (0.1631 * nu + 0.8766)


def build_materials(sim, table) -> None:
    """Set the materials of `sim.scenario` and their per-material arrays on `sim` (index =
    material id, the order of packing.materials), from the material table `table`:
    materials (list of Material; packing.materials[k].friction >= 0 replaces the table's),
    wall_material, tables (ContactTables), swelling β (V = V0 (1 + β c)), active_material
    (lithiates while cycling), porous, agglomerate_eps0 ε0, agglomerate_yield P_y (Pa),
    agglomerate_pc_max (Pa), volume_conserving, flattening_share (nm, nm), bulk_modulus K
    (Pa), temperature (K), creep_A (1/s, at that temperature; 0 with cycling.creep_model =
    "off"), has_creep_law, creep_n, creep_sigma_ref (Pa), creep_stiffness 3G (Pa),
    lithiation_ends (the 2D mode's interpolation endpoints)."""
    sc = sim.scenario
    # packing.materials[k].friction >= 0 replaces the table's friction of that material
    sim.materials = [replace(table[m.material], friction=m.friction) if m.friction >= 0
                     else table[m.material] for m in sc.packing.materials]
    wall = table[sc.die.wall_material]
    if sc.die.wall_friction >= 0:
        wall = replace(wall, friction=sc.die.wall_friction)
    sim.wall_material = wall
    sim.tables = ContactTables(sim.materials, wall)
    mats = sim.materials
    sim.swelling = np.array([m.swelling for m in mats])
    # packing.materials[k].lithiates = "off" keeps an active material out of the cycling
    # (the study's 2D RVE lithiates only the active phase, not the Mo6Se8: DESIGN §10)
    sim.active_material = np.array([m.active and pm.lithiates != "off"
                                    for m, pm in zip(mats, sc.packing.materials)])
    # porous agglomerates (dempack.physics.agglomerate): initial internal porosity ε0 and
    # Heckel yield pressure per material (0 and inf for dense materials)
    sim.porous = np.array([m.agglomerate is not None for m in mats])
    sim.agglomerate_eps0 = np.array([m.agglomerate.internal_porosity if m.agglomerate else 0.0
                                     for m in mats])
    sim.agglomerate_yield = np.array([m.agglomerate.yield_pressure if m.agglomerate else np.inf
                                      for m in mats])
    # cap of an agglomerate's confinement: the hardest particle material's hardness less its
    # own (beyond it the body it is pressed against yields first; physics.agglomerate)
    h = [m.hardness for m in mats if m.hardness is not None]
    sim.agglomerate_pc_max = np.array([max(max(h) - m.hardness, 0.0)
                                       if (m.agglomerate and m.hardness is not None) else np.inf
                                       for m in mats])
    sim.volume_conserving = np.array([m.creep is not None or m.hardness is not None
                                      for m in mats])
    sim.flattening_share = flattening_share(mats)
    sim.bulk_modulus = np.array([bulk_modulus(m.youngs_modulus, m.poisson_ratio)
                                 for m in mats])
    T = sc.cycling.si("temperature_C")
    sim.temperature = T
    sim.creep_A = np.array([m.creep.rate_prefactor(T) if m.creep else 0.0 for m in mats])
    sim.has_creep_law = any(m.creep is not None for m in mats)
    if sc.cycling.creep_model == "off":
        sim.creep_A[:] = 0.0
    sim.creep_n = np.array([m.creep.n if m.creep else 1.0 for m in mats])
    # 2D mode: E, ν and the creep law of each material and of its lithiated form (Se →
    # Li2Se), interpolated with each particle's lithiation (plane_strain_properties)
    sim.lithiation_ends = lithiated_properties(mats, table, T)
    sim.creep_sigma_ref = np.array([m.creep.sigma_ref if m.creep else 1.0 for m in mats])
    # 3G: the bulk's stiffness against which a particle's deviatoric stress relaxes as it
    # creeps (in series with its contacts', dempack.physics.creep.particle_norton_flow)
    sim.creep_stiffness = np.array([3.0 * m.shear_modulus for m in mats])


def build_contact_parts(sim) -> None:
    """Set the contact law's build-time choices on `sim` (after `build_materials`):
    inelastic (contacts that can flatten: a hardness or creep; else the step runs the
    elastic kernels, compiled without flats, dempack.integrate), dimension (3, or 2 for
    the disks of the 2D mode) and contact_slots = (rolling, line), each None where off
    (compiled out of the kernels): rolling True where a pair has rolling friction, line
    the disks' thickness (m) in 2D (contact.line), None for spheres."""
    sc = sim.scenario
    sim.inelastic = bool(np.any(sim.tables.hardness < 1e300)
                         or np.any(sim.tables.hardness_wall < 1e300)
                         or any(m.creep is not None for m in sim.materials))
    sim.dimension = int(sc.run.dimension)
    if sc.stack.mode == "fixed_box" and sc.die.lateral != "walls":
        raise ValueError(f"{sc.source}: stack.mode = 'fixed_box' holds the side walls: it "
                         "needs die.lateral = 'walls' (found 'periodic')")
    sim.contact_slots = (True if sim.tables.rolling else None,
                         DISK_THICKNESS if sim.dimension == 2 else None)


def build_operations(sim) -> None:
    """Set the protocol's stages (`protocol.build_stages`, bound to the materials), the
    fracture model and the operations after the integrator on `sim` (dempack.pipeline):
    updaters (the volume update, then fracture) and computes (snapshots at half-cycle
    fractions, then the observables row), each list in the order it runs."""
    sim.stages = build_stages(sim.scenario)
    for st in sim.stages:  # stages whose parts need the materials (the lithiation rule)
        if hasattr(st, "bind"):
            st.bind(sim)
    sim.fracture = FractureModel(sim)
    # the operations after the integrator, in this order (dempack.pipeline)
    sim.updaters = [VolumeUpdate(sim), FractureUpdate(sim)]
    # snapshots at half-cycle fractions first: written before a checkpoint of the same step
    sim.computes = [SnapshotAtFractions(sim), ObserveRow(sim)]


def generate(sim) -> None:
    """The packing of `sim.scenario` (seeded by run.seed, `sim.rng`): sizes drawn per material,
    counts from the volume (or weight) fractions, the die width (die.width_um, or from the
    solid volume where 0), particles inserted at random (or in layers), then the die, the
    masses, the time step and the first neighbour list."""
    sc = sim.scenario
    mats = sim.materials
    # weight -> packed volume fractions by the density of the particles as packed: a porous
    # agglomerate's envelope density ρ_s (1 − ε0), its skeletal density for the rest
    rho = np.array([m.envelope_density for m in mats])
    if sc.packing.materials[0].weight_fraction is not None:
        phi = volume_fractions([m.weight_fraction for m in sc.packing.materials], rho)
    else:
        phi = np.array([m.volume_fraction for m in sc.packing.materials])
    sim.volume_fractions = phi
    dists = [SizeDistribution.from_scenario(m) for m in sc.packing.materials]
    d50 = np.array([d.median for d in dists])
    plane = sim.dimension == 2
    counts = particle_counts(sc.packing.particles, phi,
                             [d.mean_area() if plane else d.mean_volume() for d in dists])
    diam, mat = [], []
    for k, n in enumerate(counts):
        diam.append(dists[k].sample(sim.rng, n))
        mat.append(np.full(n, k, np.int32))
    diam = np.concatenate(diam)
    mat = np.concatenate(mat)
    R = 0.5 * diam
    # solid volume: 4/3 π Σ R³ (spheres; this order of operations sets the die width of
    # the shipped 3D scenarios to the bit), π t Σ R² (disks)
    vs = (np.pi * DISK_THICKNESS * np.sum(R ** 2) if plane
          else 4.0 / 3.0 * np.pi * np.sum(R ** 3))
    width = sc.die.si("width_um")
    layer = sc.packing.layout == "layer"
    pitch = sc.packing.layer_spacing * 2.0 * float(R.max())
    if layer and plane:
        raise ValueError(f"{sc.source}: packing.layout = 'layer' is a 3D layout; use "
                         "'random' with run.dimension = 2")
    if width == 0.0:
        if plane:  # the disks' area at a packed fraction 0.8, over aspect_ratio·width
            width = math.sqrt(vs / DISK_THICKNESS / (0.8 * sc.packing.aspect_ratio))
        else:
            width = (layer_width(R.size, pitch) if layer
                     else (vs / (0.6 * sc.packing.aspect_ratio)) ** (1.0 / 3.0))
    sim.skin = sc.numerics.si("skin_um") or 0.1 * float(d50.min())
    periodic = sc.die.lateral == "periodic"
    if periodic and width <= 2.0 * (2.0 * R.max() + sim.skin):
        raise ValueError(f"{sc.source}: die.width_um = {width * 1e6:.3g}: a periodic cell "
                         f"must be wider than {2e6 * (2 * R.max() + sim.skin):.3g} um "
                         "(two largest diameters plus skin); raise the particle count or "
                         "die.width_um")
    if not periodic and width <= 2.0 * R.max():
        raise ValueError(f"{sc.source}: die.width_um = {width * 1e6:.3g}: narrower than the "
                         f"largest particle ({2e6 * R.max():.3g} um)")
    if layer:
        try:
            x = layer_positions(R, pitch, width)
        except ValueError as e:
            raise ValueError(f"{sc.source}: die.width_um = {width * 1e6:.3g}: {e}") from None
    elif plane:
        x = insert_random_disks(sim.rng, R, width, periodic,
                                sc.packing.insertion_solid_fraction)
    else:
        x = insert_random(sim.rng, R, width, width, periodic,
                          sc.packing.insertion_solid_fraction)
    ps = ParticleState.allocate(R.size)
    ps.x[:] = x
    ps.R0[:] = R
    ps.R[:] = R
    ps.material[:] = mat
    ps.internal_porosity[:] = sim.agglomerate_eps0[mat]
    sim.particles = ps
    update_mass(sim)
    sim.fracture.start(sim)
    z_top = float(np.max(x[:, 2] + R)) * 1.001
    sim.box = make_box(sim, width, periodic, z_top)
    sim.dt = time_step(sim)
    sim.contacts = build_contact_list(ps, None, sim.box, sim.skin)
    sim._set_drift_limit()
    sim._drift = np.zeros(ps.n)
    sim.apply_thread_count()


def from_particles(cls, scenario, x, radii, material, width: float, z_top: float,
                   velocity=None):
    """A Simulation (of class `cls`) with hand-placed particles (SI): x (n,3), radii (n,),
    material (n,) index into scenario.packing.materials; square die of side
    `width`, punch at z_top. Used by tests and teaching demos."""
    sim = cls(scenario, _empty=True)
    n = len(radii)
    ps = ParticleState.allocate(n)
    ps.x[:] = np.asarray(x, float)
    ps.R0[:] = radii
    ps.R[:] = radii
    ps.material[:] = np.asarray(material, np.int32)
    ps.internal_porosity[:] = sim.agglomerate_eps0[ps.material]
    if velocity is not None:
        ps.v[:] = velocity
    sim.particles = ps
    update_mass(sim)
    sim.fracture.start(sim)
    sim.box = make_box(sim, width, scenario.die.lateral == "periodic", float(z_top))
    sim.skin = scenario.numerics.si("skin_um") or 0.1 * float(2 * np.min(radii))
    sim.dt = time_step(sim)
    sim.volume_fractions = np.array([np.sum(particle_volume(ps.R[ps.material == k],
                                                            sim.dimension))
                                     for k in range(len(sim.materials))])
    sim.volume_fractions /= sim.volume_fractions.sum()
    sim.contacts = build_contact_list(ps, None, sim.box, sim.skin)
    sim._set_drift_limit()
    sim._drift = np.zeros(n)
    sim.apply_thread_count()
    return sim


def make_box(sim, width: float, periodic: bool, z_top: float) -> Box:
    """The die of side `width` (m), punch at z_top; in 2D its Ly is the disks' thickness."""
    Ly = DISK_THICKNESS if sim.dimension == 2 else width
    return Box(L=np.array([width, Ly, 0.0]), periodic_xy=periodic, z_top=z_top,
               dimension=sim.dimension)


def update_mass(sim) -> None:
    """mass = ρ (1 − ε) V × density scaling: ρ the material's (skeletal) density,
    ε the internal porosity of a porous agglomerate (0 for a dense particle), V the
    sphere's 4/3 π R³ (the disk's π R² t in 2D); moment of inertia 2/5 m R² (sphere),
    1/2 m R² (disk, about its axis)."""
    ps = sim.particles
    rho = (np.array([m.density for m in sim.materials])[ps.material]
           * (1.0 - ps.internal_porosity) * sim.density_scaling)
    if sim.dimension == 2:
        ps.mass[:] = rho * particle_volume(ps.R, 2)
        ps.inertia[:] = 0.5 * ps.mass * ps.R ** 2
        return
    ps.mass[:] = rho * 4.0 / 3.0 * np.pi * ps.R ** 3
    ps.inertia[:] = 0.4 * ps.mass * ps.R ** 2


def time_step(sim, R=None) -> float:
    """dt_safety × the smallest Rayleigh time over materials (radii R, default ps.R),
    or numerics.dt_s where set."""
    sc = sim.scenario
    if sc.numerics.dt_s > 0:
        return sc.numerics.si("dt_s")
    return rayleigh_dt(sim, R)


def rayleigh_dt(sim, R=None) -> float:
    """dt_safety × the smallest Rayleigh time (`rayleigh_time`) over materials at radii R
    (default ps.R) (s): the automatic time step, whatever numerics.dt_s says."""
    ps = sim.particles
    R = ps.R if R is None else R
    times = []
    for k, m in enumerate(sim.materials):
        sel = ps.material == k
        if sel.any():
            if sim.porous[k]:
                # a porous agglomerate at its envelope density ρ_s (1 − ε): R √ρ per particle
                rho = m.density * (1.0 - ps.internal_porosity[sel])
                q = int(np.argmin(R[sel] * np.sqrt(rho)))
                Rk, rk = float(R[sel][q]), float(rho[q])
            else:
                Rk, rk = float(R[sel].min()), m.density
            times.append(rayleigh_time(Rk, rk * sim.density_scaling,
                                       m.shear_modulus, m.poisson_ratio))
    return sim.scenario.numerics.dt_safety * min(times)
