"""No import cycle between modules of the web app, the worker and the ``ecoute`` command.

``lint-imports`` (the contracts in pyproject.toml, run by bin/test) checks the layers and, with its
``acyclic_siblings`` contract, cycles between sibling packages. It does not see a cycle between a
package's ``__init__`` and its own modules (a registry that imports the handlers that import it), nor
one inside a module that has no siblings to compare with. This test looks at every module: it fails
naming each group of modules that import one another, whether at the top or inside a function (an
import inside a function still makes the cycle; it only hides it until run time).
"""

from __future__ import annotations

import grimp

ROOTS = ("webapp", "worker", "ecoute")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of two or more modules that reach one another (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(groups)


def _describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    """One cycle of the group, as ``a (l.3) -> b (l.12) -> a``: where to start untangling it."""
    first = group[0]
    members = set(group)
    back = next(m for m in sorted(graph.find_modules_that_directly_import(first)) if m in members)
    chain = graph.find_shortest_chain(importer=first, imported=back) or (first, back)
    steps = []
    for importer, imported in zip(chain, (*chain[1:], first), strict=True):
        lines = sorted({d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)})
        steps.append(f"{importer} (l.{', '.join(map(str, lines))})")
    others = f"; with {len(group)} modules in all: {', '.join(group)}" if len(group) > len(chain) else ""
    return " -> ".join(steps) + f" -> {first}{others}"


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*ROOTS, cache_dir=None, exclude_type_checking_imports=True)
    cycles = [_describe(graph, group) for group in _cycles(graph)]
    assert not cycles, "import cycles (move the shared piece down a layer):\n" + "\n".join(cycles)
