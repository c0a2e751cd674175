"""Sleep and wake through real processes: an idle preview is scaled to zero, and every wake path brings it back.

One stack and one pull request: the preview deploys, sleeps after ``PREVIEWBOT_IDLE_SLEEP_SECONDS`` (a few
seconds here, checked every second), and is woken in turn by a ``/preview wake`` comment, a push, the
dashboard's Wake button and the wake link followed over HTTP until it redirects; each time it goes back to
``success`` "Preview ready" with its pods running, then falls asleep again.

The web process runs as ``previewbot/previewbot-web`` under the dashboard's rules of ``k8s/deploy/base/rbac.yaml``
(it needs no Kubernetes access for wake links); worker and watcher as previewbot's ServiceAccount.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
import requests

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack, running_apart, web_apart
from tests.e2e.harness import Stack
from tests.helpers import wait_for

DB = 8
PR = 61
NS = naming.namespace_name(REPO, PR)
IDLE = 5
TIMEOUT = 60
MAINTAINER = "maintainer"
SETTINGS = {
    "PREVIEWBOT_IDLE_SLEEP_SECONDS": str(IDLE),
    "PREVIEWBOT_WATCH_RESYNC_SECONDS": "1",  # the idle sweep's timer
    "PREVIEWBOT_DASHBOARD_USER_HEADER": "X-Forwarded-User",
    "PREVIEWBOT_DASHBOARD_SECRET_KEY": "sleep-wake-test-session-key-0123456789",
    "PREVIEWBOT_WAKE_LINK_SECRET": "sleep-wake-test-link-key",
}


@pytest.fixture(scope="module")
def stacks(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Stack]]:
    """(worker and watcher as previewbot's ServiceAccount, web as previewbot-web), wake links on web's port."""
    workdir = tmp_path_factory.mktemp("e2e-sleep")
    redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{DB}").flushdb()
    back = make_stack(kube, gh, redis_url, workdir, DB, **SETTINGS)
    web = web_apart(kube, back, workdir)
    public = f"http://127.0.0.1:{web.port}"
    back.env["PREVIEWBOT_PUBLIC_URL"] = web.env["PREVIEWBOT_PUBLIC_URL"] = public
    gh.set_permission(REPO, MAINTAINER, "write")
    with running_apart(web, back, TIMEOUT) as stacks:
        yield stacks


# -- what GitHub and the cluster show ------------------------------------------------------------------------


def statuses(gh, sha: str) -> list[dict]:
    return [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]


def ready_after(gh, sha: str, seen: int) -> bool:
    """A "Preview ready" success among the statuses written after the first ``seen``."""
    return any(s["state"] == "success" and s["description"] == "Preview ready" for s in statuses(gh, sha)[seen:])


def sleeping_after(gh, sha: str, seen: int) -> dict | None:
    found = [s for s in statuses(gh, sha)[seen:] if s["state"] == "success" and s["description"].startswith("Sleeping")]
    return found[-1] if found else None


def replicas(kube) -> list[int]:
    return [d["spec"].get("replicas", 1) for d in kube.objects("deployments", NS)]


def live_pods(kube) -> list[dict]:
    return [p for p in kube.objects("pods", NS) if not p["metadata"].get("deletionTimestamp")]


def running(kube) -> bool:
    pods = live_pods(kube)
    return bool(pods) and all(p.get("status", {}).get("phase") == "Running" for p in pods)


def asleep(gh, kube, sha: str, seen: int) -> dict:
    """Wait until the preview sleeps (a "Sleeping" success after ``seen``, replicas 0, pods gone); its status."""
    status = wait_for(lambda: sleeping_after(gh, sha, seen), TIMEOUT, 0.05, what="the preview asleep")
    wait_for(lambda: replicas(kube) == [0] and not live_pods(kube), TIMEOUT, 0.05, what="pods gone")
    assert status["description"] == f"Sleeping after {IDLE}s idle: comment /preview wake or open the link"
    return status


def awake(gh, kube, sha: str, seen: int, what: str) -> None:
    wait_for(lambda: ready_after(gh, sha, seen), TIMEOUT, 0.05, what=f"ready again after {what}")
    again = lambda: sleeping_after(gh, sha, seen)  # noqa: E731 - it may fall asleep again at once (a short idle time)
    # scaled back up with pods running, until it sleeps again (a sleep's scale-down precedes its status)
    wait_for(lambda: (replicas(kube) == [1] and running(kube)) or again(), TIMEOUT, 0.05, what=f"up after {what}")
    descriptions = [s["description"] for s in statuses(gh, sha)[seen:]]
    if what != "a push":
        assert descriptions[0] == "Waking up…", descriptions


# -- the test -------------------------------------------------------------------------------------------------


def test_an_idle_preview_sleeps_and_every_wake_path_brings_it_back(gh, kube, stacks) -> None:
    back, web = stacks
    sha = first_sha = gh.open_pr(REPO, PR, branch="sleepy")["head"]["sha"]
    assert gh.deliver(web.webhook_url, SECRET, "pull_request", "opened", REPO, PR).status_code == 202
    wait_for(lambda: ready_after(gh, sha, 0), TIMEOUT, 0.05, what="the preview ready")
    wait_for(lambda: running(kube), TIMEOUT, 0.05, what="pods running")

    # idle: it sleeps, the status stays green with the wake link, the comment says how to wake it
    status = asleep(gh, kube, sha, 0)
    public = web.env["PREVIEWBOT_PUBLIC_URL"]
    assert status["target_url"].startswith(f"{public}/wake/{NS}?token=")

    def comment() -> str:
        return next((c["body"] for c in gh.comments(REPO, PR) if "previewbot:preview-comment" in c["body"]), "")

    # the comment is written after the status (GitHub bookkeeping in order): wait for it
    wait_for(lambda: "Sleeping" in comment(), TIMEOUT, 0.05, what="the comment says it sleeps")
    body = comment()
    assert "/preview wake" in body and status["target_url"] in body
    assert SECRET not in body and SECRET not in status["target_url"]

    # 1. a /preview wake comment
    seen = len(statuses(gh, sha))
    answer = gh.deliver(web.webhook_url, SECRET, "issue_comment", "created", REPO, PR, body="/preview wake",
                        sender=MAINTAINER)  # fmt: skip
    assert answer.status_code == 202
    awake(gh, kube, sha, seen, "/preview wake")
    asleep(gh, kube, sha, seen)

    # 2. a push: the new commit deploys and runs
    head = gh.push(REPO, PR)
    assert gh.deliver(web.webhook_url, SECRET, "pull_request", "synchronize", REPO, PR).status_code == 202
    awake(gh, kube, head, 0, "a push")
    sha = head
    asleep(gh, kube, sha, 0)

    # 3. the dashboard's Wake button
    seen = len(statuses(gh, sha))
    browser = requests.Session()
    browser.headers["X-Forwarded-User"] = MAINTAINER
    page = browser.get(f"http://127.0.0.1:{web.port}/previews/{NS}", timeout=10)
    assert page.status_code == 200 and 'id="wake"' in page.text, page.text[-2000:]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    pressed = browser.post(f"http://127.0.0.1:{web.port}/previews/{NS}/wake", data={"csrf_token": token},
                           allow_redirects=False, timeout=10)  # fmt: skip
    assert pressed.status_code == 303
    awake(gh, kube, sha, seen, "the dashboard's Wake button")
    status = asleep(gh, kube, sha, seen)

    # 4. the wake link, followed as a browser without scripts would (the page reloads itself)
    seen = len(statuses(gh, sha))
    link = status["target_url"]
    first = requests.get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 200 and "Waking the preview" in first.text
    bad = requests.get(link[:-1] + ("0" if link[-1] != "0" else "1"), allow_redirects=False, timeout=10)
    assert bad.status_code == 404

    def redirected() -> str | None:
        answer = requests.get(link, allow_redirects=False, timeout=10)
        assert answer.status_code in (200, 303), answer.status_code
        return answer.headers["Location"] if answer.status_code == 303 else None

    location = wait_for(redirected, TIMEOUT, 0.2, what="the wake link redirecting")
    assert location == f"https://{naming.preview_host(REPO, PR, 'preview.test')}"
    awake(gh, kube, sha, seen, "the wake link")
    queued = [line for line in web.log("web").splitlines() if "wake link: wake queued" in line]
    assert len(queued) == 1, "reloading the wake link queued the wake again"
    shown = [s["description"] for commit in (first_sha, sha) for s in statuses(gh, commit)]
    assert "Preview scaled to zero" not in shown, shown  # a sleeping preview is reported as sleeping, nothing else
