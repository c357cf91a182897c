"""tools/probe_stems.py: the paired summary is the mean per-seed difference; measure() reads the probe's own records."""
import importlib.util
import math
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("probe_stems", ROOT / "tools" / "probe_stems.py")
ps = importlib.util.module_from_spec(spec); spec.loader.exec_module(ps)


def fake(stem, seed, rng, variant=None):
    r = {"stem": stem, "seed": seed}
    if variant is not None: r["variant"] = variant
    r["content_real"], r["content_shuffled"] = rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.5)
    r["content_gap"] = r["content_real"] - r["content_shuffled"]
    for g in ps.GROUPS: r[f"{g}_real"], r[f"{g}_shuffled"], r[f"{g}_n"] = rng.random(), rng.random(), 7
    return r


def test_summary_is_the_paired_mean_difference():
    rng = random.Random()
    seeds = [0, 1, 2, 3, 4]
    recs = [fake(st, s, rng) for st in ("linear", "conv3x3") for s in seeds]
    lines = ps.summarise(recs)
    by = {(r["stem"], r["seed"]): r for r in recs}
    diff = sum(by["conv3x3", s]["content_gap"] - by["linear", s]["content_gap"] for s in seeds) / 5
    line = next(l for l in lines if l.startswith("- content gap"))
    assert f"Δ = {100 * diff:+.1f}" in line, (line, diff)
    kind = sum((by["conv3x3", s]["kind_real"] - by["conv3x3", s]["kind_shuffled"])
               - (by["linear", s]["kind_real"] - by["linear", s]["kind_shuffled"]) for s in seeds) / 5
    assert f"Δ = {100 * kind:+.1f}" in next(l for l in lines if l.startswith("- kind gap"))
    row = next(l for l in lines if l.startswith("| conv3x3, content words"))
    for s in seeds: assert f"{100 * by['conv3x3', s]['content_gap']:+.1f}" in row
    # the bar's verdict: gaps all far above 20 points hold, all far below are reversed
    high = [dict(r, content_gap=0.5 + 0.01 * r["seed"]) for r in recs]
    low = [dict(r, content_gap=0.05 + 0.01 * r["seed"]) for r in recs]
    assert "above the bar: holds" in next(l for l in ps.summarise(high) if l.startswith("| linear, content"))
    assert "above the bar: reversed" in next(l for l in ps.summarise(low) if l.startswith("| linear, content"))


def test_summary_compares_lg_with_its_baseline_through_the_same_probe():
    rng = random.Random()
    seeds = [0, 1, 2, 3, 4]
    recs = [fake("conv3x3", s, rng, v) for v in ("vqgan", "vqgan_lg") for s in seeds]
    lines = ps.summarise(recs)
    by = {(r["variant"], r["seed"]): r for r in recs}
    real = sum(by["vqgan_lg", s]["content_real"] - by["vqgan", s]["content_real"] for s in seeds) / 5
    gap = sum(by["vqgan_lg", s]["content_gap"] - by["vqgan", s]["content_gap"] for s in seeds) / 5
    assert any(l.startswith("VQ-GAN+LG, conv3x3 − VQ-GAN, conv3x3") for l in lines), lines
    assert f"Δ = {100 * real:+.1f}" in next(l for l in lines if l.startswith("- content real R@1"))
    assert f"Δ = {100 * gap:+.1f}" in next(l for l in lines if l.startswith("- content gap"))
    row = next(l for l in lines if l.startswith("| VQ-GAN+LG, conv3x3, content words"))
    for s in seeds: assert f"{100 * by['vqgan_lg', s]['content_gap']:+.1f}" in row
    # a record without `variant` (written before it existed) is a baseline: it pairs with an LG record
    old = [{k: v for k, v in r.items() if k != "variant"} if r["variant"] == "vqgan" else r for r in recs]
    assert ps.summarise(old) == lines
    with pytest.raises(ValueError, match="missing"): ps.summarise(recs[:-1])
    # both models through both stems: LG - baseline per stem and stem - stem per model; never across model and stem
    four = recs + [fake("linear", s, rng, v) for v in ("vqgan", "vqgan_lg") for s in seeds]
    heads = [l for l in ps.summarise(four) if l.endswith("paired by seed:")]
    assert sorted(heads) == sorted(["VQ-GAN+LG, conv3x3 − VQ-GAN, conv3x3, paired by seed:",
                                    "VQ-GAN+LG, linear − VQ-GAN, linear, paired by seed:",
                                    "VQ-GAN, linear − VQ-GAN, conv3x3, paired by seed:",
                                    "VQ-GAN+LG, linear − VQ-GAN+LG, conv3x3, paired by seed:"]), heads
    cross = [fake("linear", s, rng, "vqgan") for s in seeds] + [fake("conv3x3", s, rng, "vqgan_lg") for s in seeds]
    assert not any(l.endswith("paired by seed:") for l in ps.summarise(cross))


def test_summary_rejects_missing_pairs():
    rng = random.Random(0)
    with pytest.raises(ValueError, match="records"): ps.summarise([])
    with pytest.raises(ValueError, match="missing"):
        ps.summarise([fake("linear", 0, rng), fake("linear", 1, rng), fake("conv3x3", 0, rng)])


def test_attribute_groups_split_the_shapes_vocabulary():
    from lgvq.shapes import ADJECTIVES, NOUNS
    g = ps.attribute_groups()
    assert g["colour"] | g["size"] == set(ADJECTIVES) and not g["colour"] & g["size"]
    assert set(NOUNS) <= g["kind"] and all(n + "s" in g["kind"] for n in NOUNS)


def test_measure_tiny(tmp_path):
    for stem in ("linear", "conv3x3"):
        r = ps.measure(stem, 0, scale="tiny", run_cache=tmp_path)
        assert r["stem"] == stem and r["seed"] == 0
        assert math.isclose(r["content_gap"], r["content_real"] - r["content_shuffled"])
        for g in ps.GROUPS:
            assert r[f"{g}_n"] >= 0
            if r[f"{g}_n"]: assert 0 <= r[f"{g}_real"] <= 1 and 0 <= r[f"{g}_shuffled"] <= 1
    r = ps.measure("linear", 0, scale="tiny", run_cache=tmp_path, variant="vqgan_lg")
    assert r["variant"] == "vqgan_lg" and math.isclose(r["content_gap"], r["content_real"] - r["content_shuffled"])
    with pytest.raises(ValueError, match="stem"): ps.measure("conv5x5", 0, scale="tiny", run_cache=tmp_path)
    with pytest.raises(ValueError, match="variant"): ps.measure("linear", 0, scale="tiny", run_cache=tmp_path,
                                                                variant="vqgan_vqct")
