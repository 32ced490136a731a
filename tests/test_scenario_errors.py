"""Scenario validation: every class of bad input gives a message that names the
file, the key and what is allowed; errors come before any numba compilation.
Also the valid conversions: weight -> volume fractions, --set values, Scenario.set."""
from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dempack.cli import main
from dempack.materials import load_materials
from dempack.packing import volume_fractions
from dempack.scenario import Scenario, ScenarioError, load_scenario, parse_value

# A valid scenario; each {slot} takes extra lines for that table.
BASE = """\
[run]
name = "err"
{run}
[packing]
particles = 50
{packing}
[[packing.materials]]
material = "Se"
weight_fraction = 0.4
d50_um = 5.0
{mat0}
[[packing.materials]]
material = "Mo6Se8"
weight_fraction = 0.6
d50_um = 4.0
{mat1}
[die]
lateral = "walls"
[numerics]
dt_safety = 0.2
{numerics}
[[pressing]]
pressure_MPa = 10
{pressing}
{extra}
"""


def scenario_text(**slots) -> str:
    keys = ("run", "packing", "mat0", "mat1", "numerics", "pressing", "extra")
    return BASE.format(**{k: slots.get(k, "") for k in keys})


def load_error(path, overrides=None) -> str:
    with pytest.raises(ScenarioError) as ei:
        load_scenario(path, overrides)
    msg = str(ei.value)
    assert str(path) in msg, f"message does not name the file:\n{msg}"
    return msg


# ------------------------------------------------------------------------------ the base is valid


def test_base_scenario_is_valid(write_scenario):
    sc = load_scenario(write_scenario(scenario_text()))
    assert sc.packing.particles == 50
    assert [m.material for m in sc.packing.materials] == ["Se", "Mo6Se8"]
    assert sc.pressing[0].si("pressure_MPa") == pytest.approx(10e6)
    assert sc.packing.materials[0].si("d50_um") == pytest.approx(5e-6)


# ------------------------------------------------------------------------------ bad input classes


def test_unknown_key_in_run(write_scenario):
    msg = load_error(write_scenario(scenario_text(run="colour = 3")))
    assert "run.colour" in msg and "unknown key" in msg
    # the allowed keys are listed
    for k in ("seed", "output_interval_steps", "max_overlap_ratio"):
        assert k in msg


def test_unknown_key_in_material_table(write_scenario):
    msg = load_error(write_scenario(scenario_text(mat1="colour = 'red'")))
    assert "packing.materials[1].colour" in msg and "unknown key" in msg
    for k in ("material", "weight_fraction", "volume_fraction", "d50_um", "gsd"):
        assert k in msg


def test_unknown_section(write_scenario):
    msg = load_error(write_scenario(scenario_text(extra="[chemistry]\nc_rate = 0.1")))
    assert "[chemistry]" in msg and "unknown section" in msg
    for s in ("run", "packing", "die", "numerics", "pressing"):
        assert s in msg


def test_string_where_int_expected(write_scenario):
    text = scenario_text().replace("particles = 50", 'particles = "many"')
    msg = load_error(write_scenario(text))
    assert "packing.particles = 'many'" in msg
    assert "must be an integer >= 1" in msg


def test_bool_where_number_expected(write_scenario):
    text = scenario_text().replace("dt_safety = 0.2", "dt_safety = true")
    msg = load_error(write_scenario(text))
    assert "numerics.dt_safety" in msg
    assert "must be a number > 0 and <= 0.5" in msg


def test_bool_where_int_expected(write_scenario):
    msg = load_error(write_scenario(scenario_text(run="seed = true")))
    assert "run.seed" in msg and "must be an integer >= 0" in msg


def test_float_where_int_expected(write_scenario):
    text = scenario_text().replace("particles = 50", "particles = 50.5")
    msg = load_error(write_scenario(text))
    assert "packing.particles = 50.5" in msg and "must be an integer" in msg


def test_negative_size(write_scenario):
    text = scenario_text().replace("d50_um = 5.0", "d50_um = -5")
    msg = load_error(write_scenario(text))
    assert "packing.materials[0].d50_um = -5" in msg
    assert "must be a number > 0 and <= 10000" in msg


def test_out_of_range(write_scenario):
    text = scenario_text().replace("dt_safety = 0.2", "dt_safety = 0.9")
    msg = load_error(write_scenario(text))
    assert "numerics.dt_safety = 0.9" in msg
    assert "> 0 and <= 0.5" in msg


