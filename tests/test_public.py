"""The package's public contract: `lgvq.__all__` (lazy), and the README's Python snippets, executed."""
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_resolve_to_their_modules():
    import lgvq
    assert 12 <= len(lgvq.__all__) <= 25, lgvq.__all__
    for name in lgvq.__all__:
        obj = getattr(lgvq, name)
        mod = importlib.import_module(f"lgvq.{lgvq._PUBLIC[name]}")
        assert obj is getattr(mod, name), name
        assert name in mod.__all__, f"{name} is not public in lgvq.{lgvq._PUBLIC[name]}"
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        lgvq.fit


def test_import_is_cheap():
    out = subprocess.run([sys.executable, "-c", "import lgvq, sys; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == "False", "import lgvq imported torch"


def python_blocks(markdown: str) -> list[str]:
    "The ```python fenced blocks of a Markdown text (code cells of nbs/index.ipynb render as plain ``` blocks and run in nbtest)."
    return re.findall(r"^```python\n(.*?)^```", markdown, re.S | re.M)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    """Every ```python block of the README runs as written, in order, in a folder holding what the README's commands
    before it make (`lgvq export … my_tokenizer/`, `lgvq encode … --out train_codes.safetensors`)."""
    import torch
    from lgvq.config import TrainConfig
    from lgvq.train import build_model
    from lgvq.workflow import save_codes, save_pretrained
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert blocks, "the README has no ```python block"
    cfg = TrainConfig.from_dict({"data": {"dataset": "shapes", "size": 32},
                                 "model": {"resolution": 32, "ch": 16, "ch_mult": [1, 2], "num_res_blocks": 1,
                                           "attn_resolutions": [], "z_channels": 8, "embed_dim": 8, "num_codes": 16},
                                 "loss": {"kind": "vqvae"}})
    torch.manual_seed(0)
    save_pretrained(build_model(cfg)[0], tmp_path / "my_tokenizer", cfg)
    save_codes(str(tmp_path / "train_codes.safetensors"), torch.randint(0, 16, (3, 16, 16)),
               [["a red circle"], ["two squares"], ["a blue star"]], ["a.png", "b.png", "c.png"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ns: dict = {}
    for i, block in enumerate(blocks):
        try: exec(compile(block, f"README.md python block {i + 1}", "exec"), ns)
        except Exception as e: raise AssertionError(f"README python block {i + 1} failed: {e!r}\n{block}") from e
    assert ns["codes"].shape == (4, 16, 16) and ns["recon"].shape == (4, 3, 32, 32)
    assert ns["train"]["indices"].shape == (3, 16, 16)
    assert ns["train"]["captions"][1] == ["two squares"]
