"""Particle and contact state: plain structs of numpy arrays (SI units).

Shapes use N = number of particles, P = number of candidate pairs in the
Verlet list, W = 6 wall slots (0: bottom z=0, 1: top punch, 2: x=0, 3: x=Lx,
4: y=0, 5: y=Ly).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

N_WALLS = 6
WALL_BOTTOM, WALL_TOP, WALL_XLO, WALL_XHI, WALL_YLO, WALL_YHI = range(N_WALLS)


@dataclass
class ParticleState:
    """Per-particle arrays.

    x (N,3) m position; v (N,3) m/s velocity; w (N,3) rad/s angular velocity;
    R0 (N) m reference (delithiated) radius; R (N) m current radius;
    mass (N) kg (density-scaled); inertia (N) kg m^2 (density-scaled);
    material (N) int32 index into the simulation's material list;
    lithiation (N) c in [0, 1]; creep_strain (N) accumulated creep strain;
    strength (N) Pa fracture strength (inf: unbreakable); alive (N) bool;
    generation (N) int32 breakage generation (0 = original); pid (N) int64 id;
    force (N,3) N and torque (N,3) N m of the last step;
    wall_xi (N,W,3) m tangential spring of each particle-wall contact;
    wall_delta_flat (N,W) m creep overlap of each particle-wall contact;
    wall_force (N,W,3) N force of each wall on the particle (last step);
    R0_target (N) m reference radius a fresh fragment grows to (0 = not growing;
    see dempack.physics.fracture); lithiation_max (N) largest lithiation reached so far
    (conversion damage, dempack.physics.fracture);
    confinement (N) Pa hydrostatic pressure of a particle whose caps cut off more
    than it can restore (dempack.confinement; updated with the radii);
    lithiation_start (N) lithiation at the start of the current half-cycle;
    reachable (N) share of the particle's volume the current half-cycle can reach (1: all;
    set by the contact-limited lithiation rule, dempack.physics.access);
    internal_porosity (N) the internal porosity ε of a porous agglomerate (0 for a dense
    particle): its solid is (1 − ε) of its envelope (dempack.physics.agglomerate);
    out_of_plane_creep (N) the out-of-plane creep strain ε_yy^cr of a disk in the 2D mode
    (plane strain, dempack.physics.plane_strain; 0 in 3D).
    """

    x: np.ndarray
    v: np.ndarray
    w: np.ndarray
    R0: np.ndarray
    R: np.ndarray
    mass: np.ndarray
    inertia: np.ndarray
    material: np.ndarray
    lithiation: np.ndarray
    creep_strain: np.ndarray
    strength: np.ndarray
    alive: np.ndarray
    generation: np.ndarray
    pid: np.ndarray
    force: np.ndarray
    torque: np.ndarray
    wall_xi: np.ndarray
    wall_delta_flat: np.ndarray
    wall_force: np.ndarray
    R0_target: np.ndarray
    lithiation_max: np.ndarray
    confinement: np.ndarray
    lithiation_start: np.ndarray
    reachable: np.ndarray
    internal_porosity: np.ndarray
    out_of_plane_creep: np.ndarray

    @classmethod
    def allocate(cls, n: int) -> "ParticleState":
        z3 = lambda: np.zeros((n, 3))  # noqa: E731
        return cls(
            x=z3(), v=z3(), w=z3(), R0=np.zeros(n), R=np.zeros(n), mass=np.zeros(n),
            inertia=np.zeros(n), material=np.zeros(n, np.int32), lithiation=np.zeros(n),
            creep_strain=np.zeros(n), strength=np.full(n, np.inf), alive=np.ones(n, bool),
            generation=np.zeros(n, np.int32), pid=np.arange(n, dtype=np.int64),
            force=z3(), torque=z3(), wall_xi=np.zeros((n, N_WALLS, 3)),
            wall_delta_flat=np.zeros((n, N_WALLS)), wall_force=np.zeros((n, N_WALLS, 3)),
            R0_target=np.zeros(n), lithiation_max=np.zeros(n),
            confinement=np.zeros(n), lithiation_start=np.zeros(n), reachable=np.ones(n),
            internal_porosity=np.zeros(n), out_of_plane_creep=np.zeros(n),
        )

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def permute(self, perm: np.ndarray) -> None:
        """Reorder every array in place so that new[k] = old[perm[k]]."""
        for f in fields(self):
            arr = getattr(self, f.name)
            setattr(self, f.name, np.ascontiguousarray(arr[perm]))

    def replace(self, remove, new: "ParticleState", first_pid: int | None = None) -> np.ndarray:
        """Remove particles `remove` (indices) and append the particles of `new`
        (every per-particle array grows or shrinks; survivors keep their order).
        New particles get the pids first_pid, first_pid + 1, … (default: above every pid
        now held). Returns old_to_new (N_old,) int64: new index of each old particle, -1
        where removed."""
        keep = np.ones(self.n, bool)
        keep[np.asarray(remove, np.int64)] = False
        next_pid = first_pid if first_pid is not None else (int(self.pid.max()) + 1 if self.n else 0)
        new.pid[:] = np.arange(next_pid, next_pid + new.n, dtype=np.int64)
        for f in fields(self):
            arr = getattr(self, f.name)
            setattr(self, f.name, np.ascontiguousarray(
                np.concatenate([arr[keep], getattr(new, f.name).astype(arr.dtype, copy=False)])))
        old_to_new = np.full(keep.size, -1, np.int64)
        old_to_new[keep] = np.arange(int(keep.sum()))
        return old_to_new

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d) -> "ParticleState":
        """From as_dict() output; arrays missing (older checkpoints) get allocate()'s defaults."""
        base = cls.allocate(len(d["x"]))
        return cls(**{f.name: np.array(d[f.name]) if f.name in d else getattr(base, f.name)
                      for f in fields(cls)})


