"""``make demo``: play one pull request through its whole life against a sandbox ``make run``.

open → ready → push → ready → close, with signed webhooks delivered by the GitHub emulator;
prints every commit status as GitHub would show it, and checks the namespace is gone at the end.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import requests

from preview import naming

STATE = Path(__file__).resolve().parent.parent / ".run" / "sandbox.json"
TIMEOUT = 120.0


class Demo:
    """Talks to the running sandbox over HTTP only."""

    def __init__(self, info: dict[str, str]) -> None:
        self.info = info
        self.repo = info["repo"]
        self.control = info["github_url"].rstrip("/") + "/_emulator"
        self.shown: dict[str, int] = {}

    def call(self, method: str, path: str, body: dict | None = None) -> dict | list:
        response = requests.request(method, f"{self.control}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def deliver(self, action: str, number: int) -> None:
        delivery = self.call(
            "POST",
            "/deliver",
            {
                "url": self.info["webhook_url"],
                "secret": self.info["webhook_secret"],
                "event": "pull_request",
                "action": action,
                "repo": self.repo,
                "number": number,
            },
        )
        print(f"  webhook pull_request.{action} → HTTP {delivery['status_code']}")

    def statuses(self, sha: str) -> list[dict]:
        return [s for s in self.call("GET", f"/statuses/{self.repo}/{sha}") if s["context"] == "preview"]

    def follow(self, sha: str) -> str:
        """Print new statuses of ``sha`` until a final one arrives; return its state."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = self.statuses(sha)
            for status in found[self.shown.get(sha, 0) :]:
                link = f"  {status['target_url']}" if status.get("target_url") else ""
                print(f"  {sha[:7]}  {status['state']:<8} {status['description']}{link}")
            self.shown[sha] = len(found)
            if found and found[-1]["state"] != "pending":
                return found[-1]["state"]
            time.sleep(0.2)
        raise SystemExit(f"demo: no final status for {sha[:7]} after {TIMEOUT:.0f}s (is `make run` running?)")

    def namespace_exists(self, number: int) -> bool:
        name = naming.namespace_name(self.repo, number)
        response = requests.get(f"{self.info['kube_url']}/api/v1/namespaces/{name}", timeout=10)
        return response.status_code == 200

    def run(self) -> int:
        number = int(time.time()) % 100000
        pr = self.call("POST", "/pulls", {"repo": self.repo, "number": number, "branch": "demo-feature"})
        sha = pr["head"]["sha"]
        print(f"1. open {self.repo}#{number} at {sha[:7]}")
        self.deliver("opened", number)
        first = self.follow(sha)
        new = self.call("POST", f"/pulls/{self.repo}/{number}/push", {})["sha"]
        print(f"2. push {new[:7]}")
        self.deliver("synchronize", number)
        second = self.follow(new)
        print("3. close (merged)")
        self.call("POST", f"/pulls/{self.repo}/{number}/close", {"merged": True})
        self.deliver("closed", number)
        deadline = time.monotonic() + TIMEOUT
        while self.namespace_exists(number):
            if time.monotonic() > deadline:
                raise SystemExit("demo: the preview namespace was not deleted")
            time.sleep(0.2)
        print(f"  namespace {naming.namespace_name(self.repo, number)} deleted")
        for comment in self.call("GET", f"/comments/{self.repo}/{number}"):
            print("  the PR comment now reads:")
            print("\n".join(f"    {line}" for line in comment["body"].splitlines() if not line.startswith("<!--")))
        ok = first == second == "success"
        print("demo passed" if ok else "demo failed")
        return 0 if ok else 1


def main() -> None:
    if not STATE.exists():
        sys.exit("demo: start `make run` first (sandbox mode, with no credentials configured)")
    sys.exit(Demo(json.loads(STATE.read_text())).run())


if __name__ == "__main__":
    main()
