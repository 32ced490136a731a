"""Material table: loading and validation of ``assets/materials.toml`` (DESIGN.md §4).

Every material is one TOML table; its optional ``creep``, ``fracture`` and ``agglomerate`` sub-tables give
the Norton creep law, the Weibull fracture law and the porous-agglomerate compaction law (Heckel), and its
``source`` sub-table gives a citation or ``"assumed: why"`` for
every numeric key (same key names; the keys of the four tables never collide). Keys carry their unit in
the name (``density_kg_m3``, ``youngs_modulus_Pa`` ...); the :class:`Material` objects hold plain SI values.

The file is validated completely on load: a missing, unknown, mistyped or out-of-range key, or a numeric key
without a source, raises :class:`MaterialError` whose message names the file, the material and the key, e.g.
``assets/materials.toml: [FeS] youngs_modulus_Pa = -1: must be > 0``.

This module imports neither Qt nor numba.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .io.tomlfile import read_toml

__all__ = [
    "R_GAS",
    "AgglomerateLaw",
    "CreepLaw",
    "FractureLaw",
    "Material",
    "MaterialError",
    "DEFAULT_MATERIALS_FILE",
    "FRACTURE_CRITERIA",
    "default_materials_file",
    "load_materials",
    "format_table",
]

R_GAS = 8.314462618
"""Molar gas constant, J/(mol K) (CODATA 2018, exact)."""

DEFAULT_MATERIALS_FILE: Path = Path(__file__).resolve().parents[1] / "assets" / "materials.toml"
"""The material table shipped with dempack. ``load_materials()`` reads ``$DEMPACK_MATERIALS`` instead
when that environment variable is set (see :func:`default_materials_file`)."""

MATERIALS_ENV_VAR = "DEMPACK_MATERIALS"

FRACTURE_CRITERIA = ("octahedral_shear", "contact_force")
"""Failure criteria a brittle material may choose (DESIGN.md §2, Fracture):
``octahedral_shear`` compares the octahedral shear stress of the particle stress tensor with sigma_f;
``contact_force`` compares max contact force / d² with sigma_f."""


class MaterialError(ValueError):
    """An invalid or missing material table. The message names the file, the material and the key."""


@dataclass(frozen=True)
class CreepLaw:
    """Norton power-law creep, ε̇ = A(T) (σ/σ_ref)^n with A(T) = A_ref exp(−Q/R (1/T − 1/T_ref)).

    Attributes
    ----------
    A_ref : rate prefactor at T_ref, 1/s
    n : stress exponent, dimensionless (>= 1)
    sigma_ref : reference stress, Pa
    Q : activation energy, J/mol
    T_ref : reference temperature, K
    """

    A_ref: float
    n: float
    sigma_ref: float
    Q: float
    T_ref: float

    def rate_prefactor(self, T: float) -> float:
        """A(T) = A_ref exp(−Q/R_gas (1/T − 1/T_ref)), in 1/s, for a temperature T in K."""
        if not T > 0:
            raise ValueError(f"temperature must be > 0 K, got {T!r}")
        return self.A_ref * math.exp(-self.Q / R_GAS * (1.0 / T - 1.0 / self.T_ref))

    def strain_rate(self, sigma: float, T: float) -> float:
        """Norton strain rate ε̇ = A(T) (σ/σ_ref)^n, 1/s, for an equivalent stress σ in Pa (σ <= 0 gives 0)."""
        if sigma <= 0.0:
            return 0.0
        return self.rate_prefactor(T) * (sigma / self.sigma_ref) ** self.n


@dataclass(frozen=True)
class FractureLaw:
    """Weibull strength with size effect, σ_f = σ_0 (d/d_0)^(−3/m) (−ln U)^(1/m), U ~ uniform(0, 1).

    Attributes
    ----------
    sigma0 : characteristic strength at the reference diameter, Pa
    weibull_m : Weibull modulus, dimensionless
    d0 : reference diameter, m
    min_fragment_diameter : particles smaller than this no longer break (comminution limit), m
    criterion : one of :data:`FRACTURE_CRITERIA`
    lithiated_strength_factor : strength at full lithiation / strength delithiated; the strength
        falls linearly with the largest lithiation reached, σ_f (1 − (1 − k) c_max) (None: 1)
    enabled : False = the particles break only where a scenario sets the material's
        ``fracture = "on"``; None (key absent) or True = they break by default
    fragment_rolling_friction : μ_r (dimensionless, 0..1) of the rolling-resistance part for
        this material's fragments (generation > 0): the shape resistance of angular crushed
        debris, whereas the intact particles keep the material's ``rolling_friction``; None:
        fragments roll like the intact particles (``dempack.contact.tables``, issue 16.2)
    """

    sigma0: float
    weibull_m: float
    d0: float
    min_fragment_diameter: float
    criterion: str
    enabled: bool | None = None
    lithiated_strength_factor: float | None = None
    fragment_rolling_friction: float | None = None


@dataclass(frozen=True)
class AgglomerateLaw:
    """A porous agglomerate of fine primaries (e.g. Super P carbon black): the particle is the
    agglomerate's envelope, its material density the skeletal (true) density ρ_s, and its
    internal porosity ε falls irreversibly with the largest compressive principal stress p
    it carries, by Heckel's compaction law (Heckel, Trans. Metall. Soc. AIME 221 (1961) 671):

        ln(1/ε) = ln(1/ε0) + p/P_y,   i.e.  ε(p) = ε0 exp(−p/P_y).

    Attributes
    ----------
    internal_porosity : ε0, the loose agglomerate's internal porosity (0 <= ε0 < 1)
    yield_pressure : P_y, Heckel's yield pressure (1/K), Pa
    """

    internal_porosity: float
    yield_pressure: float

    def porosity(self, p: float) -> float:
        """ε(p) = ε0 exp(−max(p, 0)/P_y): the internal porosity at a compressive stress p (Pa)."""
        return self.internal_porosity * math.exp(-max(p, 0.0) / self.yield_pressure)

    def envelope_density(self, skeletal_density: float, eps: float | None = None) -> float:
        """ρ_env = ρ_s (1 − ε) (kg/m³), ε default ε0: the density of the agglomerate's envelope."""
        e = self.internal_porosity if eps is None else eps
        return skeletal_density * (1.0 - e)


