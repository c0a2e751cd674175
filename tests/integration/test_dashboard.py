"""The dashboard against the emulators and a real Redis: sign-in, visibility, buttons, CSRF, no secret shown.

The dashboard runs as the web process's ServiceAccount ``previewbot/previewbot-web``, under the rules
``k8s/deploy/base/rbac.yaml`` gives it (ClusterRole ``previewbot-dashboard``): a right it lacks fails the test.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient
from kubernetes import client as k8s

from app import create_app
from integrations.kube import KubeCluster
from preview import naming
from preview.models import CommandKind, PullRef, State, StatusReport
from preview.naming import Annotations
from preview.reporting import Reporter
from preview.settings import load
from tests.conftest import TOKEN, previewbot_token
from tests.helpers import RecordingQueue, wait_for
from tests.unit.fakes import FakeGitHub
from workers.history import RedisStatusHistory
from workers.ledger import RedisLedger

WEBHOOK_SECRET = "dashboard-webhook-secret"
CLIENT_ID, CLIENT_SECRET = "Iv1.dashboardclient", "dashboard-client-secret"
SECRET_KEY = "dashboard-session-key-" + "x" * 20
SHOP, ADMIN_REPO, HIDDEN = "acme/web-shop", "acme/admin-tools", "acme/private-app"
SHA = {1: "1" * 40, 2: "2" * 40, 3: "3" * 40, 4: "4" * 40}


def ns_name(repo: str, number: int) -> str:
    return naming.namespace_name(repo, number)


@pytest.fixture(scope="module")
def world(kube, gh, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three repositories with previews, people with different permissions, objects and events."""
    for repo, private in ((SHOP, False), (ADMIN_REPO, False), (HIDDEN, True)):
        gh.add_repo(repo, private=private)
    gh.set_permission(SHOP, "writer", "write")
    gh.set_permission(SHOP, "reader", "read")
    gh.set_permission(HIDDEN, "writer", "write")
    gh.add_oauth_app(CLIENT_ID, CLIENT_SECRET)
    previews = ((SHOP, 1, "Add the <b>basket</b>"), (SHOP, 2, "Faster search"), (ADMIN_REPO, 3, "Audit log"),
                (HIDDEN, 4, "Secret feature"))
    cluster = KubeCluster(kube.api_client())  # the admin sets the scene
    for repo, number, title in previews:
        gh.open_pr(repo, number, head_sha=SHA[number], title=title, author=f"author{number}")
        name = ns_name(repo, number)
        inventory = [f"apps/v1/Deployment/{name}/web", f"v1/Service/{name}/web"]
        annotations = {
            Annotations.REPO: repo, Annotations.PR: str(number), Annotations.APPLIED_SHA: SHA[number],
            Annotations.HEAD_SHA: SHA[number], Annotations.URL: f"https://pr-{number}.preview.test",
            Annotations.CREATED_AT: "2026-01-01T10:00:00Z", Annotations.INVENTORY: json.dumps(inventory),
        }
        if number == 2:
            annotations[Annotations.EXPIRES_AT] = "2099-01-01T00:00:00Z"
        cluster.apply({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name, "labels": naming.labels(repo, number), "annotations": annotations}})
        cluster.apply({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": name, "labels": naming.labels(repo, number)},
            "spec": {"replicas": 0 if number == 2 else 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "example.org/web:1"}]}}},
        })
    core = k8s.CoreV1Api(kube.api_client())
    for i in range(25):
        core.create_namespaced_event(ns_name(SHOP, 1), {
            "metadata": {"name": f"web.{i}"}, "involvedObject": {"kind": "Pod", "name": "web-abc", "namespace":
                                                                  ns_name(SHOP, 1)},
            "reason": "BackOff" if i == 24 else f"Reason{i}", "message": f"event number {i}", "type": "Warning",
            "count": 1, "lastTimestamp": f"2026-01-01T10:{i:02d}:00Z",
        })
    previewbot_token(kube)  # installs previewbot's RBAC
    if not [a for a in kube.objects("serviceaccounts", "previewbot") if a["metadata"]["name"] == "previewbot-web"]:
        core.create_namespaced_service_account("previewbot", {"metadata": {"name": "previewbot-web"}})
    path = tmp_path_factory.mktemp("dashboard") / "kubeconfig"
    return {"kubeconfig": kube.write_kubeconfig(path, kube.service_account_token("previewbot", "previewbot-web"))}


