"""Commit statuses, check runs and check suites."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from . import state as st
from .context import Context
from .http import fail, json_response, not_found, paginate, validation_failed
from .render import CI_APP
from .util import now

MAX_STATUSES = 1000
MAX_DESCRIPTION = 140


def is_url(value: str) -> bool:
    """True for absolute http(s) URLs."""
    return value.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0


def record_status(ctx: Context, repo: st.Repo, sha: str, body: dict[str, Any], creator: str) -> st.Status:
    """Apply GitHub's rules for a new commit status and store it."""
    description = body.get("description")
    target_url = body.get("target_url")
    context = body.get("context") or "default"
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise validation_failed("Status", "description", "custom",
                                f"description is too long (maximum is {MAX_DESCRIPTION} characters)")
    if target_url and not is_url(target_url):
        raise validation_failed("Status", "target_url", "custom", "target_url must use http(s) scheme")
    state = ctx.state
    with state.lock:
        same = [s for s in state.statuses
                if s.repo == repo.full_name and s.sha == sha and s.context.lower() == context.lower()]
        if len(same) >= MAX_STATUSES:
            raise validation_failed("Status", None, "custom",
                                    "This SHA and context has reached the maximum number of statuses.")
        status = st.Status(state.ids.next("status"), repo.full_name, sha, body["state"], context,
                           description or None, target_url or None, creator, now())
        state.statuses.append(status)
        return status


def ensure_suite(state: st.State, repo: st.Repo, sha: str, app_id: int) -> st.CheckSuite:
    """The check suite of ``app_id`` for a commit, created on first use."""
    with state.lock:
        for suite in state.check_suites.values():
            if suite.repo == repo.full_name and suite.head_sha == sha and suite.app_id == app_id:
                return suite
        branch = next((p.head_ref for p in state.pulls_of(repo.full_name) if p.head_sha == sha), None)
        if branch is None:
            branch = next((b for b, s in repo.branches.items() if s == sha), None)
        suite = st.CheckSuite(state.ids.next("check_suite"), repo.full_name, sha, branch, app_id, now(), now())
        state.check_suites[suite.id] = suite
        return suite


def apply_run_fields(run: st.CheckRun, body: dict[str, Any]) -> None:
    """Copy writable check-run fields, following GitHub's status/conclusion coupling."""
    from datetime import datetime

    def ts(value: str | None) -> float | None:
        return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

    for field in ("name", "details_url", "external_id"):
        if field in body:
            setattr(run, field, body[field])
    if "started_at" in body:
        run.started_at = ts(body["started_at"])
    if "output" in body:
        run.output = dict(body["output"])
    if "status" in body:
        run.status = body["status"]
    if body.get("conclusion"):
        run.conclusion = body["conclusion"]
        run.status = "completed"
    if "completed_at" in body:
        run.completed_at = ts(body["completed_at"])
    if run.status == "completed":
        run.completed_at = run.completed_at or now()
    if run.status in ("in_progress", "completed"):
        run.started_at = run.started_at or now()