@dataclass(frozen=True)
class Material:
    """One material, all values SI.

    Attributes
    ----------
    name : table id in the file (e.g. ``"Se"``); long_name : human-readable name
    density : kg/m³; youngs_modulus : Pa; poisson_ratio : dimensionless
    friction : Coulomb coefficient; restitution : coefficient of restitution
    swelling : β, relative volume change at full lithiation, V = V0 (1 + β c)
    active : lithiates under the cycling protocol
    electron_conductor, ion_conductor : counts as an electron / Li-ion path in percolation
    electronic_conductivity, ionic_conductivity : S/m
    melting_point : K, or None where not given
    hardness : Pa, mean contact pressure of fully plastic indentation (caps the contact pressure:
        the excess overlap becomes irreversible plastic flattening), or None (purely elastic)
    rolling_friction : μ_r of the rolling-resistance contact part (dimensionless), or None (no
        rolling resistance; see ``dempack.contact.rolling``)
    lithium_diffusivity : D (m²/s) of Li through the particle (its lithiated product), for the
        diffusion length L_D = √(D t_half) of the contact-limited lithiation rule
        (``dempack.physics.access``), or None
    lithiated_form : the table id of the fully lithiated product (Se → "Li2Se"), or None: in
        the 2D mode its E, ν and creep law are interpolated with the lithiation
        (``dempack.physics.plane_strain.lithiated_properties``)
    creep : :class:`CreepLaw` or None; fracture : :class:`FractureLaw` or None
    agglomerate : :class:`AgglomerateLaw` or None (a dense particle): the particle is a porous
        agglomerate whose internal pores count in the electrode's porosity; `density` is then
        the skeletal density and :attr:`envelope_density` the particle's
    sources : TOML key name (e.g. ``"youngs_modulus_Pa"``, ``"n"``, ``"sigma0_Pa"``) → citation / "assumed: why"
    """

    name: str
    long_name: str
    density: float
    youngs_modulus: float
    poisson_ratio: float
    friction: float
    restitution: float
    swelling: float
    active: bool
    electron_conductor: bool
    ion_conductor: bool
    electronic_conductivity: float
    ionic_conductivity: float
    melting_point: float | None
    hardness: float | None
    creep: CreepLaw | None
    fracture: FractureLaw | None
    sources: dict = field(default_factory=dict, compare=False, hash=False)
    rolling_friction: float | None = None
    lithium_diffusivity: float | None = None
    agglomerate: AgglomerateLaw | None = None
    lithiated_form: str | None = None

    @property
    def envelope_density(self) -> float:
        """Density of the particle as packed (kg/m³): ρ_s (1 − ε0) for a porous agglomerate, else
        the density. Weight fractions convert to packed volume fractions with it."""
        if self.agglomerate is None:
            return self.density
        return self.agglomerate.envelope_density(self.density)

    @property
    def shear_modulus(self) -> float:
        """G = E / (2 (1 + ν)), Pa."""
        return self.youngs_modulus / (2.0 * (1.0 + self.poisson_ratio))


