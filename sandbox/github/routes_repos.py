"""Repository endpoints: repo, pull requests, issues, contents, collaborator permission."""

from __future__ import annotations

from flask import Flask, Response, request

from .context import Context
from .http import fail, json_response, not_found, paginate
from .util import HTML_BASE, iso

ROLE_TO_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


def register(app: Flask, ctx: Context) -> None:
    """Attach repository-level read routes."""
    state, render = ctx.state, ctx.render

    @app.get("/repos/<owner>/<repo>")
    def get_repo(owner: str, repo: str) -> Response:
        found = ctx.repo(owner, repo)
        return json_response(render.full_repo(found, ctx.identity().login))

    @app.get("/repos/<owner>/<repo>/pulls")
    def list_pulls(owner: str, repo: str) -> Response:
        found = ctx.repo(owner, repo)
        wanted = request.args.get("state", "open")
        if wanted not in ("open", "closed", "all"):
            raise fail(422, "Validation Failed", errors=[{"resource": "Issue", "field": "state",
                                                          "code": "invalid"}])
        head, base = request.args.get("head"), request.args.get("base")
        with state.lock:
            pulls = [p for p in state.pulls_of(found.full_name) if wanted in ("all", p.state)]
            if head:
                pulls = [p for p in pulls if f"{p.head_repo.split('/')[0]}:{p.head_ref}" == head]
            if base:
                pulls = [p for p in pulls if p.base_ref == base]
            key = request.args.get("sort", "created")
            attr = {"updated": "updated_at", "popularity": "issue_comments"}.get(key, "created_at")
            pulls.sort(key=lambda p: (getattr(p, attr), p.number), reverse=request.args.get("direction",
                                                                                         "desc") == "desc")
            items = [render.pull(p, simple=True) for p in pulls]
        page, headers = paginate(items, ctx.base_url)
        return json_response(page, headers=headers)

    @app.get("/repos/<owner>/<repo>/pulls/<int:number>")
    def get_pull(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            return json_response(render.pull(ctx.pull(found, number)))

    @app.get("/repos/<owner>/<repo>/issues/<int:number>")
    def get_issue(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            return json_response(render.issue(ctx.pull(found, number)))

    @app.get("/repos/<owner>/<repo>/commits/<path:ref>")
    def get_commit(owner: str, repo: str, ref: str) -> Response:
        found = ctx.repo(owner, repo)
        sha = state.resolve_ref(found, ref)
        if sha is None:
            raise fail(422, f"No commit found for SHA: {ref}")
        base = f"{ctx.base_url}/repos/{found.full_name}"
        person = {"name": "Octo Cat", "email": "octocat@users.noreply.github.com", "date": iso(found.created_at)}
        return json_response({
            "sha": sha, "node_id": "C_" + sha[:20], "url": f"{base}/commits/{sha}",
            "html_url": f"{HTML_BASE}/{found.full_name}/commit/{sha}", "comments_url": f"{base}/commits/{sha}/comments",
            "commit": {"author": person, "committer": person, "message": "Update", "comment_count": 0,
                       "url": f"{base}/git/commits/{sha}", "tree": {"sha": sha, "url": f"{base}/git/trees/{sha}"}},
            "author": None, "committer": None, "parents": [], "files": [],
            "stats": {"total": 0, "additions": 0, "deletions": 0},
        })

    @app.get("/repos/<owner>/<repo>/contents/", defaults={"path": ""})
    @app.get("/repos/<owner>/<repo>/contents/<path:path>")
    def get_content(owner: str, repo: str, path: str) -> Response:
        found = ctx.repo(owner, repo)
        ref = request.args.get("ref") or found.default_branch
        path = path.strip("/")
        with state.lock:
            aliases = state.ref_aliases(found, ref)
            for alias in aliases:
                if (alias, path) in found.files:
                    return json_response(render.content_file(found, path, ref, found.files[(alias, path)]))
            prefix = f"{path}/" if path else ""
            entries: dict[str, str] = {}
            for (fref, fpath), _ in found.files.items():
                if fref in aliases and fpath.startswith(prefix):
                    rest = fpath[len(prefix):]
                    name = rest.split("/", 1)[0]
                    entries.setdefault(name, "dir" if "/" in rest else "file")
            if not entries:
                raise not_found()
            listing = []
            for name, kind in sorted(entries.items()):
                full = f"{prefix}{name}"
                if kind == "file":
                    item = render.content_file(found, full, ref, next(
                        c for (fr, fp), c in found.files.items() if fr in aliases and fp == full))
                    item.pop("content"), item.pop("encoding")
                else:
                    url = f"{ctx.base_url}/repos/{found.full_name}/contents/{full}?ref={ref}"
                    html = f"{HTML_BASE}/{found.full_name}/tree/{ref}/{full}"
                    item = {"type": "dir", "size": 0, "name": name, "path": full, "sha": "0" * 40, "url": url,
                            "git_url": None, "html_url": html, "download_url": None,
                            "_links": {"self": url, "git": None, "html": html}}
                listing.append(item)
            return json_response(listing)

    @app.get("/repos/<owner>/<repo>/collaborators/<username>/permission")
    def collaborator_permission(owner: str, repo: str, username: str) -> Response:
        found = ctx.repo(owner, repo)
        role = render.permission_of(found, username)
        user = render.user(username)
        rank = ["none", "read", "triage", "write", "maintain", "admin"].index(role)
        user["permissions"] = {"admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3,
                               "triage": rank >= 2, "pull": rank >= 1}
        user["role_name"] = role
        return json_response({
            "permission": ROLE_TO_PERMISSION.get(role, "none"),
            "role_name": role,
            "user": user,
        })