@dataclass
class ContactList:
    """Verlet half list (i < j in storage order) with per-pair history.

    i, j (P) int32; pairs sorted by i, so pairs of particle k as first member
    are row_start[k]:row_start[k+1]. col_start (N+1) / col_pair (P) index the
    pairs in which k is the second member (a CSR transpose), so per-particle
    sums gather each pair from both sides without write races.
    xi (P,3) m tangential (Mindlin) spring; delta_flat (P) m creep overlap.
    (Pair forces are not part of the list: Simulation.pair_contact_forces.)
    x_ref (N,3), R_ref (N): positions and radii when the list was built.
    wall_touch (N) uint8: bit k set where the particle's wall slot k may hold a
    non-zero spring / force (ParticleState.wall_xi, wall_force); the step kernels
    keep it, so a particle away from the walls never touches its wall arrays.
    All bits set (e.g. a list read from an older checkpoint) is always safe.
    """

    i: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    j: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    row_start: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    col_start: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    col_pair: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    xi: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    delta_flat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x_ref: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    R_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wall_touch: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))

    @property
    def n_pairs(self) -> int:
        return self.i.shape[0]

    def pair_arrays(self, ps: ParticleState) -> tuple:
        """pairs = (x, R, mat, pi, pj, delta_flat), the pair contacts as the kernels of
        dempack.physics take them: ps's centres, radii and material indices with this
        list's members i, j and flats."""
        return (ps.x, ps.R, ps.material, self.i, self.j, self.delta_flat)

    def adjacency(self) -> tuple:
        """(row_start, col_start, col_pair): each particle's pairs as first member (its row)
        and as second member (its column), as the kernels of dempack.physics.volume take
        them."""
        return (self.row_start, self.col_start, self.col_pair)

    def remapped(self, old_to_new: np.ndarray) -> "ContactList":
        """History-only list (i, j, xi, delta_flat) in a new particle numbering (old_to_new
        from ParticleState.replace: order-preserving, -1 = removed); pairs with a
        removed member are dropped. Feed it to neighbors.build_contact_list."""
        ni = old_to_new[self.i]
        nj = old_to_new[self.j]
        ok = (ni >= 0) & (nj >= 0)
        return ContactList(i=ni[ok].astype(np.int32), j=nj[ok].astype(np.int32),
                           xi=self.xi[ok].copy(), delta_flat=self.delta_flat[ok].copy())

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d) -> "ContactList":
        out = cls(**{f.name: np.array(d[f.name]) for f in fields(cls)
                     if f.name != "wall_touch" or f.name in d})
        if "wall_touch" not in d:  # older checkpoint: every wall slot may be in use
            out.wall_touch = np.full(len(out.R_ref), 255, np.uint8)
        return out
