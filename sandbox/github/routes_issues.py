"""Issue comments, reactions and labels on pull requests."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, Response, request

from . import state as st
from .context import Context
from .http import fail, json_response, not_found, paginate, validation_failed
from .util import now


def add_comment(state: st.State, repo: st.Repo, pull: st.Pull, body: str, user: str, via_app: bool) -> st.Comment:
    """Store a new issue comment on a pull request."""
    with state.lock:
        comment = st.Comment(state.ids.next("comment"), repo.full_name, pull.number, body, user, now(), now(),
                             via_app)
        state.comments[comment.id] = comment
        pull.issue_comments += 1
        pull.updated_at = now()
        return comment


def register(app: Flask, ctx: Context) -> None:
    """Attach comment, reaction and label routes."""
    state, render = ctx.state, ctx.render

    def _comment(found: st.Repo, comment_id: int) -> st.Comment:
        comment = state.comments.get(comment_id)
        if comment is None or comment.repo != found.full_name:
            raise not_found()
        return comment

    @app.get("/repos/<owner>/<repo>/issues/<int:number>/comments")
    def list_comments(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        since = request.args.get("since")
        with state.lock:
            ctx.pull(found, number)
            comments = sorted((c for c in state.comments.values()
                               if c.repo == found.full_name and c.number == number), key=lambda c: c.id)
            if since:
                cutoff = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
                comments = [c for c in comments if c.updated_at >= cutoff]
            page, headers = paginate(comments, ctx.base_url)
            return json_response([render.comment(c) for c in page], headers=headers)

    @app.post("/repos/<owner>/<repo>/issues/<int:number>/comments")
    def create_comment(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("issues/create-comment")
        if len(body["body"]) > 65536:
            raise validation_failed("IssueComment", "body", "custom", "Body is too long (maximum is 65536 "
                                                                      "characters)")
        login, via_app = ctx.writer()
        with state.lock:
            pull = ctx.pull(found, number)
            return json_response(render.comment(add_comment(state, found, pull, body["body"], login, via_app)),
                                 201)

    @app.get("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
    def get_comment(owner: str, repo: str, comment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            return json_response(render.comment(_comment(found, comment_id)))

    @app.patch("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
    def update_comment(owner: str, repo: str, comment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("issues/update-comment")
        with state.lock:
            comment = _comment(found, comment_id)
            if comment.user != ctx.identity().login and render.permission_of(found, ctx.identity().login) not in (
                    "admin", "maintain", "write") and ctx.identity().kind != "installation":
                raise fail(403, "Must have admin rights to Repository.")
            comment.body = body["body"]
            comment.updated_at = max(now(), comment.updated_at + 1)
            return json_response(render.comment(comment))

    @app.delete("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
    def delete_comment(owner: str, repo: str, comment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            comment = _comment(found, comment_id)
            del state.comments[comment.id]
            pull = state.pulls.get((found.full_name, comment.number))
            if pull is not None:
                pull.issue_comments -= 1
        return json_response(None, 204)

    @app.post("/repos/<owner>/<repo>/issues/comments/<int:comment_id>/reactions")
    def create_reaction(owner: str, repo: str, comment_id: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("reactions/create-for-issue-comment")
        login, _ = ctx.writer()
        with state.lock:
            comment = _comment(found, comment_id)
            for existing in state.reactions:
                if existing.comment_id == comment.id and existing.user == login and existing.content == body[
                        "content"]:
                    return json_response(render.reaction(existing), 200)
            reaction = st.Reaction(state.ids.next("reaction"), comment.id, login, body["content"], now())
            state.reactions.append(reaction)
            return json_response(render.reaction(reaction), 201)

    @app.get("/repos/<owner>/<repo>/issues/<int:number>/labels")
    def list_labels(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            pull = ctx.pull(found, number)
            page, headers = paginate(render.issue_labels(found, pull), ctx.base_url)
            return json_response(page, headers=headers)

    @app.post("/repos/<owner>/<repo>/issues/<int:number>/labels")
    def add_labels(owner: str, repo: str, number: int) -> Response:
        found = ctx.repo(owner, repo)
        body = ctx.body("issues/add-labels")
        items = body.get("labels", []) if isinstance(body, dict) else body
        names = [item["name"] if isinstance(item, dict) else item for item in items]
        if not names:
            raise validation_failed("Label", "labels", "missing_field")
        with state.lock:
            pull = ctx.pull(found, number)
            for name in names:
                label = state.label(found, name)
                if label.name not in pull.labels:
                    pull.labels.append(label.name)
            pull.updated_at = now()
            return json_response(render.issue_labels(found, pull))

    @app.delete("/repos/<owner>/<repo>/issues/<int:number>/labels/<path:name>")
    def remove_label(owner: str, repo: str, number: int, name: str) -> Response:
        found = ctx.repo(owner, repo)
        with state.lock:
            pull = ctx.pull(found, number)
            match = next((n for n in pull.labels if n.lower() == name.lower()), None)
            if match is None:
                raise fail(404, "Label does not exist",
                           "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue")
            pull.labels.remove(match)
            pull.updated_at = now()
            return json_response(render.issue_labels(found, pull))
