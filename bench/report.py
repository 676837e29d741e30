"""The benchmark report: ratios to the database's own write rate, targets, and the table."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

THROUGHPUTS = ("runs_per_s", "steps_per_s")
_AT_MOST, _BELOW, _AT_LEAST = operator.le, operator.lt, operator.ge
_SIGN = {_AT_MOST: "<=", _BELOW: "<", _AT_LEAST: ">="}

# (scenario, mode or "*", figure) -> (comparison, target): the targets this engine is held to.
TARGETS: dict[tuple[str, str, str], tuple[Callable[[Any, Any], bool], float]] = {
    ("webhook-1", "postgres", "runs_per_s"): (_AT_LEAST, 1000),
    ("webhook-1", "postgres", "p99_ms"): (_BELOW, 50),
    ("webhook-1", "embedded", "runs_per_s"): (_AT_LEAST, 400),
    ("chain-10", "*", "steps_per_s"): (_AT_LEAST, 3000),
    ("chain-40", "*", "p50_ms"): (_BELOW, 150),
    ("retry", "*", "lateness_p99_ms"): (_BELOW, 100),
    ("timers", "*", "lateness_p99_ms"): (_BELOW, 100),
    ("*", "postgres", "tx_per_step"): (_AT_MOST, 2),
    ("*", "*", "rss_mb"): (_BELOW, 150),
    ("*", "*", "not_succeeded"): (_AT_MOST, 0),
}
SHOWN = (
    "runs_per_s",
    "steps_per_s",
    "iterations_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "lateness_p99_ms",
    "claims_per_s",
    "step_ms_at_10",
    "step_ms_at_end",
    "tx_per_step",
    "rss_mb",
    "cpu_cores",
    "cpu_ms_per_run",
    "not_succeeded",
)


def with_ratios(scenarios: dict[str, Any], pg_write_tps: float | None) -> dict[str, Any]:
    """Each throughput beside the database's single-row commit rate (``*_vs_pg_write``)."""
    if not pg_write_tps:
        return scenarios
    for modes in scenarios.values():
        for result in modes.values():
            for name in THROUGHPUTS:
                if result.get(name) is not None:
                    result[f"{name}_vs_pg_write"] = round(result[name] / pg_write_tps, 3)
    return scenarios


def target_of(scenario: str, mode: str, figure: str) -> tuple[Callable[[Any, Any], bool], float]:
    for key in ((scenario, mode, figure), (scenario, "*", figure), ("*", mode, figure)):
        if key in TARGETS:
            return TARGETS[key]
    return TARGETS.get(("*", "*", figure), (_AT_LEAST, float("nan")))


def _verdict(scenario: str, mode: str, figure: str, value: Any) -> tuple[str, str]:
    compare, target = target_of(scenario, mode, figure)
    if target != target:  # no target for this figure
        return "", ""
    if figure == "rss_mb":
        value = max(value.values())
    met = compare(value, target)
    gap = f"gap {value / target:.2f}x" if target else f"missed: {value:g}"
    return f"{_SIGN[compare]} {target:g}", "met" if met else gap


def _shown(figure: str, value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{name}={each:g}" for name, each in value.items())
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']}"]
    if report["baseline"]:
        lines.append(
            f"PostgreSQL single-row commits/s (8 connections): "
            f"{report['baseline']['pg_write_tps']:.0f}"
        )
    lines.append(f"{'scenario':<10} {'stack':<9} {'figure':<16} {'value':>28}  target    status")
    for scenario, modes in report["scenarios"].items():
        for mode, result in modes.items():
            for figure in SHOWN:
                if result.get(figure) is None:
                    continue
                target, verdict = _verdict(scenario, mode, figure, result[figure])
                shown = _shown(figure, result[figure])
                lines.append(
                    f"{scenario:<10} {mode:<9} {figure:<16} {shown:>28}  {target:<9} {verdict}"
                )
    for workers, result in report.get("scaling", {}).items():
        lines.append(
            f"webhook-1 postgres with {workers}: {result['runs_per_s']} runs/s, "
            f"cores {_shown('cpu_cores', result['cpu_cores'])}"
        )
    return "\n".join(lines)
