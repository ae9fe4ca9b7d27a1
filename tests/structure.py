"""The code's shape, for a reviewer: import circles, long files, the longest functions, prints in the library.

    python tests/structure.py            # the report
    python tests/structure.py --max-lines 400

Imports are read from the source (`ast`), every one counted, also those inside functions or under
``TYPE_CHECKING``: a circle that only a lazy import keeps from failing is still a circle for the reader.
An import ``from a.b import c`` is an edge to module ``a.b.c`` where that is a module, else to ``a.b``;
the implicit import of parent packages is not an edge (every package's ``__init__`` would close a circle).
`tests/test_repository.py` asserts the same facts.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ocp", "problems")  # the library: what is checked


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the library's packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolved against the importing module's package
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            yield f"{target}.{alias.name}"  # a submodule, or a name in ``target`` (resolved by the caller)
        yield target


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            candidates = list(_imported(node, name, path.name == "__init__.py"))
            if isinstance(node, ast.ImportFrom):
                *names, target = candidates
                hits = [n for n in names if n in known]
                edges.update(hits if hits else ([target] if target in known else []))
            else:
                edges.update(c for c in candidates if c in known)
        edges.discard(name)
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]] | None = None) -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    graph = import_graph() if graph is None else graph
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


def long_files(max_lines: int) -> list[tuple[str, int]]:
    """Library files over ``max_lines`` lines, longest first."""
    sizes = [(str(p.relative_to(ROOT)), len(p.read_text().splitlines())) for p in modules().values()]
    return sorted(((f, n) for f, n in sizes if n > max_lines), key=lambda item: -item[1])


def longest_functions(count: int = 5) -> list[tuple[str, int]]:
    """The ``count`` longest function bodies in the library: ("file:line name", lines)."""
    bodies = []
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(node.body) > 1:
                    first = node.body[1]  # the docstring is not body
                lines = node.end_lineno - first.lineno + 1
                bodies.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", lines))
    return sorted(bodies, key=lambda item: -item[1])[:count]


def prints() -> list[str]:
    """Calls of ``print`` in the library ("file:line"): messages go through `ocp.logs` instead. The CLI
    (ocp/cli.py) and the scripts' entry points write to the terminal on purpose and are not counted."""
    allowed = {ROOT / "ocp" / "cli.py"}
    found = []
    for path in modules().values():
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-lines", type=int, default=400)
    args = parser.parse_args()
    graph = import_graph()
    print(f"modules: {len(graph)}, import edges: {sum(len(e) for e in graph.values())}")
    found = circles(graph)
    print(f"import circles: {len(found) or 'none'}")
    for component in found:
        print("  " + " <-> ".join(component))
    too_long = long_files(args.max_lines)
    print(f"files over {args.max_lines} lines: {len(too_long) or 'none'}")
    for name, n in too_long:
        print(f"  {name}: {n}")
    print("longest function bodies:")
    for name, n in longest_functions():
        print(f"  {n:4d} lines  {name}")
    found_prints = prints()
    print(f"prints in the library: {len(found_prints) or 'none'}")
    for where in found_prints:
        print(f"  {where}")


if __name__ == "__main__":
    main()
