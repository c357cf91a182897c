"""What does a smaller model buy `make figures`? Training steps per second of the smoke-scale models at other sizes.

`make figures` at smoke scale trains dozens of VQ-GANs for 6,000 steps (lgvq.experiments.SCALES), and the guided ones
(VQ-GAN+LG) cost about twice a plain one. Issue 15 asks whether a smaller network could bring the job within its time
budget. This tool times the training step of each variant (the experiments' config at `--scale`, through
lgvq.train.Trainer, the same code path as `make figures`) with the image network's base width `model.ch` and the
guide's width `guide.width` overridden, on one thread by default (make figures trains one run per core).

Timing: each run trains `--warmup` + `--steps` steps with a log record after the warm-up and at the end (no checkpoint
in between); the rate is the steps between the two records over the time between them, so model building, the first
steps and the final checkpoint are left out. `--repeats` runs of each setting; the median is reported.

Usage: python tools/step_sizes.py [--variants vqgan vqgan_lg] [--ch 16 8] [--guide-width 64 32] [--steps 200]
       [--warmup 20] [--repeats 3] [--threads 1] [--scale smoke] [--json out.json]
The guide's width applies to guided variants only. Runs go to a temporary folder that is removed afterwards.

Measured 2026-12-05 (lgvq 90f6a30, AMD EPYC Zen 5 (family 26), 1 thread, quiet, 200 steps after 20, median of 3), ms
per step: VQ-GAN ch=16 63.8, ch=8 34.0 (1.88x faster); VQ-GAN+LG ch=16 / guide 64 (the smoke setting) 116.6, ch=16 /
guide 32 106.4, ch=8 / guide 64 94.4, ch=8 / guide 32 86.7 (1.34x faster). The guided step keeps about 53 ms that
neither width moves (86.7 - 34.0 at the smallest sizes): the language losses' text side, whose sizes the text encoder
fixes. `python bench/step.py --smoke --threads 1 --only-profile` (same day, smoke sizes): the guide's forward+backward
52.7 ms against a guided - plain gap of 55.0 ms; of the guide's 25.5 ms forward, L_mtp takes 16.5 ms, of which only
4.1 ms is its decoder and projections: the rest is the vocabulary logits and the cross-entropy over 30,522 words. A smaller
network therefore cannot bring `make figures` (6-7 h here, mostly guided runs and probes) near its 45-minute budget,
and it would move the converged operating point (nbs/experiments/convergence.ipynb), which would have to be measured again.
"""
import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def positive_ints(values, name):
    if not values or any(not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name}: expected one or more positive integers, got {values!r}")
    return values


def time_steps(variant: str, ch: int, guide_width: int | None, steps: int, warmup: int, scale: str, workdir: Path) -> dict:
    "Steps per second of one run of `variant` between its warm-up record and its last record."
    positive_ints([ch, steps, warmup], "ch, steps, warmup")
    if guide_width is not None: positive_ints([guide_width], "guide_width")
    from lgvq.experiments import experiment_config
    from lgvq.train import Trainer
    extra = [f"model.ch={ch}", f"run.log_every={warmup}", f"run.ckpt_every={10 * (warmup + steps)}"]
    if guide_width is not None: extra.append(f"guide.width={guide_width}")
    cfg = experiment_config("shapes", variant, scale, 0, warmup + steps, str(ROOT / ".cache" / "text"), extra=extra)
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    cfg.run.out_dir = str(run_dir)
    trainer = Trainer(cfg, resume=False, progress=False)
    trainer.fit()
    records = [json.loads(l) for l in (run_dir / "log.jsonl").read_text().splitlines() if l.strip()]
    n_params = sum(p.numel() for p in trainer.model.parameters())
    return {"steps_per_s": window_rate(records, warmup, warmup + steps), "params": n_params}


def window_rate(records: list, start: int, end: int) -> float:
    """Steps per second between the log records at steps `start` and `end`. A record's `steps_per_s` is counted from the
    start of the run (lgvq.checkpoint.run_steps), so each gives the seconds since then: step / steps_per_s."""
    by_step = {r["step"]: r for r in records}
    for s in (start, end):
        if s not in by_step: raise ValueError(f"records: expected a log record at step {s}, got steps {sorted(by_step)}")
    if not start < end: raise ValueError(f"end: expected a step after start={start}, got {end}")
    t0, t1 = (by_step[s]["step"] / by_step[s]["steps_per_s"] for s in (start, end))
    if not t1 > t0: raise ValueError(f"records: expected the record at step {end} later than the one at {start}")
    return (end - start) / (t1 - t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", nargs="+", default=["vqgan", "vqgan_lg"])
    p.add_argument("--ch", nargs="+", type=int, default=[16, 8], help="the image network's base width (model.ch)")
    p.add_argument("--guide-width", nargs="+", type=int, default=[64, 32], help="guide.width (guided variants only)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scale", default="smoke")
    p.add_argument("--json", default=None, help="also write the results to this file")
    a = p.parse_args(argv)
    positive_ints(a.ch, "--ch"); positive_ints(a.guide_width, "--guide-width")
    for v, n in ((a.steps, "--steps"), (a.warmup, "--warmup"), (a.repeats, "--repeats"), (a.threads, "--threads")):
        positive_ints([v], n)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    torch.set_num_threads(a.threads)
    from lgvq.experiments import check_experiment
    check_experiment(a.scale, "shapes")
    if not (ROOT / "configs").is_dir(): raise ValueError(f"expected the lgvq repository at {ROOT}")
    os.chdir(ROOT)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for variant in a.variants:
            guided = "_lg" in variant
            for ch, gw in itertools.product(a.ch, a.guide_width if guided else [None]):
                rates, params = [], None
                for _ in range(a.repeats):
                    r = time_steps(variant, ch, gw, a.steps, a.warmup, a.scale, Path(workdir))
                    rates.append(r["steps_per_s"]); params = r["params"]
                row = {"variant": variant, "ch": ch, "guide_width": gw, "steps_per_s": statistics.median(rates),
                       "ms_per_step": 1000 / statistics.median(rates), "rates": rates, "params": params}
                rows.append(row)
                print(f"{variant:16s} ch={ch:<3d} guide.width={gw if gw is not None else '-':<3} {row['steps_per_s']:6.1f} steps/s "
                      f"({row['ms_per_step']:5.1f} ms/step; runs {', '.join(f'{x:.1f}' for x in rates)}) {params:,} parameters",
                      flush=True)
    print(f"scale={a.scale}, {a.threads} thread(s), {a.steps} timed steps after {a.warmup}, median of {a.repeats}; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs")
    if a.json:
        Path(a.json).write_text(json.dumps({"scale": a.scale, "threads": a.threads, "steps": a.steps, "warmup": a.warmup,
                                            "repeats": a.repeats, "rows": rows}, indent=1))


if __name__ == "__main__":
    try: main()
    except ValueError as e: sys.exit(f"error: {e}")
