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

from lgvq.checkpoint import list_checkpoints
from lgvq.cli import main

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
    r = subprocess.run([sys.executable, "-m", "lgvq.cli", "check-data", str(tmp_path / "c.yaml"), "--no-progress"],
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


def test_downstream_trains_from_encoded_files(trained, tmp_path, monkeypatch):
    """`lgvq encode`'s train and held-out files as a downstream run's records (task.train_codes / task.test_codes): the
    run trains on exactly the file's codes and captions, never encodes an image, and a file that does not fit is
    refused before training with an error naming the key."""
    import math
    from safetensors.torch import save_file
    import lgvq.taskconfig as D
    from lgvq.workflow import CODES_FORMAT, load_codes
    d, _ = trained
    cks = list_checkpoints(d / "runs" / "mine" / "checkpoints")
    ck = str(cks[-1])
    files = {s: tmp_path / f"{s}.safetensors" for s in ("train", "val")}
    for s, f in files.items(): run(["encode", ck, "--split", s, "--out", str(f), "--no-progress"])
    train, val = load_codes(files["train"]), load_codes(files["val"])
    cfg = {"task": {"kind": "t2i", "vq": ck, "train_codes": str(files["train"]), "test_codes": str(files["val"])},
           "run": {"name": "t2i", "out_dir": str(tmp_path / "t2i"), "log_every": 1, "ckpt_every": 2},
           "data": {"dataset": "folder", "root": str(d / "imgs"), "size": 16, "n": None, "n_test": None,
                    "val_fraction": 0.25, "batch_size": 4},
           "text": {"cache_dir": str(d / "cache")}, "model": {"n_layer": 1, "n_head": 2, "n_embd": 16},
           "optim": {"steps": 3, "batch_size": 4}, "eval": {"n_samples": 4, "fid": False}}
    (tmp_path / "t2i.yaml").write_text(yaml.safe_dump(cfg))
    # (a) it trains and evaluates through `lgvq train`, without encoding a single image
    def never(*a, **k): pytest.fail("an image was encoded although the codes come from files")
    monkeypatch.setattr(D, "encode_images", never); monkeypatch.setattr(D, "_encode_dataset", never)
    res = last_json(run(["train", str(tmp_path / "t2i.yaml"), "--no-progress"])[0])
    monkeypatch.undo()
    assert res["task"] == "t2i" and res["dataset"] == "folder" and res["step"] == 3 and math.isfinite(res["metrics"]["t2i_nll"])
    log = [json.loads(l) for l in (tmp_path / "t2i" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and all(math.isfinite(r["loss"]) for r in log)
    # (b) the records it trained on are the files' rows, which are what encoding the folder's splits again gives
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import build_task_codes, load_downstream_config, load_vq
    tr = DownstreamTrainer(load_downstream_config(tmp_path / "t2i.yaml"), resume=True, progress=False)
    assert torch.equal(tr.data.codes, train["indices"].flatten(1)) and tr.data.captions == train["captions"]
    assert torch.equal(tr.data.test_codes, val["indices"].flatten(1)) and tr.data.test_captions == val["captions"]
    assert tr.data.grid == (8, 8) and len(tr.data.test_images) == min(8, len(val["indices"]))
    vq = load_vq(ck)
    again = build_task_codes(load_downstream_config(tmp_path / "t2i.yaml", ["task.train_codes=null", "task.test_codes=null"]), vq)
    assert torch.equal(again.codes, tr.data.codes) and torch.equal(again.test_codes, tr.data.test_codes)
    assert again.captions == tr.data.captions and again.test_captions == tr.data.test_captions
    # ... and other valid indices in the file are what the run reads (nothing is recomputed from the images)
    K, meta = train["num_codes"], {k: v for k, v in train.items() if k != "indices"}
    def write(path, indices, **changes):
        "A codes file as lgvq encode writes it, with `changes` to its metadata (which save_codes itself would refuse)."
        m = {"format": CODES_FORMAT, **{k: json.dumps(v) for k, v in {**meta, **changes}.items()}}
        save_file({"indices": indices.contiguous()}, str(path), metadata=m)
        return path
    other = torch.randint(0, K, train["indices"].shape, generator=torch.Generator().manual_seed(random.getrandbits(31)))
    got = build_task_codes(load_downstream_config(tmp_path / "t2i.yaml", [f"task.train_codes={write(tmp_path / 'o.safetensors', other)}"]), vq)
    assert torch.equal(got.codes, other.flatten(1)) and not torch.equal(got.codes, tr.data.codes)
    # (c) files that do not fit: each is a ValueError naming the key, from the trainer and from the CLI
    run(["encode", str(cks[0]), "--split", "train", "--out", str(tmp_path / "old.safetensors"), "--no-progress"])
    bad = lambda i: tmp_path / f"bad{i}.safetensors"
    cases = [("train", write(bad(0), train["indices"] + K), rf"task.train_codes: .* indices in \[\d+, \d+\], expected \[0, {K}\)"),
             ("train", write(bad(1), train["indices"], num_codes=K + 1), f"task.train_codes: .* a codebook of {K + 1} codes, expected {K}"),
             ("train", write(bad(2), train["indices"], captions=train["captions"][:-1]),
              rf"task.train_codes: .* {len(train['captions'])} code grids but {len(train['captions']) - 1} caption lists"),
             ("train", write(bad(3), train["indices"][:, :, :4]), "task.train_codes: .* code grids of 8x4, expected 8x8"),
             ("train", tmp_path / "old.safetensors", f"task.train_codes: .* another tokenizer .*{cks[0].name}"),
             ("test", files["train"], r"task.test_codes: .* (\d+ code grids, but data's test split has \d+ images|row \d+ has the captions)")]
    for key, path, msg in cases:
        over = [f"task.{key}_codes={path}"]
        with pytest.raises(ValueError, match=msg): build_task_codes(load_downstream_config(tmp_path / "t2i.yaml", over), vq)
    _, err = run(["train", str(tmp_path / "t2i.yaml"), f"task.train_codes={tmp_path / 'old.safetensors'}",
                  f"run.out_dir={tmp_path / 'never'}", "--no-progress"], code=2)
    assert "lgvq train: error: task.train_codes:" in err and "another tokenizer" in err and not (tmp_path / "never" / "checkpoints").exists()


def test_vqct_export_round_trip(trained, tmp_path):
    "A VQCT tokenizer exports as a plain folder (its generated codebooks) and encodes exactly as its checkpoint does."
    d, _ = trained
    cfg = {**TINY, "run": {**TINY["run"], "out_dir": str(tmp_path / "runs" / "vqct")},
           "data": {**TINY["data"], "root": str(d / "imgs")}, "text": {"cache_dir": str(d / "cache")},
           "guide": {"enabled": False}, "vqct": {"enabled": True, "cache_dir": str(tmp_path / "vqct"), "min_count": 1},
           "optim": {**TINY["optim"], "steps": 2}}
    (tmp_path / "vqct.yaml").write_text(yaml.safe_dump(cfg))
    assert last_json(run(["train", str(tmp_path / "vqct.yaml"), "--no-progress"])[0])["step"] == 2
    ck = list_checkpoints(tmp_path / "runs" / "vqct" / "checkpoints")[-1]
    run(["export", str(ck), str(tmp_path / "tok")])
    from lgvq.data import ImageCaptionFolder
    from lgvq.taskconfig import load_vq
    from lgvq.transfer import TransferQuantizer
    from lgvq.workflow import from_pretrained, tokenizer_fingerprint
    vq, ref = from_pretrained(tmp_path / "tok"), load_vq(ck)
    assert isinstance(vq.quantizer, TransferQuantizer) and vq.quantizer.net is None
    val = ImageCaptionFolder(d / "imgs", size=16, split="val", val_fraction=0.25)
    x = torch.stack([val[i]["image"] for i in range(len(val))])
    assert torch.equal(vq.encode_to_indices(x), ref.encode_to_indices(x))
    assert tokenizer_fingerprint(vq) == tokenizer_fingerprint(ref)
