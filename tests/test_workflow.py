"""The README's "Train on your own images" commands, end to end, on a small generated folder of captioned images:
check-data, train (data check, pictures, TensorBoard), eval pictures, encode, reconstruct, export / from_pretrained."""
import contextlib
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from lgvq.train import list_checkpoints, main

TINY = {"run": {"name": "mine", "log_every": 1, "ckpt_every": 2},
        "data": {"dataset": "folder", "size": 16, "batch_size": 4, "val_fraction": 0.25},
        "model": {"resolution": 16, "ch": 16, "ch_mult": [1, 2], "num_res_blocks": 1, "attn_resolutions": [],
                  "z_channels": 16, "embed_dim": 8, "num_codes": 32},
        "guide": {"enabled": True, "heads": 4},
        "loss": {"kind": "vqvae"}, "optim": {"steps": 4, "base_lr": 1e-4}}
WORDS = "red green blue small large circle square triangle on left of right above below".split()


def make_folder(root: Path, n: int, rng: random.Random) -> list[str]:
    "`n` random 20x20 PNGs in two subfolders with a captions.jsonl (two captions each); returns the relative names."
    names = sorted({f"{rng.choice(('cats', 'dogs/indoor'))}/{rng.getrandbits(40):010x}.png" for _ in range(n)})
    lines = []
    for nm in names:
        (root / nm).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(rng.getrandbits(32)).integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(root / nm)
        lines.append(json.dumps({"image": nm, "captions": [" ".join(rng.choices(WORDS, k=5)) for _ in range(2)]}))
    (root / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return names


def run(args, code=0):
    "main(args) in this process: (stdout, stderr); `code` is the expected exit status."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if code == 0: main(args)
        else:
            with pytest.raises(SystemExit) as ex: main(args)
            assert ex.value.code == code, (ex.value.code, out.getvalue(), err.getvalue())
    return out.getvalue(), err.getvalue()


def last_json(text: str) -> dict: return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "A folder of 32 captioned images and a 4-step guided run on it through `lgvq train`."
    d = tmp_path_factory.mktemp("own")
    names = make_folder(d / "imgs", 32, random.Random())
    cfg = {**TINY, "run": {**TINY["run"], "out_dir": str(d / "runs" / "mine")}, "data": {**TINY["data"], "root": str(d / "imgs")},
           "text": {"cache_dir": str(d / "cache")}}
    (d / "mine.yaml").write_text(yaml.safe_dump(cfg))
    out, _ = run(["train", str(d / "mine.yaml"), "--no-progress"])
    assert last_json(out)["step"] == 4
    return d, names


def test_check_data(tmp_path):
    rng = random.Random()
    names = make_folder(tmp_path / "imgs", 12, rng)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**TINY, "data": {**TINY["data"], "root": str(tmp_path / "imgs")}}))
    out, err = run(["check-data", str(tmp_path / "c.yaml"), "--no-progress"])
    rep = last_json(out)
    assert rep["bad"] == 0 and rep["images"] == 12 and rep["captions"] == 24 and "BAD" not in out
    broken, gone = rng.sample(names, 2)
    p = tmp_path / "imgs" / broken; p.write_bytes(p.read_bytes()[:40])
    (tmp_path / "imgs" / gone).unlink()
    out, _ = run(["check-data", str(tmp_path / "c.yaml"), "--no-progress"], code=1)
    bad = sorted(l for l in out.splitlines() if l.startswith("BAD "))
    assert len(bad) == 2 and last_json(out)["bad"] == 2
    assert any(str(tmp_path / "imgs" / broken) in l and "cannot decode image" in l for l in bad), bad
    assert any(str(tmp_path / "imgs" / gone) in l and "image file not found" in l for l in bad), bad
    # the console entry point: exit status 1, and a config typo is a one-line error with status 2
    r = subprocess.run([sys.executable, "-m", "lgvq.train", "check-data", str(tmp_path / "c.yaml"), "--no-progress"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stdout.count("BAD ") == 2, r.stderr[-2000:]
    _, err = run(["check-data", str(tmp_path / "c.yaml"), "data.sise=16"], code=2)
    assert "lgvq check-data: error: data.sise: unknown key (did you mean data.size?)" in err


def test_train_checks_pictures_tensorboard(trained, monkeypatch):
    d, names = trained
    run_dir = d / "runs" / "mine"
    stamp = json.loads((run_dir / "data_check.json").read_text())
    assert stamp["report"]["images"] == 32 and stamp["report"]["bad"] == []
    cks = list_checkpoints(run_dir / "checkpoints")
    assert [c.name for c in cks] == ["step_0000002", "step_0000004"]
    for c in cks:
        assert {"recon_val.png", "code_usage_val.png", "nearest_words_val.md"} <= {p.name for p in c.iterdir()}
        grid = Image.open(c / "recon_val.png")
        rows = [l.split("|")[4] for l in (c / "nearest_words_val.md").read_text().splitlines() if l[:2] == "| " and l[2].isdigit()]
        assert grid.height > grid.width / 8 and len(rows) > 1 and len(set(rows)) > 1, rows     # codes get words of their own
        assert {w.split(" (")[0] for r in rows for w in r.strip().split(", ")} <= set(WORDS)   # the captions' words
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0}); ea.Reload()
    assert [e.step for e in ea.Scalars("train/loss")] == [1, 2, 3, 4] and [e.step for e in ea.Images("reconstructions")] == [2, 4]
    # a restart does not decode the images again (the stamp is reused) ...
    import lgvq.workflow as W
    monkeypatch.setattr(W, "check_data", lambda *a, **k: pytest.fail("the data check ran again on unchanged data"))
    out, _ = run(["train", str(d / "mine.yaml"), "optim.steps=6", "--resume", "--no-progress"])
    assert last_json(out)["step"] == 6
    monkeypatch.undo()
    # ... and a damaged image stops training before step 1 with the file and the reason
    p = d / "imgs" / names[0]; good = p.read_bytes()
    try:
        p.write_bytes(b"<html>")
        _, err = run(["train", str(d / "mine.yaml"), "optim.steps=8", "--resume", "--no-progress"], code=2)
        assert "lgvq train: error: data: 1 bad file(s)" in err and f"{p}: cannot decode image" in err
    finally: p.write_bytes(good)


