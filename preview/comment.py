"""The single PR comment previewbot keeps up to date (pure rendering).

Descriptions can repeat text a pull request's author controls (keys and values of ``.preview.yml``,
names in pod events), so they are rendered inert: words that could form Markdown, HTML, links,
mentions or references go into code spans, and every part of the comment is cut to a size that
keeps the whole body under GitHub's limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from preview.models import State
from preview.repo_config import FILE_NAME, SEPARATOR

MARKER = "<!-- previewbot:preview-comment -->"
MAX_BODY = 65_536  # GitHub's limit on a comment, in characters
MAX_ITEMS = 25  # problems of an invalid .preview.yml listed in the comment
MAX_ITEM_CHARS = 300
MAX_TEXT_CHARS = 1_000  # any other description, the last command's note, the URL
CONFIG_PREFIX = f"Invalid {FILE_NAME}: "
#: how every status of a sleeping preview (``success``, preview/sleep.py) begins; its link wakes it
SLEEPING = "Sleeping"

HELP = {
    "deploy": "deploy the preview (again allowed after `destroy`)",
    "redeploy": "re-apply the preview of the current head",
    "destroy": "remove the preview until `/preview deploy`",
    "approve": "allow the head commit you reviewed of a fork pull request to deploy (or `approve <sha>`)",
    "wake": "scale a sleeping preview back up",
    "status": "show the preview's state in this comment",
    "help": "list these commands",
}


def help_text() -> str:
    """One line listing the ``/preview`` commands."""
    return "Commands (write permission needed): " + "; ".join(f"`/preview {k}` {v}" for k, v in HELP.items())


_BADGE = {
    State.PENDING: "⏳ Deploying",
    State.SUCCESS: "✅ Ready",
    State.FAILURE: "❌ Failed",
    State.ERROR: "⚪ Stopped",
}


@dataclass(frozen=True, slots=True)
class CommentView:
    """What the comment shows."""

    sha: str
    state: State | None  # None: the preview was removed
    description: str
    url: str | None
    updated: str
    expires: str | None = None
    note: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CommentView:
        data = json.loads(text)
        data["state"] = State(data["state"]) if data.get("state") else None
        return cls(**data)


# Characters that mean nothing to GitHub Markdown between plain words (besides letters and digits).
_PLAIN = frozenset(".,:;'\"()/=+-%?{}…")
# Plain-looking words GitHub still turns into links or references: URLs, commit ids, GH-1, CVE-…, PROJ-12.
_LINKY = re.compile(r"://|www\.|[0-9a-f]{7,}|[a-z]-?[0-9]", re.IGNORECASE)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _printable(text: str) -> str:
    """Whitespace runs become one space; other invisible or control characters become ``\\uXXXX``."""
    out = []
    for c in text:
        if c.isspace():
            out.append(" ")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return " ".join("".join(out).split())


def _is_plain(word: str) -> bool:
    return all(c.isalnum() or c in _PLAIN for c in word) and not _LINKY.search(word)


def _code(text: str, in_table: bool) -> str:
    """``text`` as one code span: nothing inside is Markdown, HTML, a link or a mention."""
    if in_table:  # a pipe would end the cell even inside code; keep a backslash from escaping the escape
        text = re.sub(r"\\(?=\|)", "\\\\\u200b", text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def inert(text: str, limit: int = MAX_TEXT_CHARS, *, in_table: bool = True) -> str:
    """``text`` shown as itself: plain words stay plain, runs of other words go into code spans."""
    words, run, out = _clip(_printable(text[: 4 * limit]), limit).split(" "), [], []
    for word in [*words, ""]:
        if word and not _is_plain(word):
            run.append(word)
            continue
        if run:
            out.append(_code(" ".join(run), in_table))
            run = []
        if word:
            out.append(word)
    return " ".join(out)


def describe(description: str, *, in_table: bool = True) -> str:
    """A description for the comment; the problems of an invalid ``.preview.yml`` one per line."""
    if not description.startswith(CONFIG_PREFIX):
        return inert(description, in_table=in_table)
    problems = description[len(CONFIG_PREFIX) :]
    items = problems.split(SEPARATOR, MAX_ITEMS)[:MAX_ITEMS]
    shown = [f"• {inert(item, MAX_ITEM_CHARS, in_table=in_table)}" for item in items]
    if (more := problems.count(SEPARATOR) + 1 - len(items)) > 0:
        shown.append(f"… and {more} more")
    return "<br>".join([inert(CONFIG_PREFIX.strip()), *shown])


def _cell(text: str) -> str:
    return _clip(" ".join(text.split()), MAX_TEXT_CHARS).replace("|", "\\|")


def _footer(view: CommentView) -> list[str]:
    lines = [""]
    if view.note:
        lines += [f"Last command: {_clip(' '.join(view.note.split()), MAX_TEXT_CHARS)}", ""]
    return [*lines, f"<sub>{help_text()}</sub>"]


def render(view: CommentView) -> str:
    """Markdown body with a hidden marker so the comment can be found again."""
    if view.state is None:
        lines = [
            MARKER,
            "### Preview environment",
            "",
            f"🗑️ **Removed** — {describe(view.description, in_table=False)}.",
            "",
            f"Last deployed commit `{view.sha[:7]}` · updated {view.updated}"
            if view.sha
            else f"Updated {view.updated}",
        ]
        return "\n".join([*lines, *_footer(view)]) + "\n"
    sleeping = view.state is State.SUCCESS and view.description.startswith(SLEEPING)
    badge = "💤 Sleeping" if sleeping else _BADGE[view.state]
    rows = [
        ("State", f"{badge} — {describe(view.description)}"),
        ("Commit", f"`{view.sha[:7]}`"),
    ]
    if view.url and view.state is State.SUCCESS:
        rows.insert(1, ("Wake" if sleeping else "URL", view.url))
    rows.append(("Updated", view.updated))
    if view.expires:
        rows.append(("Expires", view.expires))
    table = ["| | |", "|---|---|", *(f"| **{k}** | {v if k == 'State' else _cell(v)} |" for k, v in rows)]
    return "\n".join([MARKER, "### Preview environment", "", *table, *_footer(view)]) + "\n"
