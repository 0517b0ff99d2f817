"""The package's layering (docs/architecture.md): no import cycles, dependencies point down the data flow.

Every ``import`` in ``model_code`` is read from the source (including imports inside functions and
under ``TYPE_CHECKING``, which are dependencies too).  Two rules:

1. no cycle between modules;
2. each top-level package (or top-level module) imports only the packages :data:`ALLOWED` lists
   for it.  The product path (decode, model, geometry, document, pipeline, serving) never imports
   training-side or evaluation code.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "model_code"

# package -> the packages it may import (its own modules are always allowed)
ALLOWED: dict[str, set[str]] = {
    "version": set(),
    "sagemaker_contract": set(),
    "io": set(),
    "schema": {"io"},
    "geometry": {"io", "schema"},
    "model": {"io", "synth"},  # synth: the generated plans int8 quantisation is calibrated on
    "exports": {"io", "schema", "geometry"},
    "text": {"io", "schema", "geometry"},
    "pipeline": {"version", "io", "schema", "geometry", "model", "text"},
    "synth": {"io", "schema", "geometry"},
    "serving": {
        "version",
        "sagemaker_contract",
        "io",
        "schema",
        "model",
        "text",
        "exports",
        "pipeline",
        "synth",
    },
    "datasets": {"io", "schema", "geometry", "model", "synth"},
    "evaluation": {"version", "io", "schema", "geometry", "model", "text", "exports", "pipeline", "datasets"},
    "annotate": {"io", "schema", "geometry", "exports", "pipeline", "datasets"},
    "training": {
        "version",
        "sagemaker_contract",
        "io",
        "schema",
        "geometry",
        "model",
        "synth",
        "datasets",
        "evaluation",
        "pipeline",  # train-rooms learns from the rooms the serving pipeline finds
    },
    "launch": {"sagemaker_contract", "training"},
    "cli": set(),  # imports each command's module by name, at run time
    "__init__": {"version", "pipeline"},
    "__main__": {"cli"},
}
PRODUCT_PATH = {
    "version",
    "sagemaker_contract",
    "io",
    "schema",
    "geometry",
    "model",
    "text",
    "exports",
    "pipeline",
    "serving",
}
NOT_IN_PRODUCT_PATH = {"evaluation", "training", "datasets", "annotate", "launch"}


def module_name(path: Path, root: Path) -> str:
    """``root/a/b.py`` -> ``pkg.a.b``; ``root/a/__init__.py`` -> ``pkg.a``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (``from pkg import mod`` resolved to modules)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                # the longest known module the name starts with (a name may be a function in it)
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if (
                    target
                    and target != name
                    and not (target == root.name and isinstance(node, ast.ImportFrom))
                ) or (target == root.name and isinstance(node, ast.Import)):
                    graph[name].add(target)
        graph.setdefault(name, set())
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def top_package(module: str) -> str:
    """``model_code.geometry.rooms`` -> ``geometry``; ``model_code`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layering_violations(graph: dict[str, set[str]], allowed: dict[str, set[str]]) -> list[str]:
    """``a.b imports c.d`` lines for every import the ``allowed`` table does not permit."""
    problems = []
    for module, targets in sorted(graph.items()):
        source = top_package(module)
        if source not in allowed:
            problems.append(f"{module}: package {source!r} is not in the layering table")
            continue
        for target in sorted(targets):
            destination = top_package(target)
            if destination != source and destination not in allowed[source]:
                problems.append(f"{module} imports {target} ({source} may not import {destination})")
    return problems


def test_no_import_cycles() -> None:
    assert cycles(import_graph(PACKAGE_ROOT)) == []


def test_packages_import_only_lower_layers() -> None:
    assert layering_violations(import_graph(PACKAGE_ROOT), ALLOWED) == []


def test_product_path_never_reaches_training_or_evaluation() -> None:
    for package in PRODUCT_PATH:
        assert not ALLOWED[package] & NOT_IN_PRODUCT_PATH, package
    # and transitively: nothing the product path may import may itself import them
    reach = set(PRODUCT_PATH)
    while True:
        more = set().union(*(ALLOWED[p] for p in reach)) - reach
        if not more:
            break
        reach |= more
    assert not reach & NOT_IN_PRODUCT_PATH


def test_the_layering_table_has_no_cycle() -> None:
    assert cycles({p: set(d) for p, d in ALLOWED.items()}) == []


def test_every_package_on_disk_is_in_the_table() -> None:
    on_disk = {p.name for p in PACKAGE_ROOT.iterdir() if (p / "__init__.py").is_file()}
    on_disk |= {p.stem for p in PACKAGE_ROOT.glob("*.py")}
    assert on_disk <= set(ALLOWED), sorted(on_disk - set(ALLOWED))


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


@pytest.mark.parametrize(
    "files, expected",
    [
        # a cycle through a function-level import
        (
            {
                "__init__.py": "",
                "a.py": "from pkg.b import f\n",
                "b.py": "def f():\n    from pkg import a\n",
            },
            [["pkg.a", "pkg.b"]],
        ),
        # a relative import closing a cycle inside a subpackage
        (
            {
                "__init__.py": "",
                "sub/__init__.py": "",
                "sub/x.py": "from .y import g\n",
                "sub/y.py": "from pkg.sub.x import h\n",
            },
            [["pkg.sub.x", "pkg.sub.y"]],
        ),
        ({"__init__.py": "", "a.py": "import os\n", "b.py": "from pkg.a import x\n"}, []),
    ],
)
def test_the_checker_finds_cycles(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    assert cycles(import_graph(_write(tmp_path, files))) == expected


def test_the_checker_finds_an_upward_import(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "geometry/__init__.py": "",
            "geometry/rooms.py": "def f():\n    from pkg.serving.app import create_app\n",
            "serving/__init__.py": "",
            "serving/app.py": "from pkg.geometry import rooms\n",
        },
    )
    problems = layering_violations(
        import_graph(root), {"geometry": set(), "serving": {"geometry"}, "__init__": set()}
    )
    assert problems == ["pkg.geometry.rooms imports pkg.serving.app (geometry may not import serving)"]
