"""The study's reference values (issue 19 item 3; DESIGN §1, §10): assets/study_reference.toml
loads, every value says its figure, unit and column, and the numbers are the ones the issue and
DESIGN state (expectations typed here by hand from their text)."""
import tomllib

import pytest

from dempack.materials import load_materials
from dempack.reference import (DEFAULT_REFERENCE_FILE, ReferenceError, load_reference,
                               reference_rows, value_at_cycle)

# (name: value, unit, figure, column, cycle, approximate), from issues 15 and 19 and DESIGN
# §1/§4/§10 (issue 15 gives the Fig. 4d/e values at the 1st and the 20th cycle)
EXPECTED = {
    "contact_ratio_se_se_cycle1": (70.5, "%", "Fig. 4d", "contact_ratio:Se-Se", 1, False),
    "contact_ratio_se_se_cycle20": (84.4, "%", "Fig. 4d", "contact_ratio:Se-Se", 20, False),
    "contact_ratio_se_mse_cycle1": (67.0, "%", "Fig. 4d", "contact_ratio:Se-Mo6Se8", 1, False),
    "contact_ratio_se_mse_cycle20": (79.5, "%", "Fig. 4d", "contact_ratio:Se-Mo6Se8", 20, False),
    "stress_vm_se_cycle1": (0.099, "GPa", "Fig. 4e", "stress_vm_mean_Pa:Se", 1, False),
    "stress_vm_se_cycle20": (0.067, "GPa", "Fig. 4e", "stress_vm_mean_Pa:Se", 20, False),
    "stress_vm_lco_cycle1": (3.0, "GPa", "Fig. 4e", "stress_vm_mean_Pa:LiCoO2", 1, True),
    "stress_vm_lco_cycle20": (3.0, "GPa", "Fig. 4e", "stress_vm_mean_Pa:LiCoO2", 20, True),
    "utilisation_se_first": (76.8, "%", "Fig. 5", "active_fraction:Se", 1, False),
    "utilisation_se_later": (90.1, "%", "Fig. 5", "active_fraction:Se", None, False),
    "thickness_change_se60mse_cycle100": (4.76, "%", "Fig. 5", "thickness_change", 100, False),
    "thickness_change_fes60mse_cycle100": (66.7, "%", "Fig. 5", "thickness_change", 100, False),
}


def test_shipped_reference_loads_with_figure_unit_column():
    ref = load_reference()
    raw = tomllib.loads(DEFAULT_REFERENCE_FILE.read_text())["value"]
    assert len(ref) == len(raw) >= len(EXPECTED) + 1
    mats = set(load_materials())
    for v in ref:
        assert v.figure in ("Fig. 4d", "Fig. 4e", "Fig. 5", "Fig. 2d"), v.name
        assert v.unit and v.column and v.system and v.source, v.name
        assert set(v.materials) <= mats, v.name
        assert v.quantity
    for name, (value, unit, fig, col, cycle, approx) in EXPECTED.items():
        v = ref[name]
        assert (v.value, v.unit, v.figure, v.column, v.cycle, v.approximate) == \
            (value, unit, fig, col, cycle, approx), name
    # SI in the column's unit: % -> fraction, GPa -> Pa
    assert ref["contact_ratio_se_se_cycle20"].si == pytest.approx(0.844)
    assert ref["stress_vm_lco_cycle20"].si == pytest.approx(3e9)
    # Fig. 2d: qualitative only, no number
    por = ref["porosity_se60mse_below_composite"]
    assert por.figure == "Fig. 2d" and por.value is None and por.relation == "lower_than"
    assert por.other_system == "Se-50SE-10SP" and por.column == "porosity" and por.approximate
    # the Fig. 4d/e markers are at the first and 20th cycles only
    assert {v.cycle for v in ref.markers() if v.figure.startswith("Fig. 4")} == {1, 20}
    # applicability by material
    names = {v.name for v in ref.for_materials(["FeS", "Mo6Se8"])}
    assert names == {"thickness_change_fes60mse_cycle100"}


def _write(tmp_path, body):
    p = tmp_path / "ref.toml"
    p.write_text(body)
    return p


GOOD = """
[[value]]
name = "x"
quantity = "q"
figure = "Fig. 4d"
value = 70.5
unit = "%"
column = "contact_ratio:Se-Se"
system = "Se-60MSe"
materials = ["Se"]
cycle = 20
approximate = false
source = "2D FE RVE"
"""


@pytest.mark.parametrize("change, message", [
    (('unit = "%"', 'unit = "percent"'), "unit: 'percent' unknown"),
    (('figure = "Fig. 4d"', 'figure = "fig 4"'), "figure: 'fig 4'"),
    (('column = "contact_ratio:Se-Se"', 'column = "contact_ratio:Se-Xx"'), "'Xx'"),
    (('column = "contact_ratio:Se-Se"', 'column = "stress_vm_mean_Pa:Se"'), "does not fit column"),
    (('approximate = false', ''), "approximate: missing"),
    (('value = 70.5', ''), "neither value nor relation"),
    (('cycle = 20', 'cycle = 0'), "cycle: expected a whole number"),
    (('cycle = 20', 'colour = "red"'), "colour: unknown key"),
])
def test_invalid_reference_is_refused_clearly(tmp_path, change, message):
    assert load_reference(_write(tmp_path, GOOD)).values[0].si == pytest.approx(0.705)
    p = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ReferenceError) as e:
        load_reference(p)
    assert message in str(e.value) and str(p) in str(e.value) and "(x)" in str(e.value)


def test_missing_file_and_duplicate_names(tmp_path):
    with pytest.raises(ReferenceError, match="not found"):
        load_reference(tmp_path / "none.toml")
    with pytest.raises(ReferenceError, match="appears twice"):
        load_reference(_write(tmp_path, GOOD + GOOD))


def test_reference_rows_take_the_runs_value_at_the_cycle_end(tmp_path):
    ref = load_reference(_write(tmp_path, GOOD))
    rows = [{"cycle": c, "half": h, "contact_ratio:Se-Se": 0.01 * c + (0.001 if h == "charge" else 0)}
            for c in range(1, 21) for h in ("discharge", "charge")]
    assert value_at_cycle(rows, ref["x"]) == pytest.approx(20.1)    # end of cycle 20, in %
    out = reference_rows(ref, {"A": (["Se", "Mo6Se8"], rows), "B": (["Se"], rows[:10])})
    assert out[0]["A"] == pytest.approx(20.1) and out[0]["B"] is None and out[0]["study"] == 70.5
