"""The package's import graph: which lgvq module imports which (top-level and inside functions alike), its cycles,
and each module's line count. Used by tests/test_structure.py and quoted in notes.

Usage: python tools/import_graph.py [--dot]
"""
import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lgvq"


def module_imports(path: Path) -> set[str]:
    "The lgvq modules that `path` imports anywhere in its body ('lgvq.x' and relative '.x' forms)."
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("lgvq.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: out.add(node.module.split(".")[0])
            elif node.level == 1: out |= {a.name for a in node.names}
            elif node.module and node.module.startswith("lgvq."): out.add(node.module.split(".")[1])
            elif node.module == "lgvq": out |= {a.name for a in node.names if (PKG / f"{a.name}.py").exists()}
    return out - {path.stem}


def graph() -> dict[str, set[str]]:
    mods = {p.stem: p for p in sorted(PKG.glob("*.py")) if p.stem not in ("__init__", "_modidx")}
    return {m: module_imports(p) & mods.keys() for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    "Every strongly connected component of more than one module (Tarjan), each sorted."
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in g[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index: visit(v)
    return out


def line_counts() -> dict[str, int]:
    return {p.stem: len(p.read_text().splitlines()) for p in sorted(PKG.glob("*.py")) if p.stem != "_modidx"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dot", action="store_true", help="print the graph in Graphviz dot format")
    a = ap.parse_args(argv)
    g = graph()
    if a.dot:
        print("digraph lgvq {"); [print(f"  {m} -> {d};") for m in g for d in sorted(g[m])]; print("}"); return
    lines = line_counts()
    for m in g: print(f"{m:<12} {lines[m]:>5} lines  imports: {', '.join(sorted(g[m])) or '-'}")
    cyc = cycles(g)
    print("cycles:", "; ".join(" <-> ".join(c) for c in cyc) if cyc else "none")


if __name__ == "__main__":
    main()
