"""lgvq.downstream across modules: KV-cache exactness on fresh random models, and the whole comparison pipeline
(data -> VQ codes -> every downstream model -> lgvq.metrics) end to end at toy scale."""
import math
import tempfile

import pytest
import torch

from lgvq.downstream import (CodeGPT, DownstreamConfig, GPTConfig, comparison_table, run_downstream_comparison,
                             task_split)


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
    from lgvq.data import CaptionedShapes
    from lgvq.models import ModelConfig, build_model
    from lgvq.text import TextFeatureCache, get_text_encoder
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
    from pathlib import Path
    assert sorted(p.name for p in Path(out).iterdir()) == ["samples_a.png", "samples_b.png"]
