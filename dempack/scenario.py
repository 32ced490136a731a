"""Scenario schema, TOML loading, validation and unit conversion.

One schema (`SCHEMA`) is the single source of truth for the CLI, the Python
API and the app's form. Keys carry their unit in the name (`d50_um`,
`pressure_MPa`); attribute names equal the TOML keys, and `si(key)` returns
the value converted to SI. Validation happens before anything is compiled
and every message names the file, the key, the value and what is allowed.
"""
from __future__ import annotations

import copy
import math
import re
import reprlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO_ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "quickstart.toml"

UNIT_SCALE = {"um": 1e-6, "m": 1.0, "MPa": 1e6, "Pa": 1.0, "s": 1.0, "m_per_s": 1.0,
              "m_s2": 1.0, "K": 1.0, "MPa_per_um": 1e12, "h": 3600.0}
UNIT_OFFSET = {"C": 273.15}  # °C → K


INT64_MAX = 2 ** 63 - 1  # TOML integers are 64-bit; so are the engine's counters


class ScenarioError(ValueError):
    """A scenario that cannot run; the message says where and why.

    str(e) is the whole message: '<file>: invalid scenario:' and one indented line per
    problem. `source` is the file and `errors` the problems, one line each (each names
    its key and what is allowed); `lines()` gives '<file>: <problem>' per problem."""

    def __init__(self, message: str, source: str | None = None, errors: list | None = None):
        super().__init__(message)
        self.source = source
        self.errors = list(errors or [])

    def lines(self) -> list[str]:
        """The message as single lines, each naming the file (for a command line)."""
        if self.source is not None and self.errors:
            return [f"{self.source}: {e}" for e in self.errors]
        return [" ".join(str(self).split("\n"))]


class _Show(reprlib.Repr):
    """Short one-line reprs of user values for messages (long strings, deep or long
    lists, and integers with thousands of digits, which repr() refuses, are cut)."""

    def __init__(self):
        super().__init__()
        self.maxstring, self.maxother, self.maxlevel = 60, 60, 3
        self.maxlist = self.maxdict = 4

    def repr_int(self, x, level):
        if x.bit_length() > 200:
            return f"<{'-' if x < 0 else ''}integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return repr(x)


_show = _Show().repr


KEY_SHOWN_MAX = 200  # characters of a key's repr shown in full in messages


