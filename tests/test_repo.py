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
