"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify(status="ok"), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    ok = current_app.extensions["previewbot.submitter"].ping()
    return jsonify(status="ok" if ok else "redis unreachable"), 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    text = current_app.extensions["previewbot.metrics"].render()
    return Response(text, mimetype="text/plain; version=0.0.4")
