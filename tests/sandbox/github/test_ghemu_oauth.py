"""The emulator's OAuth web flow (github.com/login/oauth/…) and the endpoints a user's token calls."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.github import GitHubEmulator

CLIENT, SECRET = "Iv1.0123456789abcdef", "s3cr3t-client"
CALLBACK = "http://127.0.0.1:5000/previews/oauth/callback"


@pytest.fixture
def oauth(gh: GitHubEmulator) -> GitHubEmulator:
    gh.add_oauth_app(CLIENT, SECRET, CALLBACK)
    gh.add_repo("acme/secret", private=True)
    gh.set_permission("acme/secret", "octocat", "write")
    gh.add_repo("other/private", private=True)
    gh.set_oauth_user("octocat")
    return gh


def authorize(gh: GitHubEmulator, **params: str) -> requests.Response:
    query = {"client_id": CLIENT, "redirect_uri": CALLBACK, "state": "st-1", **params}
    return requests.get(f"{gh.url}/login/oauth/authorize", params=query, allow_redirects=False, timeout=5)


def decide(gh: GitHubEmulator, page: requests.Response, button: str = "authorize", **change: str) -> dict:
    """Submit the consent form of ``page`` as a browser would; the redirect's query parameters."""
    fields = dict(re.findall(r"type='hidden' name='(\w+)' value='([^']*)'", page.text))
    fields["login"] = re.search(r"name='login' id='login' value='([^']*)'", page.text).group(1)
    fields.update({button: "1", **change})
    answer = requests.post(f"{gh.url}/login/oauth/authorize", data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def exchange(gh: GitHubEmulator, code: str, accept: str = "application/json", **change: str) -> requests.Response:
    data = {"client_id": CLIENT, "client_secret": SECRET, "code": code, "redirect_uri": CALLBACK, **change}
    return requests.post(f"{gh.url}/login/oauth/access_token", data=data, headers={"Accept": accept}, timeout=5)


def test_web_flow_gives_a_user_token(oauth: GitHubEmulator) -> None:
    page = authorize(oauth)
    assert page.status_code == 200 and "octocat" in page.text
    back = decide(oauth, page)
    assert back["state"] == "st-1" and re.fullmatch(r"[0-9a-f]{20}", back["code"])
    answer = exchange(oauth, back["code"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("gho_")
    me = requests.get(f"{oauth.url}/user", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5)
    assert me.status_code == 200 and me.json()["login"] == "octocat"
    assert "X-RateLimit-Remaining" in me.headers  # /user is the REST API again


def test_the_form_may_name_another_login(oauth: GitHubEmulator) -> None:
    back = decide(oauth, authorize(oauth), login="hubot")
    token = exchange(oauth, back["code"]).json()["access_token"]
    me = requests.get(f"{oauth.url}/user", headers={"Authorization": f"token {token}"}, timeout=5)
    assert me.json()["login"] == "hubot"


def test_codes_are_single_use_and_checked(oauth: GitHubEmulator) -> None:
    code = decide(oauth, authorize(oauth))["code"]
    assert exchange(oauth, code, client_secret="wrong").json()["error"] == "incorrect_client_credentials"
    assert exchange(oauth, code, redirect_uri=CALLBACK + "/elsewhere").json()["error"] == "redirect_uri_mismatch"
    assert exchange(oauth, code).status_code == 200
    again = exchange(oauth, code)
    assert again.status_code == 200  # GitHub answers token errors with 200 and an error body
    assert again.json() == {
        "error": "bad_verification_code",
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
        "troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
    }
    assert exchange(oauth, "0" * 20).json()["error"] == "bad_verification_code"


def test_token_answer_formats(oauth: GitHubEmulator) -> None:
    form = exchange(oauth, decide(oauth, authorize(oauth))["code"], accept="*/*")
    assert form.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(form.text)["token_type"] == ["bearer"]
    xml = exchange(oauth, decide(oauth, authorize(oauth))["code"], accept="application/xml")
    assert xml.text.startswith("<OAuth>") and "<access_token>gho_" in xml.text


def test_cancel_and_redirect_errors(oauth: GitHubEmulator) -> None:
    denied = decide(oauth, authorize(oauth), button="cancel")
    assert denied["error"] == "access_denied" and denied["state"] == "st-1" and "code" not in denied
    wrong = authorize(oauth, redirect_uri="http://evil.example/callback")
    assert wrong.status_code == 302
    location = urlsplit(wrong.headers["Location"])
    assert location.netloc == "127.0.0.1:5000"  # back to the registered callback, never to the other host
    assert parse_qs(location.query)["error"] == ["redirect_uri_mismatch"]
    assert authorize(oauth, client_id="unknown").status_code == 404
    below = authorize(oauth, redirect_uri=CALLBACK + "/deeper")
    assert below.status_code == 200  # a path below the callback URL is allowed, as on GitHub


def test_user_token_sees_only_readable_repositories(oauth: GitHubEmulator) -> None:
    oauth.add_user_token("gho_octocat", "octocat")
    auth = {"Authorization": "token gho_octocat"}
    assert requests.get(f"{oauth.url}/repos/acme/secret", headers=auth, timeout=5).status_code == 200
    assert requests.get(f"{oauth.url}/repos/acme/web", headers=auth, timeout=5).json()["permissions"]["pull"]
    assert requests.get(f"{oauth.url}/repos/other/private", headers=auth, timeout=5).status_code == 404
    listed = requests.get(f"{oauth.url}/user/repos", headers=auth, timeout=5).json()
    assert [r["full_name"] for r in listed] == ["acme/secret"]
    assert listed[0]["permissions"]["push"] is True


def test_oauth_pages_need_no_api_credentials_and_are_not_rate_limited(oauth: GitHubEmulator) -> None:
    oauth.inject_fault("*", "/login/oauth/.*", 500, count=5)
    assert authorize(oauth).status_code == 200
    assert all(not path.startswith("/login/") for _, path, _ in oauth.requests)


def test_control_api(gh: GitHubEmulator) -> None:
    ok = requests.post(f"{gh.url}/_emulator/oauth-apps", json={"client_id": "c1", "client_secret": "s1"}, timeout=5)
    assert ok.status_code == 201
    requests.post(f"{gh.url}/_emulator/oauth-user", json={"login": "mona"}, timeout=5)
    page = requests.get(f"{gh.url}/login/oauth/authorize", params={"client_id": "c1", "redirect_uri": CALLBACK},
                        timeout=5)
    assert "value='mona'" in page.text
