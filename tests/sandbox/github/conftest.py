"""Fixtures for the GitHub emulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import github
import pytest

from sandbox.github import GitHubEmulator
from tests.helpers import rsa_keypair

TOKEN = "ghp_testtoken"
REPO = "acme/web"
INSTALLATION_ID = 4242
APP_ID = 314
FAST = {"seconds_between_requests": 0, "seconds_between_writes": 0}


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a throwaway App key."""
    return rsa_keypair()


@pytest.fixture
def gh(rsa_keys: tuple[str, str]) -> Iterator[GitHubEmulator]:
    """A running emulator with one token, one repository and one installation."""
    emu = GitHubEmulator(app_id=APP_ID, app_public_key_pem=rsa_keys[1]).start()
    emu.add_token(TOKEN)
    emu.add_repo(REPO)
    emu.add_installation(INSTALLATION_ID, [REPO], account="acme")
    yield emu
    emu.stop()


@pytest.fixture
def client(gh: GitHubEmulator) -> github.Github:
    """PyGithub over HTTP with raw errors (no retries)."""
    return github.Github(base_url=gh.url, auth=github.Auth.Token(TOKEN), retry=None, **FAST)
