"""Every experiment notebook runs headlessly with papermill at scale="tiny", writes finite outputs, takes injected
parameters (its `parameters` tag survives nbdev_clean), and stops early with a clear message on a bad parameter."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest
from conftest import ROOT

EXPERIMENTS = sorted((ROOT / "nbs" / "experiments").glob("*.ipynb"))


def run(nb: Path, out_dir: Path, **params):
    return pm.execute_notebook(str(nb), str(out_dir / f"executed_{nb.name}"), kernel_name="python3",
                               parameters={"scale": "tiny", "out_dir": str(out_dir), **params},
                               cwd=str(nb.parent), progress_bar=False)


def finite_numbers(obj):
    if isinstance(obj, bool): return
    if isinstance(obj, (int, float)):
        assert math.isfinite(obj), obj
    elif isinstance(obj, dict):
        for v in obj.values(): finite_numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj: finite_numbers(v)


def test_there_are_experiments():
    assert EXPERIMENTS, "no notebooks in nbs/experiments"


@pytest.mark.parametrize("nb", EXPERIMENTS, ids=lambda p: p.stem)
def test_tiny_run_writes_finite_outputs(nb, tmp_path):
    run(nb, tmp_path)
    results = sorted(tmp_path.glob("*.json"))
    assert results, f"{nb.name} wrote no results file"
    for r in results: finite_numbers(json.loads(r.read_text()))
    assert list(tmp_path.glob("*.png")) and list(tmp_path.glob("*.md"))
    assert all(p.stat().st_size > 0 for p in tmp_path.iterdir())


def test_injected_parameter_changes_the_run(tmp_path):
    nb = ROOT / "nbs" / "experiments" / "toy_codebook.ipynb"
    (tmp_path / "a").mkdir(); (tmp_path / "b").mkdir()
    run(nb, tmp_path / "a")
    run(nb, tmp_path / "b", num_codes=12, steps=7)
    a = json.loads((tmp_path / "a" / "toy_codebook.json").read_text())
    b = json.loads((tmp_path / "b" / "toy_codebook.json").read_text())
    assert (a["num_codes"], a["steps"]) == (32, 100) and (b["num_codes"], b["steps"]) == (12, 7)
    assert a["results"] != b["results"]


@pytest.mark.parametrize("nb", EXPERIMENTS, ids=lambda p: p.stem)
def test_parameters_tag_survives_nbdev_clean(nb, tmp_path):
    copy = tmp_path / nb.name
    shutil.copy(nb, copy)
    subprocess.run([str(Path(sys.executable).with_name("nbdev_clean")), "--fname", str(copy)], cwd=ROOT, check=True)
    cells = json.loads(copy.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb.name}: expected exactly one `parameters` cell after nbdev_clean, got {len(tagged)}"


@pytest.mark.parametrize("bad", [dict(scale="huge"), dict(num_codes=0), dict(seed=-3)])
def test_bad_parameter_stops_early_with_clear_message(bad, tmp_path):
    nb = ROOT / "nbs" / "experiments" / "toy_codebook.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as err:
        run(nb, tmp_path, **bad)
    name = next(iter(bad))
    assert err.value.ename == "ValueError" and name in err.value.evalue, err.value.evalue
    assert err.value.cell_index <= 5, f"failed late, in cell {err.value.cell_index}"
    assert not list(tmp_path.glob("*.json")), "a failed run must not write results"
