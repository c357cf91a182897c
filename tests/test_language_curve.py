"""tools/language_curve.py: each curve is the run the trainer makes, scored at the steps asked for, with the real test
codes and with every test image given the next image's codes; the grounding prior is the mean training box."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("language_curve", ROOT / "tools" / "language_curve.py")
lc = importlib.util.module_from_spec(spec); spec.loader.exec_module(lc)


@pytest.fixture(scope="module")
def setting(toy_downstream):
    vq, train, test, enc, cache, seed = toy_downstream
    return vq, train, test, cache.get, enc.decode_ids, seed


def test_curves_are_the_plain_runs_scored_real_and_shuffled(setting, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from lgvq.comparison import DownstreamConfig
    from lgvq.core import seed_everything
    from lgvq.heads import (FusionConfig, Grounder, VQAModel, box_accuracy, codebook_vectors, encode_images, evaluate_vqa,
                            grounding_accuracy, train_grounder, train_vqa)
    vq, train, test, text, decode, seed = setting
    cfg = DownstreamConfig(n_layer=1, n_head=2, n_embd=16, batch_size=4, lr=3e-3)
    r = lc.language_curve(vq, train, test, text, decode, ["vqa", "grounding", "captioning"], steps=5, every=2, samples=5,
                          seed=seed, cfg=cfg, progress=lambda s: None)
    assert list(r["tasks"]) == ["vqa", "grounding", "captioning"]
    for task, keys in (("vqa", ["vqa_acc"]), ("grounding", ["grounding_acc"]), ("captioning", ["bleu4", "cider_d"])):
        curve = r["tasks"][task]["curve"]
        assert [p["step"] for p in curve] == [2, 4, 5]
        for p in curve:
            for k in keys: assert 0 <= p[k] and 0 <= p[k + "_shuffled"] and p["train_ms_per_step"] > 0
    # the last points are the models trained without watching, scored directly
    book = codebook_vectors(vq)
    cv_tr, cv_te = book[encode_images(vq, train.images).flatten(1)], book[encode_images(vq, test.images).flatten(1)]
    nxt = torch.stack([cv_te[(i + 1) % len(test)] for i in range(len(test))])
    fc = FusionConfig(text_dim=text(["a"]).tokens.shape[-1], code_dim=book.shape[1], num_positions=cv_tr.shape[1],
                      max_text=32, n_layer=1, n_head=2, n_embd=16)
    seed_everything(seed); vqa = VQAModel(fc, [a for _, _, a in train.qa])
    train_vqa(vqa, cv_tr, train.qa, text, 5, batch_size=4, lr=3e-3, seed=seed)
    last = r["tasks"]["vqa"]["curve"][-1]
    assert last["vqa_acc"] == evaluate_vqa(vqa, cv_te, test.qa, text)
    assert last["vqa_acc_shuffled"] == evaluate_vqa(vqa, nxt, test.qa, text)
    seed_everything(seed); gr = Grounder(fc, 32)
    train_grounder(gr, cv_tr, train.refs, text, 5, batch_size=4, lr=3e-3, seed=seed)
    last = r["tasks"]["grounding"]["curve"][-1]
    assert last["grounding_acc"] == pytest.approx(grounding_accuracy(gr, cv_te, test.refs, text))
    assert last["grounding_acc_shuffled"] == pytest.approx(grounding_accuracy(gr, nxt, test.refs, text))
    mean_box = torch.stack([b for _, _, b in train.refs]).mean(0, keepdim=True)
    boxes = torch.stack([b for _, _, b in test.refs])
    assert r["grounding_prior_acc"] == pytest.approx(box_accuracy(mean_box.expand(len(boxes), 4), boxes))
    assert r["n_captioned"] == 5 and r["n_test"] == len(test)


def test_bad_arguments_name_the_option(setting):
    vq, train, test, text, decode, seed = setting
    from lgvq.comparison import DownstreamConfig
    call = lambda **k: lc.language_curve(vq, train, test, text, decode, **{**dict(tasks=["vqa"], steps=2, every=1, samples=4,
                                                                               seed=0, cfg=DownstreamConfig()), **k})
    for kw, name in ((dict(every=3), "every"), (dict(samples=1), "samples"), (dict(cfg={"lr": 1e-3}), "cfg"),
                     (dict(seed=-1), "seed"), (dict(tasks=["vqa", "vqa"]), "tasks"), (dict(tasks=["t2i"]), "tasks"),
                     (dict(tasks="vqa"), "tasks"), (dict(steps=0), "steps")):
        with pytest.raises(ValueError, match=name):
            call(**kw)
    for argv, name in ((["--steps", "0"], "--steps"), (["--every", "9", "--steps", "4"], "--every"),
                       (["--n-train", "-3"], "--n-train"), (["--lr", "-1"], "--lr"), (["--seed", "-1"], "--seed"),
                       (["--tasks", "t2i"], "--tasks")):
        with pytest.raises(ValueError, match=name):
            lc.main(argv)


def test_a_tiny_run_writes_its_curves(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    report = lc.main(["--scale", "tiny", "--steps", "3", "--every", "2", "--n-train", "12", "--samples", "4",
                      "--variants", "vqgan", "--tasks", "grounding", "vqa", "--run-cache", str(tmp_path / "runs"),
                      "--json", str(tmp_path / "c.json")])
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved == json.loads(json.dumps(report))
    r = saved["variants"]["vqgan"]
    assert list(r["tasks"]) == ["grounding", "vqa"] and r["n_train"] == 12
    assert [p["step"] for p in r["tasks"]["vqa"]["curve"]] == [2, 3]
