"""Run every benchmark, print one table, write bench/results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from .figures import Figure

BENCHES = ("bench_bus", "bench_can", "bench_stack", "bench_ocpp", "bench_ocpp201")


def _print(figures: list[Figure]) -> None:
    width = max(len(f.name) for f in figures)
    sys.stdout.write(f"{'figure':<{width}}  {'value':>12}  {'unit':<6}  goal / note\n")
    sys.stdout.write("-" * (width + 48) + "\n")
    for f in figures:
        extra = "  ".join(x for x in (f.goal, f.note) if x)
        sys.stdout.write(f"{f.name:<{width}}  {f.value:>12.2f}  {f.unit:<6}  {extra}\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("only", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures: list[Figure] = []
    for name in args.only or BENCHES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            continue
        sys.stdout.write(f"running {name} ...\n")
        sys.stdout.flush()
        figures.extend(asyncio.run(module.run()))
    _print(figures)
    out = Path(__file__).parent / "results" / "latest.json"
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "figures": [f.as_dict() for f in figures]},
                              indent=2))
    sys.stdout.write(f"\nwritten to {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
