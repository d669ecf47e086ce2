"""The one significance module (issue #15): a real change is flagged, noise is not, small counts never."""

from __future__ import annotations

import random
from fractions import Fraction
from math import comb

import pytest

from webapp.services.significance import (
    MIN_COUNT,
    Direction,
    Method,
    adjust,
    benjamini_hochberg,
    binomial_two_sided,
    rate_change,
    share_change,
)


def test_a_topic_that_triples_in_the_last_week_is_flagged_up() -> None:
    # 10 a week for four weeks (40 in 28 days), then 30 in 7 days
    result = rate_change(30, 40, current_days=7, baseline_days=28)
    assert result.method is Method.POISSON_RATE
    assert result.significant and result.flag is Direction.UP
    assert result.ratio == pytest.approx(3.0)
    assert result.p_value is not None and result.p_value < 0.001


def test_a_topic_that_vanishes_is_flagged_down() -> None:
    result = rate_change(0, 80, current_days=7, baseline_days=28)
    assert result.significant and result.flag is Direction.DOWN


def test_the_same_rate_per_day_over_periods_of_different_length_is_not_a_change() -> None:
    result = rate_change(10, 40, current_days=7, baseline_days=28)
    assert result.current == pytest.approx(result.baseline)
    assert not result.significant and result.flag is Direction.FLAT
    assert result.p_value == pytest.approx(1.0)


def test_the_exact_test_matches_the_binomial_conditional_on_the_total() -> None:
    # n = 12, p0 = 1/2: P(X >= 10) * 2 = 2 * (66 + 12 + 1) / 4096
    result = rate_change(10, 2, current_days=30, baseline_days=30)
    assert result.p_value == pytest.approx(2 * 79 / 4096)


def test_the_exact_binomial_test_doubles_the_smaller_exact_tail() -> None:
    """Checked against the binomial distribution summed exactly (fractions), on both sides of the mean,
    in the tails, at the edges and at the mean itself."""

    def exact(k: int, n: int, p: Fraction) -> float:
        pmf = [comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
        return float(min(Fraction(1), 2 * min(sum(pmf[: k + 1]), sum(pmf[k:]))))

    for k, n, p in [(10, 12, Fraction(1, 2)), (0, 80, Fraction(1, 5)), (30, 70, Fraction(1, 5)),
                    (12, 60, Fraction(1, 5)), (5, 5, Fraction(1, 2)), (0, 1, Fraction(9, 10)),
                    (3, 200, Fraction(7, 100)), (25, 200, Fraction(7, 100)), (14, 200, Fraction(7, 100))]:
        assert binomial_two_sided(k, n, float(p)) == pytest.approx(exact(k, n, p), rel=1e-9, abs=1e-15), (k, n, p)
    with pytest.raises(ValueError):
        binomial_two_sided(3, 2, 0.5)


def test_small_counts_are_never_flagged_however_large_the_ratio() -> None:
    result = rate_change(MIN_COUNT - 1, 0, current_days=7, baseline_days=28)
    assert not result.tested and not result.significant
    assert result.p_value is None and result.ratio is None
    assert result.direction is Direction.UP  # the direction is shown, never flagged
    share = share_change(4, 5, 0, 5)
    assert not share.tested and not share.significant


def test_the_minimum_count_is_a_parameter() -> None:
    assert rate_change(30, 0, current_days=7, baseline_days=28, min_count=50).tested is False
    assert rate_change(30, 0, current_days=7, baseline_days=28, min_count=20).significant


def test_noise_in_weekly_volumes_is_not_flagged_more_than_alpha() -> None:
    """Steady Poisson(10 a day) volumes: a week against four weeks is flagged in about 5 % of draws."""
    rng = random.Random(15)  # noqa: S311 - a fixed sequence for the test

    def poisson(mean: float) -> int:  # Knuth, fine for small means
        limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k

    flagged = 0
    draws = 400
    for _ in range(draws):
        current = sum(poisson(10) for _ in range(7))
        baseline = sum(poisson(10) for _ in range(28))
        flagged += rate_change(current, baseline, current_days=7, baseline_days=28).significant
    assert flagged / draws < 0.09


def test_an_unhappy_share_that_doubles_is_flagged_and_a_wobble_is_not() -> None:
    real = share_change(80, 200, 160, 800)  # 40 % against 20 %
    assert real.method is Method.TWO_PROPORTION and real.significant and real.flag is Direction.UP
    wobble = share_change(44, 200, 160, 800)  # 22 % against 20 %
    assert wobble.tested and not wobble.significant


def test_the_two_proportion_test_needs_enough_expected_hits() -> None:
    # 0 of 20 against 5 of 20: pooled 12.5 %, 2.5 expected hits per period: the test does not hold
    assert not share_change(5, 20, 0, 20).tested


def test_benjamini_hochberg_matches_the_textbook_example() -> None:
    p_values = [0.01, 0.04, 0.03, 0.005, 0.5]
    # sorted: .005 .01 .03 .04 .5 -> x5/1 .025, x5/2 .025, x5/3 .05, x5/4 .05, .5
    assert benjamini_hochberg(p_values) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    assert benjamini_hochberg([]) == []


def test_many_topics_at_once_one_real_change_among_noise() -> None:
    """Twenty topics: one triples, nineteen hover. After the correction only the real one is flagged,
    and a borderline p-value that passes alone does not pass among twenty."""
    rng = random.Random(7)  # noqa: S311 - a fixed sequence for the test
    results = [rate_change(36, 48, current_days=7, baseline_days=28)]
    for _ in range(19):
        baseline = rng.randint(40, 60)
        results.append(rate_change(baseline // 4 + rng.randint(-3, 3), baseline, current_days=7, baseline_days=28))
    results.append(rate_change(3, 1, current_days=7, baseline_days=28))  # under the minimum count
    corrected = adjust(results)
    assert [r.significant for r in corrected].count(True) == 1 and corrected[0].significant
    assert corrected[-1] == results[-1]  # not tested, left out of the family
    borderline = rate_change(22, 48, current_days=7, baseline_days=28)
    assert borderline.p_value is not None and 0.01 < borderline.p_value < 0.05 and borderline.significant
    family = adjust([borderline] + [rate_change(12, 48, current_days=7, baseline_days=28)] * 19)
    assert not family[0].significant and family[0].q_value == pytest.approx(min(1.0, borderline.p_value * 20))


def test_counts_and_periods_must_make_sense() -> None:
    with pytest.raises(ValueError):
        rate_change(-1, 3, current_days=7, baseline_days=28)
    with pytest.raises(ValueError):
        rate_change(1, 3, current_days=0, baseline_days=28)
    with pytest.raises(ValueError):
        share_change(6, 5, 1, 5)