def _key(k) -> str:
    """A key as written in messages: itself, or its repr where it would not print on
    one line as it is (control characters, invisible characters, not a string); a repr
    longer than KEY_SHOWN_MAX is cut to its first half and an ellipsis."""
    if isinstance(k, str) and k.isprintable():
        return k
    r = repr(k)
    return r if len(r) <= KEY_SHOWN_MAX else r[:KEY_SHOWN_MAX // 2] + "…"


@dataclass(frozen=True)
class Field:
    type: type
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple | None = None
    unit: str = ""

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        tname = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
                 list: "an array of numbers, each"}[self.type]
        parts = []
        if self.min is not None:
            parts.append(f"{'>' if self.min_exclusive else '>='} {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return tname + (" " + " and ".join(parts) if parts else "")


REQUIRED = object()

# section -> key -> Field ; "materials" and "pressing" are arrays of tables
SCHEMA: dict[str, dict[str, Field]] = {
    "run": {
        "name": Field(str, "dempack run", "Name of the run (shown in outputs)."),
        "seed": Field(int, 1, "Seed of the random generator (packing, strengths).", min=0),
        "dimension": Field(int, 3, "3: spheres in a die; 2: disks in plane strain (the x-z "
                           "plane, unit out-of-plane thickness: the study's 2D RVE; DESIGN §2).",
                           min=2, max=3),
        "threads": Field(int, 0, "Numba threads (0 = all cores).", min=0, max=1024),
        "output_interval_steps": Field(int, 500, "Steps between two rows of timeseries.csv.",
                                       min=1),
        "snapshot_every_outputs": Field(int, 5, "VTK snapshot every k output rows (0 = none).",
                                        min=0),
        "checkpoint_every_outputs": Field(int, 20, "Checkpoint every k output rows.", min=1),
        "snapshot_at_half_cycle_fractions": Field(
            list, (), "VTK snapshots at these fractions of every half-cycle of cycling (0 = its "
            "start, 1 = its end; e.g. [0.0, 0.5, 1.0]), written at the step where the fraction "
            "is first reached, beside the periodic ones (a fraction f of a discharge is "
            "lithiation c0 + f (1 - c0), of a charge 1 - f (1 - residual_lithiation)).",
            min=0.0, max=1.0),
        "max_overlap_ratio": Field(float, 0.5, "Divergence guard: stop when an elastic overlap "
                                   "exceeds this fraction of the smaller radius (dense beds "
                                   "at 100-360 MPa reach 0.1-0.2 with rigid particles, 0.3 where "
                                   "confined soft particles carry GPa pressures; a blow-up "
                                   "runs through the whole radius).", min=0.0, max=1.0,
                                   min_exclusive=True),
        "max_steps": Field(int, 0, "Hard limit on DEM steps (0 = none).", min=0),
    },
    "packing": {
        "particles": Field(int, REQUIRED, "Number of particles.", min=1, max=50_000_000),
        "layout": Field(str, "random", "Initial placement: random loose insertion in a tall "
                        "die, or one layer resting on the bottom plate on a square grid "
                        "(particle-crushing tests; see packing.layer_spacing).",
                        choices=("random", "layer")),
        "layer_spacing": Field(float, 2.0, "Layer layout: centre distance of the grid in "
                               "units of the largest diameter.", min=1.0, max=100.0,
                               min_exclusive=True),
        "insertion_solid_fraction": Field(float, 0.3, "Solid fraction of the loose random "
                                          "insertion in the tall die.", min=0.01, max=0.45),
        "aspect_ratio": Field(float, 1.0, "Expected pressed height / die width (sets the die "
                              "width when die.width_um = 0).", min=0.05, max=20.0,
                              min_exclusive=False),
    },
    "materials": {  # [[packing.materials]]
        "material": Field(str, REQUIRED, "Material name from the materials table."),
        "weight_fraction": Field(float, None, "Weight fraction of the solids (give this or "
                                 "volume_fraction).", min=0.0, max=1.0, min_exclusive=True),
        "volume_fraction": Field(float, None, "Volume fraction of the solids.", min=0.0, max=1.0,
                                 min_exclusive=True),
        "distribution": Field(str, "lognormal", "Particle size distribution: log-normal (d50_um, "
                              "gsd) or uniform in diameter (d_min_um, d_max_um).",
                              choices=("lognormal", "uniform")),
        "d50_um": Field(float, None, "Median particle diameter (lognormal).", min=0.0, max=1e4,
                        min_exclusive=True, unit="um"),
        "gsd": Field(float, 1.0, "Geometric standard deviation of the log-normal size "
                     "distribution (1 = all the same size); sizes are cut at d50·gsd^±2.5.",
                     min=1.0, max=5.0),
        "d_min_um": Field(float, None, "Smallest diameter (uniform).", min=0.0, max=1e4,
                          min_exclusive=True, unit="um"),
        "d_max_um": Field(float, None, "Largest diameter (uniform).", min=0.0, max=1e4,
                          min_exclusive=True, unit="um"),
        "friction": Field(float, -1.0, "Friction coefficient of this material's contacts (-1 = "
                          "from the materials table; a pair takes the smaller of its two).",
                          min=-1.0, max=2.0),
        "lithiates": Field(str, "default", "Whether this material lithiates while cycling: as the "
                           "materials table says (electrochemically_active), or off (e.g. the "
                           "Mo6Se8 framework of the study's 2D RVE, whose model lithiates only "
                           "the active phase).", choices=("default", "off")),
        "fracture": Field(str, "default", "Fracture of this material: as the materials table "
                          "says (its fracture table and `enabled` flag), on (needs a fracture "
                          "table) or off.", choices=("default", "on", "off")),
    },
    "die": {
        "lateral": Field(str, "walls", "Side boundaries: rigid frictional walls or periodic (RVE).",
                         choices=("walls", "periodic")),
        "width_um": Field(float, 0.0, "Die side length (square die); 0 = from particle count "
                          "and packing.aspect_ratio.", min=0.0, unit="um"),
        "wall_material": Field(str, "steel", "Material of the die walls and punch."),
        "wall_friction": Field(float, -1.0, "Wall friction coefficient (-1 = from the "
                               "materials table).", min=-1.0, max=2.0),
    },
    "numerics": {
        "dt_safety": Field(float, 0.2, "Time step as a fraction of the Rayleigh time of the "
                           "smallest particle.", min=0.0, max=0.5, min_exclusive=True),
        "dt_s": Field(float, 0.0, "Fixed time step (0 = from dt_safety).", min=0.0, unit="s"),
        "density_scaling": Field(float, 1.0, "Mass scaling factor for quasi-static runs "
                                 "(reported in the summary).", min=1.0, max=1e12),
        "skin_um": Field(float, 0.0, "Verlet skin (0 = 0.1 × smallest d50).", min=0.0, unit="um"),
        "gravity_m_s2": Field(float, 0.0, "Body acceleration downward (scaled gravity).",
                              min=0.0, unit="m_s2"),
        "cap_correction_every": Field(int, 5, "Volume conservation: recompute the volume "
                                      "that intersecting contact caps share (a quadrature, "
                                      "the costly part) every k radius updates; reused between.",
                                      min=1, max=1000),
        "max_cap_fraction": Field(float, 0.5, "Volume conservation of creeping/plastic "
                                  "particles restores cut-off volume up to this fraction of the "
                                  "particle volume by growing (bounds the growth of a nearly "
                                  "enclosed particle); what its caps cut beyond it is carried "
                                  "as confinement pressure (numerics.confinement) or, with "
                                  "that off, shows as volume_deficit. The radius is a fixed "
                                  "point whose gain is 1/(free surface fraction): at 0.9 the "
                                  "cycled Se kept 2-4.5 % free surface and results depended on "
                                  "how often the radius was updated; at 0.5 (6-11 %) they do "
                                  "not (docs/validation.md, 'What depends on the update count').",
                                  min=0.0, max=1.0),
        "confinement": Field(str, "on", "High-density correction (dempack.physics.confinement): a "
                             "particle whose contact caps cut off more than it can restore by "
                             "growing carries p = K ε_v (K its bulk modulus), which raises its "
                             "contacts' plastic limit and its creep threshold by p.",
                             choices=("on", "off")),
    },
    "pressing": {  # [[pressing]]
        "mode": Field(str, "servo", "Punch control: servo to pressure_MPa; displacement_rate at "
                      "speed_m_per_s until pressure_MPa (or for steps); fixed_gap for steps; "
                      "spring fixture (spring_stiffness_MPa_per_um, spring_preload_MPa) for steps; "
                      "grow: the punch held, every particle grows over steps until the porosity "
                      "is `porosity`, then hold_steps to settle (a fixed box at a given solid "
                      "fraction, e.g. the study's 2D RVE).",
                      choices=("servo", "displacement_rate", "fixed_gap", "spring", "grow")),
        "pressure_MPa": Field(float, 0.0, "Target punch pressure (servo), or the pressure that "
                              "ends a displacement_rate stage (0 = none).", min=0.0, max=5000.0,
                              unit="MPa"),
        "speed_m_per_s": Field(float, 0.5, "Punch speed (displacement_rate), or its maximum "
                               "(servo, spring).", min=0.0, max=100.0, min_exclusive=True,
                               unit="m_per_s"),
        "porosity": Field(float, 0.0, "A displacement_rate stage ends once the porosity, 1 - (true "
                          "solid volume)/(die volume), falls to this (0 = not used; checked "
                          "every 50 steps); a grow stage grows the particles to it.",
                          min=0.0, max=0.95),
        "hold_steps": Field(int, 2000, "Servo: steps to hold the target once reached, before the "
                            "stage is recorded.", min=0),
        "tolerance": Field(float, 0.02, "Servo: relative stress error at which the target counts "
                           "as reached.", min=0.0, max=0.5, min_exclusive=True),
        "steps": Field(int, 0, "Length of a fixed_gap, spring or displacement_rate stage "
                       "(0 = until pressure_MPa for displacement_rate).", min=0),
        "spring_stiffness_MPa_per_um": Field(float, 0.0, "Spring fixture stiffness per punch area.",
                                             min=0.0, unit="MPa_per_um"),
        "spring_preload_MPa": Field(float, 0.0, "Spring fixture preload.", min=0.0, unit="MPa"),
        "max_steps": Field(int, 400_000, "Give up the stage after this many steps.", min=1),
    },
    "stack": {
        "mode": Field(str, "servo", "How the stack is held while cycling: a stress servo on "
                      "the punch (PI: holds pressure_MPa), a spring fixture set where cycling "
                      "starts (a screwed cell: σ = p0 + k (h − h0), rising as the electrode "
                      "thickens), or a fixed gap (the stress is then free; a fully lithiated "
                      "electrode may not fit, see DESIGN §4); fixed_box: the punch and the "
                      "side walls all held (the study's symmetric boundary of its RVE; needs "
                      "die.lateral = \"walls\"; make them frictionless with die.wall_friction = 0).",
                      choices=("servo", "spring", "fixed_gap", "fixed_box")),
        "stress_free_start": Field(bool, False, "When cycling starts, every contact's elastic "
                                   "overlap becomes flat (the contact forces, hence the particle "
                                   "stresses, go to zero at the pressed shape) and the particles "
                                   "stop: the study's RVE starts stress-free. Needs contacts that "
                                   "can flatten (a hardness or creep)."),
        "pressure_MPa": Field(float, 100.0, "Stack pressure (servo target, or spring preload).",
                              min=0.0, max=5000.0, min_exclusive=True, unit="MPa"),
        "spring_stiffness_MPa_per_um": Field(float, 1.6, "Spring fixture stiffness per punch "
                                             "area k: stress change per thickness change of "
                                             "the electrode. Default: the study's screw-and-nut "
                                             "lab cell, estimated (screws, pistons and frame in "
                                             "series; dempack.boundary.SpringFixture).",
                                             min=0.0, unit="MPa_per_um"),
        "speed_m_per_s": Field(float, 0.05, "Maximum punch speed of the stack control (servo "
                               "or spring), in DEM time: above the speed the swelling needs "
                               "(thickness change / (steps_per_half_cycle × dt)).",
                               min=0.0, max=100.0, min_exclusive=True, unit="m_per_s"),
    },
    "cycling": {
        "cycles": Field(int, 0, "Number of discharge/charge cycles (0 = no cycling).", min=0,
                        max=100000),
        "c_rate": Field(float, 0.1, "C-rate: lithiation changes by c_rate per hour of physical "
                        "time.", min=0.0, max=100.0, min_exclusive=True),
        "residual_lithiation": Field(float, 0.22, "Lithiation left at the end of each charge "
                                     "(Coulombic inefficiency; Xiong 2024: ~22 % of Se).",
                                     min=0.0, max=0.99),
        "initial_lithiation": Field(float, 0.0, "Lithiation of the active particles when "
                                    "cycling starts.", min=0.0, max=1.0),
        "temperature_C": Field(float, 70.0, "Cell temperature (sets creep via Arrhenius).",
                               min=-100.0, max=400.0, unit="C"),
        "steps_per_half_cycle": Field(int, 10000, "DEM steps for a full 0→1 half-cycle; sets "
                                      "the physical time carried by one DEM step.", min=10),
        "inertial_number_target": Field(float, 0.0, "Quasi-static rule: when > 0, each step's "
                                        "lithiation increment (and so its physical time) is "
                                        "set so that the inertial number of the free swelling "
                                        "stays at this value, I = (β/3)(dc/dt) d √(ρ/p) "
                                        "(dempack.protocol.quasi_static_step), and "
                                        "steps_per_half_cycle only sets the first steps; 0: "
                                        "steps_per_half_cycle fixed.", min=0.0, max=0.1),
        "rest_h": Field(float, 0.0, "Rest (open circuit, stack held) after each half-cycle.",
                        min=0.0, unit="h"),
        "lithiation_rule": Field(str, "uniform", "How lithiation is shared among active "
                                 "particles: uniform (all at the same rate, the whole particle "
                                 "reached); contact_limited (each particle lithiates only the "
                                 "share of its volume within a diffusion length of its contacts "
                                 "with ion conductors: dempack.physics.access).",
                                 choices=("uniform", "contact_limited")),
        "access_update_steps": Field(int, 0, "contact_limited rule: steps between two "
                                     "evaluations of each particle's reachable fraction within "
                                     "a half-cycle (0: only at its start).", min=0),
        "creep_model": Field(str, "particle_norton", "Creep law (dempack.physics.creep): "
                             "particle_norton, Norton flow of each particle driven by its von "
                             "Mises stress (the study's FE law), mapped onto its contacts; or "
                             "contact_similarity, each contact's flat grows by the similarity "
                             "solution for creeping spheres (creep_driver, creep_flats_recede); "
                             "or off (A = 0: no material creeps; the volume constraint of "
                             "particle_norton stays).",
                             choices=("particle_norton", "contact_similarity", "off")),
        "creep_driver": Field(str, "excess_pressure", "Stress that drives contact creep: the "
                              "contact pressure in excess of the particle's mean (hydrostatic) "
                              "pressure, so that creep stops once a particle is enclosed by "
                              "its contacts, or the bare contact pressure (dempack.physics).",
                              choices=("excess_pressure", "contact_pressure")),
        "creep_flats_recede": Field(bool, True, "Creep moves material from the contacts "
                                    "pressed above the particle's reference pressure to those "
                                    "pressed below it, whose flats recede (an enclosed "
                                    "particle changes shape at constant volume); false: flats "
                                    "only grow (dempack.physics.creep)."),
        "volume_update_interval": Field(int, 5, "Steps between updates of the volume-"
                                        "conserving radius correction.", min=1),
    },
}
SCHEMA["fracture"] = {
    "enabled": Field(bool, True, "Brittle materials break (false: no particle ever breaks)."),
    "check_interval_steps": Field(int, 10, "Steps between two failure checks (and fragment "
                                  "growth updates).", min=1),
    "fragments": Field(int, 2, "Fragments a failed particle is replaced by (placed on a "
                       "segment, triangle, tetrahedron, octahedron or cube inside it).",
                       choices=(2, 3, 4, 6, 8)),
    "release_steps": Field(int, 2000, "Steps over which a fragment's radius grows from the "
                           "radius that fits inside its parent to the mass-conserving one "
                           "(gradual release of the overlaps).", min=1),
    "max_growth_overlap": Field(float, 0.1, "A fragment grows only while its largest elastic "
                                "overlap is below this fraction of the smaller radius (the "
                                "packing makes room first).", min=0.0, max=0.5,
                                min_exclusive=True),
    "min_fragment_diameter_um": Field(float, 0.0, "Resolution limit of this run: no particle "
                                      "breaks into fragments smaller than this (0 = each "
                                      "material's min_fragment_diameter_m; a larger value keeps "
                                      "the particle count and the time step of a long run in "
                                      "check).", min=0.0, unit="um"),
}
SECTIONS = ("run", "packing", "die", "numerics", "stack", "cycling", "fracture")
TABLE_ARRAYS = {"pressing": "pressing", "packing.materials": "materials"}


class Section:
    """Attribute access to one validated table; unknown attributes are refused."""

    def __init__(self, schema_name: str, values: dict):
        object.__setattr__(self, "_schema", schema_name)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, key):
        vals = object.__getattribute__(self, "_values")
        if key in vals:
            return vals[key]
        raise AttributeError(f"no scenario key {key!r} in [{self._schema}]; keys: "
                             f"{', '.join(SCHEMA[self._schema])}")

    def __setattr__(self, key, value):
        if key not in SCHEMA[self._schema] and not (self._schema == "packing" and key == "materials"):
            raise AttributeError(f"no scenario key {key!r} in [{self._schema}]")
        self._values[key] = value

    def si(self, key):
        """Value of `key` in SI units."""
        f = SCHEMA[self._schema][key]
        v = self._values[key]
        if not f.unit or v is None:
            return v
        if f.unit in UNIT_OFFSET:
            return v + UNIT_OFFSET[f.unit]
        return v * UNIT_SCALE[f.unit]

    def to_dict(self):
        out = {}
        for k, v in self._values.items():
            if isinstance(v, list):
                out[k] = [s.to_dict() if isinstance(s, Section) else s for s in v]
            elif v is not None:
                out[k] = v
        return out

    def __repr__(self):
        return f"Section({self._schema}, {self.to_dict()})"


