"""Empirical Bayes rates against esda and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from esda.smoothing import Empirical_Bayes

from geo.stats import eb_rates


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_esda_when_the_prior_variance_is_positive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    population = rng.integers(50, 5000, 300).astype(float)
    risk = rng.gamma(2.0, 0.01, 300)  # heterogeneous true rates: A > 0
    events = rng.poisson(risk * population).astype(float)

    ours = eb_rates(events, population)
    assert ours.prior_variance > 0
    reference = Empirical_Bayes(events, population).r.ravel()
    np.testing.assert_allclose(ours.rate, reference, rtol=1e-12)


def test_hand_computation() -> None:
    # e = [1, 30, 2, 15], b = [10, 1000, 500, 300]
    # m  = 48 / 1810
    # s² = Σ b (r − m)² / 1810;  A = s² − m / (1810 / 4);  w_i = A / (A + m / b_i)
    e = np.array([1.0, 30.0, 2.0, 15.0])
    b = np.array([10.0, 1000.0, 500.0, 300.0])
    m = 48 / 1810
    r = e / b
    s2 = float(np.sum(b * (r - m) ** 2) / 1810)
    a = s2 - m / 452.5
    w = a / (a + m / b)
    result = eb_rates(e, b)
    assert result.prior_mean == pytest.approx(m, rel=1e-15)
    assert result.prior_variance == pytest.approx(a, rel=1e-12)
    np.testing.assert_allclose(result.weight, w, rtol=1e-12)
    np.testing.assert_allclose(result.rate, w * r + (1 - w) * m, rtol=1e-12)


def test_negative_prior_variance_is_clamped_to_the_city_rate() -> None:
    # Events exactly proportional to population: raw rates all equal m, s² = 0, and
    # A = −m / b̄ < 0. esda would weight with A < 0; we return m everywhere.
    population = np.array([100.0, 400.0, 250.0, 1000.0])
    events = population * 0.02
    result = eb_rates(events, population)
    assert result.prior_variance == 0.0
    np.testing.assert_allclose(result.rate, 0.02, rtol=1e-12)
    np.testing.assert_array_equal(result.weight, 0.0)


def test_negative_variance_in_esda_gives_estimates_outside_the_data() -> None:
    # The pitfall the clamp exists for: Poisson data at a homogeneous 1 % rate.
    rng = np.random.default_rng(11)
    population = rng.integers(200, 2000, 200).astype(float)
    events = rng.poisson(0.01 * population).astype(float)
    m = events.sum() / population.sum()
    unclamped = np.sum(population * (events / population - m) ** 2) / population.sum()
    unclamped -= m / population.mean()
    assert unclamped < 0  # the premise: this draw has A < 0

    esda_rates = Empirical_Bayes(events, population).r.ravel()
    raw = events / population
    inside = (np.minimum(raw, m) <= esda_rates) & (esda_rates <= np.maximum(raw, m))
    assert not inside.all()  # esda's negative weights push estimates past raw and m

    ours = eb_rates(events, population)
    assert ours.prior_variance == 0.0
    np.testing.assert_allclose(ours.rate, m, rtol=1e-12)


def test_zero_population_has_no_rate_and_no_influence() -> None:
    e = np.array([1.0, 30.0, 2.0, 15.0, 7.0])
    b = np.array([10.0, 1000.0, 500.0, 300.0, 0.0])
    with_empty = eb_rates(e, b)
    without = eb_rates(e[:4], b[:4])
    assert np.isnan(with_empty.rate[4]) and np.isnan(with_empty.raw_rate[4])
    np.testing.assert_allclose(with_empty.rate[:4], without.rate, rtol=1e-15)


def test_no_events_anywhere() -> None:
    result = eb_rates(np.zeros(3), np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(result.rate, 0.0)


def test_rejects_negative_input() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        eb_rates([1.0, -1.0], [10.0, 10.0])
