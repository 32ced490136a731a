"""Tests for dempack.materials: the shipped table and the validation of bad input."""

from __future__ import annotations

import math
import textwrap

import pytest

from dempack.materials import (
    DEFAULT_MATERIALS_FILE,
    R_GAS,
    CreepLaw,
    Material,
    MaterialError,
    format_table,
    load_materials,
)

EXPECTED = ["Se", "Li2Se", "Mo6Se8", "LiCoO2", "FeS", "Li6PS5Cl", "carbon_black", "steel"]
NUMERIC_KEYS = [
    "density_kg_m3", "youngs_modulus_Pa", "poisson_ratio", "friction", "restitution",
    "swelling_volume_fraction", "electronic_conductivity_S_m", "ionic_conductivity_S_m",
]
M_SE = 78.971  # g/mol
M_LI = 6.94  # g/mol


@pytest.fixture(scope="module")
def mats() -> dict[str, Material]:
    return load_materials(DEFAULT_MATERIALS_FILE)


# ---------------------------------------------------------------------------------------------- real file


def test_all_materials_present(mats):
    assert list(mats) == EXPECTED
    for name, m in mats.items():
        assert isinstance(m, Material) and m.name == name and m.long_name


def test_default_path_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("DEMPACK_MATERIALS", raising=False)
    assert DEFAULT_MATERIALS_FILE.is_file()
    assert list(load_materials()) == EXPECTED
    f = tmp_path / "other.toml"
    f.write_text(MINIMAL)
    monkeypatch.setenv("DEMPACK_MATERIALS", str(f))
    assert list(load_materials()) == ["X"]


def test_every_numeric_key_has_a_source(mats):
    for m in mats.values():
        keys = list(NUMERIC_KEYS)
        if m.melting_point is not None:
            keys.append("melting_point_K")
        if m.creep is not None:
            keys += ["A_ref_per_s", "n", "sigma_ref_Pa", "Q_J_mol", "T_ref_K"]
        if m.fracture is not None:
            keys += ["sigma0_Pa", "weibull_m", "d0_m", "min_fragment_diameter_m"]
        for k in keys:
            assert m.sources.get(k, "").strip(), (m.name, k)


def test_design_densities_and_moduli(mats):
    rho = {"Se": 4810, "Li2Se": 2850, "Mo6Se8": 6520, "LiCoO2": 5050, "FeS": 4840,
           "Li6PS5Cl": 1860, "steel": 7850}
    for name, value in rho.items():
        assert mats[name].density == pytest.approx(value), name
    assert 1800 <= mats["carbon_black"].density <= 2000
    assert mats["Se"].youngs_modulus == pytest.approx(10e9)
    assert mats["LiCoO2"].youngs_modulus == pytest.approx(199e9)
    assert mats["Li6PS5Cl"].youngs_modulus == pytest.approx(22.1e9)
    assert mats["steel"].youngs_modulus == pytest.approx(210e9)
    steel = mats["steel"]
    assert steel.shear_modulus == pytest.approx(210e9 / 2.6)


def test_se_swelling_and_molar_volume(mats):
    se = mats["Se"]
    assert se.swelling == pytest.approx(0.98)
    v_se = M_SE / (se.density / 1000.0)  # cm3/mol
    assert v_se == pytest.approx(16.4, rel=0.01)
    assert v_se * (1 + se.swelling) == pytest.approx(32.5, rel=0.01)
    # Li2Se density is consistent with the same swelling: V(Li2Se)/V(Se) ~ 1.98
    v_li2se = (2 * M_LI + M_SE) / (mats["Li2Se"].density / 1000.0)
    assert v_li2se / v_se == pytest.approx(1 + se.swelling, rel=0.01)


def test_creep_and_fracture_assignment(mats):
    assert {n for n, m in mats.items() if m.creep} == {"Se", "Li2Se"}
    assert {n for n, m in mats.items() if m.fracture} == {"LiCoO2", "FeS", "Mo6Se8"}
    c = mats["Se"].creep
    assert (c.A_ref, c.n, c.sigma_ref, c.T_ref) == pytest.approx((1e-5, 6.6, 100e6, 343.15))
    assert mats["Se"].melting_point == pytest.approx(494.0)
    assert mats["Se"].active and mats["FeS"].active and mats["LiCoO2"].active
    assert not mats["Li6PS5Cl"].active and not mats["steel"].active
    assert mats["Mo6Se8"].electron_conductor and mats["Mo6Se8"].ion_conductor
    assert not mats["Se"].electron_conductor
    assert mats["carbon_black"].electron_conductor and mats["Li6PS5Cl"].ion_conductor
    assert 3200 <= mats["Mo6Se8"].electronic_conductivity <= 15400
    for m in mats.values():
        if m.fracture:
            assert m.fracture.criterion in ("octahedral_shear", "contact_force")


