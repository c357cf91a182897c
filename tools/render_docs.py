"""Render the notebooks (with their committed outputs) to a static HTML site in _docs/: one page per notebook, links
between notebooks rewritten to the pages, and index.html from nbs/index.ipynb. Quarto (nbdev_docs) is not needed.
Equations are typeset by a local copy of MathJax 2 (the `jupyter-server-mathjax` package), so the site works offline.

Usage: python tools/render_docs.py [--out _docs] [NOTEBOOK ...]   (default: nbs/index.ipynb and every nbs/*.ipynb)
"""
import argparse
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r'href="(?!https?://)([^"#]+?)\.ipynb(#[^"]*)?"')


MATHJAX = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"   # the config the package ships


def copy_mathjax(out_dir: Path) -> bool:
    "Copy MathJax 2 into out_dir/mathjax (once); False when `jupyter-server-mathjax` is not installed."
    dest = out_dir / "mathjax"
    if (dest / "MathJax.js").is_file(): return True
    try: import jupyter_server_mathjax
    except ImportError: return False
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", dest)
    return True


def for_readers(nb):
    "Drop what nbdev's own docs drop: `#| hide` cells, the `default_exp` cell, and the `#|` directive lines."
    keep = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines = cell.source.splitlines()
            flags = [ln.split()[1] for ln in lines if ln.startswith("#|") and len(ln.split()) > 1]
            if "hide" in flags or "default_exp" in flags or "nbdev_export" + "(" in cell.source: continue
            cell.source = "\n".join(ln for ln in lines if not ln.startswith("#|")).strip("\n")
        keep.append(cell)
    nb.cells = keep
    return nb


def render(path: Path, out_dir: Path) -> Path:
    "One notebook -> out_dir/<stem>.html (nbconvert's lab template, images inline), links to notebooks -> pages."
    from nbconvert import HTMLExporter
    import nbformat
    nb = for_readers(nbformat.read(path, as_version=4))
    kw = {"mathjax_url": MATHJAX} if copy_mathjax(out_dir) else {}     # else nbconvert's default (a CDN)
    html, _ = HTMLExporter(template_name="lab", **kw).from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    html = LINK.sub(lambda m: f'href="{Path(m.group(1)).name}.html{m.group(2) or ""}"', html)
    dest = out_dir / f"{path.stem}.html"
    dest.write_text(html, encoding="utf-8")
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "_docs")
    ap.add_argument("notebooks", nargs="*", type=Path)
    a = ap.parse_args(argv)
    paths = a.notebooks or sorted((ROOT / "nbs").glob("*.ipynb"))
    missing = [p for p in paths if not p.is_file()]
    if missing: raise SystemExit(f"notebooks: expected .ipynb files, these do not exist: {', '.join(map(str, missing))}")
    if a.out.exists() and not a.notebooks: shutil.rmtree(a.out)
    a.out.mkdir(parents=True, exist_ok=True)
    for p in paths: print(render(p, a.out))


if __name__ == "__main__":
    main()