class Scenario:
    """A validated scenario. Sections (`SECTIONS`): run, packing (with its .materials
    list), die, numerics, stack, cycling, fracture; pressing: the list of pressing
    stages. `source` is the file it came from."""

    def __init__(self, data: dict, source: str = "<scenario>"):
        self.source = source
        try:
            self.raw = copy.deepcopy(data)
        except RecursionError:
            raise ScenarioError(f"{source}: tables or arrays nested too deeply", source,
                                ["tables or arrays nested too deeply"]) from None
        _validate(self, data, source)

    def to_dict(self) -> dict:
        d = {name: getattr(self, name).to_dict() for name in SECTIONS}
        d["pressing"] = [s.to_dict() for s in self.pressing]
        return d

    def to_toml(self) -> str:
        import tomli_w
        return tomli_w.dumps(self.to_dict())

    def save(self, path) -> None:
        """Write the scenario as TOML, atomically (dempack.io.atomic)."""
        from .io.atomic import atomic_write
        atomic_write(path, self.to_toml())

    def revalidate(self) -> "Scenario":
        """Validate again after attribute edits (raises ScenarioError)."""
        return Scenario(self.to_dict(), self.source)

    def set(self, dotted: str, value) -> None:
        """Override one key: 'packing.particles', 'pressing.1.pressure_MPa',
        'packing.materials.0.d50_um'. Re-validates."""
        self.set_many({dotted: value})

    def set_many(self, overrides: dict) -> None:
        """Override several keys, then validate once, so that keys which must change
        together (weight fractions summing to 1) can be set one after the other.
        A key is a dotted path: section.key, or list.index.key with a decimal index
        (packing.materials.0.d50_um, pressing.1.pressure_MPa); a whole table may be
        given as a dict. Raises ScenarioError naming the file and the key."""
        data = self.to_dict()
        path_errors = []

        def resolve(dotted):
            """The table that gets the key, or the reason why there is none."""
            if not isinstance(dotted, str):
                return "a key is a dotted name such as packing.particles"
            parts = dotted.split(".")
            node = data
            for depth, p in enumerate(parts[:-1]):
                if isinstance(node, list):
                    if not re.fullmatch(r"[0-9]{1,9}", p) or int(p) >= len(node):
                        return (f"no element {_show(p)} (the list has {len(node)} entries, "
                                f"numbered from 0)")
                    node = node[int(p)]
                elif isinstance(node, dict):
                    if p not in node and p in SCHEMA and p != "materials" and depth == 0:
                        node[p] = {}
                    if p not in node:
                        return f"unknown section {_show(p)}"
                    node = node[p]
                else:
                    return f"{_key('.'.join(parts[:depth]))} is a value ({_show(node)}), not a table"
            if isinstance(node, list):
                return "give an index and a key"
            if not isinstance(node, dict):
                return f"{_key('.'.join(parts[:-1]))} is a value ({_show(node)}), not a table"
            return node

        for dotted, value in overrides.items():
            node = resolve(dotted)
            if isinstance(node, str):
                path_errors.append(f"--set {_key(dotted)}: {node}")
            else:
                node[dotted.split(".")[-1]] = value
        try:
            new = Scenario(data, self.source)
        except ScenarioError as e:
            if not path_errors:
                raise
            errors = path_errors + e.errors
        else:
            if not path_errors:
                self.__dict__.update(new.__dict__)
                return
            errors = path_errors
        raise ScenarioError(f"{self.source}: invalid scenario:\n  " + "\n  ".join(errors),
                            self.source, errors)


