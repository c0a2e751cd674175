"""The PR comment shows author-controlled text inert, and stays under GitHub's size limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from integrations.repo_config_loader import load
from preview.comment import MAX_BODY, CommentView, render
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State
from preview.reporting import Reporter
from preview.settings import Settings
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

A = "a" * 40
EVIL = [
    "[x](https://evil)",
    "![i](https://evil/i.png)",
    "<img src=x>",
    "@acme/admins",
    "@someone",
    "a|b",
    "`tick`",
    "``double``",
    "www.evil.example",
    "#1",
    "GH-2",
    "*bold*",
    "_it_",
    "~~gone~~",
    "&amp;",
    "$x$",
    "a\\|b",
]
# What must never be left outside code spans: Markdown, HTML, entities, mentions, references, math, escapes.
ACTIVE = re.compile(r"[\[\]<>!@#*_~&$\\|`]|https?:|www\.|gh-[0-9]", re.IGNORECASE)


def split_code(text: str) -> tuple[str, list[str]]:
    """Text outside code spans, and the spans' contents, by CommonMark's rule of matching backtick runs."""
    outside: list[str] = []
    spans: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "`":
            outside.append(text[i])
            i += 1
            continue
        opener = re.match(r"`+", text[i:])
        assert opener
        width = len(opener.group())
        closer = next(
            (m for m in re.finditer(r"`+", text[i + width :]) if len(m.group()) == width),
            None,
        )
        if closer is None:
            outside.append(opener.group())
            i += width
            continue
        spans.append(text[i + width : i + width + closer.start()])
        i += width + closer.end()
    return "".join(outside), spans


def shown(span: str) -> str:
    """What a code span in a table cell displays."""
    content = span.replace("\\|", "|").replace("\u200b", "")
    return content[1:-1] if content.startswith(" ") and content.endswith(" ") and content.strip() else content


def state_cell(body: str) -> str:
    [row] = [line for line in body.splitlines() if line.startswith("| **State** |")]
    assert len(re.findall(r"(?<!\\)\|", row)) == 3, row  # the row still has exactly two cells
    return row[len("| **State** | ") : -len(" |")]


def assert_inert(text: str) -> list[str]:
    """Nothing outside code spans is active; return what the code spans display."""
    outside, spans = split_code(text.replace("<br>", " "))
    assert not ACTIVE.search(outside), outside
    return [shown(span) for span in spans]


def test_every_kind_of_markup_in_a_problem_is_shown_but_not_active() -> None:
    description = "Invalid .preview.yml: " + "; ".join(f"env.{e} (line 2): unknown key, got {e}" for e in EVIL)
    body = render(CommentView(A, State.FAILURE, description, None, "now"))
    displayed = " ".join(assert_inert(state_cell(body)))
    for evil in EVIL:
        assert evil in displayed


def test_a_removed_preview_shows_its_description_inert_too() -> None:
    body = render(CommentView(A, None, "Preview removed: " + " ".join(EVIL), None, "now"))
    [line] = [line for line in body.splitlines() if "**Removed**" in line]
    outside, spans = split_code(line.split(" — ", 1)[1])
    assert not ACTIVE.search(outside), outside
    assert all(evil in " ".join(spans) for evil in EVIL)


def test_invisible_and_control_characters_are_spelled_out() -> None:
    body = render(CommentView(A, State.FAILURE, "Rollout failed: a\u202eb\x00c\nd\n\n# e", None, "now"))
    cell = state_cell(body)
    assert "\u202e" not in body and "\x00" not in body
    assert assert_inert(cell) == ["a\\u202eb\\u0000c", "#"]


def test_ordinary_descriptions_read_as_written() -> None:
    body = render(CommentView(A, State.FAILURE, "Rollout failed: ImagePullBackOff on container web", None, "now"))
    assert state_cell(body) == "❌ Failed — Rollout failed: ImagePullBackOff on container web"


def test_config_problems_are_listed_one_per_line() -> None:
    description = "Invalid .preview.yml: port (line 1): must be an integer; ttl (line 2): must be at least 10m"
    cell = state_cell(render(CommentView(A, State.FAILURE, description, None, "now")))
    assert cell == (
        "❌ Failed — Invalid .preview.yml:"
        "<br>• port (line 1): must be an integer"
        "<br>• ttl (line 2): must be at least 10m"
    )


def test_a_real_preview_yml_with_hostile_keys_and_values_renders_inert() -> None:
    github, cluster = FakeGitHub(), FakeCluster()
    reporter = Reporter(github, MemoryLedger(), "preview", clock=lambda: "2026-01-01 00:00 UTC")
    settings = Settings(preview_domain="preview.example.com")
    lc = Lifecycle(github, cluster, FakeRenderer(), reporter, settings, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    lc.load_config = load
    github.open("acme/web-shop", 7, A)
    hostile = [evil for evil in EVIL if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", evil)]  # _it_ is a valid name
    keys = "".join(f"  '{evil}': 1\n" for evil in hostile)
    github.files[(A, ".preview.yml")] = f"env:\n{keys}image: '@someone [x](https://evil) <img src=x> | `x`'\n"
    assert lc.sync(PullRef("acme/web-shop", 7), A) is Outcome.FAILED
    [status] = github.for_sha(A)
    assert status.description.startswith("Invalid .preview.yml: env.[x](https://evil) (line 2): not a valid")
    displayed = " ".join(assert_inert(state_cell(github.comments[1])))
    for evil in hostile:
        assert f"env.{evil}" in displayed
    assert "@someone [x](https://evil) <img src=x> | `x`" in displayed


@pytest.mark.parametrize(
    "description",
    [
        "Invalid .preview.yml: " + "; ".join(f"k{i} (line {i}): " + "x" * 100 for i in range(10_000)),
        "Invalid .preview.yml: " + "`|@<" * 262_144,
        "Invalid .preview.yml: " + "; ".join(["`" * 5000, "|" * 5000, "\\|" * 5000, "\u202e" * 5000] * 300),
        "Rollout failed: " + "\U0001f600\x01" * 500_000,
        "x" * 1_000_000,
    ],
)
def test_a_megabyte_of_error_text_keeps_the_comment_under_the_limit(description: str) -> None:
    huge = "`@x|" * 250_000
    for state in (State.FAILURE, None):
        body = render(CommentView(A, state, description, huge, "now", expires=huge, note=huge))
        assert len(body) < MAX_BODY
    cell = state_cell(render(CommentView(A, State.FAILURE, description, None, "now")))
    assert_inert(cell)


def test_long_problem_lists_are_cut_with_a_count() -> None:
    description = "Invalid .preview.yml: " + "; ".join(f"k{i} (line {i}): unknown key" for i in range(100))
    cell = state_cell(render(CommentView(A, State.FAILURE, description, None, "now")))
    items = cell.split("<br>")
    assert items[1] == "• `k0` (line 0): unknown key"
    assert items[-1] == "… and 75 more"
    assert len(items) == 1 + 25 + 1
