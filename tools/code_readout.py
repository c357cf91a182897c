"""Can the image's content be read from a trained model's frozen codes, and does it take their spatial configuration?

For the cached smoke-scale VQ-GAN and VQ-GAN+LG of each seed (lgvq.experiments, the runs `make figures` trains), z_q of
the training and validation images is read out by two small supervised nets predicting which shape kinds (and, as a
control, which colours) the image holds — a multi-label target from CaptionedShapes' object attributes:
- per code: two 1x1 convolutions, then a max over positions — sees each code alone, not its neighbours;
- configuration: the same net with 3x3 convolutions — sees each code with its 8 neighbours.
Both train with Adam on the same data and steps. Reported: validation micro-F1 and the fraction of images whose whole set
is right. This is the check behind the masked-word sanity bar (issue 15): if a small net reads the shape kind from the
codes while the strict L_mtp probe recalls it at chance, the probe, not the codebook, misses it.

Usage: python tools/code_readout.py [--seeds 0 1 2 3 4] [--run-cache runs/cache] [--text-cache .cache/text]
       [--steps 1500] [--n-train 5000] [--n-val 1000]
(models not yet in the run cache are trained first: minutes per model on a CPU).
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn as nn
import torch.nn.functional as F


def multi_hot(dataset, n: int, column: int, classes: int) -> torch.Tensor:
    "(n, classes) 0/1: which values of attribute `column` (0 shape kind, 1 colour, 2 size) each image holds."
    y = torch.zeros(n, classes)
    for i in range(n):
        for obj in dataset[i]["attributes"]: y[i, int(obj[column])] = 1
    return y


def readout(kernel: int, channels: int, classes: int, width: int = 64) -> nn.Module:
    "Two convolutions of `kernel` (1: per code, 3: with neighbours), ReLU, a max over positions, a linear layer."
    pad = kernel // 2
    return nn.Sequential(nn.Conv2d(channels, width, kernel, padding=pad), nn.ReLU(),
                         nn.Conv2d(width, width, kernel, padding=pad), nn.ReLU(),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, classes))


def fit_and_score(kernel, z_tr, y_tr, z_va, y_va, steps: int, seed: int) -> tuple[float, float]:
    "Train a readout on (z_tr, y_tr); return validation (micro-F1, exact-set accuracy)."
    torch.manual_seed(seed)
    net = readout(kernel, z_tr.shape[1], y_tr.shape[1])
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(z_tr), (128,), generator=g)
        loss = F.binary_cross_entropy_with_logits(net(z_tr[idx]), y_tr[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad(): pred = (net(z_va) > 0).float()
    f1 = 2 * (pred * y_va).sum() / (pred.sum() + y_va.sum()).clamp_min(1)
    return float(f1), float((pred == y_va).all(1).float().mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--run-cache", default=str(ROOT / "runs" / "cache"))
    ap.add_argument("--text-cache", default=str(ROOT / ".cache" / "text"))
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-val", type=int, default=1000)
    a = ap.parse_args(argv)
    for name in ("steps", "n_train", "n_val"):
        if getattr(a, name) < 1: raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(a, name)}")
    if any(s < 0 for s in a.seeds): raise ValueError(f"--seeds: expected non-negative integers, got {a.seeds}")
    from lgvq.config import build_dataset
    from lgvq.experiments import experiment_config
    from lgvq.probe import quantized_codes
    from lgvq.shapes import COLORS, SHAPES
    from lgvq.train import train_cached
    print("| seed | model | target | per code: F1 / exact set | configuration (3x3): F1 / exact set |")
    print("|---|---|---|---|---|")
    for seed in a.seeds:
        for variant in ("vqgan", "vqgan_lg"):
            cfg = experiment_config("shapes", variant, "smoke", seed, 0, a.text_cache, "")
            model = train_cached(cfg, a.run_cache, progress=False)[0]
            tr, va = build_dataset(cfg.data, "train", seed), build_dataset(cfg.data, "val", seed)
            n_tr, n_va = min(a.n_train, len(tr)), min(a.n_val, len(va))
            with torch.no_grad():
                z_tr, z_va = quantized_codes(model, tr, n_tr)[0], quantized_codes(model, va, n_va)[0]
            for column, target, classes in ((0, "shape kinds", len(SHAPES)), (1, "colours", len(COLORS))):
                y_tr, y_va = multi_hot(tr, n_tr, column, classes), multi_hot(va, n_va, column, classes)
                one = fit_and_score(1, z_tr, y_tr, z_va, y_va, a.steps, seed)
                three = fit_and_score(3, z_tr, y_tr, z_va, y_va, a.steps, seed)
                print(f"| {seed} | {variant} | {target} | {one[0]:.3f} / {one[1]:.3f} | {three[0]:.3f} / {three[1]:.3f} |",
                      flush=True)
    print(f"\n{n_tr} training and {n_va} validation images per seed, {a.steps} Adam steps (lr 3e-3, batch 128) per readout.")


if __name__ == "__main__":
    main()
