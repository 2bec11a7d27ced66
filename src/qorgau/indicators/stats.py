"""Exact Poisson (Garwood) confidence intervals for counts and rates, so that a region with
three injuries is not read as precisely as one with three hundred."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import chi2


def garwood(k: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a Poisson mean given an observed count k."""
    if k < 0:
        raise ValueError("count must be non-negative")
    alpha = 1.0 - level
    lower = 0.0 if k == 0 else float(chi2.ppf(alpha / 2, 2 * k)) / 2
    upper = float(chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return lower, upper


@dataclass(frozen=True)
class Rate:
    count: int
    denominator: int
    per: int
    value: float | None
    low: float | None
    high: float | None


def rate(count: int, denominator: int, per: int, level: float = 0.95) -> Rate:
    """count / denominator × per, with the Garwood interval scaled the same way."""
    if denominator <= 0:
        return Rate(count, denominator, per, None, None, None)
    lo, hi = garwood(count, level)
    scale = per / denominator
    return Rate(count, denominator, per, count * scale, lo * scale, hi * scale)


def change_pct(current: int, previous: int) -> float | None:
    """Year-on-year change in per cent; None when the base is zero."""
    if previous == 0:
        return None
    return (current - previous) / previous * 100.0
