"""The downstream modules (lgvq.codegpt, heads, comparison, taskconfig, downstream): KV-cache exactness on fresh random
models, and the whole comparison pipeline (data -> VQ codes -> every downstream model -> the metrics modules) end to end
at toy scale."""
import dataclasses
import math
import tempfile

import pytest
import torch

from lgvq.codegpt import CodeGPT, GPTConfig
from lgvq.comparison import DownstreamConfig, comparison_table, run_downstream_comparison
from lgvq.heads import task_split


@pytest.mark.parametrize("cond", ["none", "text", "codes"])
@pytest.mark.parametrize("seed", [0, 1])
def test_kv_cache_matches_full_recompute(cond, seed):
    torch.manual_seed(seed)
    cfg = GPTConfig(vocab_size=17, block_size=12, n_layer=3, n_head=2, n_embd=16, dropout=0.1, cond=cond,
                    cond_dim=5, cond_vocab=9, cond_len=7)
    gpt = CodeGPT(cfg)
    B = 3
    kw = {}
    if cond == "text":
        kw = dict(cond=torch.randn(B, 6, 5), cond_mask=torch.arange(6)[None] < torch.tensor([[6], [2], [1]]))
    elif cond == "codes":
        kw = dict(cond=torch.randint(0, 9, (B, 7)))
    else:
        kw = dict(n=B)
    prompt = torch.randint(0, 17, (B, 3))
    for p in (None, prompt):
        a, la = gpt.sample(prompt=p, generator=torch.Generator().manual_seed(seed), top_k=5, return_logits=True, **kw)
        b, lb = gpt.sample(prompt=p, generator=torch.Generator().manual_seed(seed), top_k=5, return_logits=True,
                           use_cache=False, **kw)
        assert a.shape == (B, 12) and a.dtype == torch.long
        assert torch.equal(a, b)
        torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-5)
        assert gpt.training                                                # sample restores the mode
        full = gpt.eval()(a, kw.get("cond"), kw.get("cond_mask"))          # no dropout, as in sampling
        gpt.train()
        torch.testing.assert_close(full[:, 0 if p is None else 3:], la, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:FD-shapes")
def test_comparison_end_to_end_toy():
    from lgvq.shapes import CaptionedShapes
    from lgvq.models import ModelConfig, build_model
    from lgvq.text_cache import TextFeatureCache
    from lgvq.text import get_text_encoder
    torch.manual_seed(0)
    mk = lambda: build_model(ModelConfig(resolution=32, ch=8, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=(),
                                         z_channels=8, embed_dim=8, num_codes=16)).eval()
    enc = get_text_encoder("minilm")
    cache = TextFeatureCache(enc, tempfile.mkdtemp())
    tr = task_split(CaptionedShapes(n=12, size=32, seed=0, split="train"))
    te = task_split(CaptionedShapes(n=6, size=32, seed=0, split="test"))
    cfg = DownstreamConfig(steps=2, batch_size=4, n_layer=1, n_head=2, n_embd=16, n_samples=6, semantic_vq_steps=2)
    out = tempfile.mkdtemp()
    res = run_downstream_comparison({"a": mk(), "b": mk()}, tr, te, cache.get, enc.decode_ids, cfg, out_dir=out,
                                    progress=False)
    assert set(res) == {"reference", "a", "b"}
    for name in ("a", "b"):
        for k in ("recon_fd", "uncond_fd", "completion_fd", "t2i_agreement", "t2i_fd", "semantic_iou", "bleu4",
                  "cider_d", "vqa_acc", "grounding_acc"):
            assert isinstance(res[name][k], float) and math.isfinite(res[name][k]), (name, k, res[name][k])
    assert 0 <= res["a"]["vqa_acc"] <= 1 and 0 <= res["a"]["grounding_acc"] <= 1
    assert "| vqa_acc |" in comparison_table(res)
    # chance: the real test images judged against the next image's prompt, against the judge called directly
    from lgvq.heads import checkable_caption
    from lgvq.shapes_judge import caption_agreement
    caps = [checkable_caption(c) for c in te.captions]
    unit = (te.images + 1) / 2
    assert res["reference"]["real_agreement"] == pytest.approx(caption_agreement(unit, caps).score)
    assert res["reference"]["shuffled_agreement"] == pytest.approx(caption_agreement(unit, caps[1:] + caps[:1]).score)
    assert res["reference"]["shuffled_agreement"] < res["reference"]["real_agreement"]
    # the grounding prior: the mean training box for every test box, against box_accuracy called directly
    from lgvq.heads import box_accuracy
    mean_box = torch.stack([b for _, _, b in tr.refs]).mean(0, keepdim=True)
    test_boxes = torch.stack([b for _, _, b in te.refs])
    assert res["reference"]["grounding_prior_acc"] == pytest.approx(box_accuracy(mean_box.expand(len(te.refs), 4), test_boxes))
    with pytest.raises(ValueError, match="n_samples"):
        run_downstream_comparison({"a": mk()}, tr, te, cache.get, enc.decode_ids,
                                  DownstreamConfig(steps=1, batch_size=4, n_layer=1, n_head=2, n_embd=16, n_samples=1,
                                                   semantic_vq_steps=1), progress=False)
    from pathlib import Path
    assert sorted(p.name for p in Path(out).iterdir()) == ["samples_a.png", "samples_b.png"]


# ---- training through the `lgvq train` CLI (configs with a `task` section) ----------------------------------------
import contextlib
import io
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
TINY_VQ = {"run": {"name": "tiny_vq", "ckpt_every": 100}, "data": {"size": 32, "n": 24, "batch_size": 4},
           "loss": {"kind": "vqvae"}, "optim": {"steps": 2, "base_lr": 1e-4},
           "model": {"resolution": 32, "ch": 8, "ch_mult": [1, 2, 2], "num_res_blocks": 1, "attn_resolutions": [],
                     "z_channels": 8, "embed_dim": 8, "num_codes": 16}}
EXPECTED = {"t2i": {"t2i_nll", "t2i_fd", "t2i_agreement"}, "completion": {"completion_nll", "completion_fd"},
            "semantic": {"semantic_nll", "semantic_iou"}, "unconditional": {"uncond_nll", "uncond_fd"},
            "captioning": {"bleu1", "bleu2", "bleu3", "bleu4", "cider_d"},
            "vqa": {"vqa_acc", "vqa_questions", "vqa_unseen_answers"}, "grounding": {"grounding_acc"}}


@pytest.fixture(scope="module")
def vq_run(tmp_path_factory):
    "A tiny VQ model trained by `lgvq train` (its run folder is given to the downstream configs) + a shared text cache."
    from lgvq.cli import main
    d = tmp_path_factory.mktemp("vq")
    (d / "vq.yaml").write_text(yaml.safe_dump({**TINY_VQ, "run": {**TINY_VQ["run"], "out_dir": str(d / "run")}}))
    main(["train", str(d / "vq.yaml"), "--no-progress"])
    return d / "run", d / "text"


def tiny_overrides(vq_dir, text_dir, out_dir, **over):
    o = {"task.vq": vq_dir, "task.semantic_vq_steps": 2, "run.out_dir": out_dir, "run.log_every": 1, "run.ckpt_every": 2,
         "data.n": 12, "data.n_test": 6, "model.n_layer": 1, "model.n_head": 2, "model.n_embd": 16, "optim.steps": 3,
         "optim.batch_size": 4, "eval.n_samples": 6, "text.cache_dir": text_dir, **over}
    return [f"{k}={v}" for k, v in o.items()]


def run_cli(args) -> dict:
    from lgvq.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): main(["train", *args, "--no-progress"])
    return json.loads(buf.getvalue().strip().splitlines()[-1])


