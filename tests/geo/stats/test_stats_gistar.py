"""Gi* against PySAL esda, esda's own docstring vector and a hand computation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from esda.getisord import G_Local
from scipy import stats

from geo.stats import gi_star, neighbourhoods, two_sided_p
from tests.geo.stats._stats_reference import city_cells, to_w


def _esda(y: np.ndarray, indptr: np.ndarray, indices: np.ndarray, include_self: bool):
    with warnings.catch_warnings():
        # libpysal warns about disconnected components, which holes in the area make.
        warnings.simplefilter("ignore", UserWarning)
        w = to_w(indptr, indices, include_self=include_self)
        return G_Local(y, w, transform="B", star=True, permutations=0)


@pytest.mark.parametrize(
    ("k", "seed", "keep"), [(1, 0, 1.0), (1, 1, 0.6), (2, 2, 0.8), (3, 3, 0.9), (2, 4, 0.5)]
)
def test_z_equals_esda_g_local_star_binary(k: int, seed: int, keep: float) -> None:
    cells = city_cells(10, keep=keep, seed=seed)
    indptr, indices = neighbourhoods(cells, k)
    rng = np.random.default_rng(seed)
    # Skewed counts with many zeros, like reports per cell, plus severity weights.
    y = rng.negative_binomial(1, 0.4, cells.size) * rng.choice([1.0, 2.5], cells.size)

    ours = gi_star(y, indptr, indices)
    # esda keeps a diagonal that is already there and adds one (fill_diagonal(w, 1))
    # when star=True meets a W without it: both routes must give the same Zs.
    for include_self in (True, False):
        reference = _esda(y, indptr, indices, include_self)
        np.testing.assert_allclose(ours.z, reference.Zs, rtol=0, atol=1e-9)
        # esda's p_norm is one-sided; ArcGIS's GiPValue (ours) is two-sided.
        np.testing.assert_allclose(ours.p, 2 * reference.p_norm, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.n_neighbors, np.diff(indptr))


def test_negative_total_flips_esda_sign_but_not_ours() -> None:
    # esda divides by y.sum() and takes sqrt(mean²) in the variance, so its Zs change
    # sign when the data sum below zero. Gi* itself is shift-invariant: ours is.
    cells = city_cells(6)
    indptr, indices = neighbourhoods(cells, 1)
    y = np.random.default_rng(9).poisson(2.0, cells.size).astype(float)
    shifted = y - 10.0
    np.testing.assert_allclose(
        gi_star(shifted, indptr, indices).z, gi_star(y, indptr, indices).z, atol=1e-12
    )
    np.testing.assert_allclose(
        gi_star(shifted, indptr, indices).z, -_esda(shifted, indptr, indices, True).Zs, atol=1e-9
    )


def test_esda_docstring_vector() -> None:
    # esda.G_Local's docstring: six points, DistanceBand(threshold=15), star=True,
    # transform "B" -> lg_star.Zs.
    points = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], float)
    y = np.array([2, 3, 3.2, 5, 8, 7])
    distance = np.linalg.norm(points[:, None] - points[None, :], axis=2)
    within = distance <= 15
    indptr = np.r_[0, np.cumsum(within.sum(axis=1))]
    indices = np.nonzero(within)[1]
    expected = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]
    np.testing.assert_allclose(gi_star(y, indptr, indices).z, expected, atol=1e-8)


def test_hand_computed_line_of_four_cells() -> None:
    # y = [0, 0, 1, 3]: n = 4, mean 1, S = sqrt(10/4 - 1) = sqrt(1.5).
    # Cell 0, N = {0, 1}: (0 - 2·1) / (sqrt(1.5) · sqrt((4·2 - 4)/3)) = -2/sqrt(2)
    # Cell 1, N = {0, 1, 2}: (1 - 3) / (sqrt(1.5) · sqrt((12 - 9)/3)) = -2/sqrt(1.5)
    # Cell 2, N = {1, 2, 3}: (4 - 3) / sqrt(1.5)
    # Cell 3, N = {2, 3}: (4 - 2) / sqrt(2)
    indptr = [0, 2, 5, 8, 10]
    indices = [0, 1, 0, 1, 2, 1, 2, 3, 2, 3]
    r = gi_star([0.0, 0.0, 1.0, 3.0], indptr, indices)
    expected = [-np.sqrt(2), -2 / np.sqrt(1.5), 1 / np.sqrt(1.5), np.sqrt(2)]
    np.testing.assert_allclose(r.z, expected, rtol=1e-14)
    np.testing.assert_allclose(r.neighbourhood_sum, [0, 1, 4, 4])
    np.testing.assert_allclose(r.p, 2 * stats.norm.sf(np.abs(expected)), rtol=1e-14)


@pytest.mark.parametrize("value", [0.0, 5.0, 0.1])
def test_constant_y_gives_zero_z_without_warnings(value: float) -> None:
    cells = city_cells(4)
    indptr, indices = neighbourhoods(cells, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = gi_star(np.full(cells.size, value), indptr, indices)
    assert np.all(r.z == 0) and np.all(r.p == 1)


def test_neighbourhood_covering_the_whole_area_is_not_significant() -> None:
    # Cell 1 sees all three cells: W = n, so its Gi* has zero variance.
    r = gi_star([0.0, 1.0, 5.0], [0, 2, 5, 7], [0, 1, 0, 1, 2, 1, 2])
    assert r.z[1] == 0 and r.p[1] == 1
    assert np.all(np.isfinite(r.z))


def test_two_sided_p_equals_scipy_norm_sf() -> None:
    z = np.linspace(-9, 9, 181)
    np.testing.assert_array_equal(two_sided_p(z), 2 * stats.norm.sf(np.abs(z)))


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="indptr"):
        gi_star([1.0, 2.0], [0, 1], [0])
    with pytest.raises(ValueError, match="finite"):
        gi_star([1.0, np.nan], [0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="indices"):
        gi_star([1.0, 2.0], [0, 1, 2], [0, 2])
    with pytest.raises(ValueError, match="own cell"):  # Gi without the star
        gi_star([1.0, 2.0, 3.0], [0, 1, 3, 4], [1, 0, 2, 1])
