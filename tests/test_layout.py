"""The repository's dependency rules: the product never imports its test rig, and no module
imports itself back through others (no import cycle).

Imports are read from the source with `ast` (module level and inside functions), so the rule
holds for lazy imports too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.settings import PROJECT_ROOT

PACKAGES = ("pipelines", "devkit", "bench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute and resolved (relative imports included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or _module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }


def test_the_product_never_imports_the_dev_kit():
    offenders = sorted(
        f"{name} imports {imported}"
        for name, path in _modules().items()
        if name.startswith("pipelines")
        for imported in _imports(path)
        if imported == "devkit" or imported.startswith(("devkit.", "bench.", "tests."))
    )
    assert offenders == []


def test_the_product_holds_no_generator_sandbox_or_evaluation_code():
    names = {name.rsplit(".", 1)[-1] for name in _modules() if name.startswith("pipelines")}
    assert names.isdisjoint({"demo", "sandbox", "vendor_dataset", "synthetic", "evaluate"})


def test_no_import_cycle():
    modules = _modules()
    graph = {
        name: {
            target
            for imported in _imports(path)
            for target in (imported, imported.rsplit(".", 1)[0])
            if target in modules and target != name
        }
        for name, path in modules.items()
    }
    # Package __init__ modules that re-export their children are not cycles of their own.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if target.startswith(node + "."):
                continue  # a package importing its own child
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []
