"""The floor the intake is measured against: a Flask endpoint that reads the body and answers 202.

Served by gunicorn exactly like the real app: ``gunicorn 'bench.bare_app:application()'``.
"""

from __future__ import annotations

from flask import Flask, Response, request

ANSWER = b'{"result":"accepted"}\n'


def application() -> Flask:
    """A Flask app with the intake's route and a liveness endpoint, and nothing else."""
    app = Flask("bare")

    @app.post("/webhooks/github")
    def webhook() -> Response:
        request.get_data()
        return Response(ANSWER, status=202, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}\n', mimetype="application/json")

    return app
