"""GitHub App endpoints: the app, installations, access tokens, rate limit."""

from __future__ import annotations

from flask import Flask, Response, g

from .auth import issue_installation_token
from .context import Context
from .http import fail, json_response, not_found, paginate, validation_failed
from .ratelimit import peek
from .util import iso


def register(app: Flask, ctx: Context) -> None:
    """Attach the app/installation routes."""
    state, render = ctx.state, ctx.render

    @app.get("/app")
    def get_app() -> Response:
        ctx.require_app()
        data = render.app()
        data["installations_count"] = len(state.installations)
        return json_response(data)

    @app.get("/app/installations")
    def list_installations() -> Response:
        ctx.require_app()
        with state.lock:
            items = [render.installation(i) for i in sorted(state.installations.values(), key=lambda i: i.id)]
        page, headers = paginate(items, ctx.base_url)
        return json_response(page, headers=headers)

    @app.get("/app/installations/<int:installation_id>")
    def get_installation(installation_id: int) -> Response:
        ctx.require_app()
        inst = state.installations.get(installation_id)
        if inst is None:
            raise not_found()
        return json_response(render.installation(inst))

    @app.post("/app/installations/<int:installation_id>/access_tokens")
    def create_token(installation_id: int) -> Response:
        ctx.require_app()
        body = ctx.body("apps/create-installation-access-token")
        inst = state.installations.get(installation_id)
        if inst is None:
            raise not_found()
        repos: list[str] | None = None
        if body.get("repositories") or body.get("repository_ids"):
            repos = []
            for name in body.get("repositories", []):
                match = next((r for r in inst.repos if r.split("/", 1)[1].lower() == name.lower()), None)
                if match is None:
                    raise validation_failed("Installation", "repositories", "invalid",
                                            f"There is at least one repository that does not exist or is "
                                            f"not accessible to the parent installation: {name}")
                repos.append(match)
            for rid in body.get("repository_ids", []):
                match = next((r for r in inst.repos if (rr := state.repo(r)) and rr.id == rid), None)
                if match is None:
                    raise validation_failed("Installation", "repository_ids", "invalid")
                repos.append(match)
        token = issue_installation_token(state, inst.id, render.app_info.bot_login, ctx.token_ttl, repos)
        visible = repos if repos is not None else inst.repos
        data = {
            "token": token.token,
            "expires_at": iso(token.expires_at),
            "permissions": body.get("permissions") or dict(render.app(None)["permissions"]),
            "repository_selection": "selected",
        }
        if repos is not None:
            data["repositories"] = [render.repo(r) for n in visible if (r := state.repo(n))]
        return json_response(data, 201)

    @app.get("/repos/<owner>/<repo>/installation")
    def repo_installation(owner: str, repo: str) -> Response:
        ctx.require_app()
        found = state.repo(f"{owner}/{repo}")
        inst = state.installation_for(found.full_name) if found else None
        if inst is None:
            raise not_found()
        return json_response(render.installation(inst))

    @app.get("/installation/repositories")
    def installation_repos() -> Response:
        ident = ctx.identity()
        if ident.kind != "installation":
            raise fail(403, "You must authenticate with an installation access token in order to list "
                            "repositories for an installation.")
        repos = [render.repo(r) for n in ident.repos or () if (r := state.repo(n))]
        page, headers = paginate(repos, ctx.base_url)
        return json_response({"total_count": len(repos), "repository_selection": "selected",
                              "repositories": page}, headers=headers)

    @app.get("/rate_limit")
    def rate_limit() -> Response:
        core = peek(state, g.identity.key).as_json()
        reset = core["reset"]

        def other(limit: int) -> dict[str, int]:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": reset}

        resources = {
            "core": core,
            "search": other(30),
            "graphql": other(5000),
            "integration_manifest": other(5000),
            "code_search": other(10),
            "code_scanning_upload": other(1000),
            "actions_runner_registration": other(10000),
            "scim": other(15000),
            "dependency_snapshots": other(100),
            "audit_log": other(1750),
        }
        return json_response({"resources": resources, "rate": core})
