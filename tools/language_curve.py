"""How long must the downstream language models train before their answers depend on the image?

nbs/experiments/downstream.ipynb trains a captioner, a VQA model and a grounding model for the scale's `task_steps`
(200 at smoke) on each frozen codebook's codes, and checks each against its image-shuffled control: the same trained
model with every test image given the next test image's codes. A model that has not learned to read the image scores
the same on both, and then the LG − VQ-GAN difference on that task says nothing about the codebooks. This tool measures
the learning curve behind that control. It takes the shared VQ-GAN runs of the experiments
(lgvq.experiments.experiment_config at `--scale`, from the run cache; a missing run is trained first), encodes
`--n-train` CaptionedShapes training images with each frozen model, trains the downstream notebook's models
(lgvq.heads.train_captioner / train_vqa / train_grounder with lgvq.comparison.DownstreamConfig's batch and learning rate
unless overridden, built exactly as lgvq.comparison.run_downstream_comparison builds them) and, every `--every` steps,
scores each on the test split with the real codes and with the next image's codes. Beside the curve: the grounding
accuracy of the mean training box (no image, no text).

Usage: python tools/language_curve.py [--variants vqgan vqgan_lg] [--tasks captioning vqa grounding] [--seed 0]
       [--steps 3000] [--every 500] [--n-train 2000] [--samples 200] [--lr 3e-4] [--width 64] [--layers 2]
       [--threads 1] [--scale smoke] [--run-cache runs/cache] [--text-cache .cache/text] [--json out.json]

Measured numbers and commands: the last cell of nbs/experiments/downstream.ipynb.
"""
import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("captioning", "vqa", "grounding")


def positive(value, name, kind=int):
    if not isinstance(value, kind) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: expected a positive {kind.__name__}, got {value!r}")
    return value


