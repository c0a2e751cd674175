"""The ``python -m sandbox.kube`` entry point."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import kubernetes
import yaml


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_and_writes_kubeconfig(tmp_path: Path):
    port = _free_port()
    config = tmp_path / "kubeconfig"
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.kube", "--port", str(port), "--kubeconfig", str(config), "--speed", "10"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 5
        version = None
        while time.monotonic() < deadline and version is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=1) as resp:
                    version = json.loads(resp.read())
            except OSError:
                time.sleep(0.05)
        assert version and version["major"] == "1"
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"http://127.0.0.1:{port}"
        doc = yaml.safe_load(config.read_text())
        assert doc["current-context"] == "sandbox"
        api = kubernetes.config.new_client_from_config(config_file=str(config))
        names = [n.metadata.name for n in kubernetes.client.CoreV1Api(api).list_namespace().items]
        assert "default" in names
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
