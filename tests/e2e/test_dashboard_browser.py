"""The dashboard in a real browser (Playwright driving Debian's Chromium) against previewbot's real processes.

Sign in through the GitHub emulator's OAuth pages, open ``/previews``, deliver a pull request webhook, watch
the preview go from deploying to ready, open its page, press Destroy and watch it go.

The web process runs as its own ServiceAccount ``previewbot/previewbot-web`` under the dashboard's rules of
``k8s/deploy/base/rbac.yaml``; worker and watcher run as previewbot's ServiceAccount, as everywhere else.

Screenshots go to ``$PREVIEWBOT_TEST_ARTIFACTS`` (default: the test's temporary directory); with
``PREVIEWBOT_UPDATE_SCREENSHOTS=1`` the list and preview pages are also written to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from preview import naming
from sandbox.kube import KubeEmulator
from tests.conftest import previewbot_token
from tests.e2e.conftest import REPO, SECRET, make_stack, running_apart, web_apart
from tests.e2e.harness import Stack
from tests.helpers import ROOT, wait_for

DB = 7
PR = 7
CLIENT_ID, CLIENT_SECRET = "Iv1.browsertest", "browser-test-client-secret"
MAINTAINER = "maintainer"
TIMEOUT = 60
DASHBOARD = {
    "PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID": CLIENT_ID,
    "PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
    "PREVIEWBOT_DASHBOARD_SECRET_KEY": "browser-test-session-key-0123456789abcdef",
}


def chromium() -> str:
    """Debian's Chromium; missing, the test fails in CI (.ci/run installs it) and is skipped elsewhere."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def kube() -> Iterator[KubeEmulator]:
    """At half the suite's speed, a ``slow`` image becomes ready 6 s after it starts: time to see it deploying."""
    emulator = KubeEmulator(speed=10).start()
    previewbot_token(emulator)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def stacks(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Stack]]:
    """(worker and watcher as previewbot's ServiceAccount, web with the dashboard as previewbot-web)."""
    workdir = tmp_path_factory.mktemp("e2e-dashboard")
    redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{DB}").flushdb()
    # the progress deadline is in simulated seconds: well past the slow image's 60
    back = make_stack(kube, gh, redis_url, workdir, DB, PREVIEWBOT_PROGRESS_DEADLINE_SECONDS="600", **DASHBOARD)
    web = web_apart(kube, back, workdir)
    gh.add_oauth_app(CLIENT_ID, CLIENT_SECRET, f"http://127.0.0.1:{web.port}/previews/oauth/callback")
    with running_apart(web, back, TIMEOUT) as stacks:
        yield stacks


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PREVIEWBOT_TEST_ARTIFACTS") or tmp_path) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add_pod_events(kube: KubeEmulator, namespace: str) -> None:
    """What a kubelet would record (the emulator's records none), so the preview page has events to show."""
    from kubernetes import client

    core = client.CoreV1Api(kube.api_client())
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for i, (reason, message) in enumerate((
        ("Scheduled", "Successfully assigned the pod to node sandbox"),
        ("Pulled", "Container image already present on machine"),
        ("Started", "Started container web"),
    )):
        core.create_namespaced_event(namespace, {
            "metadata": {"name": f"web.{i}"}, "type": "Normal", "reason": reason, "message": message, "count": 1,
            "involvedObject": {"kind": "Pod", "name": "web-7d9f", "namespace": namespace},
            "lastTimestamp": now,
        })


def test_sign_in_watch_a_preview_deploy_and_destroy_it(gh, kube, stacks, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    back, web = stacks
    base = f"http://127.0.0.1:{web.port}"
    namespace = naming.namespace_name(REPO, PR)
    gh.set_permission(REPO, MAINTAINER, "write")
    gh.set_oauth_user(MAINTAINER)
    gh.open_pr(REPO, PR, branch="slow-dashboard", title="Show previews on a dashboard", author="mona")
    shots = [artifacts]
    if os.environ.get("PREVIEWBOT_UPDATE_SCREENSHOTS") == "1":
        shots.append(ROOT / "docs" / "screenshots")
        shots[-1].mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str, public: bool = False) -> None:
        for folder in shots if public else shots[:1]:
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def row_text(page) -> str:
        page.reload()
        found = page.locator(f'tr[data-namespace="{namespace}"]')
        return found.inner_text() if found.count() else ""

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{base}/previews")
            assert page.url.startswith(f"{base}/previews/signin")
            page.get_by_text("Sign in with GitHub").click()
            assert page.url.startswith(f"{gh.url}/login/oauth/authorize")
            assert page.locator("#login").input_value() == MAINTAINER
            shoot(page, "1-github-authorize")
            page.click("#authorize")
            page.wait_for_url(f"{base}/previews")
            assert page.locator("header").inner_text().count(MAINTAINER) == 1
            assert page.locator("#empty").is_visible()

            delivery = gh.deliver(web.webhook_url, SECRET, "pull_request", "opened", REPO, PR)
            assert delivery.status_code == 202, delivery.response_body
            wait_for(lambda: "deploying" in row_text(page), TIMEOUT, 0.2, what="the preview deploying")
            assert "Show previews on a dashboard" in row_text(page) and "mona" in row_text(page)
            shoot(page, "2-list-deploying")
            wait_for(lambda: "ready" in row_text(page), TIMEOUT, 0.3, what="the preview ready")
            add_pod_events(kube, namespace)
            row = row_text(page)
            assert "https://pr-7-web-shop.preview.test" in row and "no" in row.split()[-1]
            shoot(page, "dashboard-list", public=True)

            page.click(f'tr[data-namespace="{namespace}"] a[href="/previews/{namespace}"]')
            page.wait_for_url(f"{base}/previews/{namespace}")
            assert "ready" in page.locator("#state").inner_text()
            history = page.locator("#history").inner_text()
            assert "Preview ready" in history and "Deploying" in history and "failure" not in history
            assert "Deployment" in page.locator("#objects").inner_text()
            assert "Started container web" in page.locator("#events").inner_text()
            shoot(page, "dashboard-preview", public=True)

            page.click("#destroy")
            page.wait_for_url(f"{base}/previews/{namespace}?queued=destroy")
            assert page.locator("#queued").inner_text() == "Destroy queued."
            page.goto(f"{base}/previews")
            wait_for(lambda: row_text(page) == "" and page.locator("#empty").is_visible(), TIMEOUT, 0.3,
                     what="the preview gone from the list")
            shoot(page, "4-list-after-destroy")
        finally:
            browser.close()
    note = f"`/preview destroy` by @{MAINTAINER}"
    wait_for(lambda: note in gh.comments(REPO, PR)[0]["body"], TIMEOUT, what="the command noted on the PR")
