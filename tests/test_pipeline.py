"""The operations pipeline: each operation runs on its trigger, and the integrator
records the pair forces exactly on the steps whose operations read them."""
from dempack.pipeline import Operation, Periodic
from _build import scenario
from dempack.simulation import Simulation


class ForceReader(Operation):
    """A compute that reads the pair forces every 7 steps and notes whether the
    integrator recorded them on that very step."""

    needs_pair_forces = True

    def __init__(self):
        self.trigger = Periodic(7)
        self.seen = []

    def act(self, sim):
        rec = sim._pair_force_of
        self.seen.append((sim.step_count, rec is not None and rec[0] is sim.contacts
                          and rec[1] == sim.step_count))


def _sim():
    sc = scenario(("Se", "Mo6Se8"), particles=40, lateral="periodic",
                  pressing=[{"mode": "fixed_gap", "steps": 100000}],
                  run={"output_interval_steps": 50, "max_overlap_ratio": 0.6, "threads": 1},
                  numerics={"gravity_m_s2": 1e8})
    return Simulation(sc)


def test_forces_are_recorded_exactly_where_an_operation_reads_them():
    sim = _sim()
    reader = ForceReader()
    sim.updaters.append(reader)
    recorded = []
    for _ in range(60):
        sim.step()
        recorded.append(sim._pair_force_of is not None)
    # the reader ran on steps 7, 14, ... and found that step's forces each time
    assert [s for s, _ in reader.seen] == list(range(7, 61, 7))
    assert all(ok for _, ok in reader.seen)
    # recorded on the reader's steps and the output row's (step 50), on no other
    want = {s for s in range(1, 61) if s % 7 == 0 or s % 50 == 0}
    assert {k + 1 for k, r in enumerate(recorded) if r} == want


def test_without_a_reader_only_the_output_rows_record_forces():
    sim = _sim()
    hits = []
    for _ in range(100):
        sim.step()
        if sim._pair_force_of is not None:
            hits.append(sim.step_count)
    assert hits == [50, 100]
    # an observation on step 100 reads the recorded forces (the buffer itself); one step
    # later they belong to the past and are recomputed
    assert sim.pair_contact_forces() is sim._pair_force
    sim.step()
    assert sim.pair_contact_forces() is not sim._pair_force
