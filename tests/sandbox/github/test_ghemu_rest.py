"""Every REST operation of the subset, driven through PyGithub over HTTP."""

from __future__ import annotations

import github
import requests
from conftest import FAST, INSTALLATION_ID, REPO, TOKEN

from sandbox.github import GitHubEmulator


def test_repo_and_pulls(gh: GitHubEmulator, client: github.Github) -> None:
    pr = gh.open_pr(REPO, branch="feat", labels=["preview"], body="Body")
    gh.open_pr(REPO, title="Other")
    gh.close_pr(REPO, 2, merged=True)
    repo = client.get_repo(REPO)
    assert repo.full_name == REPO and repo.default_branch == "main"
    pull = repo.get_pull(1)
    assert pull.head.sha == pr["head"]["sha"] and pull.head.ref == "feat"
    assert [lb.name for lb in pull.labels] == ["preview"] and pull.state == "open" and not pull.merged
    assert [p.number for p in repo.get_pulls(state="open")] == [1]
    assert [p.number for p in repo.get_pulls(state="closed")] == [2]
    merged = repo.get_pull(2)
    assert merged.merged and merged.merged_at is not None
    assert sorted(p.number for p in repo.get_pulls(state="all")) == [1, 2]


def test_fork_pr_has_other_head_repo(gh: GitHubEmulator, client: github.Github) -> None:
    gh.open_pr(REPO, author="mallory", fork=True, draft=True)
    pull = client.get_repo(REPO).get_pull(1)
    assert pull.head.repo.full_name == "mallory/web" and pull.head.repo.fork
    assert pull.base.repo.full_name == REPO and pull.draft


def test_pull_follows_push_and_labels(gh: GitHubEmulator, client: github.Github) -> None:
    gh.open_pr(REPO, number=7)
    new_sha = gh.push(REPO, 7)
    gh.set_labels(REPO, 7, ["a", "b"])
    gh.set_draft(REPO, 7, True)
    pull = client.get_repo(REPO).get_pull(7)
    assert pull.head.sha == new_sha and pull.draft and [lb.name for lb in pull.labels] == ["a", "b"]
    gh.close_pr(REPO, 7)
    gh.reopen_pr(REPO, 7)
    assert client.get_repo(REPO).get_pull(7).state == "open"


def test_commit_statuses(gh: GitHubEmulator, client: github.Github) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    commit = client.get_repo(REPO).get_commit(sha)
    commit.create_status("pending", "https://ci.example.com/1", "Deploying", "preview")
    gh.add_status(REPO, sha, "ci/build", "success")
    assert commit.get_combined_status().state == "pending"
    commit.create_status("success", "https://ci.example.com/1", "Ready", "preview")
    combined = commit.get_combined_status()
    assert combined.state == "success" and combined.total_count == 2
    assert [s.state for s in commit.get_statuses()] == ["success", "success", "pending"]
    assert [s["state"] for s in gh.statuses(REPO, sha)] == ["pending", "success", "success"]
    assert gh.statuses(REPO, sha)[0]["creator"]["login"] == "previewbot[bot]"
    gh.add_status(REPO, sha, "ci/test", "failure")
    assert commit.get_combined_status().state == "failure"


def test_statuses_pagination_link_header(gh: GitHubEmulator) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    for i in range(5):
        gh.add_status(REPO, sha, f"ctx{i}", "success")
    resp = requests.get(
        f"{gh.url}/repos/{REPO}/commits/{sha}/statuses",
        params={"per_page": 2},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=5,
    )
    assert len(resp.json()) == 2
    assert 'rel="next"' in resp.headers["Link"] and "page=3" in resp.headers["Link"]


def test_checks(gh: GitHubEmulator, client: github.Github) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    gh.add_check_run(REPO, sha, "build")
    gh.add_check_run(REPO, sha, "lint", status="in_progress", conclusion=None)
    commit = client.get_repo(REPO).get_commit(sha)
    runs = {r.name: r for r in commit.get_check_runs()}
    assert runs["build"].conclusion == "success" and runs["lint"].status == "in_progress"
    suites = list(commit.get_check_suites())
    assert len(suites) == 1 and suites[0].status == "in_progress" and suites[0].app.slug == "github-actions"


def test_check_run_create_update_with_installation_token(gh: GitHubEmulator, rsa_keys: tuple[str, str]) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    integration = github.GithubIntegration(auth=github.Auth.AppAuth(gh.app_id, rsa_keys[0]), base_url=gh.url, **FAST)
    token = integration.get_access_token(INSTALLATION_ID).token
    repo = github.Github(base_url=gh.url, auth=github.Auth.Token(token), retry=None, **FAST).get_repo(REPO)
    run = repo.create_check_run(name="preview", head_sha=sha, status="in_progress")
    assert run.status == "in_progress" and run.app.id == gh.app_id
    run.edit(conclusion="success", output={"title": "Ready", "summary": "Preview is up"})
    again = repo.get_check_run(run.id)
    assert again.status == "completed" and again.conclusion == "success" and again.output.title == "Ready"


def test_deployments(gh: GitHubEmulator, client: github.Github) -> None:
    gh.open_pr(REPO, branch="feat")
    repo = client.get_repo(REPO)
    dep = repo.create_deployment(
        ref="feat",
        environment="pr-1",
        transient_environment=True,
        production_environment=False,
        required_contexts=[],
        auto_merge=False,
        payload={"pr": 1},
        description="Preview",
    )
    assert dep.environment == "pr-1" and dep.payload == {"pr": 1} and dep.transient_environment
    dep.create_status("in_progress", target_url="https://ci.example.com/log", description="Deploying")
    dep.create_status("success", environment_url="https://pr-1.preview.example.com", description="Ready")
    states = [s.state for s in dep.get_statuses()]
    assert states == ["success", "in_progress"]
    assert repo.get_deployment(dep.id).sha == gh.pull(REPO, 1)["head"]["sha"]
    assert [d.id for d in repo.get_deployments(environment="pr-1")] == [dep.id]
    listed = gh.deployment_statuses(REPO, dep.id)
    assert listed[-1]["environment_url"] == "https://pr-1.preview.example.com"
    assert listed[0]["target_url"] == "https://ci.example.com/log"


