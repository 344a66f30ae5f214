"""Mann–Kendall against values worked by hand and a direct pairwise computation."""

from __future__ import annotations

from collections import Counter
from math import erfc, sqrt

import numpy as np
import pytest

from geo.stats import mann_kendall


def _by_hand(x: list[float]) -> tuple[int, float, float, float]:
    """The textbook test, pair by pair (pymannkendall.original_test's definitions)."""
    t = len(x)
    s = sum((x[j] > x[i]) - (x[j] < x[i]) for i in range(t - 1) for j in range(i + 1, t))
    ties = sum(g * (g - 1) * (2 * g + 5) for g in Counter(x).values())
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18
    z = 0.0 if s == 0 or var == 0 else (s - (1 if s > 0 else -1)) / sqrt(var)
    return s, var, z, erfc(abs(z) / sqrt(2))  # erfc(|z|/√2) = 2·(1 − Φ(|z|))


def test_known_values() -> None:
    # Strictly increasing, T = 5: S = 10 (all 10 pairs up), Var = 5·4·15/18 = 16.667,
    # z = (10 − 1)/√16.667 = 2.2045, p = 0.0275.
    # [1, 2, 2, 3, 1]: up-pairs 5, down-pairs 3 → S = 2; two tie pairs (1,1) and (2,2)
    # each remove 2·1·9 = 18: Var = (300 − 36)/18 = 14.667; z = 1/√14.667 = 0.2611.
    # [5, 4, 3, 2, 1, 0]: S = −15, Var = 6·5·17/18 = 28.333, z = −14/√28.333 = −2.6301.
    r = mann_kendall([[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 2.0, 3.0, 1.0]])
    assert r.s.tolist() == [10, 2]
    np.testing.assert_allclose(r.variance, [300 / 18, 264 / 18])
    np.testing.assert_allclose(r.z, [9 / sqrt(300 / 18), 1 / sqrt(264 / 18)])
    np.testing.assert_allclose(r.z, [2.2045, 0.2611], atol=1e-4)
    np.testing.assert_allclose(r.p, [0.0275, 0.7940], atol=1e-4)
    np.testing.assert_allclose(r.tau, [1.0, 0.2])

    down = mann_kendall([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    assert int(down.s) == -15
    assert float(down.z) == pytest.approx(-14 / sqrt(510 / 18))
    assert float(down.z) == pytest.approx(-2.6301, abs=1e-4)


@pytest.mark.parametrize("t", [3, 8, 26, 52])
def test_matches_pairwise_computation_with_ties(t: int) -> None:
    rng = np.random.default_rng(t)
    # Small integers force many ties; a drift makes some series trend.
    series = rng.integers(0, 4, size=(60, t)) + (rng.random((60, 1)) < 0.3) * np.arange(t) // 3
    r = mann_kendall(series.astype(float))
    for row, values in enumerate(series.tolist()):
        s, var, z, p = _by_hand(values)
        assert r.s[row] == s
        assert r.variance[row] == pytest.approx(var)
        assert r.z[row] == pytest.approx(z, abs=1e-12)
        assert r.p[row] == pytest.approx(p, abs=1e-12)


def test_time_axis_of_a_cube() -> None:
    cube = np.random.default_rng(1).normal(size=(12, 40))  # (time, cells)
    along_0 = mann_kendall(cube, axis=0)
    along_last = mann_kendall(cube.T)
    np.testing.assert_array_equal(along_0.s, along_last.s)
    assert along_0.z.shape == (40,)


def test_constant_series_has_no_trend() -> None:
    r = mann_kendall(np.full((2, 10), 3.0))
    assert r.s.tolist() == [0, 0]
    assert r.variance.tolist() == [0.0, 0.0]
    assert r.z.tolist() == [0.0, 0.0] and r.p.tolist() == [1.0, 1.0]


def test_rejects_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        mann_kendall([1.0, np.nan, 2.0])
