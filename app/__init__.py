"""The web process: ``create_app()`` builds the Flask app (webhook intake, health, metrics)."""

from app.factory import create_app

__all__ = ["create_app"]
