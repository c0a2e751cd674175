"""The domain and webhook layers stay free of frameworks and clients (checked on the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

FORBIDDEN = {"flask", "celery", "redis", "github", "kubernetes", "yaml", "jinja2", "requests", "werkzeug"}
OWN = {"app", "workers", "integrations", "sandbox"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["preview", "webhooks"])
def test_pure_layers(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported(path) & (FORBIDDEN | OWN)
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_integrations_touch_the_github_and_kubernetes_clients() -> None:
    for package in ("app", "webhooks", "preview", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = imported(path) & {"github", "kubernetes"}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


PRODUCT = ("preview", "webhooks", "app", "workers", "integrations")


def module_imports(path: Path) -> set[str]:
    """Product modules ``path`` imports, at the top or inside functions, by dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found.update(n for n in names if n.split(".")[0] in PRODUCT)
    return found


def test_no_import_cycles_between_product_modules() -> None:
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    graph = {name: {m for m in module_imports(path) if m in modules and m != name} for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    cycles = [c for name in sorted(graph) if (c := cycle_from(name))]
    assert not cycles, f"import cycle: {' -> '.join(cycles[0])}"
