"""Run the component notebooks' fast cells and save their outputs (plots included) into the notebooks, so that a reader
sees them on GitHub, in JupyterLab and in the rendered docs without running anything.

Cells marked `#| slow` or `#| cuda`, cells with `#| eval: false` and the `nbdev_export()` cell are not run; their
outputs are cleared (a stale output would describe code that may have changed). The notebooks run in-process, the way
`nbdev_test` runs them, with nbs/ as the working directory. Run through `make outputs`, which also runs nbdev_clean.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]   (default: every nbs/*.ipynb; experiments/ are papermill's)
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"slow", "cuda"}
DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$")


def directives(source: str) -> dict:
    "The `#| name: value` lines at the top of a cell, as {name: value}."
    out = {}
    for line in source.splitlines():
        m = DIRECTIVE.match(line)
        if not m:
            if line.strip(): break
            continue
        out[m.group(1)] = m.group(2).strip()
    return out


def skipped(cell) -> bool:
    "True for cells this tool does not run: markdown, slow/cuda cells, `eval: false`, the nbdev_export() call."
    if cell.cell_type != "code": return True
    d = directives(cell.source)
    return bool(SKIP & d.keys()) or d.get("eval", "").lower() == "false" or "nbdev_export" + "(" in cell.source


def run(path: Path) -> float:
    "Execute `path`'s fast cells in one in-process shell and write the notebook back with their outputs."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    for cell in nb.cells:
        if cell.cell_type == "code" and skipped(cell): cell.outputs, cell.execution_count = [], None
    t = time.perf_counter()
    shell = CaptureShell(path, mpl_format="png")
    cwd = os.getcwd()
    os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=skipped)
    except Exception:
        sys.stderr.write(shell.prettytb(fname=path) + "\n")
        raise SystemExit(f"{path}: a cell failed; the notebook was not rewritten")
    finally: os.chdir(cwd)
    write_nb(nb, path)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    a = ap.parse_args(argv)
    paths = a.notebooks or sorted((ROOT / "nbs").glob("*.ipynb"))
    missing = [p for p in paths if not p.is_file()]
    if missing: raise SystemExit(f"notebooks: expected .ipynb files, these do not exist: {', '.join(map(str, missing))}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT))
    for p in paths:
        print(f"{p.name}: {run(p.resolve()):.0f} s", flush=True)


if __name__ == "__main__":
    main()
