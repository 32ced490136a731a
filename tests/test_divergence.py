"""A diverging run stops with a diagnosis, a time step to try and a checkpoint."""
import pytest

import dempack
from dempack.simulation import DivergenceError
from _build import scenario


def test_too_large_time_step_is_diagnosed(tmp_path):
    sc = scenario(("Mo6Se8",), particles=60,
                  pressing=[{"pressure_MPa": 50, "speed_m_per_s": 5.0, "hold_steps": 100}],
                  numerics={"dt_safety": 0.5}, run={"output_interval_steps": 20})
    # 40x the Rayleigh-limited step: contacts are crossed in a few steps
    sc.set("numerics.dt_s", 40 * 0.5 * 2.1e-9)
    with pytest.raises(DivergenceError) as err:
        dempack.run(sc, out_dir=tmp_path)
    msg = str(err.value)
    assert "run diverged at step" in msg
    assert "try numerics.dt_safety" in msg and "dt = " in msg
    assert (tmp_path / "checkpoint.npz").is_file() and str(tmp_path) in msg
