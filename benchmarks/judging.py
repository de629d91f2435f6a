"""Targets, the ratios judged against them, and the tables the benchmark sections print."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """A ratio's bound: at most (or at least) ``limit``, on the medians or in every run."""

    limit: float
    at_most: bool
    every_run: bool = False

    def worst(self, ratios: list[float]) -> float:
        """The run furthest from the bound's side."""
        return max(ratios) if self.at_most else min(ratios)

    def met(self, figure: float) -> bool:
        """Whether ``figure`` keeps to the bound."""
        return figure <= self.limit if self.at_most else figure >= self.limit

    def describe(self) -> str:
        """``"median >= 1x"``, ``"every run <= 1.1x"``..."""
        which = "every run" if self.every_run else "median"
        return f"{which} {'<=' if self.at_most else '>='} {self.limit:g}x"


def speedup(baseline_s: float, ours_s: float) -> float:
    """How many times faster formexport is than the baseline."""
    return baseline_s / ours_s


def slowdown(baseline_s: float, ours_s: float) -> float:
    """How many times the baseline's time formexport takes."""
    return ours_s / baseline_s


def judge(
    target: Target,
    baseline: list[float],
    ours: list[float],
    ratio: Callable[[float, float], float],
) -> dict[str, Any]:
    """The ratio of ``ours`` to ``baseline`` in each run (same index, same run), of the
    medians, and whether the target is met."""
    per_run = [ratio(b, o) for b, o in zip(baseline, ours, strict=True)]
    median = ratio(statistics.median(baseline), statistics.median(ours))
    figure = target.worst(per_run) if target.every_run else median
    return {
        "baseline_median_s": round(statistics.median(baseline), 3),
        "formexport_median_s": round(statistics.median(ours), 3),
        "ratio_per_run": [round(r, 3) for r in per_run],
        "median_ratio": round(median, 3),
        "worst_ratio": round(target.worst(per_run), 3),
        "target": target.describe(),
        "met": target.met(figure),
    }


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    print("\n".join(["", title, *(line.rstrip() for line in lines)]), flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
