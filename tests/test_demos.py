"""The teaching demos say what their runs show (issue 16 item 6): each cycling demo runs
headless to its end and the claims of its comment are checked on its own rows."""
from pathlib import Path

import numpy as np

import dempack

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _run(name):
    sc = dempack.load_scenario(SCENARIOS / f"{name}.toml")
    sc.set("run.threads", 1)
    res = dempack.run(sc)
    ts = res.timeseries
    # the last row before cycling: the state the demos compare the end with
    start = max(i for i, s in enumerate(ts["stage"])
                if not str(s).startswith("cycle") and str(s) != "done")
    return res, res.sim.cycle_rows.rows(), ts, start


def test_creep_fills_pores_demo():
    """"the swelling Se lifts the stack (about +40 % at each discharge end) and part of it
    is squeezed into the pores: porosity falls over the two cycles … the electrode ends
    about 9 % thicker than where cycling began … and less porous"."""
    res, rows, ts, start = _run("demo_creep_fills_pores")
    dis = [r for r in rows if r["half"] == "discharge"]
    assert len(dis) == 2
    assert all(0.25 < r["thickness_change"] < 0.6 for r in dis)         # the stack is lifted
    assert ts["porosity"][-1] < ts["porosity"][start]                   # less porous at the end
    assert 0.0 < rows[-1]["thickness_change"] < 0.2                     # a little thicker
    assert rows[-1]["creep_strain_mean:Se"] > 0.0                       # and the Se crept


def test_rigid_cracks_demo():
    """"About half of the FeS mass breaks during the first discharge and more by the end
    of the charge … the thickness rises by over 30 % at the end of the discharge"; FeS does
    not creep."""
    res, rows, ts, start = _run("demo_rigid_cracks")
    dis, cha = rows[0], rows[1]
    assert dis["half"] == "discharge" and cha["half"] == "charge"
    assert dis["broken_mass_fraction"] > 0.2
    assert cha["broken_mass_fraction"] >= dis["broken_mass_fraction"]
    assert dis["thickness_change"] > 0.3
    assert all(r.get("creep_strain_mean:FeS", 0.0) == 0.0 for r in rows)


def test_se_vs_lco_demo():
    """"the creeping Se relaxes its contact stresses while the LiCoO2 particles carry the
    load": at every half-cycle end the Se's mean von Mises stress is below the LiCoO2's."""
    res, rows, ts, start = _run("demo_se_vs_lco")
    assert len(rows) == 4
    se = np.array([r["stress_vm_mean_Pa:Se"] for r in rows])
    lco = np.array([r["stress_vm_mean_Pa:LiCoO2"] for r in rows])
    assert np.all(se < lco)
    assert np.all(np.array([r["creep_strain_mean:Se"] for r in rows]) > 0.0)


def test_pressing_demo():
    """"Watch the porosity fall step by step while the punch stress climbs … Soft Se particles
    flatten much more than the rigid Mo6Se8 skeleton": at the end of each stage the porosity
    is lower than at the end of the one before and the stage reached its pressure; the share
    of the Se surface covered by contact flats (1 − pore_surface_fraction) ends far above the
    Mo6Se8's."""
    res = dempack.run(dempack.load_scenario(SCENARIOS / "demo_pressing.toml"))
    stages = res.summary["stages"]
    assert len(stages) == 3 and all(s["reached"] for s in stages)
    por = [s["porosity"] for s in stages]
    assert por[0] > por[1] > por[2]
    p = [s["punch_stress_Pa"] for s in stages]
    assert p[0] < p[1] < p[2]
    last = res.table()[-1]
    covered_se = 1.0 - last["pore_surface_fraction:Se"]
    covered_mse = 1.0 - last["pore_surface_fraction:Mo6Se8"]
    assert covered_se > 3.0 * covered_mse