def settings(gh, redis_url: str, world: dict, **extra: str):
    env = {
        "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
        "PREVIEWBOT_GITHUB_API_URL": gh.url,
        "PREVIEWBOT_REDIS_URL": redis_url,
        "PREVIEWBOT_KUBECONFIG": world["kubeconfig"],
        "PREVIEWBOT_DASHBOARD_SECRET_KEY": SECRET_KEY,
        **extra,
    }
    return load(env)


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def oauth_app(gh, redis_url: str, redis_db: redis.Redis, world: dict, queue: RecordingQueue) -> Flask:
    return create_app(settings(gh, redis_url, world, PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID=CLIENT_ID,
                               PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET=CLIENT_SECRET), queue)


@pytest.fixture
def proxy_app(gh, redis_url: str, redis_db: redis.Redis, world: dict, queue: RecordingQueue) -> Flask:
    return create_app(settings(gh, redis_url, world, PREVIEWBOT_DASHBOARD_USER_HEADER="X-Forwarded-User"), queue)


def sign_in(app: Flask, gh, login: str) -> tuple[FlaskClient, list[requests.Response]]:
    """A test client signed in through the emulator's consent page as ``login``; every answer on the way."""
    web = app.test_client()
    seen = [web.get("/previews")]
    assert seen[0].status_code == 302 and seen[0].headers["Location"].startswith("/previews/signin")
    seen.append(web.get(seen[0].headers["Location"]))
    start = re.search(r'href="([^"]+)"', seen[-1].text.split("<main>")[1]).group(1).replace("&amp;", "&")
    seen.append(web.get(start))
    authorize = seen[-1].headers["Location"]
    assert authorize.startswith(f"{gh.url}/login/oauth/authorize?")
    page = requests.get(authorize, timeout=5)
    fields = dict(re.findall(r"type='hidden' name='(\w+)' value='([^']*)'", page.text))
    back = requests.post(f"{gh.url}/login/oauth/authorize", data={**fields, "login": login, "authorize": "1"},
                         allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])
    seen.append(web.get(f"{callback.path}?{callback.query}"))
    assert seen[-1].status_code == 302, seen[-1].text
    seen.append(web.get(seen[-1].headers["Location"]))
    assert seen[-1].status_code == 200
    return web, seen


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def session_csrf(web: FlaskClient) -> str:
    """The CSRF token of ``web``'s session (a page without forms does not show it)."""
    with web.session_transaction("/previews") as session:
        return session["csrf"]


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-namespace="([^"]+)"', page)


def as_user(app: Flask, login: str) -> FlaskClient:
    web = app.test_client()
    web.environ_base["HTTP_X_FORWARDED_USER"] = login
    return web


# -- access -------------------------------------------------------------------------------------------------


def test_disabled_without_a_sign_in_method(gh, redis_url: str, world: dict) -> None:
    env = settings(gh, redis_url, world)
    assert env.dashboard_mode is None
    web = create_app(env, RecordingQueue()).test_client()
    assert web.get("/previews").status_code == 404
    assert web.get(f"/previews/{ns_name(SHOP, 1)}").status_code == 404


