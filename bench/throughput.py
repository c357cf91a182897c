"""Training throughput and text-cache build rate.

1. images/s of VQ-GAN+LG training (one optimizer step = forward, generator and discriminator updates, cached text):
   - GPU: the paper-size model (configs/cub_vqgan_lg.yaml: 256 px, ch 128, ch_mult 1,1,2,2,4) in bf16 autocast, eager and
     with torch.compile (`optim.compile=true`), on one GPU. Without CUDA these rows print "not measured (no GPU)".
   - CPU: the CaptionedShapes CPU-scale model (configs/shapes_vqgan_lg.yaml: 32 px, batch 16) in fp32, eager.
2. captions/s of `lgvq.text_cache.TextFeatureCache.build` with the packaged MiniLM encoder on distinct CaptionedShapes
   captions, written into a fresh temporary directory (CPU; and GPU when present).

Run: .venv/bin/python bench/throughput.py [--captions 2000] [--gpu-batch 8] [--cpu-batch 16] [--steps 10]
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, sync, table, timeit  # noqa: E402
from step import PAPER, trainer  # noqa: E402

from lgvq.shapes import CaptionedShapes  # noqa: E402
from lgvq.data import collate

NO_GPU = "not measured (no GPU)"


def distinct_captions(n: int, seed: int = 0) -> list[str]:
    "`n` distinct CaptionedShapes captions (every caption of every sample, in order, until `n` are found)."
    ds, out, seen, i = CaptionedShapes(10 * n, size=32, seed=seed), [], set(), 0
    while len(out) < n:
        if i >= len(ds): raise ValueError(f"captions: CaptionedShapes has fewer than {n} distinct captions in {len(ds)} samples")
        for c in ds[i]["captions"]:
            if c not in seen and len(out) < n: seen.add(c); out.append(c)
        i += 1
    return out


def cache_rate(captions: list[str], device: str, repeats: int = 1) -> float:
    "captions/s of TextFeatureCache.build into a fresh directory (best of `repeats` builds after a warm-up encode)."
    from lgvq.text_cache import TextFeatureCache
    from lgvq.text import get_text_encoder
    enc = get_text_encoder("minilm", device=device)
    enc.encode(captions[:enc.batch_size])                      # warm-up: first-call allocations, kernels, tokenizer
    sync(device)
    times = []
    for _ in range(repeats):
        root = tempfile.mkdtemp(prefix="lgvq-cache-bench-")
        try:
            cache = TextFeatureCache(enc, root, progress=False)
            t = time.perf_counter(); cache.build(captions); sync(device); times.append(time.perf_counter() - t)
            assert cache.stats.misses == len(captions) and len(cache) == len(captions)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return len(captions) / min(times)


def step_rate(batch: int, steps: int, paper: bool, precision: str = "fp32", compile_: bool = False) -> float:
    "images/s of Trainer.train_step on one batch of CaptionedShapes (median step time after warm-up)."
    tmp = tempfile.mkdtemp(prefix="lgvq-throughput-")
    try:
        extra = [f"optim.precision={precision}", f"optim.compile={str(compile_).lower()}"]
        tr = trainer("shapes_vqgan_lg.yaml", tmp, batch, extra=extra, paper=paper)
        ds = CaptionedShapes(batch, size=256 if paper else 32, seed=0)
        b = collate([ds[i] for i in range(batch)])
        warmup = 3 if compile_ else 2                              # compile: the first steps trace and autotune
        t = timeit(lambda: tr.train_step(b), device=tr.device, warmup=warmup, repeats=steps)
        return batch / t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(n_captions=2000, gpu_batch=8, cpu_batch=16, steps=10):
    gpu = torch.cuda.is_available()
    torch.manual_seed(0)
    rows = []
    # training throughput
    if gpu:
        name = torch.cuda.get_device_name()
        eager = step_rate(gpu_batch, steps, paper=True, precision="bf16")
        comp = step_rate(gpu_batch, steps, paper=True, precision="bf16", compile_=True)
        rows += [[f"VQ-GAN+LG train, 256 px, bf16, eager (GPU {name}, batch {gpu_batch})", f"{eager:.1f} images/s", "1.00x"],
                 [f"VQ-GAN+LG train, 256 px, bf16, torch.compile (GPU {name}, batch {gpu_batch})", f"{comp:.1f} images/s",
                  f"{comp / eager:.2f}x"]]
    else:
        rows += [[f"VQ-GAN+LG train, 256 px, bf16, eager (GPU, batch {gpu_batch})", NO_GPU, "—"],
                 [f"VQ-GAN+LG train, 256 px, bf16, torch.compile (GPU, batch {gpu_batch})", NO_GPU, "—"]]
    cpu = step_rate(cpu_batch, steps, paper=False)
    rows.append([f"VQ-GAN+LG train, 32 px CPU-scale, fp32, eager (CPU, batch {cpu_batch})", f"{cpu:.1f} images/s", "—"])
    # text-cache build rate
    caps = distinct_captions(n_captions)
    c_cpu = cache_rate(caps, "cpu")
    rows.append([f"TextFeatureCache.build, MiniLM, {len(caps)} distinct captions (CPU)", f"{c_cpu:.0f} captions/s", "1.00x"])
    if gpu:
        c_gpu = cache_rate(caps, "cuda")
        rows.append([f"TextFeatureCache.build, MiniLM, {len(caps)} distinct captions (GPU {torch.cuda.get_device_name()})",
                     f"{c_gpu:.0f} captions/s", f"{c_gpu / c_cpu:.2f}x"])
    else:
        rows.append([f"TextFeatureCache.build, MiniLM, {len(caps)} distinct captions (GPU)", NO_GPU, "—"])
    body = table(["measurement", "rate", "ratio"], rows)
    notes = [f"Training rate = batch / median step time over {steps} steps after warm-up (forward, generator and "
             "discriminator updates, discriminator active, text features from the cache). GPU rows: paper-size VQ-GAN "
             "(configs/cub_vqgan_lg.yaml, " + " ".join(PAPER[:4]) + ", no LPIPS); ratio = compiled / eager.",
             "Cache rate = distinct captions / wall time of one TextFeatureCache.build into an empty directory (encode + "
             "write safetensors shards; one build after a warm-up encode); ratio = GPU / CPU."]
    report("Training throughput and text-cache build rate", body, "\n".join(notes))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--captions", type=int, default=2000)
    ap.add_argument("--gpu-batch", type=int, default=8)
    ap.add_argument("--cpu-batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    main(a.captions, a.gpu_batch, a.cpu_batch, a.steps)
