"""The ``/_emulator`` HTTP control API: drive the emulator from another process."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Flask, Response, request

from .http import json_response


def _delivery_json(delivery: Any) -> dict[str, Any]:
    data = asdict(delivery)
    data.pop("body")
    return data


def register(app: Flask, emu: Any) -> None:
    """Attach the control routes for emulator ``emu``."""
    bp = Blueprint("emulator_control", __name__, url_prefix="/_emulator")

    def body() -> dict[str, Any]:
        return request.get_json(force=True, silent=True) or {}

    @bp.errorhandler(KeyError)
    def missing(exc: KeyError) -> Response:
        return json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)

    @bp.errorhandler(ValueError)
    @bp.errorhandler(TypeError)
    def invalid(exc: Exception) -> Response:
        return json_response({"error": str(exc)}, 400)

    @bp.get("/")
    def info() -> Response:
        return json_response({"url": emu.url, "app_id": emu.app_id})

    @bp.post("/tokens")
    def tokens() -> Response:
        b = body()
        emu.add_token(b["token"], b.get("login", "previewbot[bot]"))
        return json_response({"token": b["token"]}, 201)

    @bp.post("/oauth-apps")
    def oauth_apps() -> Response:
        b = body()
        emu.add_oauth_app(b["client_id"], b["client_secret"], b.get("callback_url"), b.get("name", "previewbot"))
        return json_response({"client_id": b["client_id"]}, 201)

    @bp.post("/oauth-user")
    def oauth_user() -> Response:
        emu.set_oauth_user(body().get("login"))
        return json_response({}, 200)

    @bp.post("/expire-tokens")
    def expire() -> Response:
        emu.expire_tokens()
        return json_response({}, 200)

    @bp.post("/repos")
    def repos() -> Response:
        b = body()
        name = b.get("full_name") or b["repo"]
        return json_response(emu.add_repo(name, b.get("default_branch", "main"), bool(b.get("private"))), 201)

    @bp.post("/installations")
    def installations() -> Response:
        b = body()
        emu.add_installation(int(b["id"]), list(b.get("repos", [])), b.get("account"))
        return json_response({"id": int(b["id"])}, 201)

    @bp.post("/permissions")
    def permissions() -> Response:
        b = body()
        emu.set_permission(b["repo"], b["login"], b["permission"])
        return json_response({}, 200)

    @bp.post("/pulls")
    def open_pull() -> Response:
        b = body()
        kwargs = {k: b[k] for k in ("head_sha", "branch", "base", "title", "author", "draft", "labels", "fork",
                                    "body") if k in b}
        return json_response(emu.open_pr(b["repo"], b.get("number"), **kwargs), 201)

    @bp.get("/pulls/<owner>/<repo>/<int:number>")
    def get_pull(owner: str, repo: str, number: int) -> Response:
        return json_response(emu.pull(f"{owner}/{repo}", number))

    @bp.post("/pulls/<owner>/<repo>/<int:number>/<action>")
    def pull_action(owner: str, repo: str, number: int, action: str) -> Response:
        name, b = f"{owner}/{repo}", body()
        if action == "push":
            return json_response({"sha": emu.push(name, number, b.get("sha"))})
        if action == "close":
            emu.close_pr(name, number, bool(b.get("merged")))
        elif action == "reopen":
            emu.reopen_pr(name, number)
        elif action == "labels":
            emu.set_labels(name, number, list(b.get("labels", [])))
        elif action == "draft":
            emu.set_draft(name, number, bool(b.get("draft", True)))
        elif action == "comments":
            return json_response(emu.add_comment(name, number, b["body"], b.get("author", "octocat")), 201)
        else:
            raise KeyError(f"unknown action {action}")
        return json_response(emu.pull(name, number))

    @bp.post("/files")
    def files() -> Response:
        b = body()
        emu.set_file(b["repo"], b["ref"], b["path"], b["content"])
        return json_response({}, 201)

    @bp.post("/check-runs")
    def check_runs() -> Response:
        b = body()
        return json_response(emu.add_check_run(b["repo"], b["sha"], b["name"], b.get("status", "completed"),
                                               b.get("conclusion", "success")), 201)

    @bp.post("/statuses")
    def add_status() -> Response:
        b = body()
        return json_response(emu.add_status(b["repo"], b["sha"], b["context"], b["state"],
                                            b.get("creator", "ci-bot")), 201)

    @bp.get("/statuses/<owner>/<repo>/<sha>")
    def statuses(owner: str, repo: str, sha: str) -> Response:
        return json_response(emu.statuses(f"{owner}/{repo}", sha))

    @bp.get("/deployments/<owner>/<repo>")
    def deployments(owner: str, repo: str) -> Response:
        return json_response(emu.deployments(f"{owner}/{repo}"))

    @bp.get("/deployments/<owner>/<repo>/<int:deployment_id>/statuses")
    def deployment_statuses(owner: str, repo: str, deployment_id: int) -> Response:
        return json_response(emu.deployment_statuses(f"{owner}/{repo}", deployment_id))

    @bp.get("/comments/<owner>/<repo>/<int:number>")
    def comments(owner: str, repo: str, number: int) -> Response:
        return json_response(emu.comments(f"{owner}/{repo}", number))

    @bp.get("/reactions/<owner>/<repo>/<int:comment_id>")
    def reactions(owner: str, repo: str, comment_id: int) -> Response:
        return json_response(emu.reactions(f"{owner}/{repo}", comment_id))

    @bp.get("/labels/<owner>/<repo>/<int:number>")
    def labels(owner: str, repo: str, number: int) -> Response:
        return json_response(emu.labels(f"{owner}/{repo}", number))

    @bp.post("/faults")
    def faults() -> Response:
        b = body()
        emu.inject_fault(b.get("method", "*"), b["path_pattern"], int(b["status"]), int(b.get("count", 1)),
                         b.get("retry_after"))
        return json_response({}, 201)

    @bp.get("/requests")
    def requests_log() -> Response:
        return json_response([list(r) for r in emu.requests])

    @bp.delete("/requests")
    def clear_requests() -> Response:
        emu.clear_requests()
        return json_response(None, 204)

    @bp.post("/payload")
    def payload() -> Response:
        b = body()
        return json_response(emu.webhook_payload(b["event"], b.get("action"), b["repo"], b.get("number"),
                                                 **b.get("extra", {})))

    @bp.post("/deliver")
    def deliver() -> Response:
        b = body()
        delivery = emu.deliver(b["url"], b.get("secret", ""), b["event"], b.get("action"), b["repo"],
                               b.get("number"), delivery_id=b.get("delivery_id"), **b.get("extra", {}))
        return json_response(_delivery_json(delivery), 201)

    @bp.post("/redeliver/<delivery_id>")
    def redeliver(delivery_id: str) -> Response:
        return json_response(_delivery_json(emu.redeliver(delivery_id)), 201)

    @bp.get("/deliveries")
    def deliveries() -> Response:
        return json_response([_delivery_json(d) for d in emu.deliveries])

    app.register_blueprint(bp)
