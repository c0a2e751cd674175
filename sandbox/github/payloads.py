"""Webhook payloads built from the emulated state, shaped like the official examples."""

from __future__ import annotations

import hashlib
from typing import Any

from . import reference
from . import state as st
from .render import CI_APP, Renderer
from .routes_checks import ci_check_run, record_status
from .routes_issues import add_comment
from .util import HTML_BASE, iso, node_id, now

HOOK_ID = 448_112_300
_EXAMPLES = {
    ("pull_request", "closed"): "pull_request.closed.merged-false",
    ("issue_comment", "created"): "issue_comment.created.on-pull-request",
    ("ping", None): "ping.with-app_id",
    ("status", None): "status",
}
ZEN = "Design for failure."


def example_name(event: str, action: str | None, merged: bool = False) -> str:
    """File stem of the official example used as the skeleton for an event."""
    if (event, action) == ("pull_request", "closed") and merged:
        return "pull_request.closed.merged-true"
    return _EXAMPLES.get((event, action), f"{event}.{action}" if action else event)


def order_like(example: dict[str, Any] | None, ours: dict[str, Any]) -> dict[str, Any]:
    """Our payload with the example's top-level key order (examples are the skeleton)."""
    if not example:
        return ours
    ordered = {k: ours[k] for k in example if k in ours}
    ordered.update({k: v for k, v in ours.items() if k not in ordered})
    return ordered


