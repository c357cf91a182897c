"""The package's structure: no import cycle between lgvq modules (in-function imports count), measured on the
source by tools/import_graph.py."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import import_graph as ig  # noqa: E402


def test_no_import_cycle():
    g = ig.graph()
    assert {"train", "config", "checkpoint", "cli", "workflow", "downstream"} <= g.keys()
    assert ig.cycles(g) == [], f"import cycles: {ig.cycles(g)}"


def test_cycle_finder_finds_cycles():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert ig.cycles(g) == [["a", "b", "c"]]
    assert ig.cycles({"a": {"b"}, "b": set()}) == []


def test_the_command_line_sits_on_top():
    g = ig.graph()
    assert not any("cli" in deps for deps in g.values()), "a module imports lgvq.cli"
    assert "train" not in g["config"] | g["checkpoint"] | g["workflow"]
