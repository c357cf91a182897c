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
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_setup import add_options, check_options, open_setting, positive  # noqa: E402

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
    add_options(p, steps=3000, every=500, samples_help="test images captioned at each evaluation")
    p.add_argument("--tasks", nargs="+", default=list(TASKS), help=f"any of {', '.join(TASKS)}")
    a = p.parse_args(argv)
    check_options(a)
    if any(t not in TASKS for t in a.tasks) or len(set(a.tasks)) != len(a.tasks):
        raise ValueError(f"--tasks: expected distinct names from {TASKS}, got {a.tasks}")
    strings = lambda sp: [c for cs in sp.captions for c in cs] + [q for _, q, _ in sp.qa] + [e for _, e, _ in sp.refs]
    cfg, cfgs, train, test, encoder, cache = open_setting(a, strings)
    import torch
    from lgvq.train import train_cached
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