def test_no_session_redirects_to_sign_in(oauth_app: Flask) -> None:
    web = oauth_app.test_client()
    answer = web.get(f"/previews/{ns_name(SHOP, 1)}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/previews/signin?next=/previews/{ns_name(SHOP, 1)}"
    assert web.post(f"/previews/{ns_name(SHOP, 1)}/destroy").status_code == 302
    page = web.get("/previews/signin")
    assert page.status_code == 200 and "Sign in with GitHub" in page.text


def test_oauth_sign_in_lists_what_the_user_may_read(oauth_app: Flask, gh) -> None:
    web, _ = sign_in(oauth_app, gh, "writer")
    page = web.get("/previews").text
    assert rows(page) == [ns_name(ADMIN_REPO, 3), ns_name(HIDDEN, 4), ns_name(SHOP, 2), ns_name(SHOP, 1)]
    assert set(rows(page)) == {ns_name(SHOP, 1), ns_name(SHOP, 2), ns_name(ADMIN_REPO, 3), ns_name(HIDDEN, 4)}
    assert "Add the &lt;b&gt;basket&lt;/b&gt;" in page and "<b>basket" not in page  # escaped
    assert "author1" in page and "https://pr-1.preview.test" in page
    stranger, _ = sign_in(oauth_app, gh, "stranger")
    hidden = stranger.get("/previews").text
    assert ns_name(HIDDEN, 4) not in hidden and len(rows(hidden)) == 3
    assert stranger.get(f"/previews/{ns_name(HIDDEN, 4)}").status_code == 404


def test_bad_state_or_refused_code_signs_nobody_in(oauth_app: Flask, gh) -> None:
    web = oauth_app.test_client()
    assert web.get("/previews/oauth/callback?code=x&state=forged").status_code == 400
    web.get("/previews/oauth/start")
    with web.session_transaction("/previews") as session:
        state = session["oauth_state"]
    refused = web.get(f"/previews/oauth/callback?code=0000&state={state}")
    assert refused.status_code == 302 and "/previews/signin" in refused.headers["Location"]
    assert web.get("/previews").status_code == 302


def test_sign_out_forgets_the_token(oauth_app: Flask, gh) -> None:
    web, _ = sign_in(oauth_app, gh, "writer")
    page = web.get("/previews").text
    assert web.post("/previews/signout", data={"csrf_token": csrf(page)}).status_code == 302
    assert web.get("/previews").status_code == 302


def test_proxy_header_mode(proxy_app: Flask) -> None:
    assert proxy_app.test_client().get("/previews").status_code == 401
    assert as_user(proxy_app, "not a login!").get("/previews").status_code == 401
    assert proxy_app.test_client().get("/previews/signin").status_code == 404
    page = as_user(proxy_app, "reader").get("/previews")
    assert page.status_code == 200 and "Signed in as <strong>reader</strong>" in page.text
    assert ns_name(HIDDEN, 4) not in page.text
    assert ns_name(HIDDEN, 4) in as_user(proxy_app, "writer").get("/previews").text


def test_filter_by_repository(proxy_app: Flask) -> None:
    web = as_user(proxy_app, "writer")
    assert set(rows(web.get(f"/previews?repo={SHOP}").text)) == {ns_name(SHOP, 1), ns_name(SHOP, 2)}
    assert rows(web.get("/previews?repo=ACME/Admin-Tools").text) == [ns_name(ADMIN_REPO, 3)]
    assert rows(web.get("/previews?repo=nobody/nothing").text) == []
    assert len(rows(web.get("/previews?repo=<script>").text)) == 4  # not a repository name: no filter


def test_one_github_listing_per_repository_then_cached(proxy_app: Flask, gh) -> None:
    web = as_user(proxy_app, "writer")
    gh.clear_requests()
    web.get("/previews")
    pulls = [path for method, path, _ in gh.requests if path.endswith("/pulls")]
    assert sorted(pulls) == sorted(f"/repos/{r}/pulls" for r in (SHOP, ADMIN_REPO, HIDDEN))
    assert not [path for _, path, _ in gh.requests if re.search(r"/pulls/\d+$", path)]
    gh.clear_requests()
    web.get("/previews")
    assert gh.requests == []


# -- state, history, objects, events ---------------------------------------------------------------------------


def test_state_and_history_as_the_reporter_wrote_them(proxy_app: Flask, redis_db: redis.Redis) -> None:
    history = RedisStatusHistory(redis_db)
    reporter = Reporter(FakeGitHub(), RedisLedger(redis_db), "preview", history=history, clock=lambda: "now")
    ref = PullRef(SHOP, 1)
    reporter.report(ref, SHA[1], StatusReport(State.PENDING, "Deploying 1111111…"))
    reporter.report(ref, SHA[1], StatusReport(State.FAILURE, "Rollout failed: ImagePullBackOff on container web"))
    for i in range(60):
        history.append(PullRef(SHOP, 2), SHA[2], StatusReport(State.PENDING, f"tick {i}"), time.time())
    web = as_user(proxy_app, "reader")
    page = web.get("/previews").text
    assert "failed" in page and "Rollout failed: ImagePullBackOff on container web" in page
    detail = web.get(f"/previews/{ns_name(SHOP, 1)}").text
    assert detail.index("Rollout failed") < detail.index("Deploying 1111111")  # newest first
    assert "Deployment" in detail and "<code>web</code>" in detail
    assert len(history.read(SHOP, 2)) == 50 and history.read(SHOP, 2)[0].description == "tick 59"


def test_detail_shows_newest_events_and_sleeping(proxy_app: Flask) -> None:
    web = as_user(proxy_app, "reader")
    detail = web.get(f"/previews/{ns_name(SHOP, 1)}").text
    events = re.findall(r"event number (\d+)", detail)
    assert events == [str(i) for i in range(24, 4, -1)]  # the newest 20, newest first
    assert "BackOff" in detail
    assert "<dt>Sleeping</dt><dd>no</dd>" in detail
    asleep = web.get(f"/previews/{ns_name(SHOP, 2)}").text
    assert "<dt>Sleeping</dt><dd>yes</dd>" in asleep and "2099-01-01 00:00 UTC" in asleep
    assert web.get("/previews/pr-99-nothing-abcdef").status_code == 404
    assert web.get("/previews/kube-system").status_code == 404


# -- buttons ---------------------------------------------------------------------------------------------------


def test_writer_buttons_queue_the_commands(proxy_app: Flask, queue: RecordingQueue) -> None:
    web = as_user(proxy_app, "writer")
    page = web.get(f"/previews/{ns_name(SHOP, 2)}").text
    assert 'id="redeploy"' in page and 'id="destroy"' in page and 'id="wake"' in page
    for action in ("redeploy", "destroy", "wake"):
        answer = web.post(f"/previews/{ns_name(SHOP, 2)}/{action}", data={"csrf_token": csrf(page)})
        assert answer.status_code == 303
        assert answer.headers["Location"].endswith(f"/previews/{ns_name(SHOP, 2)}?queued={action}")
    redeploy, destroy, wake = queue.commands
    assert (redeploy.kind, redeploy.text, redeploy.author, redeploy.repo, redeploy.number) == (
        CommandKind.COMMAND, "/preview redeploy", "writer", SHOP, 2)
    assert destroy.text == "/preview destroy"
    assert wake.kind is CommandKind.WAKE
    assert "Destroy queued." in web.get(f"/previews/{ns_name(SHOP, 2)}?queued=destroy").text


def test_missing_or_wrong_csrf_is_refused_and_queues_nothing(proxy_app: Flask, queue: RecordingQueue) -> None:
    web = as_user(proxy_app, "writer")
    page = web.get(f"/previews/{ns_name(SHOP, 1)}").text
    assert web.post(f"/previews/{ns_name(SHOP, 1)}/destroy").status_code == 400
    assert web.post(f"/previews/{ns_name(SHOP, 1)}/destroy", data={"csrf_token": "x" * 43}).status_code == 400
    other = as_user(proxy_app, "writer")  # another session's token does not count
    assert other.post(f"/previews/{ns_name(SHOP, 1)}/destroy", data={"csrf_token": csrf(page)}).status_code == 400
    assert queue.commands == []


def test_read_only_user_sees_no_buttons_and_is_refused(proxy_app: Flask, queue: RecordingQueue) -> None:
    web = as_user(proxy_app, "reader")
    page = web.get(f"/previews/{ns_name(SHOP, 1)}").text
    assert 'id="destroy"' not in page and 'id="redeploy"' not in page and "csrf_token" not in page
    answer = web.post(f"/previews/{ns_name(SHOP, 1)}/destroy", data={"csrf_token": session_csrf(web)})
    assert answer.status_code == 403
    assert queue.commands == []
    stranger = as_user(proxy_app, "stranger")
    stranger.get("/previews")
    token = session_csrf(stranger)
    assert stranger.post(f"/previews/{ns_name(HIDDEN, 4)}/destroy", data={"csrf_token": token}).status_code == 404


def test_oauth_writer_can_act(oauth_app: Flask, gh, queue: RecordingQueue) -> None:
    web, _ = sign_in(oauth_app, gh, "writer")
    page = web.get(f"/previews/{ns_name(HIDDEN, 4)}").text
    assert web.post(f"/previews/{ns_name(HIDDEN, 4)}/redeploy", data={"csrf_token": csrf(page)}).status_code == 303
    assert [(c.repo, c.author) for c in queue.commands] == [(HIDDEN, "writer")]


# -- secrets ---------------------------------------------------------------------------------------------------


@pytest.fixture
def every_answer(oauth_app: Flask, gh, redis_db: redis.Redis) -> Iterator[tuple[list, list[str]]]:
    web, seen = sign_in(oauth_app, gh, "writer")
    for path in ("/previews", f"/previews?repo={SHOP}", f"/previews/{ns_name(SHOP, 1)}",
                 f"/previews/{ns_name(HIDDEN, 4)}", "/previews/signin", "/previews/pr-1-missing-000000"):
        seen.append(web.get(path))
    page = seen[-4].text
    seen.append(web.post(f"/previews/{ns_name(SHOP, 1)}/redeploy", data={"csrf_token": csrf(page)}))
    seen.append(web.post(f"/previews/{ns_name(SHOP, 1)}/redeploy"))
    user_tokens = [t for t in gh.state.tokens if t.startswith("gho_")]
    assert user_tokens
    yield seen, [WEBHOOK_SECRET, TOKEN, CLIENT_SECRET, SECRET_KEY, *user_tokens]


def test_no_secret_in_any_page(every_answer) -> None:
    answers, secrets = every_answer
    for answer in answers:
        text = answer.get_data(as_text=True) + "".join(f"{k}: {v}\n" for k, v in answer.headers.items())
        for secret in secrets:
            assert secret not in text, f"a secret in {answer.request.path}"
        if answer.mimetype == "text/html":
            assert answer.headers["Cache-Control"] == "no-store"
            assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_session_cookie_is_http_only_and_holds_no_token(oauth_app: Flask, gh) -> None:
    web, seen = sign_in(oauth_app, gh, "writer")
    cookies = [v for r in seen for k, v in r.headers.items() if k == "Set-Cookie"]
    assert cookies and all("HttpOnly" in c and "SameSite=Lax" in c and "Path=/previews" in c for c in cookies)
    with web.session_transaction("/previews") as session:
        assert set(session) <= {"login", "sid", "csrf", "_permanent"}
        assert not any(str(v).startswith("gho_") for v in session.values())


def test_callback_goes_back_to_the_page_asked_for(oauth_app: Flask, gh) -> None:
    web = oauth_app.test_client()
    first = web.get(f"/previews/{ns_name(SHOP, 1)}")
    assert parse_qs(urlsplit(first.headers["Location"]).query)["next"] == [f"/previews/{ns_name(SHOP, 1)}"]
    start = web.get("/previews/oauth/start?next=https://evil.example/x")
    assert start.status_code == 302
    with web.session_transaction("/previews") as session:
        assert session["next"] == "/previews"  # never off the dashboard


def test_sign_in_page_says_only_its_own_words(oauth_app: Flask, gh) -> None:
    web = oauth_app.test_client()
    page = web.get("/previews/signin?note=Visit+evil.example&message=Visit+evil.example").text
    assert "evil.example" not in page
    web.get("/previews/oauth/start")
    with web.session_transaction("/previews") as session:
        state = session["oauth_state"]
    denied = web.get(f"/previews/oauth/callback?error=access_denied&state={state}")
    assert "GitHub did not authorize the sign-in." in web.get(denied.headers["Location"]).text


def test_a_namespace_stuck_terminating_is_shown_with_what_holds_it(
    gh, kube, redis_url: str, redis_db: redis.Redis, world: dict, queue: RecordingQueue
) -> None:
    extra = {"PREVIEWBOT_DASHBOARD_USER_HEADER": "X-Forwarded-User", "PREVIEWBOT_GC_TERMINATING_SECONDS": "1"}
    app = create_app(settings(gh, redis_url, world, **extra), queue)
    name = ns_name(HIDDEN, 5)
    notes = {Annotations.REPO: HIDDEN, Annotations.PR: "5", Annotations.APPLIED_SHA: SHA[1]}
    meta = {"name": name, "labels": naming.labels(HIDDEN, 5), "annotations": notes, "finalizers": ["example.com/hold"]}
    core = k8s.CoreV1Api(kube.api_client())
    core.create_namespace({"metadata": meta})
    core.delete_namespace(name)
    try:
        stuck = lambda: re.findall(r'<tr data-stuck="([^"]+)"', as_user(app, "writer").get("/previews").text)  # noqa: E731
        assert wait_for(stuck, 15, what="the namespace shown as stuck") == [name]
        page = as_user(app, "writer").get("/previews").text
        assert "metadata.finalizers: example.com/hold" in page
        assert name not in rows(page)  # not among the live previews
        assert name not in as_user(app, "reader").get("/previews").text  # nor shown to who cannot read HIDDEN
    finally:
        core.patch_namespace(name, {"metadata": {"finalizers": None}})
