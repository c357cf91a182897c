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
