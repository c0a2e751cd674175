"""Locate and load the official GitHub reference material shipped in ``reference_data/``."""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path

ENV_VAR = "PREVIEWBOT_GITHUB_REFERENCE"
DEFAULT_DIR = Path(__file__).resolve().parent / "reference_data"
log = logging.getLogger(__name__)


def reference_dir() -> Path | None:
    """The reference folder (``$PREVIEWBOT_GITHUB_REFERENCE`` or the in-package copy), or None when absent."""
    env = os.environ.get(ENV_VAR)
    path = Path(env) if env else DEFAULT_DIR
    return path if path.is_dir() else None


@lru_cache(maxsize=8)
def _load(path: str) -> object:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load_json(*parts: str) -> object | None:
    """Load ``<reference>/<parts...>`` as JSON; None when absent."""
    root = reference_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    if not path.is_file():
        return None
    return _load(str(path))


def openapi() -> dict | None:
    """The trimmed REST description, or None."""
    doc = load_json("rest", "openapi-subset.json")
    return doc if isinstance(doc, dict) else None


def webhook_example(name: str) -> dict | None:
    """An official (or derived) webhook example by file stem, or None."""
    doc = load_json("webhooks", "examples", f"{name}.json")
    if doc is None:
        doc = load_json("webhooks", "examples", "derived", f"{name}.DERIVED.json")
    return doc if isinstance(doc, dict) else None
