"""Run the fused Triton nearest-code kernel in Triton's CPU interpreter and compare it with the float64 reference.

Run with TRITON_INTERPRET=1 in the environment (nbs/01_kernels.ipynb and tests/test_kernels.py do this in a
subprocess). Small sizes: the interpreter executes every tile in NumPy.
"""
import os
import sys

assert os.environ.get("TRITON_INTERPRET") == "1", "set TRITON_INTERPRET=1 before running this script"
import torch  # noqa: E402

from lgvq.kernels import HAS_TRITON, METRICS, _interpreting, nearest_code, nearest_code_reference  # noqa: E402

if not HAS_TRITON:
    print("triton not installed: nothing to check"); sys.exit(0)
assert _interpreting(), "the kernel is not running in the interpreter"
gen = torch.Generator().manual_seed(4321)


def near_min(z, e, metric, idx, atol):
    "The chosen code is within `atol` of the true minimum distance (float64)."
    z3, e3, i3 = (z, e, idx) if z.ndim == 3 else (z[None], e[None], idx[None])
    if metric == "l2": full = (z3.double()[:, :, None] - e3.double()[:, None]).pow(2).sum(-1)
    else: full = 1 - torch.nn.functional.cosine_similarity(z3.double()[:, :, None], e3.double()[:, None], dim=-1, eps=1e-12)
    return bool((full.gather(-1, i3[..., None])[..., 0] <= full.min(-1).values + atol).all())


n_cases = 0
for metric in METRICS:
    for N, K, D in [(1, 1, 1), (37, 1, 5), (17, 33, 1), (50, 70, 20), (20, 40, 130)]:
        zi = torch.randint(-3, 4, (N, D), generator=gen).float()
        ei = torch.randint(-3, 4, (K, D), generator=gen).float()
        r_idx, r_dist = nearest_code_reference(zi, ei, metric)
        idx, dist = nearest_code(zi, ei, metric, path="triton")
        assert idx.dtype == torch.long and idx.shape == (N,) and dist.shape == (N,) and dist.dtype == torch.float32
        if metric == "l2":   # integer inputs: exact, ties to the lowest index
            torch.testing.assert_close(idx, r_idx, rtol=0, atol=0)
            torch.testing.assert_close(dist, r_dist, rtol=1e-6, atol=1e-6)
        else:
            assert near_min(zi, ei, metric, idx, 1e-6)
        z, e = torch.randn(N, D, generator=gen), torch.randn(K, D, generator=gen)
        idx, dist = nearest_code(z, e, metric, path="triton")
        r_idx, r_dist = nearest_code_reference(z, e, metric)
        torch.testing.assert_close(dist, r_dist, rtol=1e-5, atol=1e-5)
        assert near_min(z, e, metric, idx, 1e-5) and (idx == r_idx).float().mean() > 0.97
        n_cases += 2
    z, e = torch.randn(3, 20, 8, generator=gen), torch.randn(3, 24, 8, generator=gen)
    idx, dist = nearest_code(z, e, metric, path="triton")
    r_idx, r_dist = nearest_code_reference(z, e, metric)
    assert idx.shape == (3, 20)
    torch.testing.assert_close(dist, r_dist, rtol=1e-5, atol=1e-5)
    assert near_min(z, e, metric, idx, 1e-5)
    n_cases += 1
# the codebook split in ranges (what a GPU does when there are few row tiles): forced here, where the default is one
# range; integer inputs full of exact ties check that the lowest index still wins across ranges
from lgvq.kernels import _k_split, _nearest_triton  # noqa: E402
assert _k_split(4, 100, 16, torch.device("cpu")) == (1, 112) and _k_split(4, 100, 16, torch.device("cpu"), 3) == (3, 48)
assert _k_split(4, 100, 16, torch.device("cpu"), 50) == (7, 16)            # no more ranges than code tiles
for metric in METRICS:
    for (N, K, D), splits in [((30, 40, 9), 2), ((30, 40, 9), 3), ((5, 70, 20), 4), ((17, 33, 1), 7)]:
        zi = torch.randint(-2, 3, (N, D), generator=gen).float()
        ei = torch.randint(-2, 3, (K, D), generator=gen).float()
        r_idx, r_dist = nearest_code_reference(zi, ei, metric)
        idx, dist = _nearest_triton(zi[None], ei[None], metric, splits=splits)
        assert idx.shape == (1, N) and dist.shape == (1, N)
        if metric == "l2":
            torch.testing.assert_close(idx[0], r_idx, rtol=0, atol=0)
            torch.testing.assert_close(dist[0], r_dist, rtol=1e-6, atol=1e-6)
        else:
            assert near_min(zi, ei, metric, idx[0], 1e-6)
        zb, eb = zi[None].repeat(2, 1, 1), torch.stack([ei, ei.flip(0)])               # batched, tie-heavy: exact
        r_idx, _ = nearest_code_reference(zb, eb, metric)
        if metric == "l2": torch.testing.assert_close(_nearest_triton(zb, eb, metric, splits=splits)[0], r_idx, rtol=0, atol=0)
        z, e = torch.randn(2, N, D, generator=gen), torch.randn(2, K, D, generator=gen)   # batched: each its own ranges
        idx, dist = _nearest_triton(z, e, metric, splits=splits)
        r_idx, r_dist = nearest_code_reference(z, e, metric)
        torch.testing.assert_close(dist, r_dist, rtol=1e-5, atol=1e-5)
        assert near_min(z, e, metric, idx, 1e-5)
        n_cases += 2
try: _k_split(4, 100, 16, torch.device("cpu"), 0); raise AssertionError("no error for splits=0")
except ValueError as e: assert "splits" in str(e), e
# NaN / Inf in z raise ValueError before the kernel runs
for bad in (float("nan"), float("inf")):
    zb = torch.randn(20, 8, generator=gen); zb[3, 2] = bad
    try: nearest_code(zb, torch.randn(5, 8, generator=gen), path="triton"); raise AssertionError("no error for " + str(bad))
    except ValueError as e: assert "z: expected finite" in str(e), e
# bf16 is not checked here: Triton 3.8's interpreter mishandles bfloat16 tiles (NumPy has no bfloat16; tl.dot on
# them returns garbage), so the bf16 kernel is checked on a GPU only (the `#| cuda` cells of nbs/01_kernels.ipynb).
print(f"triton kernel (interpreter) == float64 reference on {n_cases} cases (l2 and cos, float32, incl. batched and the codebook split in ranges)")
