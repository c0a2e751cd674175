"""Validation, limits, authentication, rate limits and injected faults."""

from __future__ import annotations

import time

import github
import pytest
import requests
from conftest import FAST, INSTALLATION_ID, REPO, TOKEN

from sandbox.github import GitHubEmulator, schemas

USER = {"Authorization": f"token {TOKEN}"}


def test_bad_credentials(gh: GitHubEmulator) -> None:
    client = github.Github(base_url=gh.url, auth=github.Auth.Token("nope"), retry=None, **FAST)
    with pytest.raises(github.BadCredentialsException) as err:
        client.get_repo(REPO)
    assert err.value.status == 401 and err.value.data["message"] == "Bad credentials"
    assert requests.get(f"{gh.url}/repos/{REPO}", timeout=5).status_code == 401


@pytest.mark.skipif(not schemas.load().available, reason="request schemas not available")
def test_request_validation(gh: GitHubEmulator) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    url = f"{gh.url}/repos/{REPO}/statuses/{sha}"
    bad_state = requests.post(url, headers=USER, json={"state": "bogus"}, timeout=5)
    assert bad_state.status_code == 422 and bad_state.json()["message"].startswith("Invalid request.")
    missing = requests.post(url, headers=USER, json={"context": "x"}, timeout=5)
    assert missing.status_code == 422 and '"state" wasn\'t supplied' in missing.json()["message"]
    reaction = requests.post(f"{gh.url}/repos/{REPO}/issues/1/labels", headers=USER, json={"labels": []}, timeout=5)
    assert reaction.status_code == 422


def test_bad_json(gh: GitHubEmulator) -> None:
    gh.open_pr(REPO)
    resp = requests.post(f"{gh.url}/repos/{REPO}/issues/1/comments", headers=USER, data="{nope", timeout=5)
    assert resp.status_code == 400 and resp.json()["message"] == "Problems parsing JSON"


def test_status_limits(gh: GitHubEmulator, client: github.Github) -> None:
    sha = gh.open_pr(REPO)["head"]["sha"]
    commit = client.get_repo(REPO).get_commit(sha)
    with pytest.raises(github.GithubException) as err:
        commit.create_status("success", description="x" * 141, context="preview")
    assert err.value.status == 422 and err.value.data["errors"][0]["field"] == "description"
    with pytest.raises(github.GithubException) as err:
        commit.create_status("success", target_url="not a url", context="preview")
    assert err.value.status == 422 and err.value.data["errors"][0]["field"] == "target_url"
    for _ in range(1000):
        gh.add_status(REPO, sha, "preview", "pending")
    with pytest.raises(github.GithubException) as err:
        commit.create_status("success", context="preview")
    assert err.value.data["errors"][0]["message"] == "This SHA and context has reached the maximum number of statuses."
    commit.create_status("success", context="other")


def test_deployment_status_limits_and_contexts(gh: GitHubEmulator, client: github.Github) -> None:
    sha = gh.open_pr(REPO, branch="feat")["head"]["sha"]
    repo = client.get_repo(REPO)
    gh.add_status(REPO, sha, "ci/build", "failure")
    with pytest.raises(github.GithubException) as err:
        repo.create_deployment(ref="feat", auto_merge=False)
    assert err.value.status == 409
    dep = repo.create_deployment(ref="feat", environment="pr-1", auto_merge=False, required_contexts=[])
    with pytest.raises(github.GithubException) as err:
        dep.create_status("success", description="y" * 141)
    assert err.value.status == 422
    resp = requests.post(f"{dep.url}/statuses", headers=USER, json={"state": "done"}, timeout=5)
    assert resp.status_code == 422


