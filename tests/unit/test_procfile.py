"""The Procfile's ``web`` bind: ``PORT`` (0.0.0.0) wins, then ``PREVIEWBOT_BIND``, then 127.0.0.1:8000."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from scripts.run import ROOT, pin_local_bind, read_procfile

SHELLS = [sh for sh in ("sh", "bash", "dash") if shutil.which(sh)]


def web_bind(env: dict[str, str], shell: str = "sh") -> str:
    """The address the ``web`` line hands gunicorn when a Procfile runner runs it with ``<shell> -c``."""
    command = dict(read_procfile(ROOT / "Procfile"))["web"]
    assert command.startswith("gunicorn ")
    stub = 'gunicorn() { while [ $# -gt 0 ]; do [ "$1" = --bind ] && printf \'%s\' "$2"; shift; done; }; '
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run([shell, "-c", stub + command], env=clean, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "5000"}, "0.0.0.0:5000"),
        ({"PORT": "5000", "PREVIEWBOT_BIND": "10.1.2.3:9000"}, "0.0.0.0:5000"),
        ({"PREVIEWBOT_BIND": "10.1.2.3:9000"}, "10.1.2.3:9000"),
        ({"PORT": "", "PREVIEWBOT_BIND": "10.1.2.3:9000"}, "10.1.2.3:9000"),
        ({}, "127.0.0.1:8000"),
    ],
)
def test_web_bind_precedence(shell: str, env: dict[str, str], expected: str) -> None:
    assert web_bind(env, shell) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "127.0.0.1:8000"),
        ({"PORT": "5000"}, "127.0.0.1:5000"),
        ({"PORT": "", "PREVIEWBOT_BIND": ""}, "127.0.0.1:8000"),
        ({"PORT": "5000", "PREVIEWBOT_BIND": "0.0.0.0:7000"}, "0.0.0.0:7000"),
    ],
)
def test_make_run_keeps_its_local_bind(env: dict[str, str], expected: str) -> None:
    """``make run`` (scripts/run.py) turns PORT into a 127.0.0.1 bind and the web line follows it."""
    env = dict(env)
    pin_local_bind(env)
    assert "PORT" not in env
    assert web_bind(env) == expected


def test_make_run_port_defaults_to_8000() -> None:
    assert pin_local_bind({"PORT": "5000"}) == 5000
    assert pin_local_bind({"PORT": ""}) == 8000
    assert pin_local_bind({}) == 8000