def test_arrhenius_prefactor_ratio(mats):
    c = mats["Se"].creep
    assert c.rate_prefactor(c.T_ref) == pytest.approx(c.A_ref)
    expected = math.exp(-c.Q / 8.314462618 * (1 / 343.15 - 1 / 298.15))
    assert c.rate_prefactor(343.15) / c.rate_prefactor(298.15) == pytest.approx(expected, rel=1e-12)
    assert expected > 1.0  # creep is faster at 70 °C than at 25 °C
    law = CreepLaw(A_ref=2e-5, n=3.0, sigma_ref=1e6, Q=50e3, T_ref=300.0)
    assert law.rate_prefactor(400.0) == pytest.approx(2e-5 * math.exp(-50e3 / R_GAS * (1 / 400 - 1 / 300)))
    assert law.strain_rate(2e6, 300.0) == pytest.approx(2e-5 * 8.0)
    assert law.strain_rate(-1.0, 300.0) == 0.0


def test_dataclasses_frozen(mats):
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        mats["Se"].density = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mats["FeS"].fracture.sigma0 = 1.0  # type: ignore[misc]


def test_format_table(mats):
    text = format_table(mats)
    first = text.splitlines()[0]
    for unit in ("kg/m3", "GPa", "MPa"):
        assert unit in first
    for name in EXPECTED:
        assert f"[{name}]" in text
    assert "assumed:" in text
    assert "Masias" in text


# ---------------------------------------------------------------------------------------------- bad input

MINIMAL = textwrap.dedent(
    """
    [X]
    name_long = "test material"
    density_kg_m3 = 1000.0
    youngs_modulus_Pa = 1e9
    poisson_ratio = 0.3
    friction = 0.4
    restitution = 0.5
    swelling_volume_fraction = 0.0
    electrochemically_active = false
    electron_conductor = false
    ion_conductor = false
    electronic_conductivity_S_m = 0.0
    ionic_conductivity_S_m = 0.0

    [X.creep]
    A_ref_per_s = 1e-5
    n = 5
    sigma_ref_Pa = 1e8
    Q_J_mol = 6e4
    T_ref_K = 343.15

    [X.fracture]
    sigma0_Pa = 1e8
    weibull_m = 4.0
    d0_m = 1e-5
    min_fragment_diameter_m = 1e-6
    criterion = "octahedral_shear"

    [X.source]
    density_kg_m3 = "assumed: test"
    youngs_modulus_Pa = "assumed: test"
    poisson_ratio = "assumed: test"
    friction = "assumed: test"
    restitution = "assumed: test"
    swelling_volume_fraction = "assumed: test"
    electronic_conductivity_S_m = "assumed: test"
    ionic_conductivity_S_m = "assumed: test"
    A_ref_per_s = "assumed: test"
    n = "assumed: test"
    sigma_ref_Pa = "assumed: test"
    Q_J_mol = "assumed: test"
    T_ref_K = "assumed: test"
    sigma0_Pa = "assumed: test"
    weibull_m = "assumed: test"
    d0_m = "assumed: test"
    min_fragment_diameter_m = "assumed: test"
    """
)


def _write(tmp_path, text: str):
    f = tmp_path / "bad_materials.toml"
    f.write_text(text)
    return f


def _replace_line(key: str, new: str | None, text: str = MINIMAL, table: str = "[X]") -> str:
    """Replace (or delete, new=None) the first line starting with `key =` after the header `table`."""
    lines = text.splitlines()
    start = lines.index(table)
    for i in range(start + 1, len(lines)):
        if lines[i].startswith(f"{key} ="):
            if new is None:
                del lines[i]
            else:
                lines[i] = new
            return "\n".join(lines) + "\n"
    raise AssertionError(f"{key} not found under {table}")


def _error(tmp_path, text: str) -> str:
    f = _write(tmp_path, text)
    with pytest.raises(MaterialError) as exc:
        load_materials(f)
    msg = str(exc.value)
    assert "bad_materials.toml" in msg, msg
    return msg


def test_minimal_file_is_valid(tmp_path):
    m = load_materials(_write(tmp_path, MINIMAL))["X"]
    assert m.creep.n == 5.0 and isinstance(m.creep.n, float)
    assert m.fracture.weibull_m == 4.0
    assert m.melting_point is None


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(MaterialError, match="nowhere.toml"):
        load_materials(path)


def test_toml_syntax_error(tmp_path):
    msg = _error(tmp_path, "[X\nname_long = 1\n")
    assert "syntax" in msg


def test_missing_required_key(tmp_path):
    msg = _error(tmp_path, _replace_line("youngs_modulus_Pa", None))
    assert "[X]" in msg and "youngs_modulus_Pa" in msg and "missing" in msg