def test_app_jwt_installation_token_and_expiry(rsa_keys: tuple[str, str]) -> None:
    emu = GitHubEmulator(app_id=77, app_public_key_pem=rsa_keys[1], token_ttl=1.0).start()
    try:
        emu.add_repo(REPO)
        emu.add_repo("acme/other")
        emu.add_installation(9, [REPO])
        integration = github.GithubIntegration(auth=github.Auth.AppAuth(77, rsa_keys[0]), base_url=emu.url, **FAST)
        jwt_token = integration.create_jwt()
        blocked = requests.get(
            f"{emu.url}/repos/{REPO}/pulls", timeout=5, headers={"Authorization": f"Bearer {jwt_token}"}
        )
        assert blocked.status_code == 403
        token = integration.get_access_token(9).token
        client = github.Github(base_url=emu.url, auth=github.Auth.Token(token), retry=None, **FAST)
        assert client.get_repo(REPO).full_name == REPO
        with pytest.raises(github.UnknownObjectException):
            client.get_repo("acme/other")
        app_only = requests.get(f"{emu.url}/app", headers={"Authorization": f"token {token}"}, timeout=5)
        assert app_only.status_code == 401
        deadline = time.monotonic() + 5
        status = 200
        while time.monotonic() < deadline and status == 200:
            status = requests.get(
                f"{emu.url}/repos/{REPO}", headers={"Authorization": f"token {token}"}, timeout=5
            ).status_code
        assert status == 401
        wrong = github.GithubIntegration(auth=github.Auth.AppAuth(78, rsa_keys[0]), base_url=emu.url, **FAST)
        with pytest.raises(github.GithubException) as err:
            wrong.get_access_token(9)
        assert err.value.status == 401
    finally:
        emu.stop()


def test_expire_tokens(gh: GitHubEmulator, rsa_keys: tuple[str, str]) -> None:
    integration = github.GithubIntegration(auth=github.Auth.AppAuth(gh.app_id, rsa_keys[0]), base_url=gh.url, **FAST)
    token = integration.get_access_token(INSTALLATION_ID).token
    headers = {"Authorization": f"token {token}"}
    assert requests.get(f"{gh.url}/repos/{REPO}", headers=headers, timeout=5).status_code == 200
    gh.expire_tokens()
    assert requests.get(f"{gh.url}/repos/{REPO}", headers=headers, timeout=5).status_code == 401


def test_rate_limit_headers_decrement(gh: GitHubEmulator) -> None:
    first = requests.get(f"{gh.url}/repos/{REPO}", headers=USER, timeout=5)
    second = requests.get(f"{gh.url}/repos/{REPO}", headers=USER, timeout=5)
    assert first.headers["X-RateLimit-Limit"] == "5000" and first.headers["X-RateLimit-Resource"] == "core"
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert int(second.headers["X-RateLimit-Used"]) == 2 and int(second.headers["X-RateLimit-Reset"]) > time.time()


def test_injected_secondary_rate_limit_and_server_error(gh: GitHubEmulator, client: github.Github) -> None:
    gh.open_pr(REPO)
    gh.inject_fault("POST", r"/issues/\d+/comments$", 429, retry_after=30)
    issue = client.get_repo(REPO).get_issue(1)
    with pytest.raises(github.GithubException) as err:
        issue.create_comment("hello")
    assert err.value.status == 429 and "secondary rate limit" in err.value.data["message"]
    assert err.value.headers["retry-after"] == "30"
    gh.inject_fault("*", r"/issues/\d+/comments$", 403, retry_after=60)
    with pytest.raises(github.RateLimitExceededException) as err:
        issue.create_comment("hello")
    assert err.value.status == 403 and err.value.headers["retry-after"] == "60"
    gh.inject_fault("GET", r"/pulls/1$", 502, count=2)
    repo = client.get_repo(REPO)
    for _ in range(2):
        with pytest.raises(github.GithubException) as err:
            repo.get_pull(1)
        assert err.value.status == 502
    assert repo.get_pull(1).number == 1
    assert ("POST", f"/repos/{REPO}/issues/1/comments", 429) in gh.requests
    assert [r[2] for r in gh.requests if r[1] == f"/repos/{REPO}/pulls/1"] == [502, 502, 200]
    gh.clear_requests()
    assert gh.requests == []
