"""Peak memory of nearest-code search: the chunked path stays within its budget, the naive formula does not.

Each measurement runs in a fresh subprocess and reads the process's peak resident set size (VmHWM in /proc/self/status) before and
after one search on inputs that are already allocated, so the difference is the search's own peak extra memory.
Not ru_maxrss: on Linux a child inherits its parent's ru_maxrss across fork/exec, so a child started from a large pytest
process would read every peak below the parent's as 0 and the bound would pass without measuring anything.
"""
import subprocess
import sys

import pytest

N, K, D = 32768, 4096, 64            # the full N x K float32 distance matrix is 512 MiB
FULL = N * K * 4

SCRIPT = f"""
import gc, sys, torch
torch.set_num_threads(1)
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) * 1024
from lgvq.kernels import nearest_code
z, e = torch.randn({N}, {D}), torch.randn({K}, {D})
nearest_code(z[:64], e); (z[:64] @ e.T).argmin(1)                  # warm-up: BLAS and allocator state
gc.collect()
base = peak()
if sys.argv[1] == "naive":   # taming-transformers: the whole N x K matrix, then argmin
    d = z.pow(2).sum(1, keepdim=True) + e.pow(2).sum(1) - 2 * z @ e.t(); idx = d.argmin(1)
else:
    idx, _ = nearest_code(z, e, path="chunked")
print(peak() - base)
"""


def peak_extra(mode: str) -> int:
    res = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return int(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["chunked"])
def test_chunked_peak_memory_is_bounded(mode):
    naive, chunked = peak_extra("naive"), peak_extra(mode)
    print(f"\npeak extra memory, N={N} K={K} D={D}: naive {naive / 2**20:.0f} MiB, chunked {chunked / 2**20:.0f} MiB "
          f"(N x K matrix = {FULL / 2**20:.0f} MiB; bound = 1/4 of it)")
    assert naive > 0.9 * FULL, "the measurement cannot see an N x K allocation: the test would be meaningless"
    assert chunked <= FULL / 4, f"chunked path used {chunked / 2**20:.0f} MiB > N*K/4"