def test_delete_deployment(gh: GitHubEmulator, client: github.Github) -> None:
    repo = client.get_repo(REPO)
    first = repo.create_deployment(ref="main", environment="pr-1", required_contexts=[], auto_merge=False)
    second = repo.create_deployment(ref="main", environment="pr-1", required_contexts=[], auto_merge=False)
    url = f"{gh.url}/repos/{REPO}/deployments/{first.id}"
    headers = {"Authorization": f"token {TOKEN}"}
    refused = requests.delete(url, headers=headers, timeout=5)
    assert refused.status_code == 422 and "active deployment" in refused.json()["message"]
    first.create_status("inactive")
    assert requests.delete(url, headers=headers, timeout=5).status_code == 204
    assert [d["id"] for d in gh.deployments(REPO)] == [second.id]


def test_comments_reactions_labels(gh: GitHubEmulator, client: github.Github) -> None:
    gh.open_pr(REPO, labels=["preview"])
    repo = client.get_repo(REPO)
    comment = repo.get_issue(1).create_comment("Preview deploying")
    created = comment.updated_at
    comment.edit("Preview ready")
    assert comment.body == "Preview ready" and comment.updated_at > created
    assert comment.user.login == "previewbot[bot]"
    reaction = comment.create_reaction("rocket")
    assert reaction.content == "rocket"
    assert [r["content"] for r in gh.reactions(REPO, comment.id)] == ["rocket"]
    assert [c.body for c in repo.get_issue(1).get_comments()] == ["Preview ready"]
    gh.add_comment(REPO, 1, "/preview redeploy", author="alice")
    assert [c["user"]["login"] for c in gh.comments(REPO, 1)] == ["previewbot[bot]", "alice"]
    pull = repo.get_pull(1)
    pull.add_to_labels("preview:ready")
    pull.remove_from_labels("preview")
    assert gh.labels(REPO, 1) == ["preview:ready"]
    comment.delete()
    assert [c["body"] for c in gh.comments(REPO, 1)] == ["/preview redeploy"]


def test_collaborator_permission(gh: GitHubEmulator, client: github.Github) -> None:
    gh.set_permission(REPO, "alice", "maintain")
    gh.set_permission(REPO, "bob", "triage")
    repo = client.get_repo(REPO)
    assert repo.get_collaborator_permission("alice") == "write"
    assert repo.get_collaborator_permission("bob") == "read"
    assert repo.get_collaborator_permission("acme") == "admin"
    raw = requests.get(
        f"{gh.url}/repos/{REPO}/collaborators/alice/permission", headers={"Authorization": f"token {TOKEN}"}, timeout=5
    ).json()
    assert raw["role_name"] == "maintain" and raw["user"]["login"] == "alice"
    gh.add_repo("acme/secret", private=True)
    assert client.get_repo("acme/secret").get_collaborator_permission("carol") == "none"


def test_contents(gh: GitHubEmulator, client: github.Github) -> None:
    sha = gh.open_pr(REPO, branch="feat")["head"]["sha"]
    gh.set_file(REPO, "feat", ".preview.yml", "image: web\n")
    repo = client.get_repo(REPO)
    content = repo.get_contents(".preview.yml", ref=sha)
    assert content.decoded_content == b"image: web\n" and content.encoding == "base64" and content.type == "file"
    try:
        repo.get_contents(".preview.yml", ref="main")
    except github.UnknownObjectException as exc:
        assert exc.status == 404 and exc.data["message"] == "Not Found"
    else:
        raise AssertionError("expected 404")


def test_app_endpoints(gh: GitHubEmulator, rsa_keys: tuple[str, str]) -> None:
    integration = github.GithubIntegration(auth=github.Auth.AppAuth(gh.app_id, rsa_keys[0]), base_url=gh.url, **FAST)
    assert [i.id for i in integration.get_installations()] == [INSTALLATION_ID]
    owner, name = REPO.split("/")
    assert integration.get_repo_installation(owner, name).id == INSTALLATION_ID
    assert integration.get_app().id == gh.app_id
    token = integration.get_access_token(INSTALLATION_ID)
    assert token.token.startswith("ghs_") and token.expires_at is not None
    repos = requests.get(
        f"{gh.url}/installation/repositories", headers={"Authorization": f"token {token.token}"}, timeout=5
    ).json()
    assert repos["total_count"] == 1 and repos["repositories"][0]["full_name"] == REPO


def test_rate_limit(gh: GitHubEmulator, client: github.Github) -> None:
    client.get_repo(REPO)
    core = client.get_rate_limit().resources.core
    assert core.limit == 5000 and core.remaining == 4999


def test_api_v3_prefix(gh: GitHubEmulator) -> None:
    pr = gh.open_pr(REPO)
    client = github.Github(base_url=f"{gh.url}/api/v3", auth=github.Auth.Token(TOKEN), retry=None, **FAST)
    pull = client.get_repo(REPO).get_pull(1)
    assert pull.head.sha == pr["head"]["sha"]
    pull.create_issue_comment("via prefix")
    assert gh.comments(REPO, 1)[0]["body"] == "via prefix"
