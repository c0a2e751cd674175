"""GitHub reads for the dashboard, as previewbot itself (token or App installation).

The same adapter as the workers' (:class:`integrations.github_client.GitHubClient`, so the same auth
and error mapping), plus one listing: a repository's open pull requests, one request per 30 of them,
so that a page of previews costs one call per repository instead of one per pull request.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.github_client import GitHubClient
from preview.models import PullRef

MAX_OPEN_PULLS = 300


@dataclass(frozen=True, slots=True)
class PullSummary:
    """What the dashboard shows of a pull request."""

    number: int
    title: str
    author: str


class DashboardGitHub(GitHubClient):
    """:class:`GitHubClient` with :meth:`open_pulls`; :meth:`permission` is the collaborator-permission read."""

    def open_pulls(self, repo: str, installation_id: int | None = None) -> list[PullSummary]:
        """Up to :data:`MAX_OPEN_PULLS` open pull requests of ``repo``, newest first."""
        found: list[PullSummary] = []
        with self._repo(PullRef(repo, 0, installation_id), f"listing open pull requests of {repo}") as handle:
            for pull in handle.get_pulls(state="open", sort="created", direction="desc"):
                # attributes of a listed pull request (its raw_data would fetch each one again)
                author = pull.user.login if pull.user is not None else ""
                found.append(PullSummary(int(pull.number), str(pull.title or ""), str(author or "")))
                if len(found) >= MAX_OPEN_PULLS:
                    break
        return found