def register(app: Flask, ctx: Context) -> None:
    """Attach status and checks routes."""
    state, render = ctx.state, ctx.render

    @app.post("/repos/<owner>/<repo>/statuses/<sha>")
    def create_status(owner: str, repo: str, sha: str) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("repos/create-commit-status")
        full_sha = state.resolve_ref(found, sha)
        if full_sha is None:
            raise fail(422, f"No commit found for SHA: {sha}")
        login, _ = ctx.writer()
        return json_response(render.status(record_status(ctx, found, full_sha, body, login)), 201)

    @app.get("/repos/<owner>/<repo>/commits/<path:ref>/status")
    def combined_status(owner: str, repo: str, ref: str) -> Response:
        found = ctx.repo(owner, repo)
        sha = state.resolve_ref(found, ref)
        if sha is None:
            raise not_found()
        with state.lock:
            latest = state.latest_statuses(found.full_name, sha)
            page, headers = paginate(latest, ctx.base_url)
            return json_response(render.combined_status(found, sha, page, len(latest)), headers=headers)

    @app.get("/repos/<owner>/<repo>/statuses/<ref>")
    @app.get("/repos/<owner>/<repo>/commits/<path:ref>/statuses")
    def list_statuses(owner: str, repo: str, ref: str) -> Response:
        found = ctx.repo(owner, repo)
        sha = state.resolve_ref(found, ref) or ref
        with state.lock:
            items = [render.status(s) for s in state.statuses_for(found.full_name, sha)]
        page, headers = paginate(items, ctx.base_url)
        return json_response(page, headers=headers)

    @app.post("/repos/<owner>/<repo>/check-runs")
    def create_check_run(owner: str, repo: str) -> Response:
        found = ctx.repo(owner, repo)
        if ctx.identity().kind != "installation":
            raise fail(403, "You must authenticate via a GitHub App.")
        body = ctx.body("checks/create")
        if body.get("status") == "completed" and not body.get("conclusion"):
            raise validation_failed("CheckRun", "conclusion", "missing_field")
        sha = state.resolve_ref(found, body["head_sha"])
        if sha is None:
            raise validation_failed("CheckRun", "head_sha", "invalid", "No commit found for SHA: "
                                    + body["head_sha"])
        with state.lock:
            suite = ensure_suite(state, found, sha, render.app_info.id)
            run = st.CheckRun(state.ids.next("check_run"), found.full_name, suite.id, render.app_info.id, sha,
                              body["name"], "queued", None, None, None)
            apply_run_fields(run, body)
            state.check_runs[run.id] = run
            return json_response(render.check_run(run), 201)

    def _run(found: st.Repo, check_run_id: int) -> st.CheckRun:
        run = state.check_runs.get(check_run_id)
        if run is None or run.repo != found.full_name:
            raise not_found()
        return run

    @app.get("/repos/<owner>/<repo>/check-runs/<int:check_run_id>")
    def get_check_run(owner: str, repo: str, check_run_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            return json_response(render.check_run(_run(found, check_run_id)))

    @app.patch("/repos/<owner>/<repo>/check-runs/<int:check_run_id>")
    def update_check_run(owner: str, repo: str, check_run_id: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("checks/update")
        with state.lock:
            run = _run(found, check_run_id)
            if run.app_id != render.app_info.id or ctx.identity().kind != "installation":
                raise fail(403, f"Invalid app_id `{render.app_info.id}` - check run can only be modified by "
                                "the GitHub App that created it.")
            if body.get("status") == "completed" and not body.get("conclusion") and not run.conclusion:
                raise validation_failed("CheckRun", "conclusion", "missing_field")
            apply_run_fields(run, body)
            state.check_suites[run.suite_id].updated_at = now()
            return json_response(render.check_run(run))

    @app.get("/repos/<owner>/<repo>/commits/<path:ref>/check-runs")
    def list_check_runs(owner: str, repo: str, ref: str) -> Response:
        found = ctx.repo(owner, repo)
        sha = state.resolve_ref(found, ref)
        with state.lock:
            runs = [r for r in state.check_runs.values() if r.repo == found.full_name and r.head_sha == sha]
            if name := request.args.get("check_name"):
                runs = [r for r in runs if r.name == name]
            if status := request.args.get("status"):
                runs = [r for r in runs if r.status == status]
            if app_id := request.args.get("app_id"):
                runs = [r for r in runs if str(r.app_id) == app_id]
            if request.args.get("filter", "latest") == "latest":
                newest: dict[tuple[str, int], st.CheckRun] = {}
                for r in sorted(runs, key=lambda r: r.id):
                    newest[(r.name, r.app_id)] = r
                runs = list(newest.values())
            runs.sort(key=lambda r: r.id, reverse=True)
            page, headers = paginate(runs, ctx.base_url)
            return json_response({"total_count": len(runs), "check_runs": [render.check_run(r) for r in page]},
                                 headers=headers)

    @app.get("/repos/<owner>/<repo>/commits/<path:ref>/check-suites")
    def list_check_suites(owner: str, repo: str, ref: str) -> Response:
        found = ctx.repo(owner, repo)
        sha = state.resolve_ref(found, ref)
        with state.lock:
            suites = [s for s in state.check_suites.values() if s.repo == found.full_name and s.head_sha == sha]
            if app_id := request.args.get("app_id"):
                suites = [s for s in suites if str(s.app_id) == app_id]
            if name := request.args.get("check_name"):
                suites = [s for s in suites
                          if any(r.suite_id == s.id and r.name == name for r in state.check_runs.values())]
            page, headers = paginate(sorted(suites, key=lambda s: s.id), ctx.base_url)
            return json_response({"total_count": len(suites),
                                  "check_suites": [render.check_suite(s) for s in page]}, headers=headers)


def ci_check_run(ctx: Context, repo: st.Repo, sha: str, name: str, status: str,
                 conclusion: str | None) -> st.CheckRun:
    """A check run as if GitHub Actions had created it."""
    state = ctx.state
    with state.lock:
        suite = ensure_suite(state, repo, sha, CI_APP.id)
        run = st.CheckRun(state.ids.next("check_run"), repo.full_name, suite.id, CI_APP.id, sha, name,
                          "queued", None, None, None)
        apply_run_fields(run, {"status": status, **({"conclusion": conclusion} if status == "completed" else {})})
        state.check_runs[run.id] = run
        suite.updated_at = now()
        return run
