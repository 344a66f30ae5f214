"""The DiD model against hand computations and a simulated truth."""

from __future__ import annotations

import numpy as np
import pytest

from geo.evaluation.model import did_poisson, pre_trend


def test_saturated_two_by_two_equals_the_ratio_of_ratios():
    # T: 40 → 18, C: 25 → 30. (18/40) / (30/25) = 0.375.
    cell, period = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    est = did_poisson([40, 18, 25, 30], cell, period, cell == 0, period == 1)
    assert est.ratio == pytest.approx((18 / 40) / (30 / 25), rel=1e-9)


def test_two_periods_many_cells_equals_the_ratio_of_group_sums():
    rng = np.random.default_rng(3)
    y = rng.poisson(6, size=(10, 2))
    cell, period = np.repeat(np.arange(10), 2), np.tile([0, 1], 10)
    est = did_poisson(y.ravel(), cell, period, cell < 4, period == 1)
    t, c = y[:4].sum(axis=0), y[4:].sum(axis=0)
    assert est.ratio == pytest.approx((t[1] / t[0]) / (c[1] / c[0]), rel=1e-7)
    assert est.ci_low < est.ratio < est.ci_high and est.clusters == 10


def test_a_cell_with_no_reports_changes_nothing():
    cell, period = np.repeat(np.arange(3), 2), np.tile([0, 1], 3)
    with_zero = did_poisson([10, 5, 8, 8, 0, 0], cell, period, cell == 0, period == 1)
    without = did_poisson([10, 5, 8, 8], cell[:4], period[:4], cell[:4] == 0, period[:4] == 1)
    assert with_zero.ratio == pytest.approx(without.ratio)


def test_parallel_pre_trends_are_not_flagged_and_diverging_ones_are():
    rng = np.random.default_rng(4)
    cell, period = np.repeat(np.arange(30), 12), np.tile(np.arange(12), 30)
    treated = cell < 10
    flat = rng.poisson(5, size=cell.size)
    assert pre_trend(flat, cell, period, treated).p_value > 0.05
    rising = rng.poisson(np.where(treated, 5 * 1.08 ** period, 5))
    assert pre_trend(rising, cell, period, treated).p_value < 0.01
