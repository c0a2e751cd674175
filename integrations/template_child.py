"""Renders a repository's templates in a child process under hard CPU, memory, time and output limits.

A pull request's author writes these templates, so they may loop forever, allocate gigabytes,
recurse or include themselves. The parent (:func:`render_untrusted`) starts this module as a
separate Python process with ``RLIMIT_CPU`` and ``RLIMIT_AS`` set, feeds it the templates and
values as JSON on stdin, and reads at most ``MAX_OUTPUT`` bytes of JSON back: either the parsed
YAML documents per template, or the template, line and problem that stopped it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CPU_SECONDS = 5
WALL_SECONDS = 15
MEMORY_BYTES = 768 * 1024 * 1024
MAX_OUTPUT = 4 * 1024 * 1024
MAX_RENDERED = 1024 * 1024
MAX_DOCUMENTS = 100


class TemplateFailure(Exception):
    """A repository template could not be rendered; ``template`` and ``line`` say where."""

    def __init__(self, template: str, problem: str, line: int | None = None) -> None:
        where = f"{template} line {line}" if line else template
        super().__init__(f"{where}: {problem}")
        self.template = template
        self.line = line
        self.problem = problem


def _limit() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def render_untrusted(templates: Mapping[str, str], values: dict) -> dict[str, list[Any]]:
    """The YAML documents each template renders to, in a child process under hard limits."""
    request = json.dumps({"templates": dict(templates), "values": values}).encode()
    first = sorted(templates)[0] if templates else "templates"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "integrations.template_child"],
            input=request,
            capture_output=True,
            timeout=WALL_SECONDS,
            preexec_fn=_limit,  # noqa: PLW1509 - no threads touch this between fork and exec
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TemplateFailure(first, f"rendering took longer than {WALL_SECONDS} s") from None
    if proc.returncode < 0 or (proc.returncode and not proc.stdout):
        raise TemplateFailure(first, _killed(proc.returncode))
    if len(proc.stdout) > MAX_OUTPUT:
        raise TemplateFailure(first, f"renders more than {MAX_OUTPUT // (1024 * 1024)} MiB")
    answer = json.loads(proc.stdout)
    if "error" in answer:
        error = answer["error"]
        raise TemplateFailure(str(error["template"]), str(error["problem"]), error.get("line"))
    return answer["documents"]


def _killed(code: int) -> str:
    if code in (-9, -24):  # SIGKILL at the hard CPU limit, SIGXCPU at the soft one
        return f"rendering used more than {CPU_SECONDS} s of CPU"
    return f"rendering stopped (exit {code}); it may have needed more than {MEMORY_BYTES // (1024 * 1024)} MiB"


# -- the child ------------------------------------------------------------------------------------


def _where(templates: Mapping[str, str], tb: Any) -> tuple[str | None, int | None]:
    """The innermost template frame of a traceback (Jinja2 maps its frames to template lines)."""
    found: tuple[str | None, int | None] = (None, None)
    for frame, line in traceback.walk_tb(tb):
        if frame.f_code.co_filename in templates:
            found = (frame.f_code.co_filename, line)
    return found


def _render(templates: dict[str, str], values: dict) -> dict:
    import jinja2
    import yaml
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    from integrations.template_env import ENV_OPTIONS, FILTERS

    env = SandboxedEnvironment(
        loader=jinja2.FunctionLoader(lambda name: (templates[name], name, lambda: True) if name in templates else None),
        **ENV_OPTIONS,
    )
    env.filters.update(FILTERS)
    documents: dict[str, list[Any]] = {}
    total = 0
    for name in sorted(templates):
        try:
            text = env.get_template(name).render(values)
        except jinja2.TemplateSyntaxError as exc:
            return {"error": {"template": exc.filename or name, "line": exc.lineno, "problem": exc.message}}
        except SecurityError as exc:
            where, line = _where(templates, exc.__traceback__)
            return {"error": {"template": where or name, "line": line, "problem": f"unsafe template: {exc}"}}
        except RecursionError:
            where, line = _where(templates, sys.exc_info()[2])
            return {"error": {"template": where or name, "line": line, "problem": "recursion too deep"}}
        except MemoryError:
            return {"error": {"template": name, "line": None, "problem": "rendering needed too much memory"}}
        except Exception as exc:  # noqa: BLE001 - anything a template raises is its author's problem
            where, line = _where(templates, exc.__traceback__)
            problem = f"{type(exc).__name__}: {exc}"[:300]
            return {"error": {"template": where or name, "line": line, "problem": problem}}
        total += len(text)
        if total > MAX_RENDERED:
            return {"error": {"template": name, "line": None, "problem": f"renders more than {MAX_RENDERED} bytes"}}
        try:
            docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = f"invalid YAML: {exc.problem or exc.context}"
            return {"error": {"template": name, "line": mark.line + 1 if mark else None, "problem": problem}}
        except yaml.YAMLError as exc:
            return {"error": {"template": name, "line": None, "problem": f"invalid YAML: {exc}"}}
        if sum(len(d) for d in documents.values()) + len(docs) > MAX_DOCUMENTS:
            return {"error": {"template": name, "line": None, "problem": f"more than {MAX_DOCUMENTS} objects"}}
        documents[name] = docs
    return {"documents": documents}


def main() -> None:
    """Read ``{"templates", "values"}`` from stdin, write ``{"documents"}`` or ``{"error"}`` to stdout."""
    request = json.loads(sys.stdin.buffer.read())
    try:
        answer = _render(request["templates"], request["values"])
        out = json.dumps(answer, default=str)
    except (MemoryError, RecursionError):
        out = json.dumps({"error": {"template": "templates", "line": None, "problem": "output too large"}})
    sys.stdout.write(out)


if __name__ == "__main__":
    main()
