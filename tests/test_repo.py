"""The repository keeps the settings the workflow depends on."""
from configparser import ConfigParser

from conftest import ROOT


def settings():
    cfg = ConfigParser(delimiters=["="]); cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]


def test_nbdev_settings():
    s = settings()
    assert s["allowed_cell_metadata_keys"].split() == ["tags"], "nbdev_clean would drop papermill's parameters tag"
    assert set(s["tst_flags"].split()) == {"slow", "cuda"}
    assert s["lib_name"] == "lgvq" and s["nbs_path"] == "nbs"


def test_layout():
    for p in ["settings.ini", "README.md", "Makefile", "nbs", "lgvq", "tests", "figures", "bench", "configs", ".ci/run"]:
        assert (ROOT / p).exists(), p


def test_one_module_per_notebook():
    import re
    mods = {}
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        found = re.findall(r"#\|\s*default_exp\s+([\w.]+)", nb.read_text())
        assert len(set(found)) <= 1, f"{nb.name} exports to several modules: {found}"
        for m in set(found):
            assert m not in mods, f"{m} exported by both {mods[m]} and {nb.name}"
            mods[m] = nb.name


def test_ci_entry_point_is_valid_bash():
    "CI runs `.ci/run` (not `make test`); a syntax error there fails CI in 0 s while every local check stays green."
    import subprocess
    script = ROOT / ".ci" / "run"
    res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, f".ci/run does not parse: {res.stderr}"
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash", lines[0]
    assert lines[-1].strip() == "make test", f".ci/run must end by running make test, ends with {lines[-1]!r}"