def test_nan_is_refused(write_scenario):
    text = scenario_text().replace("dt_safety = 0.2", "dt_safety = nan")
    msg = load_error(write_scenario(text))
    assert "numerics.dt_safety = nan" in msg and "<= 0.5" in msg


def test_bad_choice_lists_choices(write_scenario):
    text = scenario_text().replace('lateral = "walls"', 'lateral = "round"')
    msg = load_error(write_scenario(text))
    assert "die.lateral = 'round'" in msg
    assert "one of 'walls', 'periodic'" in msg


def test_fractions_not_summing_to_one(write_scenario):
    text = scenario_text().replace("weight_fraction = 0.6", "weight_fraction = 0.5")
    msg = load_error(write_scenario(text))
    assert "weight_fraction" in msg
    assert "sum to 0.9" in msg and "must sum to 1" in msg


def test_volume_fractions_not_summing_to_one(write_scenario):
    text = (scenario_text().replace("weight_fraction = 0.4", "volume_fraction = 0.7")
            .replace("weight_fraction = 0.6", "volume_fraction = 0.7"))
    msg = load_error(write_scenario(text))
    assert "volume_fraction values sum to 1.4" in msg and "must sum to 1" in msg


def test_both_weight_and_volume_fraction(write_scenario):
    msg = load_error(write_scenario(scenario_text(mat0="volume_fraction = 0.4")))
    assert "packing.materials[0]" in msg
    assert "exactly one of weight_fraction or volume_fraction" in msg


def test_mixed_fraction_kinds(write_scenario):
    text = scenario_text().replace("weight_fraction = 0.6", "volume_fraction = 0.6")
    msg = load_error(write_scenario(text))
    assert "mix of weight_fraction and volume_fraction" in msg


def test_unknown_material_lists_allowed_names(write_scenario):
    text = scenario_text().replace('material = "Se"', 'material = "Unobtainium"')
    msg = load_error(write_scenario(text))
    assert "packing.materials[0].material = 'Unobtainium'" in msg and "unknown material" in msg
    for name in load_materials():
        assert name in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    msg = load_error(path)
    assert "not found" in msg


def test_invalid_toml_syntax(write_scenario):
    path = write_scenario("[run]\nseed = = 3\n")
    msg = load_error(path)
    assert "not valid TOML" in msg and "line 2" in msg


def test_servo_stage_without_pressure(write_scenario):
    text = scenario_text().replace("pressure_MPa = 10", 'mode = "servo"')
    msg = load_error(write_scenario(text))
    assert "pressing[0].pressure_MPa" in msg and "servo stage needs pressure_MPa > 0" in msg


def test_missing_required_keys(write_scenario):
    msg = load_error(write_scenario("[run]\nseed = 1\n"))
    assert "packing.particles: missing" in msg
    assert "packing.materials: missing" in msg
    assert "pressing: give at least one" in msg


def test_all_errors_reported_at_once(write_scenario):
    text = scenario_text(run="colour = 3").replace("dt_safety = 0.2", "dt_safety = 0.9")
    msg = load_error(write_scenario(text))
    assert "run.colour" in msg and "numerics.dt_safety = 0.9" in msg


# ------------------------------------------------------------------------------ --set key paths


@pytest.mark.parametrize("key, expected", [
    ("run.bogus", "run.bogus: unknown key"),
    ("nosuch.key", "unknown section 'nosuch'"),
    ("pressing.5.pressure_MPa", "no element '5'"),
    ("pressing.x.pressure_MPa", "no element 'x'"),
    ("pressing.pressure_MPa", "give an index and a key"),
    ("packing.materials.0", "give an index and a key"),
    ("packing.materials.0.colour", "packing.materials[0].colour: unknown key"),
])
def test_bad_set_key_path(write_scenario, key, expected):
    path = write_scenario(scenario_text())
    msg = load_error(path, {key: 1})
    assert expected in msg
    assert key in msg or expected.split(":")[0] in msg


def test_set_value_out_of_range_via_overrides(write_scenario):
    msg = load_error(write_scenario(scenario_text()), {"numerics.dt_safety": 0.9})
    assert "numerics.dt_safety = 0.9" in msg and "<= 0.5" in msg


# ------------------------------------------------------------------------------ CLI: fast, exit 2