@pytest.mark.filterwarnings("ignore:FD-shapes")
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_every_shipped_shapes_task_trains_through_the_cli(kind, vq_run, tmp_path):
    vq_dir, text_dir = vq_run
    res = run_cli([str(ROOT / "configs" / f"shapes_{kind}.yaml"), *tiny_overrides(vq_dir, text_dir, tmp_path / "run")])
    assert res == json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert res["task"] == kind and res["step"] == 3 and res["vq_checkpoint"].endswith("step_0000002")
    assert set(res["metrics"]) == EXPECTED[kind]
    for k, v in res["metrics"].items():
        assert isinstance(v, (int, float)) and math.isfinite(v), (k, v)
        if k.endswith(("_acc", "_agreement", "_iou")) or k.startswith(("bleu",)): assert 0 <= v <= 1, (k, v)
        if k.endswith("_nll"): assert 0 < v < 3 * math.log(16), (k, v)          # near ln K = 2.77 for 3 steps
    log = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and all(math.isfinite(r["loss"]) for r in log)
    assert (tmp_path / "run" / "samples.png").exists() == (kind in ("t2i", "completion", "semantic", "unconditional"))


def _final_weights(out_dir):
    from lgvq.checkpoint import list_checkpoints, load_checkpoint
    return load_checkpoint(list_checkpoints(Path(out_dir) / "checkpoints")[-1])["weights"]


