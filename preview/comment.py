"""The single PR comment previewbot keeps up to date (pure rendering)."""

from __future__ import annotations

from dataclasses import dataclass

from preview.models import State

MARKER = "<!-- previewbot:preview-comment -->"

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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(view: CommentView) -> str:
    """Markdown body with a hidden marker so the comment can be found again."""
    if view.state is None:
        lines = [
            MARKER,
            "### Preview environment",
            "",
            f"🗑️ **Removed** — {view.description}.",
            "",
            f"<sub>Last deployed commit `{view.sha[:7]}` · updated {view.updated}</sub>",
        ]
        return "\n".join(lines) + "\n"
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
    return "\n".join([MARKER, "### Preview environment", "", *table]) + "\n"
