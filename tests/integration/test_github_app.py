"""GitHub App mode against the GitHub emulator: app JWT, installation tokens, caching, renewal, many installations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from integrations.github_auth import InstallationTokens
from integrations.github_client import GitHubClient
from preview.models import PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from preview.settings import Secret, Settings
from sandbox.github import GitHubEmulator
from tests.helpers import rsa_keypair

APP_ID = 4242
WEB, API, OTHER = "acme/web", "globex/api", "initech/site"


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    """The App's private and public PEM."""
    return rsa_keypair()


@pytest.fixture
def start(keys: tuple[str, str]) -> Iterator[Callable[..., GitHubEmulator]]:
    """Start an emulator trusting the App's key, with installation 7 on WEB and 8 on API."""
    started: list[GitHubEmulator] = []

    def _start(token_ttl: float = 3600.0) -> GitHubEmulator:
        emulator = GitHubEmulator(app_id=APP_ID, app_public_key_pem=keys[1], token_ttl=token_ttl).start()
        emulator.add_installation(7, [WEB])
        emulator.add_installation(8, [API])
        emulator.add_repo(OTHER)
        started.append(emulator)
        return emulator

    yield _start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start: Callable[..., GitHubEmulator]) -> GitHubEmulator:
    return start()


def token_posts(emulator: GitHubEmulator, installation_id: int) -> int:
    path = f"/app/installations/{installation_id}/access_tokens"
    return sum(1 for method, p, status in emulator.requests if method == "POST" and p == path and status == 201)


def app_client(emulator: GitHubEmulator, private_pem: str, api_url: str | None = None) -> GitHubClient:
    settings = Settings(
        github_app_id=APP_ID, github_private_key=Secret(private_pem), github_api_url=api_url or emulator.url
    )
    return GitHubClient.from_settings(settings)


