"""tools/step_sizes.py: the timed window excludes the run's start; a tiny run is timed and a smaller network is smaller."""
import importlib.util
import math
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("step_sizes", ROOT / "tools" / "step_sizes.py")
ss = importlib.util.module_from_spec(spec); spec.loader.exec_module(ss)


def test_window_rate_is_the_rate_between_two_records():
    rng = random.Random()
    startup, warmup, steps = rng.uniform(1, 5), rng.randint(5, 30), rng.randint(50, 300)
    per_step = [rng.uniform(0.01, 0.2) for _ in range(warmup + steps)]
    records = []                                   # as run_steps writes them: rate counted from the start of the run
    for s in (warmup, warmup + steps):
        records.append({"step": s, "steps_per_s": s / (startup + sum(per_step[:s]))})
    expected = steps / sum(per_step[warmup:])
    assert math.isclose(ss.window_rate(records, warmup, warmup + steps), expected, rel_tol=1e-9)
    assert not math.isclose(records[-1]["steps_per_s"], expected, rel_tol=1e-3)   # the cumulative rate is not it


def test_window_rate_rejects_missing_records():
    with pytest.raises(ValueError, match="records"):
        ss.window_rate([{"step": 5, "steps_per_s": 2.0}], 5, 10)
    with pytest.raises(ValueError, match="end"):
        ss.window_rate([{"step": 5, "steps_per_s": 2.0}, {"step": 10, "steps_per_s": 2.0}], 10, 5)


def test_tiny_runs_are_timed_and_a_smaller_network_has_fewer_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(ROOT)
    big = ss.time_steps("vqgan", 16, None, 3, 2, "tiny", tmp_path)
    small = ss.time_steps("vqgan", 8, None, 3, 2, "tiny", tmp_path)
    assert all(math.isfinite(r["steps_per_s"]) and r["steps_per_s"] > 0 for r in (big, small))
    assert small["params"] < big["params"]


def test_bad_arguments_name_the_option():
    with pytest.raises(ValueError, match="--ch"):
        ss.main(["--ch", "0"])
    with pytest.raises(ValueError, match="--steps"):
        ss.main(["--steps", "-1"])
    with pytest.raises(ValueError, match="guide_width"):
        ss.time_steps("vqgan_lg", 8, 0, 3, 2, "tiny", Path("."))
