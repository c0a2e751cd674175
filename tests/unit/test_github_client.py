"""GitHub adapter wiring that needs no server: client caching per installation, mode choice, key checks."""

from __future__ import annotations

import pytest

from integrations.github_auth import InstallationTokens
from integrations.github_client import GitHubClient, _InstallationClients
from preview.ports import PermanentError
from preview.settings import Secret, Settings


class FakeTokens:
    """Hands out whatever token the test sets per installation."""

    def __init__(self) -> None:
        self.current = {7: "ghs_a", 8: "ghs_b"}

    def token(self, installation_id: int) -> str:
        return self.current[installation_id]


def test_one_github_per_installation_rebuilt_only_when_the_token_changes() -> None:
    tokens = FakeTokens()
    clients = _InstallationClients(tokens, "https://ghe.example.com/api/v3")  # type: ignore[arg-type]
    first = clients(7)
    assert clients(7) is first and clients(8) is not first
    tokens.current[7] = "ghs_c"
    assert clients(7) is not first
    with pytest.raises(PermanentError):
        clients(None)


def test_unreadable_private_key_fails_without_echoing_it() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END RSA PRIVATE KEY-----\n"
    settings = Settings(github_app_id=3, github_private_key=Secret(pem))
    with pytest.raises(PermanentError) as caught:
        GitHubClient.from_settings(settings)
    assert "c2VjcmV0" not in str(caught.value) and caught.value.__cause__ is None


def test_repr_shows_no_secrets() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    tokens = InstallationTokens(3, pem, "https://api.github.com")
    assert repr(tokens) == "InstallationTokens(app_id=3, installations=0)"


def test_a_pull_request_whose_head_repository_is_gone_is_a_fork() -> None:
    from integrations.github_client import to_pull_request
    from preview.models import PullRef

    base = {"ref": "main", "repo": {"full_name": "acme/web"}}
    data = {"state": "open", "base": base, "head": {"sha": "a" * 40, "ref": "x", "repo": None}}
    assert to_pull_request(PullRef("acme/web", 1), data).fork
    data["head"]["repo"] = {"full_name": "ACME/web"}
    assert not to_pull_request(PullRef("acme/web", 1), data).fork
    data["head"]["repo"] = {"full_name": "stranger/web"}
    assert to_pull_request(PullRef("acme/web", 1), data).fork
