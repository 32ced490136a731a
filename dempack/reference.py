"""The study's reference values (assets/study_reference.toml), read and checked.

    ref = load_reference()                     # the shipped file; or load_reference(path)
    for v in ref.for_materials(["Se", "Mo6Se8"]):
        v.name, v.value, v.unit, v.figure, v.column, v.cycle, v.approximate
        v.si                                   # the value in the column's unit (Pa, fraction)

Each value names the study's figure it comes from, its unit, the dempack column it compares
with (a cycles.csv / timeseries.csv column), the materials a run needs for it to apply, and
whether it is approximate (read off a plot, or an order of magnitude). Qualitative statements
(`relation`: "lower_than", "grows", "constant") carry no number. Values with a cycle are drawn
as markers at the end of that cycle (cycles elapsed = cycle); Fig. 4d/e give first- and
20th-cycle values only, never curves. `reference_rows` sets them beside the runs' values at
the same cycle (used by `dempack compare` and the app's Study tab). No Qt here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io.tomlfile import read_toml

DEFAULT_REFERENCE_FILE = Path(__file__).resolve().parents[1] / "assets" / "study_reference.toml"

# unit of `value` -> factor to the column's unit (SI: Pa; fractions for ratios)
UNITS = {"%": 0.01, "1": 1.0, "MPa": 1e6, "GPa": 1e9}
PRESSURE_UNITS = {"MPa", "GPa"}
RELATIONS = ("lower_than", "grows", "constant")
FIGURE = re.compile(r"^Fig\. \d+[a-z]?(/[a-z])?$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# dempack columns a value may name: exact names, and per-material / per-pair prefixes
COLUMNS = {"porosity", "relative_density", "thickness_m", "thickness_change", "punch_stress_Pa",
           "wall_stress_Pa", "coordination", "broken_mass_fraction", "relative_breakage"}
MATERIAL_COLUMNS = {"stress_vm_mean_Pa", "active_fraction", "lithiation_mean", "coordination",
                    "creep_strain_mean", "pore_surface_fraction", "broken_mass_fraction"}
PAIR_COLUMNS = {"contact_ratio"}
REQUIRED = ("name", "quantity", "figure", "unit", "column", "system", "materials",
            "approximate", "source")
OPTIONAL = ("value", "cycle", "relation", "statement", "other_system", "note")


class ReferenceError(ValueError):
    """An invalid or missing reference file; the message names the file, the value and the key."""


@dataclass(frozen=True)
class ReferenceValue:
    """One value of the study (see the module docstring; units in `unit`)."""

    name: str
    quantity: str
    figure: str
    unit: str
    column: str
    system: str
    materials: tuple[str, ...]
    approximate: bool
    source: str
    value: float | None = None
    cycle: int | None = None
    relation: str | None = None
    statement: str = ""
    other_system: str | None = None
    note: str = ""

    @property
    def qualitative(self) -> bool:
        return self.value is None

    @property
    def si(self) -> float | None:
        """The value in the unit of its column (Pa for stresses, a fraction for % and ratios)."""
        return None if self.value is None else self.value * UNITS[self.unit]

    @property
    def factor(self) -> float:
        """Column value × 1/factor = the value in this reference's unit."""
        return UNITS[self.unit]

    def applies_to(self, materials) -> bool:
        """True when a run with these materials holds everything the value describes."""
        return set(self.materials) <= set(materials)

    def label(self) -> str:
        """Short text for a legend or a table: 'Fig. 4d: 70.5 % (approx.)'."""
        if self.value is None:
            return f"{self.figure}: {self.statement or self.relation}"
        return f"{self.figure}: {self.value:g} {self.unit}" + (" (approx.)" if self.approximate else "")