def test_app_jwt_claims(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    tokens = InstallationTokens(APP_ID, keys[0], emulator.url, clock=lambda: 1_000_000.0)
    claims = jwt.decode(tokens.app_jwt(), keys[1], algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": 1_000_000 - 60, "exp": 1_000_000 + 540, "iss": str(APP_ID)}


def test_many_calls_one_token_request_per_installation(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    tokens = InstallationTokens(APP_ID, keys[0], emulator.url)
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(tokens.token, [7, 8] * 40))
    assert len(set(got[0::2])) == 1 and len(set(got[1::2])) == 1
    assert got[0] != got[1] and got[0].startswith("ghs_")
    assert token_posts(emulator, 7) == 1 and token_posts(emulator, 8) == 1


def test_installations_reach_only_their_own_repos(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    web, api = emulator.open_pr(WEB), emulator.open_pr(API)
    client = app_client(emulator, keys[0])
    for _ in range(5):
        assert client.get_pull(PullRef(WEB, web["number"], 7)).head_sha == web["head"]["sha"]
        assert client.get_pull(PullRef(API, api["number"], 8)).head_sha == api["head"]["sha"]
    with pytest.raises(PermanentError, match="404"):
        client.get_pull(PullRef(API, api["number"], 7))
    assert token_posts(emulator, 7) == 1 and token_posts(emulator, 8) == 1


def test_token_renewed_before_it_expires(start: Callable[..., GitHubEmulator], keys: tuple[str, str]) -> None:
    emulator = start(token_ttl=330)
    skew = [0.0]
    tokens = InstallationTokens(APP_ID, keys[0], emulator.url, renew_before=300, clock=lambda: time.time() + skew[0])
    first = tokens.token(7)
    assert tokens.token(7) == first and token_posts(emulator, 7) == 1
    skew[0] = 40.0  # 290 s left: inside the renewal window, still valid at GitHub
    second = tokens.token(7)
    assert second != first and token_posts(emulator, 7) == 2
    skew[0] = 0.0  # the new token has its full lifetime ahead: cached again
    assert tokens.token(7) == second and token_posts(emulator, 7) == 2


def test_short_lived_tokens_are_always_fresh(start: Callable[..., GitHubEmulator], keys: tuple[str, str]) -> None:
    emulator = start(token_ttl=200)
    tokens = InstallationTokens(APP_ID, keys[0], emulator.url, renew_before=300)
    assert tokens.token(7) != tokens.token(7)
    assert token_posts(emulator, 7) == 2


def test_rejected_token_is_invalidated_and_replaced(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    pr = emulator.open_pr(WEB)
    ref = PullRef(WEB, pr["number"], 7)
    client = app_client(emulator, keys[0])
    client.get_pull(ref)
    emulator.expire_tokens()
    with pytest.raises(TemporaryError, match="401"):
        client.get_pull(ref)
    assert client.get_pull(ref).head_sha == pr["head"]["sha"]
    assert token_posts(emulator, 7) == 2
    pull_path = f"/repos/{WEB}/pulls/{pr['number']}"
    assert [s for m, p, s in emulator.requests if p == pull_path] == [200, 401, 200]


def test_installation_for_resolves_and_caches(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    tokens = InstallationTokens(APP_ID, keys[0], emulator.url)
    assert tokens.installation_for(WEB) == 7
    assert tokens.installation_for(API) == 8
    assert tokens.installation_for(WEB) == 7
    assert sum(1 for _m, p, _s in emulator.requests if p == f"/repos/{WEB}/installation") == 1
    with pytest.raises(PermanentError, match=f"previewbot is not installed on {OTHER}"):
        tokens.installation_for(OTHER)


def test_enterprise_base_url(emulator: GitHubEmulator, keys: tuple[str, str]) -> None:
    pr = emulator.open_pr(WEB)
    client = app_client(emulator, keys[0], f"{emulator.url}/api/v3")
    assert client.get_pull(PullRef(WEB, pr["number"])).head_sha == pr["head"]["sha"]
    tokens = InstallationTokens(APP_ID, keys[0], f"{emulator.url}/api/v3/")
    assert tokens.token(8).startswith("ghs_")


def test_wrong_private_key_is_permanent_and_quiet(emulator: GitHubEmulator) -> None:
    wrong = rsa_keypair()[0]
    tokens = InstallationTokens(APP_ID, wrong, emulator.url)
    with pytest.raises(PermanentError, match="401") as caught:
        tokens.token(7)
    body = "".join(wrong.splitlines()[1:-1])
    assert "PRIVATE KEY" not in str(caught.value) and body[:40] not in str(caught.value)
    with pytest.raises(PermanentError, match="private key") as caught:
        InstallationTokens(APP_ID, "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n", emulator.url)
    assert "not-a-key" not in str(caught.value)


def test_from_settings_app_mode_end_to_end(
    emulator: GitHubEmulator, keys: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pr = emulator.open_pr(WEB, labels=["preview"])
    ref = PullRef(WEB, pr["number"], installation_id=None)
    client = app_client(emulator, keys[0])
    pull = client.get_pull(ref)
    assert pull.head_sha == pr["head"]["sha"] and pull.labels == ("preview",) and pull.is_open
    client.set_status(ref, pull.head_sha, "preview", StatusReport(State.SUCCESS, "Ready", "https://x.preview.test"))
    [status] = emulator.statuses(WEB, pull.head_sha)
    assert (status["state"], status["context"], status["target_url"]) == (
        "success",
        "preview",
        "https://x.preview.test",
    )
    assert token_posts(emulator, 7) == 1
    assert sum(1 for _m, p, _s in emulator.requests if p == f"/repos/{WEB}/installation") == 1
    assert "ghs_" not in caplog.text and "eyJ" not in caplog.text


def test_from_settings_token_mode_unchanged(emulator: GitHubEmulator) -> None:
    emulator.add_token("personal-token")
    pr = emulator.open_pr(OTHER)
    client = GitHubClient.from_settings(Settings(github_token=Secret("personal-token"), github_api_url=emulator.url))
    assert client.get_pull(PullRef(OTHER, pr["number"])).head_sha == pr["head"]["sha"]
    assert not any(p.startswith("/app/") for _m, p, _s in emulator.requests)