@pytest.mark.filterwarnings("ignore:FD-shapes")
@pytest.mark.parametrize("kind", ["t2i", "semantic"])
def test_resume_after_interruption_equals_uninterrupted(kind, vq_run, tmp_path, monkeypatch):
    from lgvq.downstream import DownstreamTrainer
    from lgvq.checkpoint import list_checkpoints
    vq_dir, text_dir = vq_run
    cfg = str(ROOT / "configs" / f"shapes_{kind}.yaml")
    over = lambda out: tiny_overrides(vq_dir, text_dir, out, **{"optim.steps": 5})
    straight = run_cli([cfg, *over(tmp_path / "straight")])
    real = DownstreamTrainer.task_loss
    def crash(self, idx, g):                                     # the process dies in step 4 (after the step-2 checkpoint)
        if self.step == 3: raise RuntimeError("interrupted")
        return real(self, idx, g)
    monkeypatch.setattr(DownstreamTrainer, "task_loss", crash)
    with pytest.raises(RuntimeError, match="interrupted"): run_cli([cfg, *over(tmp_path / "cut")])
    monkeypatch.setattr(DownstreamTrainer, "task_loss", real)
    assert [p.name for p in list_checkpoints(tmp_path / "cut" / "checkpoints")] == ["step_0000002"]
    assert not (tmp_path / "cut" / "metrics.json").exists()
    torch.manual_seed(999)                                       # disturb the global RNG: resume must restore it
    resumed = run_cli([cfg, *over(tmp_path / "cut"), "--resume"])
    assert json.loads((tmp_path / "cut" / "run.json").read_text())["start_step"] == 2
    a, b = _final_weights(tmp_path / "straight"), _final_weights(tmp_path / "cut")
    assert a.keys() == b.keys() and any(k.startswith("model.") for k in a)
    assert any(k.startswith("semantic_vq.") for k in a) == (kind == "semantic")
    for k in a: torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    assert resumed["metrics"] == straight["metrics"] and resumed["step"] == straight["step"] == 5


def test_bad_downstream_configs_name_the_field(vq_run, tmp_path):
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    cfg = ROOT / "configs" / "shapes_vqa.yaml"
    ok = tiny_overrides(vq_dir, text_dir, tmp_path / "run")
    for extra, msg in [(["task.kind=segmentation"], r"task.kind: expected one of \('t2i'"),
                       ([f"task.vq={tmp_path / 'missing'}"], r"task.vq: .*missing' does not exist"),
                       ([f"task.vq={tmp_path}"], r"task.vq: no checkpoint in"),
                       (["task.vq_overrides=optim.steps=3"], "task.vq_overrides: expected a list"),
                       (["model.n_embd=31"], "model.n_embd: expected a multiple of model.n_head=2"),
                       (["data.dataset=cub", f"data.root={tmp_path}"], "task.kind: 'vqa' is not available"),
                       (["data.dataset=refcoco", f"data.root={tmp_path}"], "task.kind: 'vqa' is not available on data.dataset='refcoco'"),
                       (["data.test_split=val"], "data.test_split: only"),
                       (["tsk.kind=vqa"], "tsk: unknown config section")]:
        with pytest.raises(ValueError, match=msg): load_downstream_config(cfg, ok + extra)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as ex: run_cli([str(cfg), *ok, *extra])
        assert ex.value.code == 2 and "lgvq train: error:" in err.getvalue()
    # known only once the VQ model is loaded: its resolution must be the data size
    with pytest.raises(ValueError, match=r"data.size: expected 32 \(the resolution of the VQ model"):
        DownstreamTrainer(load_downstream_config(cfg, ok + ["data.size=64"]), progress=False)
    # a VQ config works in place of a checkpoint; a broken one is reported under task.vq
    bad = tmp_path / "bad_vq.yaml"; bad.write_text(yaml.safe_dump({**TINY_VQ, "optim": {"stpes": 2}}))
    with pytest.raises(ValueError, match=r"task.vq: the VQ config .* is invalid: optim.stpes: unknown key"):
        DownstreamTrainer(load_downstream_config(cfg, ok + [f"task.vq={bad}"]), progress=False)


# ---- COCO-QA and RefCOCO: miniature copies in the released formats, through the paper-scale configs ---------------
import pickle

