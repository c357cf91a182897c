"""Shared helpers for the benchmarks: timing, peak memory, machine description, result tables.

Benchmarks are not tests: each script measures lgvq and its peers side by side in one process, prints a table of
ratios and appends it to bench/RESULTS.md with the machine, versions and date.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).with_name("RESULTS.md")


def sync(device) -> None:
    if torch.device(device).type == "cuda": torch.cuda.synchronize()


def timeit(fn, device="cpu", warmup: int = 1, repeats: int = 5, min_seconds: float = 0.0) -> float:
    "Median wall time of `fn()` in seconds, after `warmup` calls."
    for _ in range(warmup): fn()
    sync(device)
    times, start = [], time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start) < min_seconds:
        t = time.perf_counter(); fn(); sync(device); times.append(time.perf_counter() - t)
        if len(times) >= 50: break
    return statistics.median(times)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"): return line.split(":", 1)[1].strip()
    except OSError: pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    parts = [f"{cpu_name()} ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})"]
    if torch.cuda.is_available(): parts.append(f"GPU {torch.cuda.get_device_name()}")
    else: parts.append("no GPU")
    vers = [f"python {platform.python_version()}", f"torch {torch.__version__}"]
    try:
        import triton; vers.append(f"triton {triton.__version__}")
    except Exception: pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent).stdout.strip()
        if rev: vers.append(f"lgvq {rev}")
    except OSError: pass
    return "; ".join(parts) + "; " + ", ".join(vers)


def peak_rss_delta(code: str, timeout: int = 1800) -> int | None:
    """Peak extra resident memory (bytes) of the statement `code` run in a fresh Python process after `setup`.

    The code string must define `setup()` and `run()`; the delta is the process's peak RSS after run() minus after
    setup(), read from VmHWM in /proc/self/status. (Not ru_maxrss: on Linux a child process started from a large parent
    inherits the parent's ru_maxrss across fork/exec, which hid every delta below the parent's own peak.)"""
    script = code + """
import gc, resource
def _peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"): return int(line.split()[1]) * 1024
    except OSError: pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
setup(); gc.collect()
base = _peak()
run()
print(_peak() - base)
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0: return None
    return int(res.stdout.strip().splitlines()[-1])


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def report(title: str, body: str, notes: str = "") -> None:
    "Print a result block and append it to bench/RESULTS.md."
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = f"\n## {title}\n\n{stamp} — {machine()}\n\n{body}\n" + (f"\n{notes}\n" if notes else "")
    print(block)
    if not RESULTS.exists(): RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in bench/ (newest last).\n")
    with RESULTS.open("a") as f: f.write(block)
