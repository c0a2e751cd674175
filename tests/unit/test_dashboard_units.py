"""Dashboard pieces without servers: settings, the commands its buttons queue, the status history hook, parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.dashboard.data import ago, parse
from app.dashboard.views import command
from preview import naming
from preview.commands import CommandRunner
from preview.lifecycle import Lifecycle
from preview.models import CommandKind, NamespaceInfo, PullRef, State, StatusReport
from preview.naming import Annotations
from preview.reporting import Reporter
from preview.settings import Settings, SettingsError, load
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

KEY = "k" * 40
REPO = "acme/web-shop"
SHA = "a" * 40


def test_web_url_follows_the_api_url() -> None:
    assert load({}).github_web_url == "https://github.com"
    assert load({"PREVIEWBOT_GITHUB_API_URL": "https://api.github.com"}).github_web_url == "https://github.com"
    enterprise = load({"PREVIEWBOT_GITHUB_API_URL": "https://ghe.example.com/api/v3"})
    assert enterprise.github_web_url == "https://ghe.example.com"
    assert load({"PREVIEWBOT_GITHUB_API_URL": "http://127.0.0.1:9000"}).github_web_url == "http://127.0.0.1:9000"
    explicit = {"PREVIEWBOT_GITHUB_API_URL": "https://x/api/v3", "PREVIEWBOT_GITHUB_WEB_URL": "https://web.x/"}
    assert load(explicit).github_web_url == "https://web.x"


def test_dashboard_modes() -> None:
    assert load({}).dashboard_mode is None
    oauth = load({
        "PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID": "Iv1.abc",
        "PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET": "shh",
        "PREVIEWBOT_DASHBOARD_SECRET_KEY": KEY,
    })
    assert oauth.dashboard_mode == "oauth"
    assert "shh" not in repr(oauth) and KEY not in repr(oauth)
    proxy = load({"PREVIEWBOT_DASHBOARD_USER_HEADER": "X-Forwarded-User", "PREVIEWBOT_DASHBOARD_SECRET_KEY": KEY})
    assert proxy.dashboard_mode == "proxy"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID": "c", "PREVIEWBOT_DASHBOARD_SECRET_KEY": KEY},
         "PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET"),
        ({"PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID": "c", "PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET": "s"},
         "PREVIEWBOT_DASHBOARD_SECRET_KEY"),
        ({"PREVIEWBOT_DASHBOARD_USER_HEADER": "X-User", "PREVIEWBOT_DASHBOARD_SECRET_KEY": "short"},
         "PREVIEWBOT_DASHBOARD_SECRET_KEY"),
        ({"PREVIEWBOT_DASHBOARD_USER_HEADER": "X User:", "PREVIEWBOT_DASHBOARD_SECRET_KEY": KEY},
         "PREVIEWBOT_DASHBOARD_USER_HEADER"),
        ({"PREVIEWBOT_DASHBOARD_USER_HEADER": "X-User", "PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID": "c",
          "PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET": "s", "PREVIEWBOT_DASHBOARD_SECRET_KEY": KEY},
         "PREVIEWBOT_DASHBOARD_USER_HEADER"),
    ],
)
def test_dashboard_settings_are_checked(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(env)
    assert str(caught.value).startswith(named)
    assert all(value not in str(caught.value) for name, value in env.items() if "SECRET" in name and len(value) > 3)


def namespace(**annotations: str) -> NamespaceInfo:
    notes = {Annotations.REPO: REPO, Annotations.PR: "7", Annotations.APPLIED_SHA: SHA, **annotations}
    return NamespaceInfo(naming.namespace_name(REPO, 7), annotations=notes, labels={naming.MANAGED_BY: "previewbot"})


def test_parse_takes_identity_from_the_annotations_only() -> None:
    inventory = json.dumps(["apps/v1/Deployment/ns/web", "v1/Service/ns/web", "bad"])
    preview = parse(namespace(**{Annotations.INVENTORY: inventory, Annotations.URL: "https://pr-7.preview.test",
                                 Annotations.CREATED_AT: "2026-01-01T10:00:00Z"}))
    assert preview is not None
    assert (preview.repo, preview.number, preview.sha) == (REPO, 7, SHA)
    assert preview.inventory == (("Deployment", "web"), ("Service", "web"))
    assert preview.created_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert parse(namespace(**{Annotations.URL: "javascript:alert(1)"})).url is None
    assert parse(namespace(**{Annotations.PR: "8"})) is None  # the name must match repository and PR
    assert parse(namespace(**{Annotations.REPO: "not a repo"})) is None
    assert parse(namespace(**{Annotations.APPLIED_SHA: "nope"})) is None
    head_only = namespace(**{Annotations.APPLIED_SHA: "", Annotations.HEAD_SHA: "b" * 40})
    assert parse(head_only).sha == "b" * 40  # first rollout still applying


def test_ago() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert ago(None, now) == "—"
    assert ago(datetime(2026, 1, 2, 11, 58, 30, tzinfo=UTC), now) == "1m"
    assert ago(datetime(2026, 1, 2, 9, 55, tzinfo=UTC), now) == "2h 5m"
    assert ago(datetime(2025, 12, 30, 12, 0, tzinfo=UTC), now) == "3d"


def test_buttons_queue_the_comment_commands() -> None:
    preview = parse(namespace(**{Annotations.INSTALLATION: "42"}))
    redeploy = command("redeploy", preview, "octocat")
    assert (redeploy.kind, redeploy.text, redeploy.author, redeploy.comment_id) == (
        CommandKind.COMMAND, "/preview redeploy", "octocat", None
    )
    assert (redeploy.repo, redeploy.number, redeploy.installation_id) == (REPO, 7, 42)
    assert command("destroy", preview, "octocat").text == "/preview destroy"
    wake = command("wake", preview, "octocat")
    assert wake.kind is CommandKind.WAKE and wake.sha is None
    assert wake.delivery_id == command("wake", preview, "octocat").delivery_id  # a double click queues one wake
    assert redeploy.delivery_id != command("redeploy", preview, "octocat").delivery_id


def test_a_command_without_a_comment_runs_without_reactions() -> None:
    github, cluster = FakeGitHub(), FakeCluster()
    reporter = Reporter(github, MemoryLedger(), "preview", clock=lambda: "now")
    lifecycle = Lifecycle(github, cluster, FakeRenderer(), reporter, Settings())
    github.permissions.update({"octocat": "write", "reader": "read"})
    github.open(REPO, 7, SHA)
    runner = CommandRunner(lifecycle, reporter)
    assert "refused" in runner.run(PullRef(REPO, 7), None, "reader", "/preview destroy")  # type: ignore[arg-type]
    assert runner.run(PullRef(REPO, 7), None, "octocat", "/preview redeploy") == "deployed"  # type: ignore[arg-type]
    assert github.reactions == []


class ListHistory:
    def __init__(self) -> None:
        self.entries: list[tuple[PullRef, str, StatusReport, float]] = []

    def append(self, ref: PullRef, sha: str, report: StatusReport, at: float) -> None:
        self.entries.append((ref, sha, report, at))


def test_reporter_appends_each_status_written_to_the_history() -> None:
    history = ListHistory()
    reporter = Reporter(FakeGitHub(), MemoryLedger(), "preview", clock=lambda: "now", history=history, now=lambda: 5.0)
    ref = PullRef(REPO, 7)
    reporter.report(ref, SHA, StatusReport(State.PENDING, "Deploying aaaaaaa…"))
    reporter.report(ref, SHA, StatusReport(State.PENDING, "Deploying aaaaaaa…"))  # unchanged: not written
    reporter.report(ref, SHA, StatusReport(State.SUCCESS, "Preview ready", "https://x"), observed=True)
    assert [(e[1], e[2].state, e[3]) for e in history.entries] == [(SHA, State.PENDING, 5.0), (SHA, State.SUCCESS, 5.0)]
