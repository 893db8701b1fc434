"""A figure and the statistics the benchmarks report."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    goal: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(samples: list[float], pct: float) -> float:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def p50_p99(name: str, samples_ms: list[float], goal50: str = "", goal99: str = "", note: str = "") -> list[Figure]:
    return [
        Figure(f"{name} p50", statistics.median(samples_ms), "ms", goal50, note),
        Figure(f"{name} p99", percentile(samples_ms, 99), "ms", goal99, f"n={len(samples_ms)}"),
    ]
