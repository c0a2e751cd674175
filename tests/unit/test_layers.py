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
