"""Turn emulator records into the JSON shapes GitHub returns."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import has_request_context, request

from . import state as st
from .util import HTML_BASE, iso, node_id

APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "deployments": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}
APP_EVENTS = ["check_run", "check_suite", "issue_comment", "pull_request", "push", "status"]
PREFIX_ENVIRON = "previewbot.api_prefix"
REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


@dataclass(frozen=True)
class AppInfo:
    """A GitHub App as the emulator knows it."""

    id: int
    slug: str
    name: str
    owner: str
    created_at: float

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


CI_APP = AppInfo(15368, "github-actions", "GitHub Actions", "github", 1_564_000_000.0)


class Renderer:
    """Builds REST (and webhook) JSON from records; ``api`` is the emulator's base URL."""

    def __init__(self, state: st.State, api: str, app: AppInfo) -> None:
        self.state = state
        self.base = api.rstrip("/")
        self.app_info = app

    @property
    def api(self) -> str:
        """API root for URLs in answers; keeps an ``/api/v3`` prefix the client used."""
        prefix = request.environ.get(PREFIX_ENVIRON, "") if has_request_context() else ""
        return self.base + prefix

    # -- users, apps, installations ------------------------------------------------
    def user(self, login: str) -> dict[str, Any]:
        u = self.state.user(login)
        api_user = f"{self.api}/users/{quote(login)}"
        html = f"{HTML_BASE}/apps/{login.removesuffix('[bot]')}" if u.type == "Bot" else f"{HTML_BASE}/{login}"
        return {
            "login": u.login,
            "id": u.id,
            "node_id": node_id("Bot" if u.type == "Bot" else "User", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": api_user,
            "html_url": html,
            "followers_url": f"{api_user}/followers",
            "following_url": f"{api_user}/following{{/other_user}}",
            "gists_url": f"{api_user}/gists{{/gist_id}}",
            "starred_url": f"{api_user}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api_user}/subscriptions",
            "organizations_url": f"{api_user}/orgs",
            "repos_url": f"{api_user}/repos",
            "events_url": f"{api_user}/events{{/privacy}}",
            "received_events_url": f"{api_user}/received_events",
            "type": u.type,
            "site_admin": False,
        }

    def app(self, info: AppInfo | None = None) -> dict[str, Any]:
        info = info or self.app_info
        owner = self.state.user(info.owner)
        owner.type = "Organization"
        return {
            "id": info.id,
            "slug": info.slug,
            "node_id": node_id("App", info.id),
            "owner": self.user(info.owner),
            "name": info.name,
            "description": f"{info.name} GitHub App",
            "external_url": f"https://{info.slug}.example.com",
            "html_url": f"{HTML_BASE}/apps/{info.slug}",
            "created_at": iso(info.created_at),
            "updated_at": iso(info.created_at),
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
        }

    def app_for(self, app_id: int | None) -> dict[str, Any] | None:
        if app_id is None:
            return None
        return self.app(CI_APP if app_id == CI_APP.id else self.app_info)

    def installation(self, inst: st.Installation) -> dict[str, Any]:
        account = self.state.user(inst.account)
        return {
            "id": inst.id,
            "account": self.user(inst.account),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{HTML_BASE}/settings/installations/{inst.id}",
            "app_id": self.app_info.id,
            "app_slug": self.app_info.slug,
            "target_id": account.id,
            "target_type": "Organization" if account.type == "Organization" else "User",
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
            "created_at": iso(inst.created_at),
            "updated_at": iso(inst.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # -- repositories ------------------------------------------------------------------
    def repo(self, repo: st.Repo) -> dict[str, Any]:
        """Repository JSON as embedded in pull requests and webhook payloads."""
        fn = repo.full_name
        base = f"{self.api}/repos/{fn}"
        pushed = max([repo.created_at, *[p.updated_at for p in self.state.pulls_of(fn)]])
        open_issues = sum(1 for p in self.state.pulls_of(fn) if p.state == "open")
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": fn,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": f"{HTML_BASE}/{fn}",
            "description": None,
            "fork": repo.fork,
            "url": base,
            "forks_url": f"{base}/forks",
            "keys_url": f"{base}/keys{{/key_id}}",
            "collaborators_url": f"{base}/collaborators{{/collaborator}}",
            "teams_url": f"{base}/teams",
            "hooks_url": f"{base}/hooks",
            "issue_events_url": f"{base}/issues/events{{/number}}",
            "events_url": f"{base}/events",
            "assignees_url": f"{base}/assignees{{/user}}",
            "branches_url": f"{base}/branches{{/branch}}",
            "tags_url": f"{base}/tags",
            "blobs_url": f"{base}/git/blobs{{/sha}}",
            "git_tags_url": f"{base}/git/tags{{/sha}}",
            "git_refs_url": f"{base}/git/refs{{/sha}}",
            "trees_url": f"{base}/git/trees{{/sha}}",
            "statuses_url": f"{base}/statuses/{{sha}}",
            "languages_url": f"{base}/languages",
            "stargazers_url": f"{base}/stargazers",
            "contributors_url": f"{base}/contributors",
            "subscribers_url": f"{base}/subscribers",
            "subscription_url": f"{base}/subscription",
            "commits_url": f"{base}/commits{{/sha}}",
            "git_commits_url": f"{base}/git/commits{{/sha}}",
            "comments_url": f"{base}/comments{{/number}}",
            "issue_comment_url": f"{base}/issues/comments{{/number}}",
            "contents_url": f"{base}/contents/{{+path}}",
            "compare_url": f"{base}/compare/{{base}}...{{head}}",
            "merges_url": f"{base}/merges",
            "archive_url": f"{base}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{base}/downloads",
            "issues_url": f"{base}/issues{{/number}}",
            "pulls_url": f"{base}/pulls{{/number}}",
            "milestones_url": f"{base}/milestones{{/number}}",
            "notifications_url": f"{base}/notifications{{?since,all,participating}}",
            "labels_url": f"{base}/labels{{/name}}",
            "releases_url": f"{base}/releases{{/id}}",
            "deployments_url": f"{base}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.created_at),
            "pushed_at": iso(pushed),
            "git_url": f"git://github.com/{fn}.git",
            "ssh_url": f"git@github.com:{fn}.git",
            "clone_url": f"{HTML_BASE}/{fn}.git",
            "svn_url": f"{HTML_BASE}/{fn}",
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "custom_properties": {},
        }

    def full_repo(self, repo: st.Repo, viewer: str | None = None) -> dict[str, Any]:
        """``GET /repos/{owner}/{repo}`` JSON."""
        out = self.repo(repo)
        perm = self.permission_of(repo, viewer) if viewer else "read"
        rank = ["none", "read", "triage", "write", "maintain", "admin"].index(perm)
        out["permissions"] = {
            "admin": rank >= 5,
            "maintain": rank >= 4,
            "push": rank >= 3,
            "triage": rank >= 2,
            "pull": rank >= 1,
        }
        out.update(
            {
                "temp_clone_token": "",
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        return out

    def permission_of(self, repo: st.Repo, login: str) -> str:
        """Role of ``login`` on ``repo``: the owner is admin, public repos default to read."""
        return self.state.role(repo, login)

    # -- pull requests -------------------------------------------------------------------
    def label(self, repo: st.Repo, lb: st.Label) -> dict[str, Any]:
        return {
            "id": lb.id,
            "node_id": node_id("Label", lb.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{quote(lb.name)}",
            "name": lb.name,
            "color": lb.color,
            "default": lb.default,
            "description": lb.description,
        }

    def issue_labels(self, repo: st.Repo, pull: st.Pull) -> list[dict[str, Any]]:
        return [self.label(repo, self.state.label(repo, name)) for name in pull.labels]

    def association(self, repo: st.Repo, login: str) -> str:
        if login == repo.owner:
            return "OWNER"
        if repo.permissions.get(login, "none") in ("admin", "maintain", "write", "triage"):
            return "COLLABORATOR"
        return "CONTRIBUTOR"

    def _branch(self, repo_name: str, ref: str, sha: str) -> dict[str, Any]:
        repo = self.state.repo(repo_name)
        assert repo is not None
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo),
        }

    def pull(self, pull: st.Pull, simple: bool = False) -> dict[str, Any]:
        """Pull request JSON (``pull-request``; ``pull-request-simple`` for lists)."""
        repo = self.state.repo(pull.repo)
        assert repo is not None
        base = f"{self.api}/repos/{pull.repo}"
        url = f"{base}/pulls/{pull.number}"
        html = f"{HTML_BASE}/{pull.repo}/pull/{pull.number}"
        issue = f"{base}/issues/{pull.number}"
        statuses = f"{base}/statuses/{pull.head_sha}"
        out: dict[str, Any] = {
            "url": url,
            "id": pull.id,
            "node_id": node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.user(pull.author),
            "body": pull.body,
            "created_at": iso(pull.created_at),
            "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at),
            "merged_at": iso(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": self.issue_labels(repo, pull),
            "milestone": None,
            "draft": pull.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{base}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": statuses,
            "head": self._branch(pull.head_repo, pull.head_ref, pull.head_sha),
            "base": self._branch(pull.repo, pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.association(repo, pull.author),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if simple:
            return out
        out.update(
            {
                "merged": pull.merged,
                "mergeable": None if pull.state == "closed" else True,
                "rebaseable": None if pull.state == "closed" else True,
                "mergeable_state": "unknown" if pull.state == "closed" else ("draft" if pull.draft else "clean"),
                "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
                "comments": pull.issue_comments,
                "review_comments": 0,
                "maintainer_can_modify": pull.head_repo != pull.repo,
                "commits": pull.commits,
                "additions": 10 * pull.commits,
                "deletions": 2 * pull.commits,
                "changed_files": pull.commits,
            }
        )
        return out

    def issue(self, pull: st.Pull) -> dict[str, Any]:
        """The issue view of a pull request (``GET /repos/{o}/{r}/issues/{n}``)."""
        repo = self.state.repo(pull.repo)
        assert repo is not None
        base = f"{self.api}/repos/{pull.repo}"
        url = f"{base}/issues/{pull.number}"
        html = f"{HTML_BASE}/{pull.repo}/pull/{pull.number}"
        return {
            "url": url,
            "repository_url": base,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "id": pull.id + 1,
            "node_id": node_id("Issue", pull.id + 1),
            "number": pull.number,
            "title": pull.title,
            "user": self.user(pull.author),
            "labels": self.issue_labels(repo, pull),
            "state": pull.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": pull.issue_comments,
            "created_at": iso(pull.created_at),
            "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at),
            "author_association": self.association(repo, pull.author),
            "active_lock_reason": None,
            "draft": pull.draft,
            "pull_request": {
                "url": f"{base}/pulls/{pull.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(pull.merged_at),
            },
            "body": pull.body,
            "reactions": self.reaction_rollup(url, []),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": "completed" if pull.state == "closed" else None,
        }

    # -- statuses and checks ------------------------------------------------------------------
    def status(self, s: st.Status, simple: bool = False) -> dict[str, Any]:
        creator = self.state.user(s.creator)
        out: dict[str, Any] = {
            "url": f"{self.api}/repos/{s.repo}/statuses/{s.sha}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{creator.id}?v=4",
            "id": s.id,
            "node_id": node_id("StatusContext", s.id),
            "state": s.state,
            "description": s.description,
            "target_url": s.target_url,
            "context": s.context,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.created_at),
        }
        if not simple:
            out["creator"] = self.user(s.creator)
        return out

    def combined_status(self, repo: st.Repo, sha: str, page: list[st.Status], total: int) -> dict[str, Any]:
        latest = self.state.latest_statuses(repo.full_name, sha)
        states = {s.state for s in latest}
        if states & {"error", "failure"}:
            state = "failure"
        elif not latest or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return {
            "state": state,
            "statuses": [self.status(s, simple=True) for s in page],
            "sha": sha,
            "total_count": total,
            "repository": self.repo(repo),
            "commit_url": f"{self.api}/repos/{repo.full_name}/commits/{sha}",
            "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}/status",
        }

    def _pr_minimal(self, repo_name: str, sha: str) -> list[dict[str, Any]]:
        out = []
        for p in self.state.pulls_of(repo_name):
            if p.head_sha == sha and p.head_repo == p.repo:
                head_repo, base_repo = self.state.repo(p.head_repo), self.state.repo(p.repo)
                assert head_repo and base_repo
                out.append(
                    {
                        "url": f"{self.api}/repos/{p.repo}/pulls/{p.number}",
                        "id": p.id,
                        "number": p.number,
                        "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": self._repo_ref(head_repo)},
                        "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": self._repo_ref(base_repo)},
                    }
                )
        return out

    def _repo_ref(self, repo: st.Repo) -> dict[str, Any]:
        return {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}", "name": repo.name}

    def suite_summary(self, suite: st.CheckSuite) -> tuple[str, str | None]:
        runs = [r for r in self.state.check_runs.values() if r.suite_id == suite.id]
        if not runs or any(r.status != "completed" for r in runs):
            return ("queued" if not runs else "in_progress"), None
        order = ["action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "success"]
        worst = min((r.conclusion or "neutral" for r in runs), key=lambda c: order.index(c) if c in order else 0)
        return "completed", ("success" if worst in ("neutral", "skipped") else worst)

    def check_run(self, run: st.CheckRun) -> dict[str, Any]:
        url = f"{self.api}/repos/{run.repo}/check-runs/{run.id}"
        return {
            "id": run.id,
            "head_sha": run.head_sha,
            "node_id": node_id("CheckRun", run.id),
            "external_id": run.external_id or "",
            "url": url,
            "html_url": f"{HTML_BASE}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url or f"{HTML_BASE}/{run.repo}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output.get("title"),
                "summary": run.output.get("summary"),
                "text": run.output.get("text"),
                "annotations_count": len(run.output.get("annotations", [])),
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.suite_id},
            "app": self.app_for(run.app_id),
            "pull_requests": self._pr_minimal(run.repo, run.head_sha),
        }

    def check_suite(self, suite: st.CheckSuite) -> dict[str, Any]:
        repo = self.state.repo(suite.repo)
        assert repo is not None
        status, conclusion = self.suite_summary(suite)
        runs = [r for r in self.state.check_runs.values() if r.suite_id == suite.id]
        return {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": f"{self.api}/repos/{suite.repo}/check-suites/{suite.id}",
            "before": "0" * 40,
            "after": suite.head_sha,
            "pull_requests": self._pr_minimal(suite.repo, suite.head_sha),
            "app": self.app_for(suite.app_id),
            "repository": self.repo(repo),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "head_commit": self.head_commit(suite.head_sha, suite.created_at),
            "latest_check_runs_count": len(runs),
            "check_runs_url": f"{self.api}/repos/{suite.repo}/check-suites/{suite.id}/check-runs",
            "rerequestable": True,
            "runs_rerequestable": True,
        }

    @staticmethod
    def head_commit(sha: str, ts: float) -> dict[str, Any]:
        person = {"name": "Octo Cat", "email": "octocat@users.noreply.github.com"}
        return {
            "id": sha,
            "tree_id": hashlib.sha1(sha.encode()).hexdigest(),
            "message": "Update preview",
            "timestamp": iso(ts),
            "author": person,
            "committer": person,
        }

    # -- deployments ------------------------------------------------------------------------------
    def deployment(self, d: st.Deployment) -> dict[str, Any]:
        url = f"{self.api}/repos/{d.repo}/deployments/{d.id}"
        env = d.environment
        if d.status_ids:
            env = self.state.deployment_statuses[d.status_ids[-1]].environment
        return {
            "url": url,
            "id": d.id,
            "node_id": node_id("Deployment", d.id),
            "sha": d.sha,
            "ref": d.ref,
            "task": d.task,
            "payload": d.payload,
            "original_environment": d.environment,
            "environment": env,
            "description": d.description,
            "creator": self.user(d.creator),
            "created_at": iso(d.created_at),
            "updated_at": iso(d.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": f"{self.api}/repos/{d.repo}",
            "transient_environment": d.transient,
            "production_environment": d.production,
            "performed_via_github_app": self.app() if d.via_app else None,
        }

    def deployment_status(self, s: st.DeploymentStatus) -> dict[str, Any]:
        dep_url = f"{self.api}/repos/{s.repo}/deployments/{s.deployment_id}"
        return {
            "url": f"{dep_url}/statuses/{s.id}",
            "id": s.id,
            "node_id": node_id("DeploymentStatus", s.id),
            "state": s.state,
            "creator": self.user(s.creator),
            "description": s.description,
            "environment": s.environment,
            "target_url": s.target_url,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.created_at),
            "deployment_url": dep_url,
            "repository_url": f"{self.api}/repos/{s.repo}",
            "environment_url": s.environment_url,
            "log_url": s.log_url,
            "performed_via_github_app": self.app() if s.via_app else None,
        }

    # -- comments and reactions -----------------------------------------------------------------------
    def reaction_rollup(self, url: str, reactions: list[st.Reaction]) -> dict[str, Any]:
        out: dict[str, Any] = {"url": f"{url}/reactions", "total_count": len(reactions)}
        for content in REACTIONS:
            out[content] = sum(1 for r in reactions if r.content == content)
        return out

    def comment(self, c: st.Comment) -> dict[str, Any]:
        repo = self.state.repo(c.repo)
        assert repo is not None
        url = f"{self.api}/repos/{c.repo}/issues/comments/{c.id}"
        reactions = [r for r in self.state.reactions if r.comment_id == c.id]
        return {
            "url": url,
            "html_url": f"{HTML_BASE}/{c.repo}/pull/{c.number}#issuecomment-{c.id}",
            "issue_url": f"{self.api}/repos/{c.repo}/issues/{c.number}",
            "id": c.id,
            "node_id": node_id("IssueComment", c.id),
            "user": self.user(c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "author_association": self.association(repo, c.user),
            "body": c.body,
            "reactions": self.reaction_rollup(url, reactions),
            "performed_via_github_app": self.app() if c.via_app else None,
        }

    def reaction(self, r: st.Reaction) -> dict[str, Any]:
        return {
            "id": r.id,
            "node_id": node_id("Reaction", r.id),
            "user": self.user(r.user),
            "content": r.content,
            "created_at": iso(r.created_at),
        }

    # -- contents -------------------------------------------------------------------------------------------
    def content_file(self, repo: st.Repo, path: str, ref: str, text: str) -> dict[str, Any]:
        raw = text.encode()
        sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
        url = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={quote(ref)}"
        git_url = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        html = f"{HTML_BASE}/{repo.full_name}/blob/{ref}/{path}"
        encoded = base64.b64encode(raw).decode()
        wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(raw),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": wrapped,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html,
            "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            "_links": {"self": url, "git": git_url, "html": html},
        }
