"""Start-up cost of a job is mostly imports: the jobs that need no torch (or no ffcv) must not import it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from conftest import ROOT


def imported_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter running `code` with this checkout's src/."""
    probe = f"{code}\nimport sys; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return set(out.stdout.split())


def test_report_jobs_import_no_torch():
    # workflow/scripts/table.py and analysis.py: the stages module and the tables
    mods = imported_after("from jessl.stages import main, report, transfer_table; import jessl.report.tables")
    assert "jessl" in mods and "torch" not in mods and "ffcv" not in mods


def test_validating_params_imports_no_torch():
    # `jessl check`, the Snakefile's validation and the claims' sweeps: the registry reads the losses' signatures
    mods = imported_after("import jessl.config, jessl.claims.sweep\n"
                          f"p = jessl.config.load({str(ROOT / 'params.yaml')!r}); jessl.claims.sweep.sweep_points(p)")
    assert "jessl" in mods and "pydantic" in mods and "torch" not in mods


def test_evaluation_jobs_import_no_ffcv():
    # workflow/scripts/evaluate.py's imports and the evaluation itself (reading .beton files with numpy)
    mods = imported_after("from jessl.config import EvaluateConfig\nfrom jessl.stages import evaluate, main\n"
                          "import jessl.evaluate.run, jessl.data.beton")
    assert "torch" in mods and "sklearn" in mods and "ffcv" not in mods and "numba" not in mods


# --- the import graph of src/jessl, from the modules' own import statements ---------------------------------

def _module_name(path) -> str:
    parts = path.relative_to(ROOT / "src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(tree: ast.Module, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Modules of `jessl` that `name` imports anywhere in its body (functions too; `if TYPE_CHECKING:` blocks
    never run, so they are left out)."""
    out: set[str] = set()
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if _type_checking_only(node):
            continue
        todo += ast.iter_child_nodes(node)
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            package = name if is_package else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = ".".join(p for p in (package if node.level else "", node.module or "") if p)
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in out if m in modules}


def import_graph() -> dict[str, set[str]]:
    """Module → the jessl modules whose import runs its code first: each imported module and the packages
    above it (their `__init__` runs first), less the packages the importer is itself inside."""
    files = {_module_name(p): p for p in (ROOT / "src" / "jessl").rglob("*.py")}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        edges = set()
        for target in _imported(ast.parse(path.read_text()), name, path.name == "__init__.py", modules):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                ancestor = ".".join(parts[:i])
                if ancestor != name and not name.startswith(f"{ancestor}."):
                    edges.add(ancestor)
        graph[name] = edges - {"jessl"}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of more than one module (or a self-import)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert {"jessl.config", "jessl.claims.schema", "jessl.provenance"} <= set(graph)
    assert "jessl.claims.schema" in graph["jessl.config"] and "jessl.config" not in graph["jessl.claims.schema"]
    assert "jessl.io" in graph["jessl.data.manifest"] and "jessl.provenance" not in graph["jessl.data.manifest"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_lazy_and_package_cycles(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    code = ("def f():\n    from .b import x\n"
            "if TYPE_CHECKING:\n    from .c import y\n")
    assert _imported(ast.parse(code), "jessl.a", False, {"jessl.a", "jessl.b", "jessl.c"}) == {"jessl.b"}
    pkg = "from .sub import z\nfrom . import sub\nimport jessl.b\n"
    mods = {"jessl.p", "jessl.p.sub", "jessl.b"}
    assert _imported(ast.parse(pkg), "jessl.p", True, mods) == {"jessl.p.sub", "jessl.b"}
