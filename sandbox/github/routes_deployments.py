"""Deployments and deployment statuses."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from . import state as st
from .context import Context
from .http import ApiError, fail, json_response, not_found, paginate, validation_failed
from .routes_checks import MAX_DESCRIPTION, is_url
from .util import error_body, now


def check_contexts(state: st.State, repo: st.Repo, sha: str, ref: str, required: list[str] | None) -> None:
    """409 when required status contexts are not all successful (GitHub's deployment guard)."""
    latest = {s.context: s.state for s in state.latest_statuses(repo.full_name, sha)}
    wanted = list(latest) if required is None else required
    failing = [c for c in wanted if latest.get(c) != "success"]
    if failing:
        body = error_body(f"Conflict: Commit status checks failed for {ref}.", 409,
                          "https://docs.github.com/rest/deployments/deployments#create-a-deployment",
                          errors=[{"contexts": [{"context": c, "state": latest.get(c, "missing")}
                                                for c in failing],
                                   "resource": "Deployment", "field": "required_contexts"}])
        raise ApiError(409, body)


def add_status(ctx: Context, dep: st.Deployment, body: dict[str, Any], creator: str, via_app: bool
               ) -> st.DeploymentStatus:
    """Store a deployment status and apply ``auto_inactive``."""
    state = ctx.state
    log_url = body.get("log_url") or ""
    target = log_url or body.get("target_url") or ""
    with state.lock:
        env = body.get("environment") or (
            state.deployment_statuses[dep.status_ids[-1]].environment if dep.status_ids else dep.environment)
        status = st.DeploymentStatus(state.ids.next("deployment_status"), dep.repo, dep.id, body["state"],
                                     body.get("description") or "", env, body.get("environment_url") or "",
                                     log_url or target, target, creator, now(), via_app)
        state.deployment_statuses[status.id] = status
        dep.status_ids.append(status.id)
        dep.updated_at = now()
        if status.state == "success" and body.get("auto_inactive", True):
            for other in state.deployments.values():
                if (other.id != dep.id and other.repo == dep.repo and other.environment == dep.environment
                        and not other.transient and not other.production
                        and state.deployment_state(other) == "success"):
                    add_status(ctx, other, {"state": "inactive", "environment": env}, creator, via_app)
        return status


def register(app: Flask, ctx: Context) -> None:
    """Attach deployment routes."""
    state, render = ctx.state, ctx.render

    def _dep(found: st.Repo, deployment_id: int) -> st.Deployment:
        dep = state.deployments.get(deployment_id)
        if dep is None or dep.repo != found.full_name:
            raise not_found()
        return dep

    @app.get("/repos/<owner>/<repo>/deployments")
    def list_deployments(owner: str, repo: str) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            deps = [d for d in state.deployments.values() if d.repo == found.full_name]
            for field in ("sha", "ref", "task", "environment"):
                if (value := request.args.get(field)) is not None:
                    deps = [d for d in deps if getattr(d, field) == value]
            deps.sort(key=lambda d: d.id, reverse=True)
            page, headers = paginate(deps, ctx.base_url)
            return json_response([render.deployment(d) for d in page], headers=headers)

    @app.post("/repos/<owner>/<repo>/deployments")
    def create_deployment(owner: str, repo: str) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("repos/create-deployment")
        ref = body["ref"]
        sha = state.resolve_ref(found, ref)
        if sha is None:
            raise fail(422, f"No ref found for: {ref}",
                       "https://docs.github.com/rest/deployments/deployments#create-a-deployment")
        environment = body.get("environment") or "production"
        payload = body.get("payload", {})
        if payload == "":
            payload = {}
        login, via_app = ctx.writer()
        with state.lock:
            check_contexts(state, found, sha, ref, body.get("required_contexts"))
            dep = st.Deployment(
                id=state.ids.next("deployment"), repo=found.full_name, sha=sha, ref=ref,
                task=body.get("task") or "deploy", environment=environment,
                description=body.get("description") if body.get("description") is not None else "",
                payload=payload, transient=bool(body.get("transient_environment", False)),
                production=bool(body.get("production_environment", environment == "production")),
                creator=login, created_at=now(), updated_at=now(), via_app=via_app,
            )
            state.deployments[dep.id] = dep
            return json_response(render.deployment(dep), 201)

    @app.get("/repos/<owner>/<repo>/deployments/<int:deployment_id>")
    def get_deployment(owner: str, repo: str, deployment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            return json_response(render.deployment(_dep(found, deployment_id)))

    @app.delete("/repos/<owner>/<repo>/deployments/<int:deployment_id>")
    def delete_deployment(owner: str, repo: str, deployment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            dep = _dep(found, deployment_id)
            same_env = [d for d in state.deployments.values()
                        if d.repo == dep.repo and d.environment == dep.environment]
            if state.deployment_state(dep) != "inactive" and len(same_env) > 1:
                raise ApiError(422, {
                    "message": "We cannot delete an active deployment unless it is the only deployment "
                               "in a given environment.",
                    "documentation_url": "https://docs.github.com/rest/deployments/deployments"
                                         "#delete-a-deployment",
                    "status": "422",
                })
            for sid in dep.status_ids:
                state.deployment_statuses.pop(sid, None)
            del state.deployments[dep.id]
        return json_response(None, 204)

    @app.get("/repos/<owner>/<repo>/deployments/<int:deployment_id>/statuses")
    def list_deployment_statuses(owner: str, repo: str, deployment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            dep = _dep(found, deployment_id)
            items = [render.deployment_status(state.deployment_statuses[i]) for i in reversed(dep.status_ids)]
        page, headers = paginate(items, ctx.base_url)
        return json_response(page, headers=headers)

    @app.get("/repos/<owner>/<repo>/deployments/<int:deployment_id>/statuses/<int:status_id>")
    def get_deployment_status(owner: str, repo: str, deployment_id: int, status_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            dep = _dep(found, deployment_id)
            if status_id not in dep.status_ids:
                raise not_found()
            return json_response(render.deployment_status(state.deployment_statuses[status_id]))

    @app.post("/repos/<owner>/<repo>/deployments/<int:deployment_id>/statuses")
    def create_deployment_status(owner: str, repo: str, deployment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("repos/create-deployment-status")
        if len(body.get("description") or "") > MAX_DESCRIPTION:
            raise validation_failed("DeploymentStatus", "description", "custom",
                                    f"description is too long (maximum is {MAX_DESCRIPTION} characters)")
        for field in ("target_url", "log_url", "environment_url"):
            if body.get(field) and not is_url(body[field]):
                raise validation_failed("DeploymentStatus", field, "custom", f"{field} must use http(s) scheme")
        login, via_app = ctx.writer()
        with state.lock:
            dep = _dep(found, deployment_id)
            return json_response(render.deployment_status(add_status(ctx, dep, body, login, via_app)), 201)
