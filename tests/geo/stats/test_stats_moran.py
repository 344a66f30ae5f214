"""Global Moran's I against esda, and the choice of K."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from esda.moran import Moran as EsdaMoran
from h3.api import basic_int as h3i

from geo.stats import choose_rings, morans_i, neighbourhoods
from geo.stats.moran import _first_peak
from tests.geo.stats._stats_reference import city_cells, to_w


def _esda(y: np.ndarray, indptr: np.ndarray, indices: np.ndarray, transformation: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands / disconnected components
        w = to_w(indptr, indices, include_self=False)
        return EsdaMoran(y, w, transformation=transformation, permutations=0)


@pytest.mark.parametrize(
    ("k", "keep", "seed"), [(1, 1.0, 0), (1, 0.55, 1), (2, 0.8, 2), (3, 0.7, 3)]
)
@pytest.mark.parametrize("row_standardise", [True, False])
def test_matches_esda(k: int, keep: float, seed: int, row_standardise: bool) -> None:
    cells = city_cells(9, keep=keep, seed=seed)
    indptr, indices = neighbourhoods(cells, k)
    rng = np.random.default_rng(seed)
    y = rng.poisson(1.0 + 3.0 * (np.arange(cells.size) < cells.size // 4)).astype(float)

    ours = morans_i(y, indptr, indices, row_standardise=row_standardise)
    ref = _esda(y, indptr, indices, "r" if row_standardise else "b")
    assert ours.i == pytest.approx(ref.I, abs=1e-12)
    assert ours.expected == pytest.approx(ref.EI, abs=1e-15)
    assert ours.variance_norm == pytest.approx(ref.VI_norm, rel=1e-9)
    assert ours.variance_rand == pytest.approx(ref.VI_rand, rel=1e-9)
    assert ours.z_norm == pytest.approx(ref.z_norm, abs=1e-9)
    assert ours.z_rand == pytest.approx(ref.z_rand, abs=1e-9)
    assert ours.p_norm == pytest.approx(ref.p_norm, abs=1e-12)
    assert ours.p_rand == pytest.approx(ref.p_rand, abs=1e-12)


def test_islands_keep_empty_rows_like_esda() -> None:
    # Cells 0–3 on a line, cell 4 alone: esda counts it in n, it adds nothing to s0.
    indptr = np.array([0, 2, 5, 8, 10, 11])
    indices = np.array([0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4])
    y = np.array([1.0, 2.0, 4.0, 8.0, 3.0])
    ref = _esda(y, indptr, indices, "r")
    assert morans_i(y, indptr, indices).z_rand == pytest.approx(ref.z_rand, abs=1e-12)


def test_constant_values_are_not_significant() -> None:
    cells = city_cells(4)
    indptr, indices = neighbourhoods(cells, 1)
    result = morans_i(np.zeros(cells.size), indptr, indices)
    assert (result.z_rand, result.p_rand, result.i) == (0.0, 1.0, result.expected)


def test_choose_rings_reports_esda_z_for_each_k() -> None:
    cells = city_cells(8)
    rng = np.random.default_rng(4)
    y = rng.poisson(1.0, cells.size).astype(float)
    y[: cells.size // 3] += 3  # sorted H3 ids are spatially coherent: a broad blob
    k, zs = choose_rings(cells, y, k_max=4)
    for ring in range(1, 5):
        indptr, indices = neighbourhoods(cells, ring)
        assert zs[ring - 1] == pytest.approx(_esda(y, indptr, indices, "r").z_rand, abs=1e-9)
    assert k == _first_peak(zs, 1.96)


def test_choose_rings_finds_the_scale_of_planted_blobs() -> None:
    # Blobs of radius 2 spaced far apart: clustering is most pronounced at K = 2.
    cells = city_cells(14)
    position = {c: i for i, c in enumerate(cells.tolist())}
    y = np.random.default_rng(6).poisson(0.5, cells.size).astype(float)
    centre = h3i.latlng_to_cell(25.77, -80.19, 9)
    for seed_cell in h3i.grid_ring(centre, 8)[::8]:
        for c in h3i.grid_disk(seed_cell, 2):
            y[position[c]] += 6
    k, zs = choose_rings(cells, y, k_max=6)
    assert k == 2
    assert zs[k - 1] >= 1.96


@pytest.mark.parametrize(
    ("zs", "expected"),
    [
        ([2.0, 5.0, 4.0, 6.0], 2),  # first peak, although a later z is larger
        ([1.0, 1.5, 1.2, 1.8], 4),  # the peak at K = 2 is not significant: max z
        ([3.0, 4.0, 5.0, 6.0], 4),  # rising throughout: max z
        ([6.0, 5.0, 4.0, 3.0], 1),  # falling throughout: max z at K = 1
        ([np.nan, np.nan], 1),  # nothing finite
    ],
)
def test_first_peak_rule(zs: list[float], expected: int) -> None:
    assert _first_peak(np.array(zs), 1.96) == expected
