"""Whether a change is news or noise: the one statistical test module (the dashboard, alerts, actions).

A change "counts only if significant": it passes a stated test at a stated level, on at least a
minimum count of voices, and, when many topics or reasons are tested at once, after a correction for
testing many. Three pieces, all pure (no database, no Flask):

**Volumes** (:func:`rate_change`): how many voices a topic had in a period against a baseline, of
possibly different lengths (the last 7 days against the previous 28). Counts of voices are modelled as
Poisson, and two Poisson rates are compared with the standard exact test, conditional on the total:
given ``n = current + baseline`` voices in the two periods together, under "same rate per day" the
current count is Binomial(n, current_days / (current_days + baseline_days)); the two-sided p-value is
the exact binomial test's, two-sided by doubling the smaller tail (:func:`binomial_two_sided`, with
scipy's binomial distribution). Rates are compared per day, so
lengths may differ. The change is tested only when ``n >= min_count``: three voices against none is
never news, however large the ratio.

**Shares** (:func:`share_change`): the share of a kind of voice (unhappy, a topic) among all voices of
each period, compared with the pooled two-proportion z-test (two-sided). It is tested only when each
period has at least ``min_count`` voices and the normal approximation holds (at least 5 expected
hits and 5 expected misses in each period under the pooled share).

**Many at once** (:func:`adjust`): when a page ranks twenty topics and flags the ones that moved, the
chance that one of twenty unchanged topics passes at 5 % is about 64 %. The flags are therefore
corrected with Benjamini and Hochberg's procedure, which keeps the expected share of false flags among
the flagged at ``alpha``: q-values are computed over the tested results only (those under the minimum
count are not tested, so they do not enter the family), and a result is significant when its q-value is
at most ``alpha``. A single rule (one alert on one topic) uses its p-value as it is.

Defaults: ``ALPHA`` = 0.05 and ``MIN_COUNT`` = 10 voices; both are parameters.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

#: The level at which a change is significant (for a family, the false discovery rate).
ALPHA = 0.05
#: The fewest voices a change rests on before it is tested at all.
MIN_COUNT = 10
#: The normal approximation of the two-proportion test needs this many expected hits and misses.
_MIN_EXPECTED = 5.0


class Method(enum.StrEnum):
    """Which test a result comes from (named on the pages that show it)."""

    POISSON_RATE = "poisson_rate"  #: exact conditional binomial test of two Poisson rates
    TWO_PROPORTION = "two_proportion"  #: pooled two-proportion z-test


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


@dataclass(frozen=True)
class Result:
    """One tested change. ``current`` and ``baseline`` are rates per day (volumes) or shares (0..1)."""

    method: Method
    current: float
    baseline: float
    #: current / baseline; None when the baseline is zero
    ratio: float | None
    #: None when the change was not tested (under the minimum count or the test's conditions)
    p_value: float | None
    #: the p-value corrected for the family by :func:`adjust`; the p-value itself until then
    q_value: float | None
    significant: bool

    @property
    def tested(self) -> bool:
        return self.p_value is not None

    @property
    def direction(self) -> Direction:
        if self.current > self.baseline:
            return Direction.UP
        if self.current < self.baseline:
            return Direction.DOWN
        return Direction.FLAT

    @property
    def flag(self) -> Direction:
        """The direction of a significant change, FLAT for one that is not."""
        return self.direction if self.significant else Direction.FLAT


def _ratio(current: float, baseline: float) -> float | None:
    return current / baseline if baseline > 0 else None


def _decide(method: Method, current: float, baseline: float, p_value: float | None, alpha: float) -> Result:
    significant = p_value is not None and p_value <= alpha and current != baseline
    return Result(method, current, baseline, _ratio(current, baseline), p_value, p_value, significant)


def rate_change(
    current: int,
    baseline: int,
    *,
    current_days: float,
    baseline_days: float,
    min_count: int = MIN_COUNT,
    alpha: float = ALPHA,
) -> Result:
    """Compare ``current`` voices over ``current_days`` with ``baseline`` voices over ``baseline_days``
    (rates per day), with the exact conditional test of two Poisson rates."""
    if current < 0 or baseline < 0:
        raise ValueError("counts cannot be negative")
    if current_days <= 0 or baseline_days <= 0:
        raise ValueError("periods must last more than zero days")
    rate, base_rate = current / current_days, baseline / baseline_days
    total = current + baseline
    if total < max(min_count, 1):
        return _decide(Method.POISSON_RATE, rate, base_rate, None, alpha)
    p_value = binomial_two_sided(current, total, current_days / (current_days + baseline_days))
    return _decide(Method.POISSON_RATE, rate, base_rate, p_value, alpha)


def binomial_two_sided(k: int, n: int, p: float) -> float:
    """The two-sided p-value of the exact binomial test of ``k`` successes in ``n`` trials against
    probability ``p``, by doubling: twice the smaller of P(X <= k) and P(X >= k), at most 1. The tails
    are scipy's binomial distribution functions (``scipy.special.bdtr`` and ``bdtrc``); scipy.stats,
    which would give the same tails, takes seconds to import, scipy.special a fraction of one."""
    from scipy.special import bdtr, bdtrc  # here, not at the top: scipy loads only where a test runs

    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    if not 0 <= k <= n:
        raise ValueError("k must be between 0 and n")
    lower = float(bdtr(k, n, p))
    upper = 1.0 if k == 0 else float(bdtrc(k - 1, n, p))
    return min(1.0, 2 * min(lower, upper))


def share_change(
    hits: int,
    total: int,
    baseline_hits: int,
    baseline_total: int,
    *,
    min_count: int = MIN_COUNT,
    alpha: float = ALPHA,
) -> Result:
    """Compare the share ``hits / total`` with ``baseline_hits / baseline_total`` (pooled two-proportion
    z-test, two-sided). A period with no voice has share 0."""
    if not (0 <= hits <= total and 0 <= baseline_hits <= baseline_total):
        raise ValueError("hits must be between 0 and the total")
    share = hits / total if total else 0.0
    base_share = baseline_hits / baseline_total if baseline_total else 0.0
    if total < max(min_count, 1) or baseline_total < max(min_count, 1):
        return _decide(Method.TWO_PROPORTION, share, base_share, None, alpha)
    pooled = (hits + baseline_hits) / (total + baseline_total)
    if min(total, baseline_total) * min(pooled, 1 - pooled) < _MIN_EXPECTED:
        return _decide(Method.TWO_PROPORTION, share, base_share, None, alpha)
    error = math.sqrt(pooled * (1 - pooled) * (1 / total + 1 / baseline_total))
    z = (share - base_share) / error
    p_value = math.erfc(abs(z) / math.sqrt(2))  # two-sided: 2 * (1 - Phi(|z|))
    return _decide(Method.TWO_PROPORTION, share, base_share, p_value, alpha)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given: q_(i) = min over j >= i of
    p_(j) * m / j for the sorted p-values, capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(running, 1.0)
    return adjusted


def adjust(results: Sequence[Result], *, alpha: float = ALPHA) -> list[Result]:
    """The same results with q-values over the tested ones (Benjamini-Hochberg) and each flag decided on
    its q-value; results that were not tested stay as they are (not significant)."""
    tested = [i for i, result in enumerate(results) if result.p_value is not None]
    q_values = benjamini_hochberg([results[i].p_value or 0.0 for i in tested])
    adjusted = list(results)
    for i, q_value in zip(tested, q_values, strict=True):
        result = results[i]
        significant = q_value <= alpha and result.current != result.baseline
        adjusted[i] = replace(result, q_value=q_value, significant=significant)
    return adjusted
