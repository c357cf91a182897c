"""Notebooks a reader can see without running them: committed outputs (`make outputs`) and the static site
(`make docs`, tools/render_docs.py), checked in headless Chromium (Debian's `chromium`; .ci/run installs it)."""
import base64
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import execute_notebooks as ex  # noqa: E402
import render_docs as rd  # noqa: E402

NBS = sorted(p for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))


def _cell(source, kind="code"):
    from fastcore.basics import AttrDict
    return AttrDict(cell_type=kind, source=source)


def test_only_fast_cells_run():
    assert ex.skipped(_cell("#| slow\nx = 1"))
    assert ex.skipped(_cell("#| cuda\nx = 1"))
    assert ex.skipped(_cell("#| eval: false\nx = 1"))
    assert ex.skipped(_cell("import nbdev; nbdev.nbdev_export()"))
    assert ex.skipped(_cell("# a heading", kind="markdown"))
    assert not ex.skipped(_cell("#| export\ndef f(): pass"))
    assert not ex.skipped(_cell("x = 1  # slow, but not a directive"))
    assert not ex.skipped(_cell("#| hide\nx = 1\n#| slow"))      # a directive only counts at the top of a cell


def _png_outputs(path: Path) -> int:
    nb = json.loads(path.read_text())
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


def _slow_outputs(path: Path) -> list[int]:
    nb = json.loads(path.read_text())
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and c.get("outputs")
            and ex.skipped(_cell("".join(c["source"])))]


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_component_notebooks_are_committed_with_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and not ex.skipped(_cell("".join(c["source"])))]
    shown = [c for c in code if c.get("outputs")]
    assert shown, f"{path.name}: no cell has a committed output - run `make outputs` and commit the notebooks"
    assert not _slow_outputs(path), f"{path.name}: slow/cuda cells {_slow_outputs(path)} carry outputs `make outputs` did not make"


def test_notebooks_with_plots_commit_them():
    with_plots = [p.name for p in NBS if _png_outputs(p)]
    assert len(with_plots) >= 5, f"expected the component notebooks' figures to be committed, found PNGs only in {with_plots}"


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")
def test_rendered_page_shows_a_figure_in_chromium(tmp_path):
    from PIL import Image
    src = max(NBS, key=_png_outputs)                                    # the notebook with the most figures
    page = rd.render(src, tmp_path)
    assert page.is_file() and (tmp_path / "mathjax" / "MathJax.js").is_file()
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    imgs = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', dom)
    assert len(imgs) == _png_outputs(src), f"{page.name}: {len(imgs)} figures in the browser's DOM, {_png_outputs(src)} in the notebook"
    w, h = Image.open(io.BytesIO(base64.b64decode(imgs[0]))).size
    assert w >= 100 and h >= 100, f"first figure on {page.name} is {w}x{h} px"
    assert re.search(r"MathJax-Element-\d+-Frame", dom), "equations were not typeset by the local MathJax"


def test_links_between_notebooks_point_to_pages(tmp_path):
    page = rd.render(ROOT / "nbs" / "index.ipynb", tmp_path)
    html = page.read_text()
    assert not re.search(r'href="(?!https?://)[^"]+\.ipynb', html), "a link still points at a .ipynb file"
