"""FDR bins against a direct Benjamini–Hochberg, scipy, and a hand-worked case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from geo.stats import benjamini_hochberg, gi_bins


def _bh_by_hand(p: list[float], alpha: float) -> set[int]:
    """Benjamini–Hochberg step-up written out: ranks, thresholds, largest passing rank."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    m = len(p)
    largest = 0
    for rank, i in enumerate(order, start=1):
        if p[i] <= rank / m * alpha:
            largest = rank
    return set(order[:largest])


def _p_values(seed: int, n: int = 2000) -> np.ndarray:
    # A realistic mixture: mostly nulls (uniform p) plus a block of real signal.
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    z[: n // 10] += rng.uniform(2.0, 5.0, n // 10)
    return 2 * stats.norm.sf(np.abs(z))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.10, 0.05, 0.01])
def test_benjamini_hochberg_matches_direct_computation(seed: int, alpha: float) -> None:
    p = _p_values(seed)
    ours = set(np.flatnonzero(benjamini_hochberg(p, alpha)).tolist())
    assert ours == _bh_by_hand(p.tolist(), alpha)
    # scipy's BH-adjusted p-values give the same rejections.
    assert ours == set(np.flatnonzero(stats.false_discovery_control(p) <= alpha).tolist())


@pytest.mark.parametrize("seed", [3, 4])
def test_bins_are_the_highest_level_passed_with_the_sign_of_z(seed: int) -> None:
    p = _p_values(seed)
    z = np.where(np.random.default_rng(seed).random(p.size) < 0.3, -1.0, 1.0)
    bins = gi_bins(z, p)
    expected = np.zeros(p.size, dtype=int)
    for level, alpha in enumerate((0.10, 0.05, 0.01), start=1):
        expected[sorted(_bh_by_hand(p.tolist(), alpha))] = level
    np.testing.assert_array_equal(bins, expected * np.sign(z))
    assert bins.dtype == np.int8


def test_hand_worked_case() -> None:
    # Sorted p: 0.0014, 0.0069, 0.036, 0.089, 0.76 (n = 5).
    # α=0.10, thresholds .02 .04 .06 .08 .10 -> ranks 1–3 pass (0.089 > 0.08).
    # α=0.05, thresholds .01 .02 .03 .04 .05 -> ranks 1–2 pass (0.036 > 0.03).
    # α=0.01, thresholds .002 .004 ...        -> rank 1 passes.
    z = [3.2, 2.1, -2.7, 1.7, 0.3]
    p = [0.0014, 0.036, 0.0069, 0.089, 0.76]
    assert gi_bins(z, p).tolist() == [3, 1, -2, 0, 0]
    assert gi_bins(z, p, fdr=False).tolist() == [3, 2, -3, 1, 0]


def test_step_up_keeps_a_p_above_its_own_threshold() -> None:
    # 0.021 > 2/4·0.04 on its own rank, but rank 3 passes (0.025 ≤ 0.03): step-up keeps it.
    assert benjamini_hochberg([0.005, 0.021, 0.025, 0.5], 0.04).tolist() == [
        True,
        True,
        True,
        False,
    ]


def test_nan_p_is_not_tested_and_not_counted() -> None:
    # With the NaN counted, n = 3 and 0.03 > 2/3·0.04; without it, n = 2 and 0.03 ≤ 0.04.
    p = [0.01, 0.03, np.nan]
    assert benjamini_hochberg(p, 0.04).tolist() == [True, True, False]
    assert gi_bins([1.0, 1.0, 1.0], p).tolist()[2] == 0


def test_fdr_never_adds_significance() -> None:
    p = _p_values(7)
    z = np.ones(p.size)
    assert np.all(np.abs(gi_bins(z, p)) <= np.abs(gi_bins(z, p, fdr=False)))


def test_rejects_bad_alphas() -> None:
    with pytest.raises(ValueError, match="decreasing"):
        gi_bins([1.0], [0.01], alphas=(0.01, 0.05))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        gi_bins([1.0], [0.01], alphas=(1.5,))
    with pytest.raises(ValueError, match="shape"):
        gi_bins([1.0, 2.0], [0.01])
