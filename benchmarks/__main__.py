"""``make bench``: run every ``benchmarks/bench_*.py`` and print their tables, then a summary.

Each benchmark runs in its own process (a crash or a leaked connection in one
cannot skew the next) and creates and drops its own database. Wall time never
fails the command: the exit status only says whether every benchmark ran.

    python -m benchmarks                 # all of them
    python -m benchmarks intake import   # those whose name contains a word
    python -m benchmarks --list
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Module names of the benchmarks, in a stable order."""
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks one after another."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run benchmarks whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    names = [n for n in discover() if not args.only or any(w in n for w in args.only)]
    if args.list or not names:
        print("\n".join(names) or "no benchmark matches")
        return 0 if names else 2
    results = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=HERE.parent,
                              check=False)
        results.append((name, time.perf_counter() - started, done.returncode))
    print("\n| benchmark | wall s | outcome |\n|---|---|---|")
    for name, seconds, code in results:
        print(f"| {name} | {seconds:.0f} | {'ran' if code == 0 else f'FAILED (exit {code})'} |")
    return 0 if all(code == 0 for _, _, code in results) else 1


if __name__ == "__main__":
    sys.exit(main())