def test_eval_encode_reconstruct_export(trained, tmp_path):
    d, names = trained
    ck = str(list_checkpoints(d / "runs" / "mine" / "checkpoints")[-1])
    for f in ("recon_val.png", "code_usage_val.png"): (Path(ck) / f).unlink()
    res = last_json(run(["eval", ck])[0])
    assert res["pictures"] == ["code_usage_val.png", "nearest_words_val.md", "recon_val.png"] and (Path(ck) / "recon_val.png").is_file()
    # encode: the held-out split's code grids and captions
    out = last_json(run(["encode", ck, "--split", "val", "--out", str(tmp_path / "val.safetensors"), "--no-progress"])[0])
    from lgvq.data import ImageCaptionFolder
    from lgvq.workflow import from_pretrained, load_codes
    val = ImageCaptionFolder(d / "imgs", size=16, split="val", val_fraction=0.25)
    codes = load_codes(tmp_path / "val.safetensors")
    assert out["images"] == len(val) == len(codes["indices"]) and codes["indices"].shape[1:] == (8, 8)
    assert codes["captions"] == [c for _, c in val.items] and codes["split"] == "val"
    assert codes["paths"] == [Path(p).relative_to(d / "imgs").as_posix() for p, _ in val.items]
    # export: a plain folder that loads in one line and gives the same codes
    run(["export", ck, str(tmp_path / "tok")])
    vq = from_pretrained(tmp_path / "tok")
    x = torch.stack([val[i]["image"] for i in range(len(val))])
    assert torch.equal(vq.encode_to_indices(x), codes["indices"])
    run(["encode", str(tmp_path / "tok"), "--split", "val", "--out", str(tmp_path / "again.safetensors"), "--no-progress"])
    assert torch.equal(load_codes(tmp_path / "again.safetensors")["indices"], codes["indices"])
    # reconstruct: one PNG per input, at the training size; same file names from two folders are kept apart
    imgs = [str(d / "imgs" / n) for n in names[:3]]
    out = last_json(run(["reconstruct", ck, *imgs, imgs[0], "--out", str(tmp_path / "rec"), "--no-progress"])[0])
    written = sorted(p.name for p in (tmp_path / "rec").iterdir())
    assert out["images"] == 4 and len(written) == 4 and all(Image.open(tmp_path / "rec" / w).size == (16, 16) for w in written)
    # input checks: one line each, naming the argument
    for args, msg in [(["encode", ck, "--out", str(tmp_path / "c.pt")], "--out: expected a file path ending in .safetensors"),
                      (["encode", ck, "--split", "dev", "--out", str(tmp_path / "c.safetensors")], "--split: expected one of"),
                      (["encode", ck, "optim.steps=3", "--out", str(tmp_path / "c.safetensors")], "override: expected data.key=value"),
                      (["encode", str(tmp_path / "nope"), "--out", str(tmp_path / "c.safetensors")], "CHECKPOINT: expected a checkpoint folder"),
                      (["reconstruct", ck, str(tmp_path / "missing.png"), "--out", str(tmp_path / "r2")], "IMAGE: expected an image file"),
                      (["export", str(tmp_path / "nope"), str(tmp_path / "t2")], "CHECKPOINT: expected a checkpoint folder")]:
        _, err = run(args, code=2)
        assert msg in err and len(err.strip().splitlines()) == 1, err
