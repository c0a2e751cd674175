"""Turns the text of a repository's ``.preview.yml`` into a :class:`~preview.repo_config.RepoConfig`.

Whoever opens a pull request writes this text, so reading it is bounded in time and memory: the file
is capped in size, and while PyYAML's event stream is composed into nodes, anchors, aliases, merge keys
(``<<``), tags other than the standard ones, deep nesting and too many nodes are refused on the spot,
before any Python value exists. Values are then built from the (small, alias-free) node tree by hand,
which also records the line of every key for the error messages.
"""

from __future__ import annotations

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from preview.repo_config import (
    DEFAULT,
    FILE_NAME,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    ConfigError,
    Path,
    RepoConfig,
    key_label,
    parse,
    where,
)

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map"))
_MERGE_TAG = _CORE + "merge"
_VALUE_TAG = _CORE + "value"  # what PyYAML makes of a lone plain '='


class _Refused(Exception):
    """Input refused while reading it: ``reason`` at ``mark``, under key ``path``."""

    def __init__(self, reason: str, mark: yaml.Mark | None, path: Path) -> None:
        super().__init__(reason)
        self.reason, self.mark, self.path = reason, mark, path

    def problem(self) -> str:
        if self.mark is None:
            return f"{where(self.path)}: {self.reason}"
        return f"{where(self.path, self.mark.line + 1, self.mark.column + 1)}: {self.reason}"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tag(tag: str) -> str:
    """A tag as YAML spells it: ``!!str`` rather than ``tag:yaml.org,2002:str``."""
    return repr(_clip("!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag))


class _GuardedLoader(yaml.SafeLoader):
    """``SafeLoader`` whose composer refuses whatever could make the document costly to build."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._path: list[str | int] = []
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:  # type: ignore[override]
        event = self.peek_event()
        part: str | int | None = None  # None: a key, or the top level
        if isinstance(index, ScalarNode):
            part = _clip(index.value, 60)
        elif isinstance(index, Node):
            part = "?"
        elif isinstance(index, int):
            part = index
        path = tuple(self._path) if part is None else (*self._path, part)
        self._check(event, path)
        if part is not None:
            self._path.append(part)
        nested = isinstance(event, CollectionStartEvent)
        self._depth += nested
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= nested
            if part is not None:
                self._path.pop()

    def _check(self, event: Event, path: Path) -> None:
        mark = event.start_mark
        if isinstance(event, AliasEvent):
            raise _Refused(f"aliases (*{_clip(event.anchor)}) are not allowed (write the value out)", mark, path)
        if event.anchor is not None:
            raise _Refused(f"anchors (&{_clip(event.anchor)}) are not allowed (write the value out)", mark, path)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _ALLOWED_TAGS:
            raise _Refused(f"tag {_tag(tag)} is not allowed (only the standard YAML types)", mark, path)
        plain = isinstance(event, ScalarEvent) and tag in (None, "!")
        if plain and self.resolve(ScalarNode, event.value, event.implicit) == _MERGE_TAG:
            raise _Refused("merge keys (<<) are not allowed (write the keys out)", mark, path)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(f"too many values (at most {MAX_NODES} keys, values and list items)", mark, path)
        if isinstance(event, CollectionStartEvent) and self._depth >= MAX_DEPTH:
            raise _Refused(f"nested too deeply (at most {MAX_DEPTH} levels)", mark, path)


def _scalar(loader: _GuardedLoader, node: ScalarNode, path: Path) -> object:
    if node.tag == _VALUE_TAG:
        return node.value
    if node.tag == _MERGE_TAG:  # refused while composing already; kept as a second line of defence
        raise _Refused("merge keys (<<) are not allowed (write the keys out)", node.start_mark, path)
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        kind = node.tag.rsplit(":", 1)[-1]
        reason = f"cannot read {_clip(node.value)!r} as {kind} (quote it to use it as text)"
        raise _Refused(reason, node.start_mark, path) from None


def _build(loader: _GuardedLoader, node: Node, path: Path, lines: dict[Path, int]) -> object:
    """Plain Python data for ``node``, recording the line of every key and list item in ``lines``."""
    if isinstance(node, MappingNode):
        if node.tag != _CORE + "map":
            raise _Refused(f"tag {_tag(node.tag)} does not fit a mapping", node.start_mark, path)
        result: dict[object, object] = {}
        first: dict[object, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Refused("keys must be plain values, not lists or mappings", key_node.start_mark, path)
            key = _scalar(loader, key_node, path)
            child = (*path, key_label(key))
            line = key_node.start_mark.line + 1
            if key in first:
                raise _Refused(f"duplicate key (first defined on line {first[key]})", key_node.start_mark, child)
            first[key] = line
            lines.setdefault(child, line)
            result[key] = _build(loader, value_node, child, lines)
        return result
    if isinstance(node, SequenceNode):
        if node.tag != _CORE + "seq":
            raise _Refused(f"tag {_tag(node.tag)} does not fit a list", node.start_mark, path)
        items: list[object] = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*path, i), lines))
        return items
    assert isinstance(node, ScalarNode)
    return _scalar(loader, node, path)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """``.preview.yml (line L, column C): problem`` (1-based), or the bare message if YAML gave no position."""
    if isinstance(exc, ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return f"{where((), line, column)}: character #x{exc.character:04x} is not allowed ({exc.reason})"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{problem} ({context})"
    if mark is None:
        return f"{FILE_NAME}: {problem}"
    return f"{where((), mark.line + 1, mark.column + 1)}: {problem}"


def load(text: str | None) -> RepoConfig:
    """Parse and validate ``.preview.yml`` text; ``None`` (no file) gives the defaults.

    Raises :class:`ConfigError` for a file over the size limit, YAML that does not parse (with line
    and column), anchors, aliases, merge keys, custom tags, too deep or too large documents,
    duplicate keys, or any schema problem (every field at once, each with its key and line).
    """
    if text is None:
        return DEFAULT
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ConfigError([f"{FILE_NAME}: file is too large (at most {MAX_FILE_BYTES // 1024} KiB)"])
    lines: dict[Path, int] = {}
    try:
        loader = _GuardedLoader(text)
        try:
            root = loader.get_single_node()
            data = None if root is None else _build(loader, root, (), lines)
            if root is not None:
                lines[()] = root.start_mark.line + 1
        finally:
            loader.dispose()
    except _Refused as exc:
        raise ConfigError([exc.problem()]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text)]) from None
    except RecursionError:
        raise ConfigError([f"{FILE_NAME}: nested too deeply (at most {MAX_DEPTH} levels)"]) from None
    return parse(data, lines)
