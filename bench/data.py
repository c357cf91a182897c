"""Training steps per second on your own images (a folder: PNG files + captions.jsonl, lgvq.data.ImageCaptionFolder)
against the same images generated in memory (CaptionedShapes), data loading included.

The same CPU-scale model twice (configs/shapes_vqgan_lg.yaml: VQ-GAN + LG, batch 16, 32 px, discriminator active, cached
text features): once on CaptionedShapes, once on a folder holding the same N CaptionedShapes images, written losslessly
as PNGs with their captions to a temporary directory (data.val_fraction=0: every image trains). Each timed step is
`next(batches)` + `Trainer.train_step(batch)`, where `batches` is the trainer's own endless iteration
(`Trainer._batches`: sampler, DataLoader with data.num_workers, collate, epoch changes), so reading, decoding and
resizing the files is inside the time. The two trainers alternate, one step of each per round, so that load drift hits
both alike. A second table times the data path alone (the same iteration, no training step), and `--profile` adds a
cProfile of the folder's data path.

Target: the folder within 10 % of CaptionedShapes (steps/s folder / shapes >= 0.90).

Run: .venv/bin/python bench/data.py [--steps 40] [--images 256] [--batch 16] [--workers N] [--profile] [--no-report]
--no-report prints the tables without appending them to bench/RESULTS.md (a check run on a busy machine).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, report, table  # noqa: E402

from lgvq.shapes import CaptionedShapes  # noqa: E402
from lgvq.data import ImageCaptionFolder
from lgvq.config import TrainConfig, apply_overrides  # noqa: E402
from lgvq.train import Trainer

ROOT = Path(__file__).parents[1]
CONFIG = "shapes_vqgan_lg.yaml"


def write_folder(root: Path, ds: CaptionedShapes) -> Path:
    "Every image of `ds` as a PNG under root/img/ and its captions in root/captions.jsonl (the folder layout lgvq reads)."
    from PIL import Image
    (root / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(len(ds)):
        it = ds[i]
        name = f"img/{i:05d}.png"
        pixels = ((it["image"] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()   # exact: rendered as uint8
        Image.fromarray(pixels).save(root / name)
        lines.append(json.dumps({"image": name, "captions": it["captions"]}))
    (root / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return root


def trainer(tmp: str, name: str, batch: int, workers: int | None, data: list[str]) -> Trainer:
    "The CPU-scale trainer of CONFIG with `data` overrides; no checkpoints, pictures or TensorBoard (never saved here)."
    import yaml
    d = yaml.safe_load((ROOT / "configs" / CONFIG).read_text())
    over = [f"data.batch_size={batch}", "loss.disc_start=0", f"run.out_dir={tmp}/{name}", f"text.cache_dir={tmp}/cache",
            "run.tensorboard=false", "run.preview_images=0", *data]
    if workers is not None: over.append(f"data.num_workers={workers}")
    return Trainer(TrainConfig.from_dict(apply_overrides(d, over)), progress=False)


def interleaved_steps(runs: dict, rounds: int, train: bool = True) -> dict:
    "{name: (data seconds per step, whole-step seconds per step)} — medians over `rounds` rounds of one step of each."
    its = {n: tr._batches() for n, tr in runs.items()}
    for n, tr in runs.items():                                              # warm-up: first batches, first steps
        b = next(its[n])
        if train: tr.train_step(b)
    data, total = {n: [] for n in runs}, {n: [] for n in runs}
    for _ in range(rounds):
        for n, tr in runs.items():
            t0 = time.perf_counter()
            b = next(its[n])
            t1 = time.perf_counter()
            if train: tr.train_step(b)
            t2 = time.perf_counter()
            data[n].append(t1 - t0); total[n].append(t2 - t0)
    return {n: (statistics.median(data[n]), statistics.median(total[n])) for n in runs}


def profile_data(tr: Trainer, batches: int) -> str:
    "cProfile of `batches` batches of the trainer's data path: the top functions by cumulative time per batch."
    import cProfile
    import pstats
    it = tr._batches()
    next(it)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(batches): next(it)
    pr.disable()
    st = pstats.Stats(pr).stats
    top = sorted(st.items(), key=lambda kv: -kv[1][3])[:15]
    return table(["function (cumulative)", "ms / batch", "own ms / batch"],
                 [[f"{Path(k[0]).name}:{k[1]}({k[2]})" if k[0] != "~" else k[2], f"{v[3] / batches * 1e3:.2f}",
                   f"{v[2] / batches * 1e3:.2f}"] for k, v in top])


def main(steps=40, images=256, batch=16, workers=None, profile=False, no_report=False):
    with tempfile.TemporaryDirectory(prefix="lgvq-bench-data-") as tmp:   # the folder and the trainers' run folders
        _main(Path(tmp), steps, images, batch, workers, profile, no_report)


def _main(tmp, steps, images, batch, workers, profile, no_report):
    torch.manual_seed(0)
    shapes = CaptionedShapes(images, size=32, seed=0)
    t = time.perf_counter()
    folder = write_folder(tmp / "folder", shapes)
    write_s = time.perf_counter() - t
    check = ImageCaptionFolder(folder, size=32, val_fraction=0)          # the same images and captions, read back
    for i in (0, len(check) - 1):
        assert torch.equal(check[i]["image"], shapes[i]["image"]) and check[i]["captions"] == shapes[i]["captions"], i
    runs = {"CaptionedShapes (generated in memory)": trainer(str(tmp), "shapes", batch, workers, [f"data.n={images}"]),
            "folder (PNG files + captions.jsonl)": trainer(str(tmp), "folder", batch, workers,
                                                           ["data.dataset=folder", f"data.root={folder}", "data.val_fraction=0"])}
    a, b = runs
    assert len(runs[a].dataset) == len(runs[b].dataset) == images
    times = interleaved_steps(runs, steps)
    loader = interleaved_steps(runs, 4 * steps, train=False)
    rate = {n: 1 / t for n, (_, t) in times.items()}
    rows = [[n, f"{rate[n]:.2f}", f"{tot * 1e3:.1f}", f"{dat * 1e3:.2f}", f"{rate[n] / rate[a]:.3f}"]
            for n, (dat, tot) in times.items()]
    body = table(["data", "steps / s", "ms / step", "of which data ms", "ratio to CaptionedShapes"], rows)
    body += "\n\nThe data path alone (the same iteration, no training step):\n\n" + table(
        ["data", "batches / s", "ms / batch", "images / s"],
        [[n, f"{1 / dat:.1f}", f"{dat * 1e3:.2f}", f"{batch / dat:.0f}"] for n, (dat, _) in loader.items()])
    ratio = rate[b] / rate[a]
    nw = runs[a].cfg.data.num_workers
    load = os.getloadavg()
    notes = [f"{images} images of 32 px, batch {batch}, data.num_workers={nw}, configs/{CONFIG} (discriminator active, cached "
             f"text features); median of {steps} steps per data source timed round-robin (one step of each per round), "
             f"each step = the next batch from the trainer's own DataLoader iteration + Trainer.train_step; the data path "
             f"alone: median of {4 * steps} batches, round-robin. Writing the {images} PNGs took {write_s:.1f} s. Load "
             f"average at the end: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}.",
             f"Folder within 10 % of CaptionedShapes (ratio >= 0.90): {'met' if ratio >= 0.9 else 'NOT met'} ({ratio:.3f})."]
    title = "Training steps on folder data vs CaptionedShapes (CPU-scale model)"
    if profile:
        body += "\n\ncProfile of the folder's data path:\n\n" + profile_data(runs[b], batches=2 * steps)
    if no_report:
        print(f"\n## {title} (check run, not recorded)\n\n{machine()}\n\n{body}\n\n" + "\n".join(notes))
    else: report(title, body, "\n".join(notes))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40, help="timed steps per data source")
    ap.add_argument("--images", type=int, default=256, help="images in the dataset (and in the folder)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="data.num_workers (default: the config's)")
    ap.add_argument("--profile", action="store_true", help="add a cProfile of the folder's data path")
    ap.add_argument("--no-report", action="store_true", help="print only; do not append to bench/RESULTS.md")
    a = ap.parse_args()
    main(a.steps, a.images, a.batch, a.workers, a.profile, a.no_report)
