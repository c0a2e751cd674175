"""Turns the text of a repository's ``.preview.yml`` into a :class:`~preview.repo_config.RepoConfig`."""

from __future__ import annotations

import yaml

from preview.repo_config import DEFAULT, FILE_NAME, ConfigError, RepoConfig, parse

MAX_CHARS = 64 * 1024
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a mapping holding the same key twice (keys merged in with ``<<`` excepted)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        first_line: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first defined on line {first_line[key] + 1})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line
            except TypeError:
                continue  # an unhashable key: the base class reports it
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``.preview.yml line L, column C: problem`` (1-based), or the bare message if YAML gave no position."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{problem} ({context})"
    if mark is None:
        return f"{FILE_NAME}: {problem}"
    return f"{FILE_NAME} line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load(text: str | None) -> RepoConfig:
    """Parse and validate ``.preview.yml`` text; ``None`` (no file) gives the defaults.

    Raises :class:`ConfigError` for YAML that does not parse (with line and column), duplicate
    keys, or any schema problem (every field at once).
    """
    if text is None:
        return DEFAULT
    if len(text) > MAX_CHARS:
        raise ConfigError([f"{FILE_NAME}: file is too large ({len(text)} characters, at most {MAX_CHARS})"])
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc)]) from None
    except RecursionError:
        raise ConfigError([f"{FILE_NAME}: nested too deeply"]) from None
    return parse(data)
