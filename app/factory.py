"""Application factory: settings in, Flask app out; nothing is read at import time."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from app.metrics import Metrics
from preview.settings import Settings


def create_app(settings: Settings | None = None, submitter: object | None = None) -> Flask:
    """Build the web app. Without arguments, settings come from ``PREVIEWBOT_*`` variables."""
    from preview import logs
    from preview import settings as settings_module

    settings = (settings or settings_module.load()).require_webhook()
    logs.configure(settings.log_level)
    if submitter is None:
        from redis import Redis

        from workers.celery_app import make_celery
        from workers.enqueue import Enqueuer

        client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        submitter = Enqueuer(client, make_celery(settings), settings.delivery_ttl_seconds)

    from app.health import bp as health_bp
    from app.intake import MAX_BODY
    from app.intake import bp as intake_bp

    app = Flask("previewbot")
    # Bounds every read of a request body, chunked ones too (werkzeug stops reading past it).
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["previewbot.settings"] = settings
    app.extensions["previewbot.secrets"] = tuple(s.value for s in settings.webhook_secrets)
    app.extensions["previewbot.submitter"] = submitter
    app.extensions["previewbot.metrics"] = Metrics(queue_depth=getattr(submitter, "queue_depth", None))

    app.register_blueprint(intake_bp)
    app.register_blueprint(health_bp)
    from app.wake import bp as wake_bp

    app.register_blueprint(wake_bp)  # wake links of sleeping previews (/wake/<namespace>?token=…)
    if settings.dashboard_mode is not None:  # otherwise /previews answers 404
        from app.dashboard.views import register as register_dashboard

        register_dashboard(app, settings)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[Response, int]:
        return jsonify(result="not-found", message="no such endpoint"), 404

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> tuple[Response, int]:
        return jsonify(result="method-not-allowed", message="method not allowed"), 405

    @app.errorhandler(413)
    def too_large(_exc: Exception) -> tuple[Response, int]:
        return jsonify(result="too-large", message="payload larger than 25 MB"), 413

    return app