import numpy as np
from PIL import Image


def _jpg(path, w, h, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def write_cocoqa(root):
    "3 train images (4 questions), 2 test images; the test answer 'seven' never occurs in training."
    rows = {"train": [(11, "what is on the table", "pizza", 0), (11, "how many plates are there", "two", 1),
                      (12, "what color is the bus", "red", 2), (13, "where is the cat", "sofa", 3)],
            "test": [(21, "what is on the plate", "pizza", 0), (22, "how many birds are there", "seven", 1),
                     (21, "what color is the plate", "red", 2)]}
    for split, rs in rows.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for col, f in enumerate(("img_ids", "questions", "answers", "types")):
            (root / split / f"{f}.txt").write_text("".join(f"{r[col]}\n" for r in rs))
        folder = {"train": "train2014", "test": "val2014"}[split]
        for iid in {r[0] for r in rs}: _jpg(root / "images" / folder / f"COCO_{folder}_{iid:012d}.jpg", 64, 48, iid)
    return root


def write_refcoco(root):
    "4 train images, 1 val, 1 testA; image 5's second box lies left of the centre crop (dropped and counted)."
    images = [{"id": i, "file_name": f"COCO_train2014_{i:012d}.jpg", "width": 48 + 8 * i, "height": 48} for i in range(1, 7)]
    anns = [{"id": 100 + i, "image_id": i, "bbox": [12 + i, 6, 20, 30], "category_id": i % 3 + 1} for i in range(1, 7)]
    anns.append({"id": 200, "image_id": 5, "bbox": [0, 0, 6, 20], "category_id": 1})
    split = {1: "train", 2: "train", 3: "train", 4: "train", 5: "val", 6: "testA"}
    sent = lambda k, t: {"raw": t, "sent": t, "tokens": t.split(), "sent_id": k}
    refs = [{"ref_id": i, "ann_id": 100 + i, "image_id": i, "split": split[i], "category_id": 1,
             "sentences": [sent(2 * i, f"the object number {i}"), sent(2 * i + 1, "thing in the middle")]} for i in range(1, 7)]
    refs.append({"ref_id": 99, "ann_id": 200, "image_id": 5, "split": "val", "category_id": 1, "sentences": [sent(99, "far left")]})
    for im in images: _jpg(root / "images/train2014" / im["file_name"], im["width"], im["height"], im["id"])
    (root / "refcoco").mkdir(parents=True, exist_ok=True)
    (root / "refcoco/instances.json").write_text(json.dumps({"images": images, "annotations": anns}))
    with open(root / "refcoco/refs(unc).p", "wb") as f: pickle.dump(refs, f, protocol=2)
    return root


def paper_overrides(vq_dir, text_dir, out_dir, root, **over):
    "The paper-scale task config shrunk to the tiny VQ model (32 px), the packaged text encoder and 3 steps."
    o = {"data.root": root, "data.size": 32, "data.num_workers": 0, "data.batch_size": 4, "text.encoder": "minilm",
         "text.max_length": 32, "optim.precision": "fp32", **over}
    return [x for x in tiny_overrides(vq_dir, text_dir, out_dir) if not x.startswith("data.n")] + [f"{k}={v}" for k, v in o.items()]


def test_cocoqa_vqa_config_trains_end_to_end(vq_run, tmp_path):
    from lgvq.data import COCOQA
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    root = write_cocoqa(tmp_path / "cocoqa")
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", root)
    tr = DownstreamTrainer(load_downstream_config(ROOT / "configs" / "cocoqa_vqa.yaml", over), progress=False)
    d = tr.data
    assert d.codes.shape == (3, 64) and d.test_codes.shape == (2, 64)                 # one code grid per image, 8x8
    assert d.qa == COCOQA(root, "train", size=32).qa_records() and len(d.test_qa) == 3
    assert d.test_qa[:2] == [(0, "what is on the plate", "pizza"), (0, "what color is the plate", "red")]
    assert tr.model.answers == ["pizza", "red", "sofa", "two"]                         # the training answers only
    res = run_cli([str(ROOT / "configs" / "cocoqa_vqa.yaml"), *over])
    m = res["metrics"]
    assert res["task"] == "vqa" and res["dataset"] == "cocoqa" and res["step"] == 3
    assert m["vqa_questions"] == 3 and m["vqa_unseen_answers"] == 1                   # 'seven': kept, and a miss
    assert m["vqa_acc"] in (0.0, 1 / 3, 2 / 3)


def test_refcoco_grounding_config_trains_end_to_end(vq_run, tmp_path):
    from lgvq.data import RefCOCO, crop_box
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    root = write_refcoco(tmp_path / "refcoco")
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", root)
    tr = DownstreamTrainer(load_downstream_config(ROOT / "configs" / "refcoco_grounding.yaml", over), progress=False)
    d = tr.data
    assert d.codes.shape == (4, 64) and d.test_codes.shape == (1, 64) and len(d.refs) == 8 and len(d.test_refs) == 2
    i, e, box = d.refs[2]
    assert (i, e) == (1, "the object number 2")
    torch.testing.assert_close(box, crop_box([14, 6, 20, 30], 64, 48, 32)[0])         # 64x48 -> 43x32, crop from x = 5
    assert box.dtype == torch.float32 and 0 <= box.min() and box.max() <= 32
    val = RefCOCO(root, "val", size=32)
    assert val.skipped == {"outside_crop": 1, "empty_sentence": 0} and [x[1] for x in d.test_refs] == [x[1] for x in val.ref_records()]
    res = run_cli([str(ROOT / "configs" / "refcoco_grounding.yaml"), *over])
    assert res["task"] == "grounding" and res["dataset"] == "refcoco" and 0 <= res["metrics"]["grounding_acc"] <= 1
    res = run_cli([str(ROOT / "configs" / "refcoco_grounding.yaml"), *over, "data.test_split=testA", f"run.out_dir={tmp_path / 'a'}"])
    assert res["step"] == 3 and 0 <= res["metrics"]["grounding_acc"] <= 1


def test_task_datasets_fail_fast_naming_the_file(vq_run, tmp_path):
    "A missing or malformed file stops the run before the VQ model is trained, naming the file (and where it goes)."
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    vq_cfg = tmp_path / "vq.yaml"; vq_cfg.write_text(yaml.safe_dump(TINY_VQ))             # would be trained by train_cached
    qa = write_cocoqa(tmp_path / "cocoqa")
    (qa / "test/types.txt").unlink()
    over = paper_overrides(vq_cfg, text_dir, tmp_path / "run", qa, **{"task.vq_cache": tmp_path / "cache"})
    cfg = ROOT / "configs" / "cocoqa_vqa.yaml"
    with pytest.raises(FileNotFoundError, match=r"COCO-QA test/types.txt not found: .*cocoqa/test/types.txt\nexpected layout"):
        DownstreamTrainer(load_downstream_config(cfg, over), progress=False)
    assert not (tmp_path / "cache").exists()                                             # nothing was trained
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as ex: run_cli([str(cfg), *over])
    assert ex.value.code == 2 and "types.txt not found" in err.getvalue()
    (qa / "test/types.txt").write_text("0\n1\n")                                      # 2 lines for 3 records
    with pytest.raises(ValueError, match=r"test/types.txt: 2 lines, but .*test/img_ids.txt has 3"):
        DownstreamTrainer(load_downstream_config(cfg, over), progress=False)
    ref = write_refcoco(tmp_path / "refcoco")
    class Evil:
        def __reduce__(self): return (print, ("never printed",))
    (ref / "refcoco/refs(unc).p").write_bytes(pickle.dumps([Evil()]))
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", ref)
    with pytest.raises(ValueError, match=r"refs\(unc\).p: not a plain pickle of refs .*refusing to load builtins.print"):
        DownstreamTrainer(load_downstream_config(ROOT / "configs" / "refcoco_grounding.yaml", over), progress=False)


def test_cocoqa_vqa_accuracy_per_question_type(vq_run, tmp_path):
    "COCO-QA's question types: accuracy, questions and unseen answers per type, consistent with the overall numbers."
    from lgvq.downstream import DownstreamTrainer
    from lgvq.heads import vqa_hits
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    root = write_cocoqa(tmp_path / "cocoqa")
    cfg = ROOT / "configs" / "cocoqa_vqa.yaml"
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", root)
    m = run_cli([str(cfg), *over])["metrics"]
    assert (m["vqa_questions_object"], m["vqa_questions_number"], m["vqa_questions_color"], m["vqa_questions_location"]) == (1, 1, 1, 0)
    assert m["vqa_acc_location"] is None                                               # no test question of that type
    assert m["vqa_unseen_answers_number"] == 1 and m["vqa_acc_number"] == 0.0          # 'seven' is unseen: a miss
    assert m["vqa_unseen_answers_object"] == m["vqa_unseen_answers_color"] == 0
    # the per-type numbers are the overall hits split by type (recomputed from the final checkpoint)
    tr = DownstreamTrainer(load_downstream_config(cfg, over), resume=True, progress=False)
    assert tr.data.test_qa_types == [0, 2, 1]                                        # image 21: object, color; 22: number
    hits = vqa_hits(tr.model, tr.book[tr.data.test_codes], tr.data.test_qa, tr.text)
    for t, name in enumerate(("object", "number", "color")):
        assert m[f"vqa_acc_{name}"] == float(hits[tr.data.test_qa_types.index(t)])
    assert m["vqa_acc"] == sum(hits) / 3 == sum(m[f"vqa_acc_{n}"] * m[f"vqa_questions_{n}"] for n in ("object", "number", "color")) / 3


@pytest.mark.filterwarnings("ignore:FD-shapes")
def test_comparison_counts_every_vqa_test_question(monkeypatch):
    "run_downstream_comparison scores VQA over every test question, as the trainer does (unseen answers are misses)."
    import lgvq.comparison as ds
    from lgvq.shapes import CaptionedShapes
    from lgvq.models import ModelConfig, build_model
    from lgvq.text_cache import TextFeatureCache
    from lgvq.text import get_text_encoder
    seen = []
    real = ds.evaluate_vqa
    def spy(model, code_vecs, qa, text, **kw):
        seen.append((list(qa), set(model.answers)))
        return real(model, code_vecs, qa, text, **kw)
    monkeypatch.setattr(ds, "evaluate_vqa", spy)
    torch.manual_seed(0)
    vq = build_model(ModelConfig(resolution=32, ch=8, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=(),
                                 z_channels=8, embed_dim=8, num_codes=16)).eval()
    enc = get_text_encoder("minilm")
    tr = task_split(CaptionedShapes(n=3, size=32, seed=0, split="train"))          # 3 images: some test answers unseen
    te = task_split(CaptionedShapes(n=6, size=32, seed=0, split="test"))
    cfg = DownstreamConfig(steps=1, batch_size=4, n_layer=1, n_head=2, n_embd=16, n_samples=6, semantic_vq_steps=1)
    res = run_downstream_comparison({"a": vq}, tr, te, TextFeatureCache(enc, tempfile.mkdtemp()).get, enc.decode_ids, cfg,
                                    progress=False)
    (qa, answers), (qa_shuffled, _) = seen                                       # the real codes, then the shuffled control
    assert qa == te.qa and qa_shuffled == te.qa and any(a not in answers for _, _, a in qa)
    assert res["a"]["vqa_acc"] <= sum(a in answers for _, _, a in qa) / len(qa)


# ---- FID on the paper datasets: a miniature CelebA-HQ, a stand-in extractor for the Inception weights ---------------
def write_celebahq(root, n_train=6, n_test=8):
    "MM-CelebA-HQ layout: images, 10-line caption files, train.txt / test.txt split lists."
    (root / "CelebA-HQ-img").mkdir(parents=True, exist_ok=True); (root / "celeba-caption").mkdir(exist_ok=True)
    for i in range(n_train + n_test):
        _jpg(root / "CelebA-HQ-img" / f"{i}.jpg", 40, 40, i)
        (root / "celeba-caption" / f"{i}.txt").write_text("".join(f"the person {i} has {w} hair.\n" for w in ("black", "brown")))
    (root / "train.txt").write_text("".join(f"{i}\n" for i in range(n_train)))
    (root / "test.txt").write_text("".join(f"{i}\n" for i in range(n_train, n_train + n_test)))
    return root


class TinyFID(torch.nn.Module):
    "Stand-in for the FID Inception-v3: per-channel means and standard deviations (6-d) of images in [0, 1]."
    name = "stand-in: channel means and stds"
    def forward(self, x):
        assert x.min() >= 0 and x.max() <= 1 and x.shape[1:] == (3, 32, 32)
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1).double()