def test_cli_bad_file_exits_2_fast(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(scenario_text(run="colour = 3"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "dempack.cli", "run", str(bad)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert p.returncode == 2, p.stderr
    assert str(bad) in p.stderr and "run.colour: unknown key" in p.stderr
    assert p.stdout == ""
    assert "Traceback" not in p.stderr
    # a compile of the kernels takes ~10 s or more; validation + imports ~1 s
    assert elapsed < 8.0, f"took {elapsed:.1f} s: was something compiled before validation?"
    assert not (tmp_path / "results").exists()


def test_cli_errors_come_before_numba_compilation(tmp_path):
    """In a fresh interpreter: a bad file and a bad --set each exit 2 and no numba
    dispatcher of any dempack module has a compiled (or cache-loaded) overload."""
    bad = tmp_path / "bad.toml"
    bad.write_text(scenario_text().replace("d50_um = 5.0", "d50_um = -5"))
    good = tmp_path / "good.toml"
    good.write_text(scenario_text())
    code = textwrap.dedent(f"""
        import sys
        from dempack.cli import main
        rcs = [main(["run", {str(bad)!r}]),
               main(["run", {str(good)!r}, "--set", "run.bogus=1"]),
               main(["run", {str(good)!r}, "--set", "packing.particles=-1"])]
        import dempack.runner, dempack.simulation  # make sure every kernel module is imported
        from numba.core.dispatcher import Dispatcher
        n, compiled = 0, []
        for name, mod in list(sys.modules.items()):
            if name.startswith("dempack"):
                for k, obj in vars(mod).items():
                    if isinstance(obj, Dispatcher):
                        n += 1
                        if obj.overloads:
                            compiled.append(name + "." + k)
        print("RCS", rcs)
        print("DISPATCHERS", n)
        print("COMPILED", compiled)
    """)
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "RCS [2, 2, 2]" in p.stdout
    assert "COMPILED []" in p.stdout, p.stdout
    n = int(p.stdout.split("DISPATCHERS")[1].split()[0])
    assert n > 0  # the check saw the kernels
    assert "d50_um = -5" in p.stderr and "run.bogus" in p.stderr and "packing.particles = -1" in p.stderr


# ------------------------------------------------------------------------------ valid conversions


def test_volume_fractions_by_hand():
    # Se 40 wt% (4810 kg/m3), Mo6Se8 60 wt% (6520 kg/m3)
    v_se, v_mo = 0.4 / 4810, 0.6 / 6520
    expected = [v_se / (v_se + v_mo), v_mo / (v_se + v_mo)]
    got = volume_fractions([0.4, 0.6], [4810, 6520])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0] == pytest.approx(0.4747, abs=1e-4)
    assert got.sum() == pytest.approx(1.0, abs=1e-15)
    # equal densities: weight fraction == volume fraction
    np.testing.assert_allclose(volume_fractions([0.3, 0.7], [2000, 2000]), [0.3, 0.7])


@pytest.mark.parametrize("text, value", [
    ("500", 500), ("-1", -1), ("1_000", 1000), ("0.5", 0.5), ("1e-3", 1e-3), ("5.", "5."),
    ("true", True), ("false", False), ("hello", "hello"), ('"quoted"', "quoted"),
    ("walls", "walls"), ("[1, 2]", [1, 2]), ("5 MPa", "5 MPa"),
])
def test_parse_value(text, value):
    got = parse_value(text)
    assert got == value
    assert type(got) is type(value)


def test_parse_value_inf_is_float():
    assert parse_value("inf") == math.inf


def test_scenario_set_changes_value_and_validates(quickstart):
    sc = load_scenario(quickstart)
    sc.set("packing.particles", 500)
    assert sc.packing.particles == 500
    assert sc.to_dict()["packing"]["particles"] == 500
    with pytest.raises(ScenarioError) as ei:
        sc.set("packing.particles", -1)
    assert "packing.particles = -1" in str(ei.value) and ">= 1" in str(ei.value)
    assert str(quickstart) in str(ei.value)
    assert sc.packing.particles == 500  # a refused set leaves the scenario as it was
    sc.set("pressing.0.pressure_MPa", 7.5)
    assert sc.pressing[0].si("pressure_MPa") == pytest.approx(7.5e6)
    sc.set("packing.materials.1.d50_um", 3)
    assert sc.packing.materials[1].d50_um == 3.0 and isinstance(sc.packing.materials[1].d50_um, float)


def test_roundtrip_to_dict(quickstart, tmp_path):
    sc = load_scenario(quickstart)
    sc.save(tmp_path / "s.toml")
    again = load_scenario(tmp_path / "s.toml")
    assert again.to_dict() == sc.to_dict()
    assert Scenario(sc.to_dict()).to_dict() == sc.to_dict()