class PayloadBuilder:
    """Builds webhook payloads for one emulator."""

    def __init__(self, state: st.State, render: Renderer, ctx: Any) -> None:
        self.state = state
        self.render = render
        self.ctx = ctx

    def build(self, event: str, action: str | None, full_name: str, number: int | None,
              extra: dict[str, Any]) -> dict[str, Any]:
        """Payload for ``event``/``action`` on a repository (and PR ``number``)."""
        extra = dict(extra)
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise KeyError(f"unknown repository {full_name}")
            handler = getattr(self, f"_{event}", None)
            if handler is None:
                raise ValueError(f"unsupported webhook event {event!r}")
            payload, sender = handler(action, repo, number, extra)
            if "repository" not in payload and event not in ("installation", "installation_repositories"):
                payload["repository"] = self.render.repo(repo)
            payload["sender"] = self.render.user(extra.pop("sender", None) or sender)
            inst = self.state.installation_for(repo.full_name)
            if inst is not None and event not in ("ping", "installation", "installation_repositories"):
                payload["installation"] = {"id": inst.id, "node_id": node_id("Integration::Installation", inst.id)}
            payload.update(extra)
            merged = bool(payload.get("pull_request", {}).get("merged"))
            return order_like(reference.webhook_example(example_name(event, action, merged)), payload)

    # -- pull_request ---------------------------------------------------------------------
    def _pull(self, repo: st.Repo, number: int | None) -> st.Pull:
        if number is None:
            raise ValueError("this event needs a pull request number")
        pull = self.state.pulls.get((repo.full_name, number))
        if pull is None:
            raise KeyError(f"unknown pull request {repo.full_name}#{number}")
        return pull

    def _pull_request(self, action: str | None, repo: st.Repo, number: int | None,
                      extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        pull = self._pull(repo, number)
        payload: dict[str, Any] = {"action": action, "number": pull.number}
        if action == "synchronize":
            payload["before"] = extra.pop("before", None) or hashlib.sha1(pull.head_sha.encode()).hexdigest()
            payload["after"] = extra.pop("after", None) or pull.head_sha
        payload["pull_request"] = self.render.pull(pull)
        if action in ("labeled", "unlabeled"):
            name = extra.pop("label", None) or (pull.labels[-1] if pull.labels else "preview")
            payload["label"] = self.render.label(repo, self.state.label(repo, name))
        if action == "edited":
            payload["changes"] = extra.pop("changes", None) or {"title": {"from": pull.title}}
        return payload, pull.author

    # -- issue_comment ----------------------------------------------------------------------
    def _issue_comment(self, action: str | None, repo: st.Repo, number: int | None,
                       extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        pull = self._pull(repo, number)
        comment: st.Comment | None = None
        if "comment_id" in extra:
            comment = self.state.comments.get(int(extra.pop("comment_id")))
        elif "body" in extra:
            author = extra.get("sender") or "octocat"
            comment = add_comment(self.state, repo, pull, extra.pop("body"), author, False)
        else:
            mine = [c for c in self.state.comments.values() if c.repo == repo.full_name and c.number == pull.number]
            comment = max(mine, key=lambda c: c.id) if mine else None
        if comment is None:
            raise KeyError("no comment to report: pass body=... or comment_id=...")
        payload = {"action": action, "issue": self.render.issue(pull), "comment": self.render.comment(comment)}
        return payload, comment.user

    # -- checks and statuses -------------------------------------------------------------------
    def _head_sha(self, repo: st.Repo, number: int | None, extra: dict[str, Any]) -> str:
        if "sha" in extra:
            return str(extra.pop("sha"))
        if number is not None:
            return self._pull(repo, number).head_sha
        return repo.branches[repo.default_branch]

    def _check_suite_json(self, suite: st.CheckSuite) -> dict[str, Any]:
        data = self.render.check_suite(suite)
        data.pop("repository")
        return data

    def _check_run(self, action: str | None, repo: st.Repo, number: int | None,
                   extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        run: st.CheckRun | None = None
        if "check_run_id" in extra:
            run = self.state.check_runs.get(int(extra.pop("check_run_id")))
        else:
            sha = self._head_sha(repo, number, extra)
            name = extra.pop("name", "build")
            conclusion = extra.pop("conclusion", "success")
            run = ci_check_run(self.ctx, repo, sha, name, "completed", conclusion)
        if run is None:
            raise KeyError("unknown check run")
        data = self.render.check_run(run)
        suite = self._check_suite_json(self.state.check_suites[run.suite_id])
        data["check_suite"] = {k: suite[k] for k in (
            "id", "node_id", "head_branch", "head_sha", "status", "conclusion", "url", "before", "after",
            "pull_requests", "app", "created_at", "updated_at")}
        if data["check_suite"]["status"] not in ("in_progress", "completed", "queued"):
            data["check_suite"]["status"] = "queued"
        data["details_url"] = data["details_url"] or data["html_url"]
        return {"action": action, "check_run": data}, repo.owner

    def _check_suite(self, action: str | None, repo: st.Repo, number: int | None,
                     extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        sha = self._head_sha(repo, number, extra)
        suites = [s for s in self.state.check_suites.values() if s.repo == repo.full_name and s.head_sha == sha]
        if not suites:
            run = ci_check_run(self.ctx, repo, sha, extra.pop("name", "build"), "completed",
                               extra.pop("conclusion", "success"))
            suites = [self.state.check_suites[run.suite_id]]
        suite = next((s for s in suites if s.app_id == CI_APP.id), suites[0])
        return {"action": action, "check_suite": self._check_suite_json(suite)}, repo.owner

    def _status(self, action: str | None, repo: st.Repo, number: int | None,
                extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        sha = self._head_sha(repo, number, extra)
        if "status_id" in extra:
            wanted = int(extra.pop("status_id"))
            status = next(s for s in self.state.statuses if s.id == wanted)
        elif "state" in extra or "context" in extra or not self.state.statuses_for(repo.full_name, sha):
            body = {"state": extra.pop("state", "success"), "context": extra.pop("context", "ci/build"),
                    "description": extra.pop("description", None), "target_url": extra.pop("target_url", None)}
            status = record_status(self.ctx, repo, sha, body, extra.pop("creator", "ci-bot"))
        else:
            status = self.state.statuses_for(repo.full_name, sha)[0]
        api = f"{self.render.api}/repos/{repo.full_name}"
        person = {"name": "Octo Cat", "email": "octocat@users.noreply.github.com", "date": iso(status.created_at)}
        branches = [{"name": b, "commit": {"sha": s, "url": f"{api}/commits/{s}"}, "protected": False}
                    for b, s in repo.branches.items() if s == sha]
        branches += [{"name": p.head_ref, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}, "protected": False}
                     for p in self.state.pulls_of(repo.full_name) if p.head_sha == sha and p.head_repo == p.repo]
        payload = {
            "id": status.id,
            "sha": sha,
            "name": repo.full_name,
            "target_url": status.target_url,
            "avatar_url": self.render.status(status)["avatar_url"],
            "context": status.context,
            "description": status.description,
            "state": status.state,
            "commit": {
                "sha": sha,
                "node_id": node_id("Commit", status.id),
                "commit": {
                    "author": person,
                    "committer": person,
                    "message": "Update preview",
                    "tree": {"sha": hashlib.sha1(sha.encode()).hexdigest(), "url": f"{api}/git/trees/{sha}"},
                    "url": f"{api}/git/commits/{sha}",
                    "comment_count": 0,
                    "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
                },
                "url": f"{api}/commits/{sha}",
                "html_url": f"{HTML_BASE}/{repo.full_name}/commit/{sha}",
                "comments_url": f"{api}/commits/{sha}/comments",
                "author": None,
                "committer": None,
                "parents": [],
            },
            "branches": branches[:10],
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
        }
        return payload, status.creator

    # -- installations and ping -----------------------------------------------------------------
    def _installation_of(self, repo: st.Repo, extra: dict[str, Any]) -> st.Installation:
        if "installation_id" in extra:
            return self.state.installations[int(extra.pop("installation_id"))]
        inst = self.state.installation_for(repo.full_name)
        if inst is None:
            raise KeyError(f"{repo.full_name} belongs to no installation")
        return inst

    def _mini_repos(self, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            r = self.state.repo(name)
            if r is not None:
                out.append({"id": r.id, "node_id": node_id("Repository", r.id), "name": r.name,
                            "full_name": r.full_name, "private": r.private})
        return out

    def _installation(self, action: str | None, repo: st.Repo, number: int | None,
                      extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        inst = self._installation_of(repo, extra)
        payload = {"action": action, "installation": self.render.installation(inst),
                   "repositories": self._mini_repos(extra.pop("repositories", inst.repos))}
        return payload, inst.account

    def _installation_repositories(self, action: str | None, repo: st.Repo, number: int | None,
                                   extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        inst = self._installation_of(repo, extra)
        changed = self._mini_repos(extra.pop("repositories", [repo.full_name]))
        payload = {
            "action": action,
            "installation": self.render.installation(inst),
            "repository_selection": "selected",
            "repositories_added": changed if action == "added" else [],
            "repositories_removed": changed if action == "removed" else [],
            "requester": None,
        }
        return payload, inst.account

    def _ping(self, action: str | None, repo: st.Repo, number: int | None,
              extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        hook_url = f"{self.render.api}/app/hook/config"
        hook = {
            "type": "App",
            "id": HOOK_ID,
            "name": "web",
            "active": True,
            "app_id": self.render.app_info.id,
            "events": ["check_run", "check_suite", "issue_comment", "pull_request", "status"],
            "config": {"content_type": "json", "insecure_ssl": "0", "url": extra.pop("url", "https://example.invalid/")},
            "updated_at": iso(now()),
            "created_at": iso(now()),
            "url": hook_url,
            "ping_url": f"{self.render.api}/app/hook/pings",
            "deliveries_url": f"{self.render.api}/app/hook/deliveries",
        }
        return {"zen": ZEN, "hook_id": HOOK_ID, "hook": hook}, repo.owner
