"""lgvq.text outside the notebook: the behaviours other modules rely on (word spans, the cache, bad input)."""
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
import torch

from lgvq.text import OpenCLIPTextEncoder, TextFeatures, get_text_encoder, mask_words, words_of
from lgvq.text_cache import TextFeatureCache

CAPTION = "A blue-green bird, unbelievably small (3.5 cm)!"


@pytest.fixture(scope="module")
def minilm():
    return get_text_encoder("minilm")


class Counting:
    "Wraps an encoder and counts the captions it encodes."
    def __init__(self, inner): self.inner, self.captions = inner, 0
    def __getattr__(self, name):
        if name == "inner": raise AttributeError(name)
        return getattr(self.inner, name)
    def encode(self, captions, **kw): self.captions += len(captions); return self.inner.encode(captions, **kw)


def test_word_spans_minilm(minilm):
    f = minilm.encode([CAPTION])
    got = [minilm.id_to_token(f.ids[0, s:e]) for s, e in f.words[0]]
    assert got == [["a"], ["blue", "-", "green"], ["bird"], ["un", "##bel", "##ie", "##va", "##bly"], ["small"],
                   ["3", ".", "5"], ["cm"]]


def test_word_spans_clip_random_init():
    clip = OpenCLIPTextEncoder("ViT-B-32", pretrained=None, max_length=30)
    f = clip.encode([CAPTION])
    got = [clip.id_to_token(f.ids[0, s:e]) for s, e in f.words[0]]
    assert got == [["a</w>"], ["blue</w>", "-</w>", "green</w>"], ["bird</w>"], ["unbelievably</w>"], ["small</w>"],
                   ["3</w>", ".</w>", "5</w>"], ["cm</w>"]]
    assert f.random_init and "random-init" in f.encoder_id
    assert int(f.ids[0, int(f.lengths[0]) - 1]) == clip.eot_id


def test_cache_second_run_is_all_hits(minilm, tmp_path):
    caps = [f"a {c} {s}" for c in ("red", "blue-green", "tiny yellow") for s in ("circle", "square")]
    first = Counting(minilm)
    a = TextFeatureCache(first, tmp_path, shard_size=2).get(caps)
    assert first.captions == len(caps)
    second = Counting(minilm)
    cache = TextFeatureCache(second, tmp_path)
    b = cache.get(caps)
    assert second.captions == 0 and cache.stats.hit_rate == 1.0 and cache.stats.hits == len(caps)
    torch.testing.assert_close(b.tokens, a.tokens, rtol=0, atol=0)
    assert b.words == a.words


def test_corrupt_shard_is_rebuilt(minilm, tmp_path):
    caps = [f"caption {w} number" for w in ("one", "two", "three", "four")]
    ref = TextFeatureCache(minilm, tmp_path, shard_size=2).get(caps)
    shard = sorted(tmp_path.rglob("*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:100])
    counting = Counting(minilm)
    with pytest.warns(RuntimeWarning, match="corrupt shard"):
        cache = TextFeatureCache(counting, tmp_path)
    got = cache.get(caps)
    assert counting.captions == 2 and cache.stats.rebuilt_shards == 1
    torch.testing.assert_close(got.pooled, ref.pooled, rtol=1e-5, atol=1e-5)


def test_masking_whole_words(minilm):
    f = minilm.encode([CAPTION, "two red squares"])
    m = mask_words(f, (1.0, 1.0))
    assert torch.equal(m.masked, f.word_index >= 0)
    assert len(words_of(CAPTION)) == int(f.num_words[0])


@pytest.mark.parametrize("bad, msg", [([], "at least one"), ("text", "list of strings"), (["ok", ""], r"captions\[1\]"),
                                      ([1], r"captions\[0\]"), (["..."], "at least one word")])
def test_bad_captions(minilm, bad, msg):
    with pytest.raises(ValueError, match=msg):
        minilm.encode(bad)


def test_unknown_encoder_name():
    with pytest.raises(ValueError, match="minilm"):
        get_text_encoder("no-such-model")
