"""Same seed, same thread count → bit-identical runs, on this machine, whatever it is.

`.ci/run` runs this file (and the resume and fracture tests) a second time with
NUMBA_CPU_NAME=generic and NUMBA_NUM_THREADS=1, so a CPU-dependent assumption fails in CI."""
import numpy as np
import pytest

import dempack

pytestmark = pytest.mark.portability


def _run(quickstart, tiny_overrides, threads, tmp):
    sc = dempack.load_scenario(quickstart, {**tiny_overrides, "run.threads": threads,
                                            "packing.materials.0.material": "FeS"})
    return dempack.run(sc, out_dir=tmp)


@pytest.mark.parametrize("threads", [1, 2])
def test_same_seed_same_threads_is_bit_identical(quickstart, tiny_overrides, tmp_path, threads):
    import numba

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"needs {threads} numba threads")
    a = _run(quickstart, tiny_overrides, threads, tmp_path / "a")
    b = _run(quickstart, tiny_overrides, threads, tmp_path / "b")
    assert a.sim.step_count == b.sim.step_count > 0
    for name in ("x", "v", "w", "R", "lithiation", "strength"):
        assert np.array_equal(getattr(a.sim.particles, name), getattr(b.sim.particles, name)), name
    assert (a.out_dir / "timeseries.csv").read_bytes() == (b.out_dir / "timeseries.csv").read_bytes()
