"""The GitHub reference material ships inside the repository, so a fresh clone validates and builds payloads."""

from __future__ import annotations

import pytest

from sandbox.github import reference, schemas
from tests.helpers import EXAMPLES, REFERENCE, ROOT


@pytest.fixture(autouse=True)
def _in_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(reference.ENV_VAR, raising=False)


def test_reference_dir_is_the_in_package_copy() -> None:
    found = reference.reference_dir()
    assert found is not None, "sandbox/github/reference_data is missing"
    assert found == reference.DEFAULT_DIR == REFERENCE
    assert found.is_relative_to(ROOT)
    assert (found / "README.md").is_file()
    assert (found / "webhooks" / "MANIFEST.json").is_file()


def test_openapi_subset_loads() -> None:
    doc = reference.openapi()
    assert doc is not None
    assert doc["openapi"].startswith("3.0")
    assert schemas.OpenAPISchemas(doc).available


def test_official_and_derived_examples_load() -> None:
    opened = reference.webhook_example("pull_request.opened")
    assert opened is not None and opened["action"] == "opened"
    assert (EXAMPLES / "pull_request.opened.json").is_file()
    merged = reference.webhook_example("pull_request.closed.merged-true")
    assert merged is not None and merged["pull_request"]["merged"] is True


def test_webhook_schemas_are_present() -> None:
    root = reference.DEFAULT_DIR / "webhooks" / "schemas"
    assert (root / "pull_request" / "opened.schema.json").is_file()
    assert any((root / "common").glob("*.schema.json"))


def test_environment_override_still_wins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(reference.ENV_VAR, str(tmp_path))
    assert reference.reference_dir() == tmp_path
    monkeypatch.setenv(reference.ENV_VAR, str(tmp_path / "absent"))
    assert reference.reference_dir() is None
