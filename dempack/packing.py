"""Material mix, particle size distributions and random loose insertion."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .geometry import min_image


def volume_fractions(weight_fractions, densities):
    """Solid volume fractions from weight fractions: φ_i = (w_i/ρ_i) / Σ_k (w_k/ρ_k)."""
    w = np.asarray(weight_fractions, float)
    rho = np.asarray(densities, float)
    v = w / rho
    return v / v.sum()


def lognormal_moment(d50, gsd, k, cut=2.5):
    """<d^k> (m^k) of a log-normal diameter law (median d50, geometric std gsd) truncated
    at d50·gsd^(±cut), by quadrature."""
    if gsd <= 1.0 + 1e-12:
        return d50 ** k
    s = math.log(gsd)
    z = np.linspace(-cut, cut, 2001)
    pdf = np.exp(-0.5 * z * z)
    dk = (d50 * np.exp(s * z)) ** k
    return float(np.trapezoid(pdf * dk, z) / np.trapezoid(pdf, z))


def lognormal_mean_volume(d50, gsd, cut=2.5):
    """Mean sphere volume π/6 <d³> of a truncated log-normal diameter law."""
    return math.pi / 6.0 * lognormal_moment(d50, gsd, 3, cut)


def particle_counts(n_total, phi, mean_volumes):
    """Counts per material so that the solid volume fractions are phi:
    n_i ∝ φ_i / <V_i>, rounded so that Σ n_i = n_total (largest remainder)."""
    share = np.asarray(phi) / np.asarray(mean_volumes)
    exact = n_total * share / share.sum()
    n = np.floor(exact).astype(int)
    rest = n_total - n.sum()
    order = np.argsort(-(exact - n), kind="stable")
    n[order[:rest]] += 1
    n = np.maximum(n, 1)
    while n.sum() > n_total:
        n[np.argmax(n)] -= 1
    return n


def sample_diameters(rng, n, d50, gsd, cut=2.5):
    """Diameters from a log-normal law, median d50, geometric std gsd, truncated
    at ±cut standard deviations (resampled)."""
    if gsd <= 1.0 + 1e-12:
        return np.full(n, float(d50))
    s = math.log(gsd)
    z = rng.standard_normal(n)
    bad = np.abs(z) > cut
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > cut
    return d50 * np.exp(s * z)


class SizeDistribution:
    """Particle diameters of one material: log-normal (median d50, geometric
    std gsd, truncated at ±2.5 std) or uniform in diameter on [d_min, d_max]. SI."""

    def __init__(self, kind="lognormal", d50=None, gsd=1.0, d_min=None, d_max=None):
        self.kind, self.d50, self.gsd, self.d_min, self.d_max = kind, d50, gsd, d_min, d_max

    @classmethod
    def from_scenario(cls, m):
        return cls(m.distribution, m.si("d50_um"), m.gsd, m.si("d_min_um"), m.si("d_max_um"))

    @property
    def median(self) -> float:
        return self.d50 if self.kind == "lognormal" else 0.5 * (self.d_min + self.d_max)

    def mean_area(self) -> float:
        """Mean disk area π/4 <d²> (m²) (the 2D mode)."""
        if self.kind == "lognormal":
            return math.pi / 4.0 * lognormal_moment(self.d50, self.gsd, 2)
        a, b = self.d_min, self.d_max
        if b - a < 1e-15:
            return math.pi / 4.0 * a ** 2
        return math.pi / 4.0 * (b ** 3 - a ** 3) / (3.0 * (b - a))

    def mean_volume(self) -> float:
        if self.kind == "lognormal":
            return lognormal_mean_volume(self.d50, self.gsd)
        a, b = self.d_min, self.d_max
        if b - a < 1e-15:
            return math.pi / 6.0 * a ** 3
        return math.pi / 6.0 * (b ** 4 - a ** 4) / (4.0 * (b - a))

    def sample(self, rng, n) -> np.ndarray:
        if self.kind == "lognormal":
            return sample_diameters(rng, n, self.d50, self.gsd)
        return rng.uniform(self.d_min, self.d_max, n)


@njit(cache=True)
def _rsa(R, Lx, Ly, periodic, z0, tries_per_particle, seed, x_out, plane=False):
    """Random sequential insertion (largest first) in [0,Lx]×[0,Ly]×[0,∞), or, with
    `plane`, of disks in the x–z plane (y = 0; Ly unused).

    Trial positions come from numba's generator seeded with `seed`. Particle k
    is put at the first trial position that overlaps nothing; z is drawn in
    [R, zmax) where zmax grows 5 % after every `tries_per_particle` failures.
    Returns the number placed.
    """
    np.random.seed(seed)
    n = R.shape[0]
    rmax = R.max()
    cs = 2.0 * rmax
    ncx = max(1, int(Lx / cs))
    ncy = 1 if plane else max(1, int(Ly / cs))
    csx = Lx / ncx
    csy = 1.0 if plane else Ly / ncy
    zmax = z0
    ncz = int(zmax / cs) + 2
    cap = 64
    grid = -np.ones((ncx, ncy, ncz * 4, cap), np.int32)
    fill = np.zeros((ncx, ncy, ncz * 4), np.int32)
    for k in range(n):
        r = R[k]
        placed = False
        attempt = 0
        while not placed:
            t = attempt % tries_per_particle
            if attempt > 0 and t == 0:
                zmax *= 1.05
            u0 = np.random.random()
            u1 = np.random.random()
            u2 = np.random.random()
            if periodic:
                px = u0 * Lx
                py = u1 * Ly
            else:
                px = r + u0 * (Lx - 2 * r)
                py = r + u1 * (Ly - 2 * r)
            if plane:
                py = 0.0
            pz = r + u2 * max(zmax - 2 * r, 0.0)
            attempt += 1
            cx = min(int(px / csx), ncx - 1)
            cy = min(int(py / csy), ncy - 1)
            cz = int(pz / cs)
            if cz + 1 >= grid.shape[2]:
                if attempt > 50 * tries_per_particle:
                    return k
                continue
            ok = True
            for a in range(-1, 2):
                for b in range(-1, 2):
                    gx = cx + a
                    gy = cy + b
                    if periodic:
                        gx %= ncx
                        gy %= ncy
                    elif gx < 0 or gx >= ncx or gy < 0 or gy >= ncy:
                        continue
                    for c in range(-1, 2):
                        gz = cz + c
                        if gz < 0:
                            continue
                        for q in range(fill[gx, gy, gz]):
                            j = grid[gx, gy, gz, q]
                            dx = x_out[j, 0] - px
                            dy = x_out[j, 1] - py
                            if periodic:
                                dx = min_image(dx, Lx)
                                dy = min_image(dy, Ly)
                            dz = x_out[j, 2] - pz
                            if dx * dx + dy * dy + dz * dz < (r + R[j]) ** 2:
                                ok = False
                                break
                        if not ok:
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if ok and fill[cx, cy, cz] < cap:
                x_out[k, 0] = px
                x_out[k, 1] = py
                x_out[k, 2] = pz
                grid[cx, cy, cz, fill[cx, cy, cz]] = k
                fill[cx, cy, cz] += 1
                placed = True
            if attempt > 50 * tries_per_particle:
                return k
    return n


def insert_random(rng, radii, Lx, Ly, periodic, solid_fraction):
    """Non-overlapping random positions for `radii` (any order; largest are
    placed first) in a die of section Lx×Ly at about `solid_fraction`.
    Returns positions (n,3) in the input order."""
    n = radii.size
    order = np.argsort(-radii, kind="stable")
    R = np.ascontiguousarray(radii[order])
    vol = 4.0 / 3.0 * math.pi * float(np.sum(R ** 3))
    z0 = vol / (solid_fraction * Lx * Ly)
    tries = 200
    x = np.zeros((n, 3))
    placed = _rsa(R, Lx, Ly, periodic, z0, tries, int(rng.integers(2**31 - 1)), x)
    if placed < n:
        raise RuntimeError(f"random insertion placed only {placed} of {n} particles; lower "
                           "packing.insertion_solid_fraction")
    out = np.empty_like(x)
    out[order] = x
    return out


def insert_random_disks(rng, radii, Lx, periodic, solid_fraction):
    """Non-overlapping random positions for disks `radii` in the x–z plane (y = 0) of a die
    of width Lx (the 2D mode), at about `solid_fraction` of its area. Returns (n,3) in the
    input order."""
    n = radii.size
    order = np.argsort(-radii, kind="stable")
    R = np.ascontiguousarray(radii[order])
    z0 = math.pi * float(np.sum(R ** 2)) / (solid_fraction * Lx)
    x = np.zeros((n, 3))
    placed = _rsa(R, Lx, 1.0, periodic, z0, 200, int(rng.integers(2**31 - 1)), x, True)
    if placed < n:
        raise RuntimeError(f"random insertion placed only {placed} of {n} disks; lower "
                           "packing.insertion_solid_fraction")
    out = np.empty_like(x)
    out[order] = x
    return out


def layer_width(n: int, pitch: float) -> float:
    """Side (m) of a square die holding n particles one layer thick on a square grid of
    the given pitch (m): ceil(√n) · pitch."""
    return math.ceil(math.sqrt(n)) * pitch


def layer_positions(radii, pitch, width):
    """One layer on the bottom plate: centres on a square grid of `pitch` (m), row by row
    from the corner (x, y = (col + ½) pitch), at height z = R (resting on z = 0).
    Raises ValueError if the layer does not fit in a die of side `width` (m)."""
    n = radii.size
    ncol = int(width // pitch)
    if ncol < 1 or math.ceil(n / ncol) > ncol:
        raise ValueError(f"a layer of {n} particles at pitch {pitch * 1e6:.3g} um needs a die "
                         f"of at least {layer_width(n, pitch) * 1e6:.3g} um")
    k = np.arange(n)
    x = np.empty((n, 3))
    x[:, 0] = (k % ncol + 0.5) * pitch
    x[:, 1] = (k // ncol + 0.5) * pitch
    x[:, 2] = radii
    return x
