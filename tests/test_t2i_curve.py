"""tools/t2i_curve.py: the learning curve is the run train_code_gpt makes, judged at the steps asked for, beside its
ceiling and chance computed by the judge itself."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("t2i_curve", ROOT / "tools" / "t2i_curve.py")
tc = importlib.util.module_from_spec(spec); spec.loader.exec_module(tc)


@pytest.fixture(scope="module")
def setting(toy_downstream):
    vq, train, test, enc, cache, seed = toy_downstream
    return vq, train, test, cache.get, seed


def test_curve_is_the_plain_run_judged_at_the_asked_steps(setting, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from lgvq.codegpt import CodeGPT, GPTConfig
    from lgvq.comparison import DownstreamConfig
    from lgvq.core import seed_everything
    from lgvq.heads import checkable_caption, encode_images, text_features_prefix, train_code_gpt
    from lgvq.shapes_judge import caption_agreement
    vq, train, test, text, seed = setting
    cfg = DownstreamConfig(n_layer=1, n_head=2, n_embd=16, batch_size=4)
    r = tc.learning_curve(vq, train, test, text, steps=5, every=2, samples=6, seed=seed, cfg=cfg, progress=lambda s: None)
    assert [p["step"] for p in r["curve"]] == [2, 4, 5]
    for p in r["curve"]:
        assert 0 <= p["t2i_agreement"] <= 1 and math.isfinite(p["t2i_nll"]) and p["train_ms_per_step"] > 0
    caps = [checkable_caption(c) for c in test.captions[:6]]
    unit = (test.images[:6] + 1) / 2
    assert r["real_agreement"] == pytest.approx(caption_agreement(unit, caps).score)
    assert r["shuffled_agreement"] == pytest.approx(caption_agreement(unit, caps[1:] + caps[:1]).score)
    # the last point's NLL is that of the same model trained without watching
    codes_tr, codes_te = encode_images(vq, train.images).flatten(1), encode_images(vq, test.images[:6]).flatten(1)
    cond, mask = text_features_prefix(text(caps))
    seed_everything(seed)
    plain = CodeGPT(GPTConfig(vocab_size=16, block_size=codes_tr.shape[1], cond="text", cond_dim=cond.shape[-1], cond_len=32,
                              n_layer=1, n_head=2, n_embd=16))
    train_code_gpt(plain, codes_tr, 5, captions=train.captions, text=text, batch_size=4, lr=cfg.lr, seed=seed)
    with torch.no_grad(): nll = float(plain.loss(codes_te, cond, mask))
    assert r["curve"][-1]["t2i_nll"] == pytest.approx(nll, rel=1e-5)
    assert r["curve"][0]["t2i_nll"] != pytest.approx(nll, rel=1e-5)              # it did learn between the points


def test_bad_arguments_name_the_option(setting):
    vq, train, test, text, seed = setting
    from lgvq.comparison import DownstreamConfig
    with pytest.raises(ValueError, match="every"):
        tc.learning_curve(vq, train, test, text, steps=2, every=3, samples=4, seed=0, cfg=DownstreamConfig())
    with pytest.raises(ValueError, match="samples"):
        tc.learning_curve(vq, train, test, text, steps=2, every=1, samples=1, seed=0, cfg=DownstreamConfig())
    with pytest.raises(ValueError, match="cfg"):
        tc.learning_curve(vq, train, test, text, steps=2, every=1, samples=4, seed=0, cfg={"lr": 1e-3})
    with pytest.raises(ValueError, match="seed"):
        tc.learning_curve(vq, train, test, text, steps=2, every=1, samples=4, seed=-1, cfg=DownstreamConfig())
    for argv, name in ((["--steps", "0"], "--steps"), (["--every", "9", "--steps", "4"], "--every"),
                       (["--n-train", "-3"], "--n-train"), (["--lr", "-1"], "--lr"), (["--seed", "-1"], "--seed")):
        with pytest.raises(ValueError, match=name):
            tc.main(argv)


def test_a_tiny_run_writes_its_curve(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    report = tc.main(["--scale", "tiny", "--steps", "3", "--every", "2", "--n-train", "12", "--samples", "4",
                      "--variants", "vqgan", "--run-cache", str(tmp_path / "runs"), "--json", str(tmp_path / "c.json"),
                      "--grid-dir", str(tmp_path)])
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved == json.loads(json.dumps(report))
    r = saved["variants"]["vqgan"]
    assert [p["step"] for p in r["curve"]] == [2, 3] and r["n_train"] == 12 and r["n_test"] == 4
    assert (tmp_path / "t2i_vqgan_seed0_3.png").exists()