def language_curve(vq, train, test, text, decode, tasks, steps: int, every: int, samples: int, seed: int, cfg,
                   progress=print) -> dict:
    """Train the downstream `tasks` (captioning, vqa, grounding) on `vq`'s codes of `train` (a TaskSplit) and score
    each every `every` steps on `test` with the real codes and with every image given the next image's codes.
    Captioning is scored on the first `samples` test images (BLEU-4 and CIDEr-D), VQA and grounding on every test
    record. `text(list[str]) -> TextFeatures`, `decode(list[int]) -> str`; `cfg`: a DownstreamConfig."""
    import torch
    from lgvq.comparison import DownstreamConfig
    from lgvq.core import seed_everything
    from lgvq.heads import (Captioner, CaptionerConfig, FusionConfig, Grounder, TokenVocab, VQAModel, box_accuracy,
                            caption_images, codebook_vectors, encode_images, evaluate_vqa, grounding_accuracy,
                            train_captioner, train_grounder, train_vqa)
    from lgvq.task_metrics import caption_metrics
    steps, every, samples = positive(steps, "steps"), positive(every, "every"), positive(samples, "samples")
    if not isinstance(cfg, DownstreamConfig): raise ValueError(f"cfg: expected a DownstreamConfig, got {type(cfg).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0: raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    if every > steps: raise ValueError(f"every: expected at most steps={steps}, got {every}")
    if isinstance(tasks, str) or not tasks or any(t not in TASKS for t in tasks) or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks: expected distinct names from {TASKS}, got {tasks!r}")
    if len(test) < 2: raise ValueError(f"test: expected at least 2 test images (the control gives each the next one's codes), got {len(test)}")
    ns = min(samples, len(test))
    if ns < 2: raise ValueError(f"samples: expected at least 2 captioned test images, got {ns}")
    vq.eval()
    book = codebook_vectors(vq)
    cv_tr, cv_te = book[encode_images(vq, train.images).flatten(1)], book[encode_images(vq, test.images).flatten(1)]
    cv_next = cv_te.roll(-1, 0)                                          # image i -> the codes of image i + 1
    (K, D), N = book.shape, cv_tr.shape[1]
    probe = text(train.caption[:64])
    Dt, Lmax = probe.tokens.shape[-1], 32
    arch = dict(n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd)
    fc = FusionConfig(text_dim=Dt, code_dim=D, num_positions=N, max_text=Lmax, **arch)
    out = {"n_train": len(train), "n_test": len(test), "n_captioned": ns, "tasks": {}}
    if "grounding" in tasks:
        mean_box = torch.stack([b for _, _, b in train.refs]).float().mean(0, keepdim=True)
        test_boxes = torch.stack([b for _, _, b in test.refs]).float()
        out["grounding_prior_acc"] = box_accuracy(mean_box.expand(len(test_boxes), 4), test_boxes)

    def scorer(task):
        if task == "captioning":
            def score(model):
                hyps = caption_images(model, vocab, cv_te[:ns], decode)
                real = caption_metrics(hyps, test.captions[:ns], metrics=("bleu4", "cider_d"))
                shuf = caption_metrics(hyps[1:] + hyps[:1], test.captions[:ns], metrics=("bleu4", "cider_d"))
                return {"bleu4": real["bleu4"], "bleu4_shuffled": shuf["bleu4"],
                        "cider_d": real["cider_d"], "cider_d_shuffled": shuf["cider_d"]}
        elif task == "vqa":
            def score(model):
                return {"vqa_acc": evaluate_vqa(model, cv_te, test.qa, text),
                        "vqa_acc_shuffled": evaluate_vqa(model, cv_next, test.qa, text)}
        else:
            def score(model):
                return {"grounding_acc": grounding_accuracy(model, cv_te, test.refs, text),
                        "grounding_acc_shuffled": grounding_accuracy(model, cv_next, test.refs, text)}
        return score

    kw = dict(batch_size=cfg.batch_size, lr=cfg.lr, seed=seed)
    for task in tasks:
        curve, score, t0, eval_s = [], scorer(task), time.perf_counter(), 0.0

        def watch(step, model):
            nonlocal eval_s
            te = time.perf_counter()
            point = {"step": step, **score(model)}
            eval_s += time.perf_counter() - te
            point["train_ms_per_step"] = 1000 * (time.perf_counter() - t0 - eval_s) / step
            curve.append(point)
            progress(f"  {task} step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in point.items() if k != "step"))

        seed_everything(seed)                                   # as run_downstream_comparison builds each model
        if task == "captioning":
            vocab = TokenVocab(torch.cat([text(train.caption[s:s + 512]).ids.flatten() for s in range(0, len(train), 512)]),
                               int(probe.ids[0, 0]), int(probe.ids[0, int(probe.lengths[0]) - 1]))
            seed_everything(seed)
            model = Captioner(CaptionerConfig(len(vocab), D, N, Lmax, **arch))
            losses = train_captioner(model, vocab, cv_tr, train.captions, text, steps, callback=watch, every=every, **kw)
        elif task == "vqa":
            model = VQAModel(fc, [a for _, _, a in train.qa])
            losses = train_vqa(model, cv_tr, train.qa, text, steps, callback=watch, every=every, **kw)
        else:
            model = Grounder(fc, train.images.shape[-1])
            losses = train_grounder(model, cv_tr, train.refs, text, steps, callback=watch, every=every, **kw)
        out["tasks"][task] = {"curve": curve, "final_train_loss": float(sum(losses[-50:]) / len(losses[-50:]))}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", nargs="+", default=["vqgan", "vqgan_lg"])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), help=f"any of {', '.join(TASKS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--n-train", type=int, default=2000, help="training images (the downstream notebook's smoke setting: 2000)")
    p.add_argument("--samples", type=int, default=200, help="test images captioned at each evaluation")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: DownstreamConfig's)")
    p.add_argument("--width", type=int, default=64, help="model width (the notebook's smoke setting: 64)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scale", default="smoke")
    p.add_argument("--run-cache", default=str(ROOT / "runs" / "cache"))
    p.add_argument("--text-cache", default=str(ROOT / ".cache" / "text"))
    p.add_argument("--json", default=None, help="also write the results to this file")
    a = p.parse_args(argv)
    for v, n in ((a.steps, "--steps"), (a.every, "--every"), (a.n_train, "--n-train"), (a.samples, "--samples"),
                 (a.width, "--width"), (a.layers, "--layers"), (a.threads, "--threads")):
        positive(v, n)
    if a.every > a.steps: raise ValueError(f"--every: expected at most --steps={a.steps}, got {a.every}")
    if a.seed < 0: raise ValueError(f"--seed: expected a non-negative int, got {a.seed}")
    if a.lr is not None: positive(a.lr, "--lr", float)
    bad = [t for t in a.tasks if t not in TASKS]
    if bad or len(set(a.tasks)) != len(a.tasks): raise ValueError(f"--tasks: expected distinct names from {TASKS}, got {a.tasks}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    torch.set_num_threads(a.threads)
    from lgvq.comparison import DownstreamConfig
    from lgvq.config import build_dataset
    from lgvq.experiments import check_experiment, experiment_config
    from lgvq.heads import task_split
    from lgvq.train import build_text, train_cached
    check_experiment(a.scale, "shapes")
    cfg = DownstreamConfig(n_layer=a.layers, n_head=4 if a.width % 4 == 0 else 1, n_embd=a.width)
    if a.lr is not None: cfg = dataclasses.replace(cfg, lr=a.lr)
    cfgs = {v: experiment_config("shapes", v, a.scale, a.seed, 0, a.text_cache) for v in a.variants}
    d = cfgs[a.variants[0]].data
    train = task_split(build_dataset(dataclasses.replace(d, n=max(a.n_train, d.n)), "train", a.seed), a.n_train)
    test = task_split(build_dataset(d, "val", a.seed))
    encoder, cache = build_text(cfgs[a.variants[0]].text)
    cache.get(sorted({c for sp in (train, test) for cs in sp.captions for c in cs} | {q for sp in (train, test) for _, q, _ in sp.qa}
                     | {e for sp in (train, test) for _, e, _ in sp.refs}))
    report = {"scale": a.scale, "seed": a.seed, "steps": a.steps, "every": a.every, "threads": a.threads, "tasks": a.tasks,
              "downstream_config": vars(cfg), "variants": {}}
    for v, c in cfgs.items():
        print(f"{v} (seed {a.seed}, {a.scale} VQ-GAN at {c.optim.steps} steps; {a.n_train} training images, "
              f"{cfg.n_layer} layer(s) x {cfg.n_embd} wide, lr {cfg.lr:g}):", flush=True)
        vq = train_cached(c, a.run_cache, progress=False)[0].eval().requires_grad_(False)
        r = language_curve(vq, train, test, cache.get, encoder.decode_ids, a.tasks, a.steps, a.every, a.samples, a.seed, cfg,
                           progress=lambda s: print(s, flush=True))
        if "grounding_prior_acc" in r: print(f"  grounding, the mean training box for every test box: {r['grounding_prior_acc']:.3f}")
        report["variants"][v] = r
    print(f"scale={a.scale}, {a.threads} thread(s), torch {torch.__version__}, {os.cpu_count()} CPUs")
    if a.json: Path(a.json).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    try: main()
    except ValueError as e: sys.exit(f"error: {e}")