@pytest.mark.filterwarnings("ignore:FID")
def test_fid_on_a_paper_dataset_equals_metrics_fid(vq_run, tmp_path, monkeypatch):
    import lgvq.image_metrics
    from lgvq.data import CelebAHQ
    from lgvq.downstream import DownstreamTrainer
    from lgvq.taskconfig import load_downstream_config
    from lgvq.image_metrics import FeatureExtractor, fid, to_unit
    vq_dir, text_dir = vq_run
    weights = tmp_path / "fid_weights.pth"; weights.write_bytes(b"stand-in")
    loaded = []
    monkeypatch.setattr(lgvq.image_metrics, "load_fid_inception", lambda path=None: (loaded.append(path), TinyFID())[1])
    root = write_celebahq(tmp_path / "celebahq")
    cfg = ROOT / "configs" / "celebahq_t2i.yaml"
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", root, **{"eval.fid": True, "eval.fid_weights": weights})
    res = run_cli([str(cfg), *over])                                                  # eval.n_samples=6; FID: all 8 test images
    assert loaded == [weights]
    assert set(res["metrics"]) == {"t2i_nll", "t2i_fid"} and res["metrics"]["t2i_fid"] > 0
    assert res["fid"] == {"computed": True, "extractor": TinyFID.name, "weights": str(weights), "n_real": 8, "n_fake": 8}
    # the same samples and real images, straight through lgvq.image_metrics.fid
    tr = DownstreamTrainer(load_downstream_config(cfg, over), resume=True, progress=False)
    fake = torch.cat(list(tr.sample_test_images(8)))
    real = torch.cat(list(tr.real_test_images(8)))
    assert fake.shape == real.shape == (8, 3, 32, 32) and torch.equal(fake, torch.cat(list(tr.sample_test_images(8))))
    torch.testing.assert_close(real, torch.stack([CelebAHQ(root, "test", size=32)[i]["image"] for i in range(8)]))
    direct = fid(to_unit(real), to_unit(fake), FeatureExtractor(TinyFID(), TinyFID.name, "FID")).value
    assert res["metrics"]["t2i_fid"] == pytest.approx(direct, rel=1e-9)
    # fewer FID images than samples: the first eval.fid_images of the same pass
    res = run_cli([str(cfg), *over, "eval.fid_images=7", f"run.out_dir={tmp_path / 'seven'}"])
    assert res["fid"]["n_real"] == res["fid"]["n_fake"] == 7


