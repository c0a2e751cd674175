"""Run the emulator: ``python -m sandbox.github --port PORT [--token T] [--repo owner/name ...]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import GitHubEmulator


def main(argv: list[str] | None = None) -> int:
    """Start the emulator on 127.0.0.1 and serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.github", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--token", action="append", default=[], help="accepted token (repeatable)")
    parser.add_argument("--repo", action="append", default=[], help="repository owner/name (repeatable)")
    parser.add_argument("--app-id", type=int, default=1)
    args = parser.parse_args(argv)

    emu = GitHubEmulator(app_id=args.app_id, port=args.port)
    for token in args.token:
        emu.add_token(token)
    for repo in args.repo:
        emu.add_repo(repo)
    emu.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"GitHub emulator listening on {emu.url}", flush=True)
    try:
        done.wait()
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
