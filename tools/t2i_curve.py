"""How long must the downstream text-to-image model train before it draws what the prompt says?

nbs/experiments/downstream.ipynb trains every downstream model for the scale's `task_steps` (200 at smoke) on 2,000
training images and checks a sanity bar: text-to-image caption agreement at least half the agreement of the same
codebook's reconstructions. This tool measures the learning curve behind that bar. It takes the shared VQ-GAN runs of
the experiments (lgvq.experiments.experiment_config at `--scale`, from the run cache; a missing run is trained first),
encodes `--n-train` CaptionedShapes training images with each frozen model, trains the downstream notebook's
text-to-image CodeGPT on those codes (lgvq.heads.train_code_gpt, lgvq.comparison.DownstreamConfig's batch, learning
rate and sampling unless overridden) and, every `--every` steps, samples one image per test prompt and judges it
(lgvq.shapes_judge.caption_agreement) and scores the test codes' NLL. Beside the curve: the agreement of the model's
reconstructions (the most its codes allow), of the real test images (the judge's ceiling) and of the real test images
under the next image's prompt (chance). Training images beyond the VQ-GAN's own 2,000 are drawn from the same
CaptionedShapes generator (images the VQ-GAN never saw; its codes are what it would give any new image).

Usage: python tools/t2i_curve.py [--variants vqgan vqgan_lg] [--seed 0] [--steps 8000] [--every 1000]
       [--n-train 2000] [--samples 200] [--lr 3e-4] [--width 64] [--layers 2] [--threads 1] [--scale smoke]
       [--run-cache runs/cache] [--text-cache .cache/text] [--json out.json] [--grid-dir dir]

Measured 2026-12-05 (AMD EPYC Zen 5, 1 thread, about 40 ms a step; seed 0, the smoke VQ-GANs at 4,500 steps, 200 test
prompts), caption agreement VQ-GAN / VQ-GAN+LG: on the notebook's 2,000 images at lr 3e-4, 0.076 / 0.096 at 4,000 steps
and 0.107 / 0.087 at 8,000, with the test NLL rising after about 5,000 steps (overfitting); on 10,000 images at lr 1e-3,
0.252 / 0.224 at 16,000 steps, the NLL still falling; a 4-layer, 128-wide model on those images at lr 3e-4 (VQ-GAN
only, about 210 ms a step) 0.327 at 8,000 steps, still rising. Bar 0.461 / 0.464, chance 0.023, the committed downstream figure
(200 steps) 0.021 / 0.027. Table and commands: the last cell of nbs/experiments/downstream.ipynb.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_setup import add_options, check_options, open_setting, positive  # noqa: E402


def learning_curve(vq, train, test, text, steps: int, every: int, samples: int, seed: int, cfg, progress=print) -> dict:
    """Train a text-to-image CodeGPT on `vq`'s codes of `train` (a TaskSplit) and judge its samples for the first
    `samples` prompts of `test` every `every` steps. `cfg`: a DownstreamConfig (architecture, batch, lr, sampling)."""
    import torch
    from lgvq.codegpt import CodeGPT, GPTConfig
    from lgvq.comparison import DownstreamConfig
    from lgvq.core import seed_everything
    from lgvq.heads import (checkable_caption, codebook_vectors, decode_codes, encode_images, generate_from_captions,
                            text_features_prefix, train_code_gpt)
    from lgvq.image_metrics import to_unit
    from lgvq.shapes_judge import caption_agreement
    steps, every, samples = positive(steps, "steps"), positive(every, "every"), positive(samples, "samples")
    if not isinstance(cfg, DownstreamConfig): raise ValueError(f"cfg: expected a DownstreamConfig, got {type(cfg).__name__}")
    if not isinstance(seed, int) or seed < 0: raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    if every > steps: raise ValueError(f"every: expected at most steps={steps}, got {every}")
    ns = min(samples, len(test))
    if ns < 2: raise ValueError(f"samples: expected at least 2 test prompts (chance pairs each image with another's prompt), got {ns}")
    caps = [checkable_caption(c) for c in test.captions[:ns]]
    agree = lambda images, prompts: caption_agreement(to_unit(images), prompts).score
    vq.eval()
    codes_tr, codes_te = encode_images(vq, train.images).flatten(1), encode_images(vq, test.images[:ns]).flatten(1)
    K, N = codebook_vectors(vq).shape[0], codes_tr.shape[1]
    real = test.images[:ns]
    out = {"recon_agreement": agree(decode_codes(vq, codes_te), caps), "real_agreement": agree(real, caps),
           "shuffled_agreement": agree(real, caps[1:] + caps[:1]), "code_usage": float(codes_tr.unique().numel() / K),
           "n_train": len(train), "n_test": ns, "curve": []}
    cond, mask = text_features_prefix(text(caps))
    seed_everything(seed)
    t2i = CodeGPT(GPTConfig(vocab_size=K, block_size=N, cond="text", cond_dim=cond.shape[-1], cond_len=32,
                            n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd))
    t0, eval_s = time.perf_counter(), 0.0

    def judge(step, model):
        nonlocal eval_s
        te = time.perf_counter()
        gen = generate_from_captions(model, caps, text, generator=torch.Generator().manual_seed(seed),
                                     temperature=cfg.temperature, top_k=cfg.top_k, top_p=cfg.top_p)
        point = {"step": step, "t2i_agreement": agree(decode_codes(vq, gen), caps),
                 "t2i_nll": float(model.loss(codes_te, cond, mask))}
        eval_s += time.perf_counter() - te
        point["train_ms_per_step"] = 1000 * (time.perf_counter() - t0 - eval_s) / step
        out["curve"].append(point); out["last_samples"] = gen
        progress(f"  step {step}: text-to-image agreement {point['t2i_agreement']:.3f}, test NLL {point['t2i_nll']:.3f} "
                 f"nats/code, {point['train_ms_per_step']:.1f} ms/step")

    losses = train_code_gpt(t2i, codes_tr, steps, captions=train.captions, text=text, batch_size=cfg.batch_size,
                            lr=cfg.lr, seed=seed, callback=judge, every=every)
    out["final_train_loss"] = float(sum(losses[-50:]) / len(losses[-50:]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(p, steps=8000, every=1000, samples_help="test prompts judged at each evaluation")
    p.add_argument("--grid-dir", default=None, help="write each variant's test images, reconstructions and last samples here")
    a = p.parse_args(argv)
    check_options(a)
    cfg, cfgs, train, test, encoder, cache = open_setting(a, lambda sp: [c for cs in sp.captions for c in cs])
    import torch
    from lgvq.heads import decode_codes, encode_images, save_grid
    from lgvq.train import train_cached
    report = {"scale": a.scale, "seed": a.seed, "steps": a.steps, "every": a.every, "threads": a.threads,
              "downstream_config": vars(cfg), "variants": {}}
    for v, c in cfgs.items():
        print(f"{v} (seed {a.seed}, {a.scale} VQ-GAN at {c.optim.steps} steps; {a.n_train} training images, "
              f"{cfg.n_layer} layer(s) x {cfg.n_embd} wide, lr {cfg.lr:g}):", flush=True)
        vq = train_cached(c, a.run_cache, progress=False)[0].eval().requires_grad_(False)
        r = learning_curve(vq, train, test, cache.get, a.steps, a.every, a.samples, a.seed, cfg,
                           progress=lambda s: print(s, flush=True))
        print(f"  reconstructions {r['recon_agreement']:.3f} (bar: half of it, {r['recon_agreement'] / 2:.3f}); real images "
              f"{r['real_agreement']:.3f}; chance (real images, the next prompt) {r['shuffled_agreement']:.3f}", flush=True)
        if a.grid_dir:
            Path(a.grid_dir).mkdir(parents=True, exist_ok=True)
            recon = decode_codes(vq, encode_images(vq, test.images[:8]).flatten(1))
            save_grid(torch.cat([test.images[:8], recon, decode_codes(vq, r["last_samples"][:8])]),
                      Path(a.grid_dir) / f"t2i_{v}_seed{a.seed}_{a.steps}.png")
            r["grid_rows"] = ["real", "reconstruction", f"text-to-image at step {a.steps}"]
        r.pop("last_samples", None)
        report["variants"][v] = r
    print(f"scale={a.scale}, {a.threads} thread(s), torch {torch.__version__}, {os.cpu_count()} CPUs")
    if a.json: Path(a.json).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    try: main()
    except ValueError as e: sys.exit(f"error: {e}")
