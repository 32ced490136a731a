"""Small helpers to build tiny scenarios/simulations in tests."""
from dempack.scenario import Scenario
from dempack.simulation import Simulation


def scenario(materials=("Se",), lateral="walls", pressing=None, numerics=None, run=None, **packing):
    mats = [{"material": m, "volume_fraction": 1.0 / len(materials), "d50_um": 5.0}
            for m in materials]
    # volume fractions must sum to exactly 1
    mats[-1]["volume_fraction"] = 1.0 - sum(m["volume_fraction"] for m in mats[:-1])
    data = {"run": {"name": "test", "output_interval_steps": 100, "snapshot_every_outputs": 0,
                    **(run or {})},
            "packing": {"particles": packing.pop("particles", 2), "materials": mats, **packing},
            "die": {"lateral": lateral},
            "numerics": numerics or {},
            "pressing": pressing or [{"mode": "fixed_gap", "steps": 1}]}
    return Scenario(data, "test")


def hand_sim(x, radii, material, width, z_top, materials=("Se",), velocity=None, **kw):
    sc = scenario(materials, **kw)
    return Simulation.from_particles(sc, x, radii, material, width, z_top, velocity=velocity)
