"""Trainer guarantees that need processes: exact resume, SIGKILL during a checkpoint write, and data parallelism
(2 gloo processes with batch B == 1 process with batch 2B)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from lgvq.config import TrainConfig, apply_overrides
from lgvq.train import Trainer
from lgvq.checkpoint import list_checkpoints, load_checkpoint

TINY = {"run": {"name": "tiny", "log_every": 1, "ckpt_every": 100},
        "data": {"size": 16, "n": 48, "batch_size": 4},
        "model": {"resolution": 16, "ch": 16, "ch_mult": [1, 2], "num_res_blocks": 1, "attn_resolutions": [],
                  "z_channels": 16, "embed_dim": 8, "num_codes": 32},
        "guide": {"enabled": True, "heads": 4, "w_gsa": 0.1, "w_mtp": 0.1, "w_ras": 0.1},
        "loss": {"kind": "vqgan", "disc_start": 2, "disc_ndf": 8, "disc_layers": 2, "perceptual_weight": 0.0},
        "optim": {"steps": 8, "base_lr": 1e-4}}


def config(tmp, name, **over):
    d = apply_overrides(TINY, [f"{k}={v}" for k, v in over.items()])
    d["run"]["out_dir"] = str(tmp / name)
    d["text"] = {"cache_dir": str(tmp / "cache")}
    return d


def weights(out_dir):
    return load_checkpoint(list_checkpoints(Path(out_dir) / "checkpoints")[-1])["weights"]


def test_resume_reaches_the_same_weights(tmp_path):
    # uninterrupted: 14 steps, across the epoch boundary (48 images / batch 4 = 12 batches per epoch)
    over = {"optim.steps": 14, "run.ckpt_every": 5}
    Trainer(TrainConfig.from_dict(config(tmp_path, "straight", **over)), progress=False).fit()
    # interrupted after step 5 (checkpoint), then resumed in a fresh Trainer from the checkpoint
    cut = config(tmp_path, "resumed", **{**over, "optim.steps": 5})
    Trainer(TrainConfig.from_dict(cut), progress=False).fit()
    torch.manual_seed(12345)                                     # disturb the global RNG: resume must restore it
    Trainer(TrainConfig.from_dict(config(tmp_path, "resumed", **over)), resume=True, progress=False).fit()
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and len(a) > 50
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    print(f"\nresume: max |w_straight - w_resumed| over {len(a)} tensors = {worst:.3g}")
    for k in a: torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)


KILL_SCRIPT = """
import sys, torch, torch.nn as nn
from lgvq.checkpoint import save_checkpoint
small = nn.Linear(4, 4)
save_checkpoint(sys.argv[1], 3, {"model": small}, {}, {"note": "good"})
print("saved", flush=True)
big = nn.Module(); big.w = nn.Parameter(torch.randn(384, 1024, 1024))       # 1.5 GiB: a write that takes a while
print("writing", flush=True)
save_checkpoint(sys.argv[1], 6, {"model": big}, {}, {})
print("finished", flush=True)
"""


def test_sigkill_during_save_leaves_previous_checkpoint(tmp_path):
    out = tmp_path / "ckpts"
    p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "saved" and p.stdout.readline().strip() == "writing"
    deadline = time.time() + 120
    while time.time() < deadline:                                 # wait until the temporary folder holds a partial file
        tmps = [d for d in out.glob(".step_0000006.*") if any(d.iterdir())]
        if tmps: break
        time.sleep(0.02)
    assert tmps, "the big checkpoint write never started"
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    found = list_checkpoints(out)
    assert [c.name for c in found] == ["step_0000003"], found
    ck = load_checkpoint(found[0])                                # intact and loadable
    assert ck["state"]["note"] == "good" and ck["state"]["step"] == 3
    assert list(out.glob(".step_0000006.*")), "the killed write should have left only a hidden temporary folder"


def test_two_processes_equal_one_with_double_batch(tmp_path):
    # VQ-VAE (no BatchNorm) with L_gsa (negatives gathered across processes) and L_ras; L_mtp draws random masks per
    # process, so it is off here. A discriminator would use per-process BatchNorm statistics (as DDP does).
    # SGD, not Adam: parameters whose true gradient is zero (a conv bias before GroupNorm) get float-noise gradients,
    # and Adam's m/sqrt(v) turns any noise into a full-size step, so Adam runs agree only to ~lr per step.
    base = {"loss.kind": "vqvae", "guide.w_mtp": 0.0, "optim.steps": 4, "run.ckpt_every": 4,
            "optim.optimizer": "sgd", "optim.base_lr": 0.01}
    one = config(tmp_path, "one", **{**base, "data.batch_size": 8})
    two = config(tmp_path, "two", **{**base, "data.batch_size": 4})
    for name, d in (("one", one), ("two", two)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(d))
    Trainer(TrainConfig.from_dict(one), progress=False).fit()     # the cache is filled here, reused below
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "lgvq.cli", "train", str(tmp_path / "two.yaml"), "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    print(f"\n2 processes x batch 4 vs 1 process x batch 8: max |dw| = {worst:.3g} over {len(a)} tensors")
    for k in a: torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    log = [json.loads(l) for l in (tmp_path / "two" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 4                                          # rank 0 logs alone


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_config_is_valid(path, tmp_path):
    "Every shipped config parses with no unknown key; paper-scale ones only need their dataset root to exist."
    from lgvq.config import load_config
    d = yaml.safe_load(path.read_text())
    if "task" in d:                                               # a downstream config (lgvq.taskconfig)
        from lgvq.taskconfig import TASK_DATASETS, load_downstream_config
        over = [] if d["data"]["dataset"] == "shapes" else [f"data.root={tmp_path}"]
        cfg = load_downstream_config(path, over)                  # every dataset has a loader: every config validates
        assert cfg.task.kind in TASK_DATASETS[cfg.data.dataset]
        assert cfg.run.name == path.stem and Path(cfg.task.vq).is_file()
        vq = yaml.safe_load(Path(cfg.task.vq).read_text())       # the VQ config it points at: same image size
        assert vq["data"]["size"] == cfg.data.size and vq["data"]["dataset"] in (cfg.data.dataset, "coco")
        if d["data"]["dataset"] != "shapes":
            with pytest.raises(ValueError, match="data.root"): load_downstream_config(path, ["data.root=/nonexistent/dataset"])
        return
    over = [] if d["data"]["dataset"] == "shapes" else [f"data.root={tmp_path}"]
    cfg = load_config(path, over)
    assert cfg.run.name == path.stem and cfg.model.resolution == cfg.data.size
    if d["data"]["dataset"] != "shapes":
        with pytest.raises(ValueError, match="data.root"): load_config(path, ["data.root=/nonexistent/dataset"])
    # which variant each config reproduces (nbs/04_losses, 05_transfer, 02_quantize): paper scale = the released code
    paper = d["data"]["dataset"] != "shapes"
    assert cfg.guide.variant == ("released" if paper else "lgvq")
    assert ("Reproduces the authors' released code" in path.read_text()) == paper
    if paper:
        from lgvq.config import model_config
        assert (cfg.guide.width, cfg.guide.heads, cfg.guide.mtp_width) == (256, 1, 512)
        v = cfg.vqct
        assert (v.layers, v.hidden, v.dropout, v.adjective_topk, v.weighted, v.code_width, v.min_count) == (2, 256, 0.5, 2, "count", "full", 11)
        if v.enabled: assert model_config(cfg).embed_dim == 2 * cfg.model.embed_dim   # released VQCT bottleneck
        if cfg.model.quantizer == "cvq": assert (cfg.model.anchor, cfg.model.contrastive) == ("probrandom", 1.0)
        else: assert cfg.model.beta_placement == "legacy"
