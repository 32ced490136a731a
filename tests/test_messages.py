"""Messages, not tracebacks: a physics warning is one log line (stage, step, value, what
to change), once per stage, through `logging`; `dempack run --quiet / --verbose`; the
shipped quickstart runs at its defaults without a warning."""
from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pytest

import dempack
from dempack.cli import main
from dempack.io.tables import read_csv
from dempack.safety import SETTLE_STEPS

TWO_STAGES = """
[run]
name = "two_stages"
seed = 1
output_interval_steps = 200
snapshot_every_outputs = 0
threads = 1
max_overlap_ratio = 0.6

[packing]
particles = 60

[[packing.materials]]
material = "Se"
weight_fraction = 0.4
d50_um = 5.0
gsd = 1.2

[[packing.materials]]
material = "Mo6Se8"
weight_fraction = 0.6
d50_um = 4.0
gsd = 1.2

[[pressing]]
pressure_MPa = 5
speed_m_per_s = 1.0
hold_steps = 200

[[pressing]]
pressure_MPa = 40
speed_m_per_s = 1.0
hold_steps = 200
"""


def _ours(py_warnings) -> list[str]:
    """Python warnings raised from dempack's code, or of a kind a physics or numerics
    problem raises (RuntimeWarning: overflow, invalid value; UserWarning)."""
    return [f"{w.filename}:{w.lineno}: {w.message}" for w in py_warnings
            if "dempack" in w.filename.replace("\\", "/").split("site-packages")[-1]
            or issubclass(w.category, (RuntimeWarning, UserWarning))]


def _inertial_records(caplog):
    return [r for r in caplog.records if r.name.startswith("dempack")
            and r.levelno == logging.WARNING and "inertial number" in r.getMessage()]


def test_inertial_number_warns_once_per_stage_as_one_line(write_scenario, tmp_path, caplog):
    """Both stages of a too-fast press (1 m/s on a 60-particle bed: I ~ 1e-2) exceed
    I = 1e-3 on several rows each once loaded and past the stack control's settling window:
    exactly one warning per stage, naming the stage,
    the step, the value in the CSV at that step and the key to change."""
    sc = dempack.load_scenario(write_scenario(TWO_STAGES))
    with warnings.catch_warnings(record=True) as py_warnings:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="dempack"):
            dempack.run(sc, out_dir=tmp_path / "out")
    assert not [w for w in py_warnings if "inertial" in str(w.message)]
    t = read_csv(tmp_path / "out" / "timeseries.csv")
    stage, step, I, p = t["stage"], t["step"].astype(int), t["inertial_number"], t["punch_stress_Pa"]
    recs = _inertial_records(caplog)
    assert len(recs) == 2, [r.getMessage() for r in recs]
    for k, (rec, label, target) in enumerate(zip(recs, ("press 5 MPa", "press 40 MPa"), (5e6, 40e6))):
        msg = rec.getMessage()
        assert "\n" not in msg
        # the rows of this stage above the bound, once loaded and once the stage has run a
        # full rate window (safety.SETTLE_STEPS after its first row; more than one row:
        # "once" matters)
        started = step[np.flatnonzero(stage == label)[0]]
        over = np.flatnonzero((stage == label) & (p > 0.5 * target) & (I > 1e-3)
                              & (step - started >= SETTLE_STEPS))
        assert over.size >= 2, label
        first = over[0]
        m = re.fullmatch(rf"stage '{label}', step (\d+): inertial number I = (\S+) > 1e-3 at "
                         r"(\S+) MPa punch stress: not quasi-static; lower "
                         rf"pressing\.{k}\.speed_m_per_s from 1 to (\S+) m/s or less .*", msg)
        assert m, msg
        assert int(m.group(1)) == step[first]
        assert float(m.group(2)) == pytest.approx(I[first], rel=0.05)
        assert float(m.group(3)) == pytest.approx(p[first] / 1e6, rel=1e-2)
        # the suggested speed would bring I to 1e-3 at that state (I ∝ punch speed ≤ 1 m/s)
        assert 0.0 < float(m.group(4)) <= 1e-3 / I[first] * 1.0


def test_run_quiet_prints_warnings_only_as_one_line(tmp_path, capsys, quickstart, tiny_set_args):
    """The tiny run is not quasi-static: --quiet still shows that warning (one line,
    our format, no Python warning machinery), and nothing else on stderr."""
    with warnings.catch_warnings(record=True) as py_warnings:
        warnings.simplefilter("always")
        rc = main(["run", str(quickstart), "--out", str(tmp_path / "q"), "--quiet", *tiny_set_args])
    assert rc == 0
    assert _ours(py_warnings) == []
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dempack: warning: stage 'press 5 MPa', step ")
    assert "pressing.0.speed_m_per_s" in lines[0]
    assert "quickstart: 60 particles" in out                  # the report is still printed


