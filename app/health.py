"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app.metrics import CONTENT_TYPE

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness: the process serves requests (nothing else is checked)."""
    return jsonify(status="ok"), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: Redis answers PING (without it no delivery can be queued)."""
    if current_app.extensions["previewbot.submitter"].ping():
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable", reason="redis: no answer to PING"), 503


@bp.get("/metrics")
def metrics() -> Response:
    text = current_app.extensions["previewbot.metrics"].render()
    return Response(text, content_type=CONTENT_TYPE)