def test_wrong_type(tmp_path):
    msg = _error(tmp_path, _replace_line("density_kg_m3", 'density_kg_m3 = "heavy"'))
    assert "[X]" in msg and "density_kg_m3" in msg and "number" in msg
    msg = _error(tmp_path, _replace_line("electron_conductor", "electron_conductor = 1"))
    assert "[X]" in msg and "electron_conductor" in msg and "true or false" in msg
    msg = _error(tmp_path, _replace_line("friction", "friction = true"))
    assert "friction" in msg and "number" in msg


@pytest.mark.parametrize(
    "key, bad, rule",
    [
        ("density_kg_m3", "0", "> 0"),
        ("youngs_modulus_Pa", "-1", "> 0"),
        ("poisson_ratio", "0.5", "< 0.5"),
        ("poisson_ratio", "-0.1", ">= 0"),
        ("friction", "-0.1", ">= 0"),
        ("restitution", "0", "> 0"),
        ("restitution", "1.5", "<= 1"),
        ("swelling_volume_fraction", "-1", "> -1"),
        ("electronic_conductivity_S_m", "-1", ">= 0"),
        ("ionic_conductivity_S_m", "nan", "finite"),
    ],
)
def test_out_of_range_material(tmp_path, key, bad, rule):
    msg = _error(tmp_path, _replace_line(key, f"{key} = {bad}"))
    assert f"[X] {key} = " in msg and rule in msg, msg


def test_message_format(tmp_path):
    msg = _error(tmp_path, _replace_line("youngs_modulus_Pa", "youngs_modulus_Pa = -1"))
    assert msg.endswith("bad_materials.toml: [X] youngs_modulus_Pa = -1: must be > 0"), msg


@pytest.mark.parametrize(
    "key, bad, rule",
    [
        ("n", "0.5", ">= 1"),
        ("A_ref_per_s", "0", "> 0"),
        ("sigma_ref_Pa", "-1e6", "> 0"),
        ("Q_J_mol", "-1", ">= 0"),
        ("T_ref_K", "0", "> 0"),
    ],
)
def test_out_of_range_creep(tmp_path, key, bad, rule):
    msg = _error(tmp_path, _replace_line(key, f"{key} = {bad}", table="[X.creep]"))
    assert f"[X.creep] {key} = " in msg and rule in msg, msg


@pytest.mark.parametrize(
    "key, bad, rule",
    [
        ("weibull_m", "0", "> 0"),
        ("sigma0_Pa", "-1", "> 0"),
        ("d0_m", "0", "> 0"),
        ("min_fragment_diameter_m", "0", "> 0"),
        ("criterion", '"von_mises"', "octahedral_shear"),
    ],
)
def test_out_of_range_fracture(tmp_path, key, bad, rule):
    msg = _error(tmp_path, _replace_line(key, f"{key} = {bad}", table="[X.fracture]"))
    assert f"[X.fracture] {key} = " in msg and rule in msg, msg


def test_missing_creep_key(tmp_path):
    msg = _error(tmp_path, _replace_line("Q_J_mol", None, table="[X.creep]"))
    assert "[X.creep]" in msg and "Q_J_mol" in msg and "missing" in msg


def test_unknown_key(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("friction = 0.4", "friction = 0.4\nfrction = 0.4"))
    assert "[X]" in msg and "frction" in msg and "unknown" in msg
    msg = _error(tmp_path, MINIMAL.replace("n = 5", "n = 5\nm = 5"))
    assert "[X.creep]" in msg and "m: unknown" in msg


def test_numeric_key_without_source(tmp_path):
    msg = _error(tmp_path, _replace_line("poisson_ratio", None, table="[X.source]"))
    assert "[X.source]" in msg and "poisson_ratio" in msg and "source" in msg
    msg = _error(tmp_path, _replace_line("weibull_m", None, table="[X.source]"))
    assert "[X.source]" in msg and "weibull_m" in msg
    # a melting point without a source
    msg = _error(tmp_path, MINIMAL.replace("ionic_conductivity_S_m = 0.0", "ionic_conductivity_S_m = 0.0\nmelting_point_K = 500"))
    assert "melting_point_K" in msg and "missing source" in msg


def test_bad_source_entries(tmp_path):
    msg = _error(tmp_path, _replace_line("friction", 'friction = ""', table="[X.source]"))
    assert "[X.source]" in msg and "friction" in msg and "non-empty" in msg
    msg = _error(tmp_path, MINIMAL + 'densty_kg_m3 = "typo"\n')
    assert "[X.source]" in msg and "densty_kg_m3" in msg and "unknown" in msg
    msg = _error(tmp_path, MINIMAL + 'melting_point_K = "handbook"\n')
    assert "[X.source]" in msg and "melting_point_K" in msg and "does not set" in msg


def test_material_not_a_table(tmp_path):
    msg = _error(tmp_path, "Y = 3\n" + MINIMAL)
    assert "Y" in msg and "table" in msg
