"""What tools/t2i_curve.py and tools/language_curve.py share: their common command-line options, the checks on them,
and the setting they measure in (the experiments' shared VQ-GAN configs, the downstream notebook's splits and text
feature cache, a DownstreamConfig with the asked width, depth and learning rate)."""
import dataclasses
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def positive(value, name, kind=int):
    if not isinstance(value, kind) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: expected a positive {kind.__name__}, got {value!r}")
    return value


def add_options(p, steps: int, every: int, samples_help: str):
    "The options both tools take; `steps`, `every` are the tool's defaults."
    p.add_argument("--variants", nargs="+", default=["vqgan", "vqgan_lg"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--every", type=int, default=every)
    p.add_argument("--n-train", type=int, default=2000, help="training images (the downstream notebook's smoke setting: 2000)")
    p.add_argument("--samples", type=int, default=200, help=samples_help)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: DownstreamConfig's)")
    p.add_argument("--width", type=int, default=64, help="model width (the notebook's smoke setting: 64)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scale", default="smoke")
    p.add_argument("--run-cache", default=str(ROOT / "runs" / "cache"))
    p.add_argument("--text-cache", default=str(ROOT / ".cache" / "text"))
    p.add_argument("--json", default=None, help="also write the results to this file")


def check_options(a):
    "ValueError naming the first bad common option of the parsed arguments `a`."
    for v, n in ((a.steps, "--steps"), (a.every, "--every"), (a.n_train, "--n-train"), (a.samples, "--samples"),
                 (a.width, "--width"), (a.layers, "--layers"), (a.threads, "--threads")):
        positive(v, n)
    if a.every > a.steps: raise ValueError(f"--every: expected at most --steps={a.steps}, got {a.every}")
    if a.seed < 0: raise ValueError(f"--seed: expected a non-negative int, got {a.seed}")
    if a.lr is not None: positive(a.lr, "--lr", float)


def open_setting(a, strings):
    """(DownstreamConfig, {variant: experiment config}, train TaskSplit, test TaskSplit, text encoder, feature cache) for
    the parsed options `a`; `strings(split)` gives the texts of a split to encode into the cache before any training.
    Training images beyond the VQ-GANs' own come from the same CaptionedShapes generator."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    torch.set_num_threads(a.threads)
    from lgvq.comparison import DownstreamConfig
    from lgvq.config import build_dataset
    from lgvq.experiments import check_experiment, experiment_config
    from lgvq.heads import task_split
    from lgvq.train import build_text
    check_experiment(a.scale, "shapes")
    cfg = DownstreamConfig(n_layer=a.layers, n_head=4 if a.width % 4 == 0 else 1, n_embd=a.width)
    if a.lr is not None: cfg = dataclasses.replace(cfg, lr=a.lr)
    cfgs = {v: experiment_config("shapes", v, a.scale, a.seed, 0, a.text_cache) for v in a.variants}
    d = cfgs[a.variants[0]].data
    train = task_split(build_dataset(dataclasses.replace(d, n=max(a.n_train, d.n)), "train", a.seed), a.n_train)
    test = task_split(build_dataset(d, "val", a.seed))
    encoder, cache = build_text(cfgs[a.variants[0]].text)
    cache.get(sorted(set(strings(train)) | set(strings(test))))
    return cfg, cfgs, train, test, encoder, cache
