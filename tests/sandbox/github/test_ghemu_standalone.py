"""Without the reference material the emulator still answers bad bodies with GitHub's 422."""

from __future__ import annotations

import pytest
import requests

from sandbox.github import GitHubEmulator


@pytest.fixture
def standalone(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("PREVIEWBOT_GITHUB_REFERENCE", str(tmp_path / "absent"))
    emulator = GitHubEmulator().start()
    emulator.add_token("t")
    emulator.add_repo("acme/app")
    yield emulator
    emulator.stop()


def test_missing_field_is_422_not_500(standalone: GitHubEmulator) -> None:
    headers = {"Authorization": "token t"}
    answer = requests.post(f"{standalone.url}/repos/acme/app/statuses/{'a' * 40}", json={}, headers=headers, timeout=5)
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("Invalid request.")
    ok = requests.post(
        f"{standalone.url}/repos/acme/app/statuses/{'a' * 40}", json={"state": "success"}, headers=headers, timeout=5
    )
    assert ok.status_code == 201