@dataclass
class StudyReference:
    """The values of a reference file, in file order; `study` is its [study] table."""

    values: list[ReferenceValue]
    study: dict = field(default_factory=dict)
    path: Path | None = None

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, name: str) -> ReferenceValue:
        for v in self.values:
            if v.name == name:
                return v
        raise KeyError(name)

    def for_materials(self, materials) -> list[ReferenceValue]:
        """The values that apply to a run with these materials."""
        return [v for v in self.values if v.applies_to(materials)]

    def markers(self, materials=None) -> list[ReferenceValue]:
        """The values drawn as markers: a number at a stated cycle (applying to `materials`
        when given)."""
        return [v for v in self.values if v.value is not None and v.cycle is not None
                and (materials is None or v.applies_to(materials))]


def _check(entry, k: int, where: str, known_materials) -> ReferenceValue:
    if not isinstance(entry, dict):
        raise ReferenceError(f"{where}: value[{k}] is not a table")
    name = entry.get("name")
    at = f"{where}: value[{k}]" + (f" ({name})" if isinstance(name, str) else "")
    errors = []
    for key in REQUIRED:
        if key not in entry:
            errors.append(f"{key}: missing")
    for key in entry:
        if key not in REQUIRED and key not in OPTIONAL:
            errors.append(f"{key}: unknown key; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    for key in ("name", "quantity", "figure", "unit", "column", "system", "source",
                "statement", "other_system", "note", "relation"):
        if key in entry and not isinstance(entry[key], str):
            errors.append(f"{key}: expected text, got {entry[key]!r}")
    if errors:
        raise ReferenceError(f"{at}:\n  " + "\n  ".join(errors))
    if not NAME.match(name):
        errors.append(f"name: {name!r} is not an identifier (letters, digits, _)")
    if not FIGURE.match(entry["figure"]):
        errors.append(f"figure: {entry['figure']!r}: expected like 'Fig. 4d' or 'Fig. 5'")
    unit = entry["unit"]
    if unit not in UNITS:
        errors.append(f"unit: {unit!r} unknown; known: {', '.join(UNITS)}")
    col = entry["column"]
    base, _, suffix = col.partition(":")
    mats = entry["materials"]
    if not isinstance(mats, list) or not mats or not all(isinstance(m, str) for m in mats):
        errors.append("materials: expected a non-empty list of material names")
        mats = []
    named = []
    if not suffix:
        if base not in COLUMNS:
            errors.append(f"column: {col!r} is not a dempack column; known: "
                          f"{', '.join(sorted(COLUMNS))}, or per material "
                          f"{', '.join(sorted(MATERIAL_COLUMNS | PAIR_COLUMNS))}:…")
    elif base in PAIR_COLUMNS:
        named = suffix.split("-")
        if len(named) != 2:
            errors.append(f"column: {col!r}: expected {base}:A-B")
    elif base in MATERIAL_COLUMNS:
        named = [suffix]
    else:
        errors.append(f"column: {col!r}: {base} has no per-material form")
    for m in list(named) + list(mats):
        if known_materials is not None and m not in known_materials:
            errors.append(f"{m!r} (in column or materials) is not in the material table; "
                          f"known: {', '.join(known_materials)}")
    if unit in UNITS and (col.endswith("_Pa") or "_Pa:" in col) != (unit in PRESSURE_UNITS):
        errors.append(f"unit: {unit!r} does not fit column {col!r} "
                      f"({'a stress: MPa or GPa' if unit not in PRESSURE_UNITS else 'not a stress'})")
    if not isinstance(entry["approximate"], bool):
        errors.append(f"approximate: expected true or false, got {entry['approximate']!r}")
    value = entry.get("value")
    relation = entry.get("relation")
    if value is None and relation is None:
        errors.append("neither value nor relation: a value needs a number, a statement a relation")
    if value is not None:
        if relation is not None:
            errors.append("value and relation: give one (a number, or a qualitative relation)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            errors.append(f"value: expected a finite number, got {value!r}")
    if relation is not None:
        if relation not in RELATIONS:
            errors.append(f"relation: {relation!r} unknown; known: {', '.join(RELATIONS)}")
        if not entry.get("statement"):
            errors.append("statement: a qualitative relation says it in words")
        if relation == "lower_than" and not entry.get("other_system"):
            errors.append("other_system: 'lower_than' names the system compared with")
    cycle = entry.get("cycle")
    if cycle is not None and (isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 1):
        errors.append(f"cycle: expected a whole number ≥ 1, got {cycle!r}")
    if errors:
        raise ReferenceError(f"{at}:\n  " + "\n  ".join(errors))
    return ReferenceValue(
        name=name, quantity=entry["quantity"], figure=entry["figure"], unit=unit, column=col,
        system=entry["system"], materials=tuple(mats), approximate=entry["approximate"],
        source=entry["source"], value=None if value is None else float(value), cycle=cycle,
        relation=relation, statement=entry.get("statement", ""),
        other_system=entry.get("other_system"), note=entry.get("note", ""))


def load_reference(path=None, materials=None) -> StudyReference:
    """Read and check a reference file (default: the shipped assets/study_reference.toml).

    `materials`: the material names a value may name (default: those of the material table,
    `dempack.materials.load_materials`; pass () to skip the check). Raises ReferenceError
    with the file, the value and the key of every problem."""
    p = Path(path) if path is not None else DEFAULT_REFERENCE_FILE
    data = read_toml(p, str(p), "the reference file", ReferenceError)
    unknown = set(data) - {"study", "value"}
    if unknown:
        raise ReferenceError(f"{p}: unknown table(s) {', '.join(sorted(unknown))}; "
                             "expected [study] and [[value]]")
    entries = data.get("value")
    if not isinstance(entries, list) or not entries:
        raise ReferenceError(f"{p}: no [[value]] tables")
    if materials is None:
        from .materials import load_materials
        materials = list(load_materials())
    known = list(materials) if materials else None
    values = [_check(e, k, str(p), known) for k, e in enumerate(entries)]
    seen = set()
    for v in values:
        if v.name in seen:
            raise ReferenceError(f"{p}: value name {v.name!r} appears twice")
        seen.add(v.name)
    return StudyReference(values, dict(data.get("study", {})), p)


# ------------------------------------------------------------- beside the runs' values

def cycles_elapsed(rows: list[dict]) -> np.ndarray:
    """Cycles elapsed at each half-cycle end of cycles.csv rows (`cycle` 1-based, `half`
    discharge/charge): cycle − 0.5 at a discharge end, cycle at a charge end — the x of the
    app's cycle axis (`RunFolder.cycle_x`: half-cycle h ends at (h + 1)/2)."""
    return np.array([float(r["cycle"]) - (0.5 if str(r.get("half")) == "discharge" else 0.0)
                     for r in rows], float)


def value_at_cycle(rows: list[dict], ref: ReferenceValue) -> float | None:
    """The run's `ref.column` at the end of cycle `ref.cycle`, in the reference's unit
    (None when the run has no such row or column)."""
    if ref.cycle is None:
        return None
    x = cycles_elapsed(rows)
    for r, xi in zip(rows, x):
        if xi == ref.cycle:
            v = r.get(ref.column)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                return float(v) / ref.factor
    return None


def reference_rows(ref: StudyReference, runs: dict[str, tuple[list[str], list[dict]]]) -> list[dict]:
    """One row per reference value that applies to at least one run: its figure, value, unit,
    approximate flag, column, cycle, and each run's value at that cycle (in the same unit;
    None where the run has not reached it). `runs`: {run name: (materials, cycles rows)}."""
    out = []
    for v in ref:
        if not any(v.applies_to(m) for m, _ in runs.values()):
            continue
        row = {"name": v.name, "figure": v.figure, "quantity": v.quantity,
               "study": v.value if v.value is not None else v.statement, "unit": v.unit,
               "approximate": v.approximate, "column": v.column, "cycle": v.cycle}
        for run, (mats, rows) in runs.items():
            row[run] = value_at_cycle(rows, v) if v.applies_to(mats) else None
        out.append(row)
    return out
