"""gunicorn entry point: ``gunicorn 'app.wsgi:application()'``."""

from __future__ import annotations

import sys

from flask import Flask

from preview.settings import SettingsError


def application() -> Flask:
    """Build the app from the environment; a bad setting stops the process with one clear line."""
    from app import create_app

    try:
        return create_app()
    except SettingsError as exc:
        print(f"previewbot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