# ---------------------------------------------------------------------------------------------------------
# Schema: TOML key -> (attribute, kind, required, checks). kind is "number", "bool" or "str".
# A check is (description, predicate); the description completes "must be ...".

_Check = tuple[str, Callable[[Any], bool]]


def _gt(b: float) -> _Check:
    return (f"> {b:g}", lambda v: v > b)


def _ge(b: float) -> _Check:
    return (f">= {b:g}", lambda v: v >= b)


def _lt(b: float) -> _Check:
    return (f"< {b:g}", lambda v: v < b)


def _le(b: float) -> _Check:
    return (f"<= {b:g}", lambda v: v <= b)


_MATERIAL_KEYS: dict[str, tuple[str, str, bool, tuple[_Check, ...]]] = {
    "name_long": ("long_name", "str", True, ()),
    "density_kg_m3": ("density", "number", True, (_gt(0),)),
    "youngs_modulus_Pa": ("youngs_modulus", "number", True, (_gt(0),)),
    "poisson_ratio": ("poisson_ratio", "number", True, (_ge(0), _lt(0.5))),
    "friction": ("friction", "number", True, (_ge(0),)),
    "restitution": ("restitution", "number", True, (_gt(0), _le(1))),
    "swelling_volume_fraction": ("swelling", "number", True, (_gt(-1),)),
    "electrochemically_active": ("active", "bool", True, ()),
    "electron_conductor": ("electron_conductor", "bool", True, ()),
    "ion_conductor": ("ion_conductor", "bool", True, ()),
    "electronic_conductivity_S_m": ("electronic_conductivity", "number", True, (_ge(0),)),
    "ionic_conductivity_S_m": ("ionic_conductivity", "number", True, (_ge(0),)),
    "melting_point_K": ("melting_point", "number", False, (_gt(0),)),
    "hardness_Pa": ("hardness", "number", False, (_gt(0),)),
    "rolling_friction": ("rolling_friction", "number", False, (_ge(0),)),
    "lithium_diffusivity_m2_s": ("lithium_diffusivity", "number", False, (_gt(0),)),
    "lithiated_form": ("lithiated_form", "str", False, ()),
}

_CREEP_KEYS: dict[str, tuple[str, str, bool, tuple[_Check, ...]]] = {
    "A_ref_per_s": ("A_ref", "number", True, (_gt(0),)),
    "n": ("n", "number", True, (_ge(1),)),
    "sigma_ref_Pa": ("sigma_ref", "number", True, (_gt(0),)),
    "Q_J_mol": ("Q", "number", True, (_ge(0),)),
    "T_ref_K": ("T_ref", "number", True, (_gt(0),)),
}