def parse_value(text: str):
    """A --set value as TOML (number, bool, string, list); bare words are strings, and
    so is anything that is not one TOML value (e.g. '1\\nx = 2' stays that text)."""
    try:
        doc = tomllib.loads(f"v = {text}")
    except (tomllib.TOMLDecodeError, RecursionError):
        return text
    return doc["v"] if list(doc) == ["v"] else text


def _check_field(where: str, key: str, f: Field, v, errors: list):
    bad = f"{where}{key} = {_show(v)}: must be {f.allowed()}"
    if f.type is list:  # an array of numbers, each checked as a float field
        if not isinstance(v, list):
            errors.append(bad)
            return v
        item = Field(float, None, f.doc, min=f.min, max=f.max, min_exclusive=f.min_exclusive)
        out, wrong = [], []
        for k, x in enumerate(v):
            mine: list = []
            out.append(_check_field("", "", item, x, mine))
            if mine:
                wrong.append(f"[{k}] = {_show(x)}")
        if wrong:
            errors.append(f"{bad} ({', '.join(wrong[:3])}{' ...' if len(wrong) > 3 else ''} "
                          f"{'is' if len(wrong) == 1 else 'are'} not)")
            return v
        return out
    if f.type is float and isinstance(v, int) and not isinstance(v, bool):
        try:
            v = float(v)
        except OverflowError:  # an integer beyond the largest float
            errors.append(bad)
            return v
    ok_type = isinstance(v, f.type) and not (f.type is not bool and isinstance(v, bool))
    if not ok_type:
        errors.append(bad)
        return v
    if f.type is float and not math.isfinite(v):
        errors.append(bad)
        return v
    if f.type is str:
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no file (TOML is UTF-8) can hold it
            errors.append(f"{bad} of valid Unicode (no lone surrogates)")
            return v
    if f.type is int and f.max is None and not -INT64_MAX - 1 <= v <= INT64_MAX:
        errors.append(f"{bad} (a 64-bit integer: at most {INT64_MAX})")
        return v
    if f.choices and v not in f.choices:
        errors.append(bad)
    elif f.min is not None and (v < f.min or (f.min_exclusive and v == f.min)):
        errors.append(bad)
    elif f.max is not None and v > f.max:
        errors.append(bad)
    return v