@pytest.mark.parametrize("flag, info, debug", [([], True, False), (["--verbose"], True, True),
                                               (["-q"], False, False)])
def test_run_levels(tmp_path, capsys, quickstart, tiny_set_args, flag, info, debug):
    args = ["run", str(quickstart), "--out", str(tmp_path / "r"), *tiny_set_args,
            "--set", "run.max_steps=400", *flag]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert ("dempack: info: running " in err) == info
    assert bool(re.search(r"^dempack: debug: step 400 \(press 5 MPa\): porosity ", err, re.M)) == debug
    assert ("dempack: debug: checkpoint " in err) == debug
    # the logger is left as it was found (the CLI configures it only while it runs)
    assert logging.getLogger("dempack").handlers == []


def test_quiet_and_verbose_together_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--quiet", "--verbose"])
    assert e.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_the_library_does_not_configure_logging():
    """Importing and running the engine adds no handler: only the CLI (or the user's
    program) decides where messages go."""
    import dempack.runner  # noqa: F401
    import dempack.simulation  # noqa: F401
    assert logging.getLogger("dempack").handlers == []
    assert all(type(h).__module__.startswith("_pytest") for h in logging.getLogger().handlers)


def test_quickstart_runs_without_a_warning_at_its_defaults(tmp_path, capsys, caplog):
    """`dempack run` of the shipped quickstart, defaults untouched: no warning of any
    kind, and its rows are quasi-static where they are judged (I < 1e-3 once the punch
    carries half the target)."""
    with warnings.catch_warnings(record=True) as py_warnings:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="dempack"):
            rc = main(["run", "--out", str(tmp_path / "qs"), "--quiet"])
    assert rc == 0
    assert _ours(py_warnings) == []
    err = capsys.readouterr().err
    assert err == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    t = read_csv(tmp_path / "qs" / "timeseries.csv")
    loaded = t["punch_stress_Pa"] > 0.5 * 100e6
    assert loaded.sum() >= 5
    assert np.nanmax(t["inertial_number"][loaded]) < 1e-3


class _FakeSim:
    """The attributes `safety.warn_inertial` reads, for a pressing stage at 100 MPa."""

    def __init__(self, step, breakage_steps, stage_age):
        from collections import deque
        from types import SimpleNamespace as NS
        self.step_count = step
        self.stage_index = 0
        self.stage_label = "press 100 MPa"
        self.stage = NS(target=100e6)
        self._inertial_warned = None
        self.density_scaling = 1.0
        self.box = NS(punch_velocity=1.0)
        self.scenario = NS(pressing=[NS(speed_m_per_s=1.0)])
        self.fracture = NS(log=[{"step": s} for s in breakage_steps])
        # output rows every 500 steps since the stage began stage_age steps ago (the rate
        # window of safety.rate_window), after a row of the stage before
        first = step - stage_age
        self.rate_marks = deque([(first - 500, "press 50 MPa", 2e-5)] + [
            (k, self.stage_label, 2e-5) for k in range(first, step, 500)])


@pytest.mark.parametrize("since_breakage, stage_age, warned", [
    (0, 10_000, False), (2000, 10_000, False), (2001, 10_000, True), (None, 10_000, True),
    (None, 1500, False), (None, 2000, True)])
def test_rows_settling_after_a_breakage_or_a_stage_start_are_not_judged(
        caplog, since_breakage, stage_age, warned):
    """A row with I = 5e-3 under load warns, unless a particle broke within SETTLE_STEPS
    (2000) steps (the I then measures the stack's collapse into the failed particle's space,
    which no slower loading removes), or the stage began less than SETTLE_STEPS ago (its rate
    window would hold the control's reversal)."""
    from dempack.safety import warn_inertial
    assert SETTLE_STEPS == 2000
    step = 50_000
    sim = _FakeSim(step, [] if since_breakage is None else [10, step - since_breakage], stage_age)
    with caplog.at_level(logging.WARNING, logger="dempack"):
        warn_inertial(sim, {"inertial_number": 5e-3, "punch_stress_Pa": 80e6})
    assert (len(_inertial_records(caplog)) == 1) == warned
