"""Shared pytest setup: offline by default, paths to the repository's parts."""
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def toy_downstream(tmp_path_factory):
    """A fresh random tiny VQ model, CaptionedShapes train (20) and test (8) TaskSplits of a random seed, and a MiniLM
    feature cache: (vq, train, test, text encoder, cache, seed), for the downstream learning-curve tools' tests."""
    import torch
    from lgvq.heads import task_split
    from lgvq.models import ModelConfig, build_model
    from lgvq.shapes import CaptionedShapes
    from lgvq.text import get_text_encoder
    from lgvq.text_cache import TextFeatureCache
    seed = int(torch.randint(0, 1000, (1,)))
    torch.manual_seed(seed)
    vq = build_model(ModelConfig(resolution=32, ch=8, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=(),
                                 z_channels=8, embed_dim=8, num_codes=16)).eval()
    train = task_split(CaptionedShapes(n=20, size=32, seed=seed, split="train"))
    test = task_split(CaptionedShapes(n=8, size=32, seed=seed, split="test"))
    enc = get_text_encoder("minilm")
    return vq, train, test, enc, TextFeatureCache(enc, tmp_path_factory.mktemp("text")), seed
