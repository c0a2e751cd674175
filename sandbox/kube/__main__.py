"""Command line: ``python -m sandbox.kube --port PORT [--kubeconfig PATH] [--speed S]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .emulator import KubeEmulator


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.kube", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the emulator to this path")
    parser.add_argument("--speed", type=float, default=1.0, help="divide every simulated delay by this")
    args = parser.parse_args(argv)
    emu = KubeEmulator(speed=args.speed).start(port=args.port)
    if args.kubeconfig:
        emu.write_kubeconfig(args.kubeconfig)
    print(emu.url, flush=True)
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not done.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