_FRACTURE_KEYS: dict[str, tuple[str, str, bool, tuple[_Check, ...]]] = {
    "sigma0_Pa": ("sigma0", "number", True, (_gt(0),)),
    "weibull_m": ("weibull_m", "number", True, (_gt(0),)),
    "d0_m": ("d0", "number", True, (_gt(0),)),
    "min_fragment_diameter_m": ("min_fragment_diameter", "number", True, (_gt(0),)),
    "criterion": (
        "criterion",
        "str",
        True,
        (("one of " + ", ".join(repr(c) for c in FRACTURE_CRITERIA), lambda v: v in FRACTURE_CRITERIA),),
    ),
    "enabled": ("enabled", "bool", False, ()),
    "lithiated_strength_factor": ("lithiated_strength_factor", "number", False, (_gt(0), _le(1))),
    "fragment_rolling_friction": ("fragment_rolling_friction", "number", False, (_ge(0), _le(1))),
}

_AGGLOMERATE_KEYS: dict[str, tuple[str, str, bool, tuple[_Check, ...]]] = {
    "internal_porosity": ("internal_porosity", "number", True, (_ge(0), _lt(1))),
    "heckel_yield_pressure_Pa": ("yield_pressure", "number", True, (_gt(0),)),
}

_SUBTABLES = {"creep": _CREEP_KEYS, "fracture": _FRACTURE_KEYS, "agglomerate": _AGGLOMERATE_KEYS}
_ALL_DATA_KEYS = set(_MATERIAL_KEYS) | set(_CREEP_KEYS) | set(_FRACTURE_KEYS) | set(_AGGLOMERATE_KEYS)
assert len(_ALL_DATA_KEYS) == (len(_MATERIAL_KEYS) + len(_CREEP_KEYS) + len(_FRACTURE_KEYS)
                               + len(_AGGLOMERATE_KEYS)), "key collision"

_KIND_NAMES = {"number": "a number", "bool": "true or false", "str": "a string"}


def default_materials_file() -> Path:
    """The file ``load_materials()`` reads: ``$DEMPACK_MATERIALS`` if set, else :data:`DEFAULT_MATERIALS_FILE`."""
    env = os.environ.get(MATERIALS_ENV_VAR)
    return Path(env) if env else DEFAULT_MATERIALS_FILE


