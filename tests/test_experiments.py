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
    "Execute at scale tiny; trained runs and text features are cached under the test's own temporary folder."
    scratch = out_dir.parent / f"scratch_{nb.stem}"
    return pm.execute_notebook(str(nb), str(out_dir.parent / f"executed_{out_dir.name}_{nb.name}"), kernel_name="python3",
                               parameters={"scale": "tiny", "out_dir": str(out_dir), "run_cache": str(scratch / "runs"),
                                           "text_cache": str(scratch / "text"), **params},
                               cwd=str(nb.parent), progress_bar=False, start_timeout=300)   # a cold venv's first kernel can take > 60 s


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
    out = tmp_path / "out"
    run(nb, out)
    results = sorted(out.glob("*.json"))
    assert results, f"{nb.name} wrote no results file"
    for r in results: finite_numbers(json.loads(r.read_text()))
    assert list(out.glob("*.png")) and list(out.glob("*.md"))
    assert all(p.stat().st_size > 0 for p in out.iterdir())


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


def test_convergence_looks_past_the_experiments_schedule(tmp_path):
    "By default the study trains 1.5x the scale's steps, evaluates the scale's own step count, and reports the gain after it."
    from lgvq.experiments import SCALES
    out = tmp_path / "out"
    run(ROOT / "nbs" / "experiments" / "convergence.ipynb", out)
    d = json.loads((out / "convergence.json").read_text())
    sched = SCALES["tiny"]["steps"]
    last = sched * 3 // 2
    assert last > sched
    assert (d["schedule"], d["steps"], d["eval_every"]) == (sched, last, max(1, sched // 12))
    assert set(d["past_schedule"]) == set(d["results"]) == {"VQ-GAN", "VQ-GAN+LG"}
    for r, res in d["results"].items():
        points = {p["step"]: p for p in res["points"]}
        assert sorted(points) == list(range(0, last + 1, d["eval_every"]))
        for k in ("psnr", "agreement", "usage"):
            assert d["past_schedule"][r][k] == {"at_schedule": points[sched][k], "last": points[last][k]}
    assert f"From the experiments' schedule (step {sched}) to step {last}" in (out / "convergence.md").read_text()


BAD = [("toy_codebook", dict(scale="huge"), "scale"), ("toy_codebook", dict(num_codes=0), "num_codes"),
       ("toy_codebook", dict(seed=-3), "seed"), ("alignment", dict(scale="huge"), "scale"),
       ("alignment", dict(dataset="imagenet"), "dataset"), ("alignment", dict(dataset="cub"), "data_root"),
       ("alignment", dict(dataset="cub", data_root="/nonexistent/cub"), "data_root"),
       ("reconstruction", dict(scale="huge"), "scale"), ("reconstruction", dict(dataset="imagenet"), "dataset"),
       ("reconstruction", dict(dataset="cub", data_root="/nonexistent/cub"), "data_root"),
       ("reconstruction", dict(table_seeds=-1), "table_seeds"), ("reconstruction", dict(threads=-1), "threads"),
       ("codebook", dict(scale="huge"), "scale"), ("codebook", dict(dataset="celebahq"), "data_root"),
       ("codebook", dict(scale="paper"), "dataset"), ("codebook", dict(ablation_seeds=-2), "ablation_seeds"),
       ("codebook", dict(seed=-1), "seed"),
       ("loss_ablation", dict(scale="huge"), "scale"), ("loss_ablation", dict(dataset="imagenet"), "dataset"),
       ("loss_ablation", dict(dataset="cub"), "data_root"), ("loss_ablation", dict(ablation_seeds=-1), "ablation_seeds"),
       ("loss_ablation", dict(threads=-1), "threads"),
       ("downstream", dict(scale="huge"), "scale"), ("downstream", dict(dataset="cub", data_root="/nonexistent/cub"), "data_root"),
       ("downstream", dict(scale="paper"), "dataset"), ("downstream", dict(task_steps=-2), "task_steps"),
       ("downstream", dict(threads=-1), "threads"), ("downstream", dict(n_train=1), "n_train"),
       ("downstream", dict(language_steps=-5), "language_steps"),
       ("masked_words", dict(scale="huge"), "scale"), ("masked_words", dict(num_examples=-1), "num_examples"),
       ("masked_words", dict(strict_stem="conv"), "strict_stem"), ("masked_words", dict(probe_stem="conv"), "probe_stem"),
       ("retrieval", dict(dataset="coco"), "data_root"), ("retrieval", dict(probe_steps=-1), "probe_steps"),
       ("convergence", dict(scale="huge"), "scale"), ("convergence", dict(eval_every=-1), "eval_every"),
       ("convergence", dict(steps=2, eval_every=3), "eval_every"), ("convergence", dict(lr_mult=-1.0), "lr_mult")]


@pytest.mark.parametrize("name,bad,arg", BAD, ids=[f"{n}-{a}" for n, _, a in BAD])
def test_bad_parameter_stops_early_with_clear_message(name, bad, arg, tmp_path):
    nb = ROOT / "nbs" / "experiments" / f"{name}.ipynb"
    out = tmp_path / "out"
    with pytest.raises(pm.PapermillExecutionError) as err:
        run(nb, out, **bad)
    assert err.value.ename == "ValueError" and arg in err.value.evalue, err.value.evalue
    assert err.value.cell_index <= 5, f"failed late, in cell {err.value.cell_index}"
    assert not list(out.glob("*.json")), "a failed run must not write results"


def test_make_figures_runner_two_at_a_time(tmp_path):
    "The `make figures` entry point at tiny scale, two notebooks at a time after the shared runs: all succeed."
    figs, runs = tmp_path / "figures", tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "lgvq.experiments", "--scale", "tiny", "--jobs", "2",
                          "--figures", str(figs), "--runs", str(runs)], cwd=ROOT, capture_output=True, text=True,
                         timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    # 2 models (VQ-GAN, VQ-GAN+LG) and their 2 strict probes (masked_words' mask-before-encoding protocol)
    assert "first the 4 shared runs" in res.stdout and res.stdout.count("seed 0: ok") == 2, res.stdout
    assert res.stdout.count("seed 0 (strict probe): ok") == 2, res.stdout
    table = (figs / "RESULTS.md").read_text()
    from lgvq.experiments import ON_REQUEST
    for nb in EXPERIMENTS:
        if nb.stem in ON_REQUEST:                      # run only when named (make figures ONLY=...)
            assert f"| {nb.stem} |" not in table and not (runs / nb.name).exists(), nb.stem
            continue
        assert f"| {nb.stem} | ok |" in table, nb.stem
        assert (figs / f"{nb.stem}.png").stat().st_size > 0 and (runs / nb.name).exists()
    assert "2 at a time" in table
    # probes: the 2 shared runs' (prepared once, then reused by alignment, masked_words, retrieval and loss_ablation —
    # had the notebooks' keys differed from prepare_run's there would be 2 more), masked_words' 2 strict probes, and the
    # 4 partial rows of loss_ablation (1 seed at tiny scale)
    probes = [p for p in (runs / "cache" / "probes").iterdir() if p.is_dir()]
    assert len(probes) == 2 + 2 + 4, sorted(p.name for p in probes)
