"""GitHubEmulator: the public facade that owns state, the HTTP server and webhook delivery."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import schemas
from . import state as st
from .app import create_app
from .context import Context
from .faults import add_fault
from .payloads import PayloadBuilder
from .render import AppInfo, Renderer
from .routes_checks import ci_check_run, record_status
from .routes_issues import add_comment
from .util import now, random_sha
from .webhooks import Deliverer, Delivery


class _QuietHandler(WSGIRequestHandler):
    """Request handler without per-request access logging."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class GitHubEmulator:
    """An in-process HTTP emulator of the GitHub REST API (see README.md)."""

    def __init__(self, app_id: int = 1, app_public_key_pem: str | None = None, token_ttl: float = 3600.0,
                 *, port: int = 0, app_slug: str = "previewbot") -> None:
        self.app_id = app_id
        self.token_ttl = token_ttl
        self._port = port
        self._state = st.State()
        app = AppInfo(app_id, app_slug, app_slug, f"{app_slug}-dev", now())
        self._render = Renderer(self._state, f"http://127.0.0.1:{port}", app)
        self._ctx = Context(self._state, self._render, schemas.load(), app_id, token_ttl, app_public_key_pem)
        self._payloads = PayloadBuilder(self._state, self._render, self._ctx)
        self._deliverer = Deliverer(app_id)
        self._wsgi = create_app(self._ctx, self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> GitHubEmulator:
        """Serve on 127.0.0.1 (a free port unless one was given) in a daemon thread."""
        if self._server is None:
            self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True,
                                       request_handler=_QuietHandler)
            self._render.base = f"http://127.0.0.1:{self._server.server_port}"
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="github-emulator",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for API clients (``/api/v3`` under it works too)."""
        return self._render.base

    @property
    def state(self) -> st.State:
        return self._state

    # -- setup ------------------------------------------------------------------------
    def add_token(self, token: str, login: str = "previewbot[bot]") -> None:
        """Register a personal (or bot) token that reaches every repository."""
        with self._state.lock:
            self._state.user(login)
            self._state.tokens[token] = st.Token(token, login)

    def add_repo(self, full_name: str, default_branch: str = "main", private: bool = False) -> dict:
        """Create a repository and return its JSON."""
        repo = self._state.add_repo(full_name, default_branch, private)
        return self._render.full_repo(repo)

    def add_installation(self, installation_id: int, repos: list[str], account: str | None = None) -> None:
        """Install the App on ``repos`` (the account defaults to the first repo's owner)."""
        with self._state.lock:
            for name in repos:
                self._state.add_repo(name)
            owner = account or (repos[0].split("/")[0] if repos else "octo-org")
            self._state.user(owner)
            existing = self._state.installations.get(installation_id)
            if existing is not None:
                existing.repos = list(dict.fromkeys([*existing.repos, *repos]))
            else:
                self._state.installations[installation_id] = st.Installation(installation_id, owner, list(repos),
                                                                             now())

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """Role of ``login``: admin | maintain | write | triage | read | none."""
        if permission not in ("admin", "maintain", "write", "triage", "read", "none"):
            raise ValueError(f"unknown permission {permission!r}")
        with self._state.lock:
            self._repo(full_name).permissions[login] = permission
            self._state.user(login)

    def add_oauth_app(self, client_id: str, client_secret: str, callback_url: str | None = None,
                      name: str = "previewbot") -> None:
        """Register an OAuth client for the web flow (``callback_url`` None: any http(s) redirect_uri)."""
        with self._state.lock:
            self._state.oauth_apps[client_id] = st.OAuthApp(client_id, client_secret, callback_url, name)

    def set_oauth_user(self, login: str | None) -> None:
        """Who is signed in to the emulated github.com: the authorize page offers this login."""
        with self._state.lock:
            self._state.oauth_user = login
            if login:
                self._state.user(login)

    def add_user_token(self, token: str, login: str, scopes: str = "") -> None:
        """A user's OAuth token (as the web flow issues), reaching what ``login`` may read."""
        with self._state.lock:
            self._state.user(login)
            self._state.tokens[token] = st.Token(token, login, user=True, scopes=scopes)

    def expire_tokens(self) -> None:
        """Make every installation token expire now."""
        with self._state.lock:
            for token in self._state.tokens.values():
                if token.installation_id is not None:
                    token.expires_at = now() - 1

    # -- pull request life ---------------------------------------------------------------
    def _repo(self, full_name: str) -> st.Repo:
        repo = self._state.repo(full_name)
        if repo is None:
            raise KeyError(f"unknown repository {full_name}")
        return repo

    def _pull(self, full_name: str, number: int) -> st.Pull:
        pull = self._state.pulls.get((self._repo(full_name).full_name, number))
        if pull is None:
            raise KeyError(f"unknown pull request {full_name}#{number}")
        return pull

    def open_pr(self, full_name: str, number: int | None = None, *, head_sha: str | None = None,
                branch: str | None = None, base: str = "main", title: str = "Add feature",
                author: str = "octocat", draft: bool = False, labels: Sequence[str] = (), fork: bool = False,
                body: str | None = None) -> dict:
        """Open a pull request and return its JSON."""
        with self._state.lock:
            repo = self._repo(full_name)
            number = number or self._state.next_number(repo.full_name)
            if (repo.full_name, number) in self._state.pulls:
                raise ValueError(f"{full_name}#{number} already exists")
            head_repo = repo
            if fork:
                head_repo = self._state.add_repo(f"{author}/{repo.name}", repo.default_branch)
                head_repo.fork = True
            base_sha = repo.branches.setdefault(base, random_sha())
            for name in labels:
                self._state.label(repo, name)
            pull = st.Pull(
                id=self._state.ids.next("pull"), repo=repo.full_name, number=number, title=title, body=body,
                author=author, head_sha=head_sha or random_sha(), head_ref=branch or f"feature-{number}",
                head_repo=head_repo.full_name, base_ref=base, base_sha=base_sha, draft=draft,
                created_at=now(), updated_at=now(), labels=list(dict.fromkeys(labels)),
            )
            self._state.user(author)
            self._state.pulls[(repo.full_name, number)] = pull
            return self._render.pull(pull)

    def push(self, full_name: str, number: int, sha: str | None = None) -> str:
        """Move the PR head to a new commit; returns the new SHA."""
        with self._state.lock:
            pull = self._pull(full_name, number)
            pull.head_sha = sha or random_sha()
            pull.commits += 1
            pull.updated_at = now()
            return pull.head_sha

    def close_pr(self, full_name: str, number: int, merged: bool = False) -> None:
        """Close (optionally merge) a pull request."""
        with self._state.lock:
            pull = self._pull(full_name, number)
            pull.state, pull.closed_at, pull.updated_at = "closed", now(), now()
            if merged:
                pull.merged, pull.merged_at, pull.merged_by = True, pull.closed_at, self._repo(full_name).owner
                pull.merge_commit_sha = random_sha()
                self._repo(full_name).branches[pull.base_ref] = pull.merge_commit_sha

    def reopen_pr(self, full_name: str, number: int) -> None:
        """Reopen a closed (unmerged) pull request."""
        with self._state.lock:
            pull = self._pull(full_name, number)
            if pull.merged:
                raise ValueError("a merged pull request cannot be reopened")
            pull.state, pull.closed_at, pull.updated_at = "open", None, now()

    def set_labels(self, full_name: str, number: int, labels: list[str]) -> None:
        """Replace the labels of a pull request."""
        with self._state.lock:
            repo, pull = self._repo(full_name), self._pull(full_name, number)
            pull.labels = [self._state.label(repo, n).name for n in dict.fromkeys(labels)]
            pull.updated_at = now()

    def set_draft(self, full_name: str, number: int, draft: bool) -> None:
        """Convert to draft or mark ready for review."""
        with self._state.lock:
            pull = self._pull(full_name, number)
            pull.draft, pull.updated_at = draft, now()

    def set_file(self, full_name: str, ref: str, path: str, content: str) -> None:
        """File content at a ref (SHA or branch) for the contents API."""
        with self._state.lock:
            self._repo(full_name).files[(ref, path.strip("/"))] = content

    def add_check_run(self, full_name: str, sha: str, name: str, status: str = "completed",
                      conclusion: str | None = "success") -> dict:
        """A check run as if CI (GitHub Actions) created it."""
        with self._state.lock:
            run = ci_check_run(self._ctx, self._repo(full_name), sha, name, status, conclusion)
            return self._render.check_run(run)

    def add_status(self, full_name: str, sha: str, context: str, state: str, creator: str = "ci-bot",
                   description: str | None = None, target_url: str | None = None) -> dict:
        """A commit status as if CI posted it (same limits as the API)."""
        body = {"state": state, "context": context, "description": description, "target_url": target_url}
        with self._state.lock:
            status = record_status(self._ctx, self._repo(full_name), sha, body, creator)
            return self._render.status(status)

    def add_comment(self, full_name: str, number: int, body: str, author: str = "octocat") -> dict:
        """An issue comment as if a user wrote it."""
        with self._state.lock:
            repo, pull = self._repo(full_name), self._pull(full_name, number)
            return self._render.comment(add_comment(self._state, repo, pull, body, author, False))

    # -- read-back ------------------------------------------------------------------------
    def statuses(self, full_name: str, sha: str) -> list[dict]:
        """Commit statuses for a SHA, oldest first."""
        with self._state.lock:
            found = self._state.statuses_for(self._repo(full_name).full_name, sha)
            return [self._render.status(s) for s in reversed(found)]

    def deployments(self, full_name: str) -> list[dict]:
        """Deployments of a repository, oldest first."""
        with self._state.lock:
            name = self._repo(full_name).full_name
            deps = sorted((d for d in self._state.deployments.values() if d.repo == name), key=lambda d: d.id)
            return [self._render.deployment(d) for d in deps]

    def deployment_statuses(self, full_name: str, deployment_id: int) -> list[dict]:
        """Statuses of one deployment, oldest first."""
        with self._state.lock:
            dep = self._state.deployments.get(deployment_id)
            if dep is None or dep.repo != self._repo(full_name).full_name:
                raise KeyError(f"unknown deployment {deployment_id}")
            return [self._render.deployment_status(self._state.deployment_statuses[i]) for i in dep.status_ids]

    def comments(self, full_name: str, number: int) -> list[dict]:
        """Issue comments on a pull request, oldest first."""
        with self._state.lock:
            name = self._repo(full_name).full_name
            found = sorted((c for c in self._state.comments.values() if c.repo == name and c.number == number),
                           key=lambda c: c.id)
            return [self._render.comment(c) for c in found]

    def reactions(self, full_name: str, comment_id: int) -> list[dict]:
        """Reactions on an issue comment, oldest first."""
        with self._state.lock:
            self._repo(full_name)
            return [self._render.reaction(r) for r in self._state.reactions if r.comment_id == comment_id]

    def labels(self, full_name: str, number: int) -> list[str]:
        """Label names of a pull request."""
        with self._state.lock:
            return list(self._pull(full_name, number).labels)

    def pull(self, full_name: str, number: int) -> dict:
        """Current JSON of a pull request."""
        with self._state.lock:
            return self._render.pull(self._pull(full_name, number))

    # -- faults and request log -------------------------------------------------------------
    def inject_fault(self, method: str, path_pattern: str, status: int, count: int = 1,
                     retry_after: int | None = None) -> None:
        """Fail the next ``count`` requests whose path matches the regex (method ``*`` = any)."""
        add_fault(self._state, method, path_pattern, status, count, retry_after)

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        with self._state.lock:
            self._state.faults.clear()

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Recorded ``(method, path, status)`` of REST calls, in order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def timed_requests(self) -> list[tuple[float, float, str, str, int]]:
        """Recorded ``(arrived, answered, method, path, status)`` of REST calls (``time.time()``), in order."""
        with self._state.lock:
            return [(*t, *r) for t, r in zip(self._state.request_times, self._state.requests, strict=True)]

    def set_latency(self, seconds: float) -> None:
        """Delay every REST request (not the control routes) by ``seconds``, like a distant API."""
        with self._state.lock:
            self._state.latency = max(0.0, float(seconds))

    def set_rate_limit(self, per_hour: int) -> None:
        """Core requests each credential may make per hour (5,000 by default, as for a token)."""
        with self._state.lock:
            self._state.rate_limit = max(1, int(per_hour))

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.request_times.clear()

    # -- webhooks ------------------------------------------------------------------------------
    def webhook_payload(self, event: str, action: str | None, full_name: str, number: int | None = None,
                        **extra: Any) -> dict:
        """Payload GitHub would send for this event, filled in from the current state."""
        return self._payloads.build(event, action, full_name, number, extra)

    def deliver(self, url: str, secret: str, event: str, action: str | None, full_name: str,
                number: int | None = None, *, delivery_id: str | None = None, **extra: Any) -> Delivery:
        """Build, sign and POST a webhook to ``url``."""
        if event == "ping":
            extra.setdefault("url", url)
        payload = self.webhook_payload(event, action, full_name, number, **extra)
        return self._deliverer.deliver(url, secret, event, payload, delivery_id)

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery again: same ``X-GitHub-Delivery``, same body."""
        return self._deliverer.redeliver(delivery_id)

    @property
    def deliveries(self) -> list[Delivery]:
        return self._deliverer.deliveries