def test_fid_auto_records_why_and_true_fails_fast(vq_run, tmp_path, monkeypatch):
    import lgvq.image_metrics
    from lgvq.taskconfig import load_downstream_config
    vq_dir, text_dir = vq_run
    nowhere = tmp_path / "nowhere" / lgvq.image_metrics.FID_WEIGHTS_FILE
    monkeypatch.setattr(lgvq.image_metrics, "fid_weights_locations", lambda: [nowhere, nowhere])
    root = write_celebahq(tmp_path / "celebahq")
    cfg = ROOT / "configs" / "celebahq_t2i.yaml"
    over = paper_overrides(vq_dir, text_dir, tmp_path / "run", root, **{"task.kind": "unconditional"})
    res = run_cli([str(cfg), *over])                                                  # eval.fid: auto (the default)
    assert set(res["metrics"]) == {"uncond_nll"} and res["fid"]["computed"] is False
    why = res["fid"]["reason"]
    assert f"{lgvq.image_metrics.FID_WEIGHTS_FILE!r} was not found" in why and str(nowhere) in why and "never downloads" in why
    res = run_cli([str(cfg), *over, "eval.fid=false", "task.kind=completion", f"run.out_dir={tmp_path / 'off'}"])
    assert set(res["metrics"]) == {"completion_nll"} and res["fid"] == {"computed": False, "reason": "eval.fid=false"}
    # eval.fid=true without the weights: refused when the config is read, before anything is trained
    vq_cfg = tmp_path / "vq.yaml"; vq_cfg.write_text(yaml.safe_dump(TINY_VQ))
    strict = paper_overrides(vq_cfg, text_dir, tmp_path / "strict", root, **{"eval.fid": True, "task.vq_cache": tmp_path / "cache"})
    with pytest.raises(ValueError, match=r"eval.fid: true, but the FID Inception weights file .* was not found .*nowhere"):
        load_downstream_config(cfg, strict)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as ex: run_cli([str(cfg), *strict])
    assert ex.value.code == 2 and "eval.fid: true" in err.getvalue()
    assert not (tmp_path / "cache").exists() and not (tmp_path / "strict").exists()
    # the other eval.fid* values are checked too
    for extra, msg in [(["eval.fid=maybe"], "eval.fid: expected auto, true or false, got 'maybe'"),
                       (["eval.fid_images=1"], "eval.fid_images"),
                       ([f"eval.fid_weights={tmp_path / 'missing.pth'}"], "eval.fid_weights: expected the path of an existing"),
                       (["eval.fid=true", "task.kind=captioning"], r"eval.fid: true, but FID is measured only for task.kind in")]:
        with pytest.raises(ValueError, match=msg): load_downstream_config(cfg, over + extra)
    shapes = tiny_overrides(vq_dir, text_dir, tmp_path / "s")
    with pytest.raises(ValueError, match=r"FID is measured only .*data.dataset='shapes'"):
        load_downstream_config(ROOT / "configs" / "shapes_t2i.yaml", shapes + ["eval.fid=true"])