def _table(schema_name: str, data, where: str, errors: list) -> Section:
    schema = SCHEMA[schema_name]
    if not isinstance(data, dict):
        errors.append(f"{where.rstrip('.')}: must be a table, not {_show(data)}")
        data = {}
    vals = {}
    for key in data:
        if key not in schema and not (schema_name == "packing" and key == "materials"):
            errors.append(f"{where}{_key(key)}: unknown key; allowed keys: {', '.join(schema)}")
    for key, f in schema.items():
        if key in data:
            vals[key] = _check_field(where, key, f, data[key], errors)
        elif f.default is REQUIRED:
            errors.append(f"{where}{key}: missing; must be {f.allowed()} ({f.doc})")
        else:
            vals[key] = list(f.default) if f.type is list else f.default
    return Section(schema_name, vals)


def _validate(sc: Scenario, data: dict, source: str):
    from .materials import MaterialError, load_materials

    errors: list[str] = []
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a table of sections ([run], [packing], "
                            f"[[pressing]], ...), not {_show(data)}", source,
                            [f"must be a table of sections, not {_show(data)}"])
    for key in data:
        if key not in SECTIONS and key != "pressing":
            errors.append(f"[{_key(key)}]: unknown section; allowed: "
                          f"{', '.join(SECTIONS + ('pressing',))}")
    for name in SECTIONS:
        setattr(sc, name, _table(name, data.get(name, {}), f"{name}.", errors))
    mats = data.get("packing", {}).get("materials", []) if isinstance(data.get("packing"), dict) else []
    if not isinstance(mats, list):
        errors.append(f"packing.materials = {_show(mats)}: must be an array of tables; give at "
                      "least one [[packing.materials]] table")
        mats = []
    elif not mats:
        errors.append("packing.materials: missing; give at least one [[packing.materials]] table")
    sc.packing.materials = [_table("materials", m, f"packing.materials[{k}].", errors)
                            for k, m in enumerate(mats)]
    stages = data.get("pressing", [])
    if not isinstance(stages, list):
        errors.append("pressing: must be an array of tables [[pressing]]")
        stages = []
    sc.pressing = [_table("pressing", s, f"pressing[{k}].", errors) for k, s in enumerate(stages)]

    # cross-field rules
    try:
        table = load_materials()
    except MaterialError as e:
        errors.append(str(e))
        table = None
    names = set()
    for k, m in enumerate(sc.packing.materials):
        w = f"packing.materials[{k}]."
        name = m._values.get("material")
        if table is not None and isinstance(name, str) and name not in table:
            errors.append(f"{w}material = {name!r}: unknown material; allowed: "
                          f"{', '.join(sorted(table))}")
        if isinstance(name, str):
            if name in names:
                errors.append(f"{w}material = {name!r}: listed twice")
            names.add(name)
        if m._values.get("distribution") == "lognormal" and m._values.get("d50_um") is None:
            errors.append(f"{w}d50_um: missing; a lognormal distribution needs d50_um > 0")
        if m._values.get("distribution") == "uniform":
            lo, hi = m._values.get("d_min_um"), m._values.get("d_max_um")
            if lo is None or hi is None:
                errors.append(f"{w}d_min_um, d_max_um: a uniform distribution needs both")
            elif isinstance(lo, float) and isinstance(hi, float) and lo > hi:
                errors.append(f"{w}d_min_um = {lo!r}: must be <= d_max_um = {hi!r}")
        known = table is not None and isinstance(name, str) and name in table
        if m._values.get("fracture") == "on" and known and table[name].fracture is None:
            errors.append(f"{w}fracture = 'on': material {name!r} has no fracture table in the "
                          "materials file; allowed: 'default' or 'off'")
        has_w = m._values.get("weight_fraction") is not None
        has_v = m._values.get("volume_fraction") is not None
        if has_w == has_v:
            errors.append(f"{w[:-1]}: give exactly one of weight_fraction or volume_fraction")
    kinds = {("w" if m._values.get("weight_fraction") is not None else "v")
             for m in sc.packing.materials}
    if len(kinds) > 1:
        errors.append("packing.materials: mix of weight_fraction and volume_fraction; use one kind")
    elif sc.packing.materials and not any(e.startswith("packing.materials[") for e in errors):
        key = "weight_fraction" if kinds == {"w"} else "volume_fraction"
        total = sum(m._values[key] for m in sc.packing.materials)
        if abs(total - 1.0) > 1e-6:
            errors.append(f"packing.materials: {key} values sum to {total:.6g}; they must sum to 1")
    wm = sc.die._values.get("wall_material")
    if table is not None and isinstance(wm, str) and wm not in table:
        errors.append(f"die.wall_material = {wm!r}: unknown material; allowed: "
                      f"{', '.join(sorted(table))}")
    for k, st in enumerate(sc.pressing):
        v, w = st._values, f"pressing[{k}]."
        if v.get("mode") == "servo" and not v.get("pressure_MPa"):
            errors.append(f"{w}pressure_MPa: a servo stage needs pressure_MPa > 0")
        if v.get("mode") == "grow" and not (v.get("steps") and v.get("porosity")):
            errors.append(f"{w[:-1]}: a grow stage needs steps > 0 and porosity > 0")
        if v.get("mode") in ("fixed_gap", "spring") and not v.get("steps"):
            errors.append(f"{w}steps: a {v['mode']} stage needs steps > 0")
        if v.get("mode") == "displacement_rate" and not (v.get("steps") or v.get("pressure_MPa")
                                                          or v.get("porosity")):
            errors.append(f"{w[:-1]}: a displacement_rate stage needs steps > 0, pressure_MPa > 0 "
                          "or porosity > 0")
        if v.get("mode") == "spring" and not v.get("spring_preload_MPa"):
            errors.append(f"{w}spring_preload_MPa: a spring stage needs a preload > 0")
    if not sc.pressing:
        errors.append("pressing: give at least one [[pressing]] stage")
    if errors:
        raise ScenarioError(f"{source}: invalid scenario:\n  " + "\n  ".join(errors), source,
                            errors)


def load_scenario(path=None, overrides: dict | None = None) -> Scenario:
    """Read and validate a scenario TOML file (default: scenarios/quickstart.toml).

    overrides: {'packing.particles': 500, ...}: the file is validated as written, then the
    overrides are applied together and the result validated once more (`Scenario.set_many`).
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIO

    def refuse(why):
        return ScenarioError(f"{path}: {why}", str(path), [why])

    if not path.is_file():
        raise refuse("scenario file not found")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise refuse(f"cannot read the file ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")  # TOML files are UTF-8, whatever the locale
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise refuse(f"not valid TOML: not UTF-8 text (byte {e.start}, line {line})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise refuse(f"not valid TOML: {e}") from None
    except RecursionError:
        raise refuse("not valid TOML: arrays or tables nested too deeply") from None
    sc = Scenario(data, str(path))
    if overrides:
        sc.set_many(overrides)
    return sc
