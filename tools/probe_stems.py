"""Does the strict alignment probe miss what the codes carry, or do the codes not carry it? The probe's stem decides.

For each seed, the cached VQ-GAN (or VQ-GAN+LG) of `make figures` (lgvq.experiments; trained first where the run cache
lacks it) gets a strict-protocol alignment probe (`mask_before_encoding=True`: the caption is re-encoded with the mask
token, so only the image can supply a masked word) with each visual-token stem of lgvq.losses.VisualTokens:
- linear: each code embedded alone, as the paper's head (the probe `make figures` trains);
- conv3x3: each code with its 8 neighbours (a 3x3 convolution before the first attention layer), a deviation.
Both probes learn from the same pairs for the same steps, and are measured on the same validation codes, masks and
shuffle (lgvq.probe.masked_word_hits): masked content-word Recall@1 with the real images minus with shuffled ones (the
masked_words notebook's sanity bar: >= 20 points), and the same gap on CaptionedShapes' attribute words by group
(colour, size, shape kind). Paired by seed, 95 % Student-t intervals (lgvq.experiments.paired_comparison).

tools/code_readout.py asks the same question with direct supervision (can a net read the shape kind from each code
alone, or only with its neighbours?); this tool asks it of the L_mtp probe itself.

Usage: python tools/probe_stems.py [--seeds 0 1 2 3 4] [--stems linear conv3x3] [--variants vqgan vqgan_lg]
       [--probe-steps 4500] [--probe-pairs 5000] [--scale smoke] [--run-cache runs/cache] [--json out.json]
--variants vqgan vqgan_lg probes LG-VQ (`configs/shapes_vqgan_lg.yaml`) with the same probe and reports LG minus its
baseline, paired by seed: the paper's L_mtp claim measured by a probe that passes the sanity bar.
Probes are cached in the run cache (a probe with another stem, step count or pair count is a probe of its own), so a
second run only measures. Cost at smoke scale on one CPU core: about 25 minutes a probe (the strict protocol re-encodes
every masked caption with the text encoder).

Measured 2026-12-04 (lgvq ee418fc, smoke baselines of seeds 0-4, 5000 pairs, 4500 probe steps; real - shuffled, points):
content words linear +19.3 [+17.2, +21.5] (the bar: not resolved), conv3x3 +37.3 [+34.5, +40.0] (the bar: met);
shape-kind words linear +6.9 [-0.6, +14.3], conv3x3 +54.0 [+35.3, +72.7]; conv3x3 - linear on content words
+17.9 [+13.9, +21.9], 5 of 5 seeds. The codes carry the shape kind; the paper's per-code stem does not read it.

Measured 2026-12-05 (lgvq 29a8049, `--variants vqgan vqgan_lg --stems conv3x3`, the same 5000 pairs and 4500 probe
steps on the smoke VQ-GAN+LG models of seeds 0-4): LG's content-word gap +34.5 [+28.0, +41.1] (the bar: met, as the
baseline's +37.3); LG - baseline through the same probe, paired by seed: content-word Recall@1 on real images
-3.0 [-6.2, +0.2] points, better in 1 of 5 seeds (not resolved); content gap -2.7 [-8.8, +3.4] (not resolved); colour
gap -6.6 [-12.8, -0.3], 0 of 5 (reversed); size +4.5 [-19.1, +28.1], kind -7.8 [-22.9, +7.4] (not resolved). With a
probe that can see the image, LG's codes do not carry the masked content words better than the baseline's at smoke.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GROUPS = ("colour", "size", "kind")
VARIANTS = ("vqgan", "vqgan_lg")     # the baseline VQ-GAN and VQ-GAN+LG, probed alike


def attribute_groups() -> dict:
    "CaptionedShapes' image-decidable words by group: {colour, size, kind (nouns and their plurals)} -> set of words."
    from lgvq.shapes import ADJECTIVES, NOUNS, PLURALS
    sizes = {"small", "medium", "large"}
    return {"colour": {w for w in ADJECTIVES if w not in sizes}, "size": {w for w in ADJECTIVES if w in sizes},
            "kind": set(NOUNS) | set(PLURALS.values())}


def measure(stem: str, seed: int, scale: str = "smoke", probe_steps: int = 0, probe_pairs: int = 0,
            run_cache="runs/cache", encoder=None, cache=None, variant: str = "vqgan") -> dict:
    """One seed's VQ-GAN (`variant`: "vqgan" the baseline, "vqgan_lg" LG-VQ), its strict probe with `stem` (trained or
    reused), measured: content-word Recall@1 real / shuffled / gap (Mask-1), and per attribute group real / shuffled /
    number of masked words."""
    from lgvq.core import check_choice
    from lgvq.experiments import probed_run
    from lgvq.losses import STEMS
    from lgvq.probe import masked_word_hits
    check_choice(stem, "stem", STEMS)
    check_choice(variant, "variant", VARIANTS)
    if cache is None:                                   # built once here: probed_run and masked_word_hits share it
        from lgvq.experiments import experiment_config
        from lgvq.train import build_text
        encoder, cache = build_text(experiment_config("shapes", "vqgan_lg", scale, seed).text)
    _, head, m, (zv, cv) = probed_run("shapes", variant, scale, seed, probe_steps=probe_steps, run_cache=run_cache,
                                      strict=True, encoder=encoder, cache=cache, n_probe=probe_pairs, probe_stem=stem)
    real, shuffled = m["recall@1_real_mask1_content"], m["recall@1_shuffled_mask1_content"]
    out = {"variant": variant, "stem": stem, "seed": seed, "content_real": real, "content_shuffled": shuffled,
           "content_gap": real - shuffled}
    hits = masked_word_hits(head, zv, cv, cache, k=1, seed=seed)
    for group, words in attribute_groups().items():
        h = [r for r in hits if r["word"] is not None and r["word"].lower() in words]
        out[f"{group}_n"] = len(h)
        out[f"{group}_real"] = sum(r["real"] for r in h) / len(h) if h else float("nan")
        out[f"{group}_shuffled"] = sum(r["shuffled"] for r in h) / len(h) if h else float("nan")
    return out


def _gap(r: dict, what: str) -> float:
    return r["content_gap"] if what == "content" else r[f"{what}_real"] - r[f"{what}_shuffled"]


VARIANT_NAMES = {"vqgan": "VQ-GAN", "vqgan_lg": "VQ-GAN+LG"}


def _arm(r: dict) -> tuple:
    return r.get("variant", "vqgan"), r["stem"]     # records written before `variant` existed are baselines


def summarise(records: list, bar: float = 0.20) -> list:
    """Markdown lines: per arm (variant, stem), the content-word gap paired by seed against 0 and against the `bar`, the
    attribute groups' gaps; then, paired by seed, on the real-image content-word Recall@1 and on each gap: each later
    variant minus the first through the same stem (LG against its baseline, same probe) and each later stem minus the
    first on the same model. Arms that differ in both model and stem are never compared."""
    from lgvq.experiments import fmt_paired, paired_comparison
    if not records: raise ValueError("records: expected measure() results, got none")
    arms = list(dict.fromkeys(_arm(r) for r in records))
    variants = list(dict.fromkeys(v for v, _ in arms))
    label = {a: a[1] if len(variants) == 1 else f"{VARIANT_NAMES.get(a[0], a[0])}, {a[1]}" for a in arms}
    by = {(*_arm(r), r["seed"]): r for r in records}
    seeds = sorted({r["seed"] for r in records})
    missing = [(*a, s) for a in arms for s in seeds if (*a, s) not in by]
    if missing: raise ValueError(f"records: expected every arm for every seed, missing (variant, stem, seed) {missing}")
    zero = {s: 0.0 for s in seeds}
    models = " and ".join(f"{VARIANT_NAMES.get(v, v)}s" for v in variants)
    lines = [f"Strict probes on the {models}, seeds {', '.join(map(str, seeds))}: real − shuffled Recall@1 "
             "(Mask-1), paired by seed", "",
             "| probe | " + " | ".join(f"seed {s}" for s in seeds) + " | paired mean [95 % CI] | sanity bar (≥ "
             f"{100 * bar:.0f} points) |", "|---|" + "---|" * (len(seeds) + 2)]
    for a in arms:
        d = {s: by[(*a, s)]["content_gap"] for s in seeds}
        vs_bar = paired_comparison({s: bar for s in seeds}, d, min_seeds=5)
        lines.append(f"| {label[a]}, content words | " + " | ".join(f"{100 * d[s]:+.1f}" for s in seeds) + " | "
                     + fmt_paired(paired_comparison(zero, d, min_seeds=5), pct=True) + " | above the bar: "
                     + vs_bar["verdict"] + " |")
        for g in GROUPS:
            d = {s: _gap(by[(*a, s)], g) for s in seeds}
            if any(v != v for v in d.values()): continue
            lines.append(f"| {label[a]}, {g} words | " + " | ".join(f"{100 * d[s]:+.1f}" for s in seeds) + " | "
                         + fmt_paired(paired_comparison(zero, d, min_seeds=5), pct=True) + " | |")
    stems = list(dict.fromkeys(st for _, st in arms))
    pairs = [((variants[0], st), (v, st)) for st in stems for v in variants[1:]]     # LG - baseline, same probe
    pairs += [((v, stems[0]), (v, st)) for v in variants for st in stems[1:]]     # stem - stem, same model
    for a, b in pairs:                  # only arms that differ in one thing: never two models through two probes
        if a not in label or b not in label: continue
        lines += ["", f"{label[b]} − {label[a]}, paired by seed:"]
        da, db = ({s: by[(*x, s)]["content_real"] for s in seeds} for x in (a, b))
        lines.append("- content real R@1: " + fmt_paired(paired_comparison(da, db, min_seeds=5), pct=True))
        for what in ("content", *GROUPS):
            da, db = ({s: _gap(by[(*x, s)], what) for s in seeds} for x in (a, b))
            if any(v != v for v in (*da.values(), *db.values())): continue
            lines.append(f"- {what} gap: " + fmt_paired(paired_comparison(da, db, min_seeds=5), pct=True))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--stems", nargs="+", default=["linear", "conv3x3"])
    p.add_argument("--variants", nargs="+", default=["vqgan"], help="vqgan (the baseline) and/or vqgan_lg (LG-VQ)")
    p.add_argument("--scale", default="smoke")
    p.add_argument("--probe-steps", type=int, default=4500)
    p.add_argument("--probe-pairs", type=int, default=5000)
    p.add_argument("--run-cache", default=str(ROOT / "runs" / "cache"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default="")
    a = p.parse_args(argv)
    import torch
    from lgvq.core import check_choice
    from lgvq.losses import STEMS
    for st in a.stems: check_choice(st, "stems", STEMS)
    for v in a.variants: check_choice(v, "variants", VARIANTS)
    torch.set_num_threads(a.threads)
    from lgvq.experiments import experiment_config
    from lgvq.train import build_text
    encoder, cache = build_text(experiment_config("shapes", "vqgan_lg", a.scale, a.seeds[0]).text)
    records = []
    for v in a.variants:
        for st in a.stems:
            for s in a.seeds:
                records.append(measure(st, s, a.scale, a.probe_steps, a.probe_pairs, a.run_cache, encoder, cache, v))
            print(json.dumps(records[-1]), flush=True)
    print("\n".join(summarise(records)))
    if a.json: Path(a.json).write_text(json.dumps(records, indent=1))
    return records


if __name__ == "__main__":
    main()
