"""The single PR comment previewbot keeps up to date (pure rendering)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from preview.models import State

MARKER = "<!-- previewbot:preview-comment -->"

HELP = {
    "deploy": "deploy the preview (again allowed after `destroy`)",
    "redeploy": "re-apply the preview of the current head",
    "destroy": "remove the preview until `/preview deploy`",
    "approve": "allow this exact head commit of a fork pull request to deploy",
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _footer(view: CommentView) -> list[str]:
    lines = [""]
    if view.note:
        lines += [f"Last command: {view.note}", ""]
    return [*lines, f"<sub>{help_text()}</sub>"]


def render(view: CommentView) -> str:
    """Markdown body with a hidden marker so the comment can be found again."""
    if view.state is None:
        lines = [
            MARKER,
            "### Preview environment",
            "",
            f"🗑️ **Removed** — {view.description}.",
            "",
            f"Last deployed commit `{view.sha[:7]}` · updated {view.updated}"
            if view.sha
            else f"Updated {view.updated}",
        ]
        return "\n".join([*lines, *_footer(view)]) + "\n"
    rows = [
        ("State", f"{_BADGE[view.state]} — {view.description}"),
        ("Commit", f"`{view.sha[:7]}`"),
    ]
    if view.url and view.state is State.SUCCESS:
        rows.insert(1, ("URL", view.url))
    rows.append(("Updated", view.updated))
    if view.expires:
        rows.append(("Expires", view.expires))
    table = ["| | |", "|---|---|", *(f"| **{k}** | {_cell(v)} |" for k, v in rows)]
    return "\n".join([MARKER, "### Preview environment", "", *table, *_footer(view)]) + "\n"