@pytest.mark.filterwarnings("ignore:FD-shapes")
def test_comparison_image_shuffled_controls(monkeypatch):
    "The shuffled controls judge the same trained models with every test image given the next test image's codes."
    import lgvq.comparison as cmp
    from lgvq.shapes import CaptionedShapes
    from lgvq.models import ModelConfig, build_model
    from lgvq.text_cache import TextFeatureCache
    from lgvq.text import get_text_encoder
    torch.manual_seed(1)
    vq = build_model(ModelConfig(resolution=32, ch=8, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=(),
                                 z_channels=8, embed_dim=8, num_codes=16)).eval()
    enc = get_text_encoder("minilm")
    cache = TextFeatureCache(enc, tempfile.mkdtemp())
    tr = task_split(CaptionedShapes(n=12, size=32, seed=1, split="train"))
    te = task_split(CaptionedShapes(n=5, size=32, seed=1, split="test"))
    calls = {"vqa": [], "grounding": [], "captions": []}
    def spy(kind, fn):
        def wrapped(*a, **k):
            out = fn(*a, **k)
            calls[kind].append((a, out))
            return out
        return wrapped
    monkeypatch.setattr(cmp, "evaluate_vqa", spy("vqa", cmp.evaluate_vqa))
    monkeypatch.setattr(cmp, "grounding_accuracy", spy("grounding", cmp.grounding_accuracy))
    monkeypatch.setattr(cmp, "caption_metrics", spy("captions", cmp.caption_metrics))
    cfg = DownstreamConfig(steps=2, batch_size=4, n_layer=1, n_head=2, n_embd=16, n_samples=5, semantic_vq_steps=2)
    r = run_downstream_comparison({"a": vq}, tr, te, cache.get, enc.decode_ids, cfg, progress=False)["a"]
    for kind, key in (("vqa", "vqa_acc"), ("grounding", "grounding_acc")):
        (real_args, real), (shuf_args, shuf) = calls[kind]
        model, cv, records = real_args[:3]
        assert shuf_args[0] is model and shuf_args[2] is records          # the same trained model and test records
        assert cv.shape[0] == len(te) and not torch.equal(cv, shuf_args[1])
        for i in range(len(te)):                                          # image i is given image i + 1's codes
            assert torch.equal(shuf_args[1][i], cv[(i + 1) % len(te)])
        assert r[key] == real and r[key + "_shuffled"] == shuf
    (real_args, real), (shuf_args, shuf) = calls["captions"]
    hyps = real_args[0]
    assert len(hyps) == 5 and shuf_args[0] == hyps[1:] + hyps[:1] and shuf_args[1] == real_args[1]
    assert (r["bleu4"], r["cider_d"]) == (real["bleu4"], real["cider_d"])
    assert (r["bleu4_shuffled"], r["cider_d_shuffled"]) == (shuf["bleu4"], shuf["cider_d"])
    # language_steps: the captioner, VQA and grounder train that long, the generators `steps`
    seen = []
    for fn in ("train_code_gpt", "train_captioner", "train_vqa", "train_grounder"):
        orig = getattr(cmp, fn)
        monkeypatch.setattr(cmp, fn, lambda *a, _f=orig, _n=fn, **k: (seen.append((_n, a[-1])), _f(*a, **k))[1])
    run_downstream_comparison({"a": vq}, tr, te, cache.get, enc.decode_ids, dataclasses.replace(cfg, language_steps=3),
                              progress=False)
    assert sorted(set(seen)) == [("train_captioner", 3), ("train_code_gpt", 2), ("train_grounder", 3), ("train_vqa", 3)]
    with pytest.raises(ValueError, match="language_steps"): DownstreamConfig(language_steps=0)
    with pytest.raises(ValueError, match="referring expressions"):
        run_downstream_comparison({"a": vq}, tr, dataclasses.replace(te, refs=[]), cache.get, enc.decode_ids, cfg,
                                  progress=False)
