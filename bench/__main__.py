"""``python -m bench``: run every benchmark, each in a process of its own, and print their figures.

``make bench`` runs this. Each benchmark prints its targets as ``met`` or ``MISSED``; this runner
collects those lines at the end, so a missed target is never lost in the output. It exits non-zero
only when a benchmark could not run (crashed), not when a target is missed: figures are reported,
not enforced.

    python -m bench [--quick] [NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

#: name → (module, what it measures), in the order of BENCHMARKS.md
BENCHMARKS: dict[str, tuple[str, str]] = {
    "critical_path": ("bench.critical_path", "webhook accepted → success status, split by where the time goes"),
    "intake": ("bench.intake", "the real intake against a bare Flask endpoint under gunicorn"),
    "watcher_scale": ("bench.watcher_scale", "one watcher following many live previews"),
    "burst": ("bench.burst", "1,000 webhooks over 100 PRs with 4 worker processes"),
    "api_economy": ("bench.api_economy", "Kubernetes requests per sync, GitHub requests per PR lifecycle"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs of every benchmark (a few minutes)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="run only these: " + ", ".join(BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    verdicts: list[str] = []
    crashed: list[str] = []
    started = time.monotonic()
    for name in names:
        module, what = BENCHMARKS[name]
        print(f"\n######## {name}: {what}\n", flush=True)
        command = [sys.executable, "-m", module, *(["--quick"] if args.quick else [])]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.rstrip().endswith(("met", "MISSED")) or "→ met" in line or "→ MISSED" in line:
                verdicts.append(f"{name}: {line.strip()}")
        if proc.wait() != 0:
            crashed.append(f"{name} (exit {proc.returncode})")
    print(f"\n######## summary ({time.monotonic() - started:.0f} s)\n")
    for line in verdicts:
        print(f"  {line}")
    missed = sum("MISSED" in line for line in verdicts)
    print(f"\n  {len(verdicts) - missed} targets met, {missed} missed")
    if crashed:
        print("  benchmarks that failed to run: " + ", ".join(crashed))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
