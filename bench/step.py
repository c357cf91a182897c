"""One training step (forward + generator update + discriminator update) of the CaptionedShapes CPU-scale model, for:
VQ-GAN; VQ-VAE (no discriminator); VQ-GAN+LG with cached text features (lgvq's way); VQ-GAN+LG "as originally designed" (the text encoder run
every step and the whole model run twice per batch — a reference configuration only); VQ-GAN+VQCT (when
lgvq.transfer is available). Ratios to VQ-GAN, measured side by side in one process, discriminator active.

Run: .venv/bin/python bench/step.py [--batch 16] [--size 32] [--repeats 15] [--profile]
Targets: LG with cache <= 1.15x VQ-GAN; VQCT <= 1.25x.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, table, timeit  # noqa: E402

from lgvq.data import CaptionedShapes, collate  # noqa: E402
from lgvq.train import TrainConfig, Trainer, apply_overrides  # noqa: E402

ROOT = Path(__file__).parents[1]


PAPER = ["data.dataset=shapes", "data.root=null", "data.size=256", "model.resolution=256", "text.encoder=minilm",
         "text.max_length=32", "loss.perceptual_weight=0", "optim.precision=fp32", "data.num_workers=0"]


def trainer(cfg_name, tmp, batch, extra=(), paper=False):
    import yaml
    if paper: cfg_name = cfg_name.replace("shapes_", "cub_")
    d = yaml.safe_load((ROOT / "configs" / cfg_name).read_text())
    d = apply_overrides(d, [*(PAPER if paper else []), f"data.batch_size={batch}", "loss.disc_start=0",
                            f"data.n={max(2 * batch, 32)}", f"run.out_dir={tmp}/{cfg_name}", f"text.cache_dir={tmp}/cache", *extra])
    return Trainer(TrainConfig.from_dict(d), progress=False)


def original_step(tr, batch):
    "LG-VQ as originally designed: encode the captions every step, and run the model again for the discriminator."
    images = batch["image"]
    text = tr.encoder.encode(list(batch["caption"]))                       # text encoder every step
    tr.model.train(); tr.loss.train()
    out = tr.model(images, text)
    g, _ = tr.loss.generator_loss(out, images, tr.step, tr.model.last_layer)
    tr.opt_g.zero_grad(set_to_none=True); g.backward(); tr.opt_g.step()
    out2 = tr.model(images, text)                                           # second full forward, for the discriminator
    d, _ = tr.loss.discriminator_loss(images, out2.recon.detach(), tr.step)
    tr.opt_d.zero_grad(set_to_none=True); d.backward(); tr.opt_d.step()


def main(batch=16, repeats=15, profile=False, paper=False):
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp()
    mk = lambda name: trainer(name, tmp, batch, paper=paper)
    runs = {"VQ-GAN": mk("shapes_vqgan.yaml"), "VQ-VAE": mk("shapes_vqvae.yaml"),
            "VQ-GAN+LG (cached text)": mk("shapes_vqgan_lg.yaml")}
    try:
        import lgvq.transfer  # noqa: F401
        runs["VQ-GAN+VQCT"] = mk("shapes_vqgan_vqct.yaml")
    except (ImportError, FileNotFoundError, ValueError) as e:
        print(f"VQCT row skipped: {e}")
    ds = CaptionedShapes(batch, size=256 if paper else 32, seed=0)
    b = collate([ds[i] for i in range(batch)])
    times = {name: timeit(lambda tr=tr: tr.train_step(b), repeats=repeats) for name, tr in runs.items()}
    lg = runs["VQ-GAN+LG (cached text)"]
    times["VQ-GAN+LG as originally designed"] = timeit(lambda: original_step(lg, b), repeats=repeats)
    base = times["VQ-GAN"]
    rows = [[n, f"{t * 1e3:.1f}", f"{t / base:.2f}x"] for n, t in times.items()]
    body = table(["configuration", "ms / step", "ratio to VQ-GAN"], rows)
    r_lg = times["VQ-GAN+LG (cached text)"] / base
    scale = ("paper-size VQ-GAN (configs/cub_*.yaml: 256 px, ch 128, ch_mult 1,1,2,2,4) on CaptionedShapes images, "
             "MiniLM text features, no LPIPS (no local VGG weights)") if paper else \
        "32 px, CaptionedShapes CPU-scale model (configs/shapes_*.yaml)"
    notes = [f"Batch {batch}, {scale}, discriminator active, median of {repeats} steps.",
             f"LG with cache <= 1.15x: {'met' if r_lg <= 1.15 else 'NOT met'} ({r_lg:.2f}x)."]
    if "VQ-GAN+VQCT" in times:
        r_v = times["VQ-GAN+VQCT"] / base
        notes.append(f"VQCT <= 1.25x: {'met' if r_v <= 1.25 else 'NOT met'} ({r_v:.2f}x).")
    report(f"One training step on CPU ({'paper-size' if paper else 'CPU-scale'} model)", body, "\n".join(notes))
    if profile:
        from torch.profiler import ProfilerActivity, profile as prof
        with prof(activities=[ProfilerActivity.CPU], record_shapes=False) as p:
            for _ in range(5): lg.train_step(b)
        print(p.key_averages().table(sort_by="cpu_time_total", row_limit=25))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--paper", action="store_true", help="the paper-size VQ-GAN (256 px) instead of the CPU-scale one")
    a = ap.parse_args()
    main(a.batch, a.repeats, a.profile, a.paper)