def _display_path(path: Path) -> str:
    """The path as shown in messages: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return type(value).__name__
    return str(value)


class _Reader:
    """Validates one material table; every error message starts with '<file>: [<material>] '."""

    def __init__(self, file_label: str, material: str):
        self.file_label = file_label
        self.material = material

    def error(self, where: str, text: str) -> MaterialError:
        return MaterialError(f"{self.file_label}: [{where}] {text}")

    def read(self, table: dict, schema: dict, where: str) -> dict[str, Any]:
        """Check `table` against `schema`; returns attribute -> value (missing optional keys -> None)."""
        for key in table:
            if key not in schema:
                allowed = ", ".join(schema)
                raise self.error(where, f"{key}: unknown key (allowed: {allowed})")
        out: dict[str, Any] = {}
        for key, (attr, kind, required, checks) in schema.items():
            if key not in table:
                if required:
                    raise self.error(where, f"{key}: missing required key ({_KIND_NAMES[kind]})")
                out[attr] = None
                continue
            value = table[key]
            shown = _fmt_value(value)
            if kind == "number":
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            elif kind == "bool":
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise self.error(
                    where, f"{key} = {shown}: must be {_KIND_NAMES[kind]}, not {type(value).__name__}"
                )
            if kind == "number":
                value = float(value)
                if not math.isfinite(value):
                    raise self.error(where, f"{key} = {shown}: must be a finite number")
            for text, predicate in checks:
                if not predicate(value):
                    raise self.error(where, f"{key} = {shown}: must be {text}")
            out[attr] = value
        return out


def _read_material(name: str, table: Any, file_label: str) -> Material:
    r = _Reader(file_label, name)
    if not isinstance(table, dict):
        raise MaterialError(
            f"{file_label}: {name} = {_fmt_value(table)}: top-level entries must be material tables [{name}]"
        )
    main = {k: v for k, v in table.items() if k not in _SUBTABLES and k != "source"}
    values = r.read(main, _MATERIAL_KEYS, name)
    present_keys = set(main)
    present_numeric = [k for k in main if _MATERIAL_KEYS[k][1] == "number"]

    laws: dict[str, Any] = {}
    for sub, schema in _SUBTABLES.items():
        if sub not in table:
            laws[sub] = None
            continue
        where = f"{name}.{sub}"
        subtable = table[sub]
        if not isinstance(subtable, dict):
            raise r.error(name, f"{sub} = {_fmt_value(subtable)}: must be a table [{where}]")
        laws[sub] = r.read(subtable, schema, where)
        present_keys |= set(subtable)
        present_numeric += [k for k in subtable if schema[k][1] == "number"]

    # Sources: one string per numeric key (also allowed for any other data key); no strays.
    where = f"{name}.source"
    sources = table.get("source", {})
    if not isinstance(sources, dict):
        raise r.error(name, f"source = {_fmt_value(sources)}: must be a table [{where}]")
    for key, text in sources.items():
        if key not in _ALL_DATA_KEYS:
            raise r.error(where, f"{key}: unknown key (a source must name a data key of [{name}])")
        if not isinstance(text, str) or not text.strip():
            raise r.error(where, f"{key} = {_fmt_value(text)}: must be a non-empty string (citation or 'assumed: why')")
        if key not in present_keys:
            raise r.error(where, f"{key}: source given for a key that [{name}] does not set")
    for key in present_numeric:
        if key not in sources:
            raise r.error(
                where, f"{key}: missing source (every numeric key needs a citation or 'assumed: why')"
            )

    creep = CreepLaw(**laws["creep"]) if laws["creep"] is not None else None
    fracture = FractureLaw(**laws["fracture"]) if laws["fracture"] is not None else None
    agglomerate = AgglomerateLaw(**laws["agglomerate"]) if laws["agglomerate"] is not None else None
    return Material(name=name, creep=creep, fracture=fracture, agglomerate=agglomerate,
                    sources=dict(sources), **values)


def load_materials(path: str | Path | None = None) -> dict[str, Material]:
    """Load and validate a material table.

    Parameters
    ----------
    path : the TOML file; None reads :func:`default_materials_file` (``$DEMPACK_MATERIALS`` or the shipped
        ``assets/materials.toml``).

    Returns
    -------
    dict material id -> :class:`Material`, in file order.

    Raises
    ------
    MaterialError : file missing or unreadable, TOML syntax error, or any invalid entry.
    """
    p = Path(path) if path is not None else default_materials_file()
    label = _display_path(p)
    data = read_toml(p, label, "material file", MaterialError)
    if not data:
        raise MaterialError(f"{label}: no material tables found")
    mats = {name: _read_material(name, table, label) for name, table in data.items()}
    for name, m in mats.items():
        if m.lithiated_form is not None and m.lithiated_form not in mats:
            raise MaterialError(f"{label}: [{name}] lithiated_form = {m.lithiated_form!r}: no such "
                                f"material in the file (one of {', '.join(mats)})")
    return mats


def format_table(materials: dict[str, Material]) -> str:
    """Human-readable table (for ``dempack materials``): one row per material, then each material's sources."""
    header = (
        "material", "rho kg/m3", "E GPa", "nu", "mu", "e", "beta",
        "creep n", "sigma_ref MPa", "frac sigma0 MPa", "frac m", "active", "e-/ion",
    )

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    rows = []
    for m in materials.values():
        c, f = m.creep, m.fracture
        rows.append((
            m.name,
            num(m.density, ".0f"),
            num(m.youngs_modulus / 1e9, ".3g"),
            num(m.poisson_ratio, ".3g"),
            num(m.friction, ".3g"),
            num(m.restitution, ".3g"),
            num(m.swelling, ".3g"),
            num(c.n if c else None, ".3g"),
            num(c.sigma_ref / 1e6 if c else None, ".3g"),
            num(f.sigma0 / 1e6 if f else None, ".3g"),
            num(f.weibull_m if f else None, ".3g"),
            "yes" if m.active else "no",
            ("e" if m.electron_conductor else "-") + "/" + ("i" if m.ion_conductor else "-"),
        ))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = []
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    lines.append("")
    lines.append("Sources")
    for m in materials.values():
        lines.append(f"[{m.name}] {m.long_name}")
        for key, text in m.sources.items():
            lines.append(f"  {key}: {text}")
    return "\n".join(lines)
