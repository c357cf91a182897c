"""L_ras: lgvq's batched implementation vs a per-word loop, at B=32 captions of L=30 words, N=256 visual tokens, D=512.

Run: .venv/bin/python bench/ras.py   (target: batched >= 3x faster than the loop, forward + backward)
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, table, timeit  # noqa: E402

from lgvq.losses import ras_loss  # noqa: E402


def ras_loop(words, visual, word_mask):
    "How a straightforward implementation does it: per sample, per word argmax, then the pair matrix per sample."
    per = []
    for b in range(words.shape[0]):
        valid = word_mask[b].nonzero()[:, 0]
        if len(valid) < 2: per.append(words.new_zeros(())); continue
        w = words[b, valid]                                              # (l, D)
        chosen = []
        for i in range(len(valid)):
            sims = F.cosine_similarity(w[i][None], visual[b], dim=-1)   # (N,)
            chosen.append(visual[b, sims.argmax()])
        z = torch.stack(chosen)
        wn, zn = F.normalize(w, dim=-1), F.normalize(z, dim=-1)
        d = (wn @ wn.T - zn @ zn.T).pow(2)
        off = ~torch.eye(len(valid), dtype=torch.bool)
        per.append(d[off].mean())
    return torch.stack(per).mean()


def main(B=32, L=30, N=256, D=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    words = torch.randn(B, L, D, generator=g)
    visual = torch.randn(B, N, D, generator=g, requires_grad=True)
    lengths = torch.randint(5, L + 1, (B,), generator=g)
    mask = torch.arange(L)[None] < lengths[:, None]                       # ragged captions
    a, b = ras_loss(words, visual, mask), ras_loop(words, visual, mask)
    torch.testing.assert_close(a, b)                                      # same value before any time is printed
    rows = []
    for name, fn in [("lgvq ras_loss (batched)", ras_loss), ("per-word loop", ras_loop)]:
        fwd = timeit(lambda: fn(words, visual, mask), repeats=7)
        def step():
            visual.grad = None; fn(words, visual, mask).backward()
        fb = timeit(step, repeats=7)
        rows.append([name, f"{fwd * 1e3:.2f}", f"{fb * 1e3:.2f}"])
    ratio_f = float(rows[1][1]) / float(rows[0][1]); ratio_fb = float(rows[1][2]) / float(rows[0][2])
    rows[0] += [f"{ratio_f:.1f}x", f"{ratio_fb:.1f}x"]; rows[1] += ["1.0x", "1.0x"]
    body = table(["implementation", "forward ms", "forward+backward ms", "speed-up fwd", "speed-up fwd+bwd"], rows)
    verdict = "met" if ratio_fb >= 3 else "NOT met"
    report(f"L_ras: batched vs per-word loop (B={B}, L={L}, N={N}, D={D}, CPU)", body,
           f"Target >= 3x (forward+backward): {verdict} ({ratio_fb:.1f}x). Values asserted equal before timing.")


if __name__ == "__main__":
    main()
