"""analyse(): a planted cluster is found, and the no-data and 3-reporter rules hold."""

from __future__ import annotations

import numpy as np
from h3.api import basic_int as h3i

from geo.stats import analyse, gi_bins, gi_star, neighbourhoods
from tests.geo.stats._stats_reference import city_cells

CLUSTER_CENTRE = h3i.grid_ring(h3i.latlng_to_cell(25.77, -80.19, 9), 6)[3]


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    cells = city_cells(15)
    at = {c: i for i, c in enumerate(cells.tolist())}
    cluster = [at[c] for c in h3i.grid_disk(CLUSTER_CENTRE, 2)]
    rng = np.random.default_rng(seed)
    rate = np.full(cells.size, 0.3)
    rate[cluster] = 4.0
    counts = rng.poisson(rate).astype(float)
    reporters = np.minimum(counts, rng.integers(1, 4, cells.size))  # ≤ reports per cell
    return cells, counts, reporters, cluster


def test_planted_cluster_is_found_hot() -> None:
    cells, counts, reporters, cluster = _planted()
    result = analyse(cells, counts, reporters, k=1)
    centre = cluster[0]
    assert cells[centre] == CLUSTER_CENTRE
    assert result.gi_bin[centre] == 3
    assert np.mean(result.gi_bin[cluster] >= 2) > 0.8
    # Away from the cluster (more than 3 rings), FDR keeps false alarms rare.
    near = {i for i, c in enumerate(cells.tolist()) if h3i.grid_distance(c, CLUSTER_CENTRE) <= 3}
    far_hot = [i for i in np.flatnonzero(result.gi_bin > 0) if i not in near]
    assert len(far_hot) <= 0.01 * cells.size
    assert np.isfinite(result.gi_z).all() and np.isfinite(result.gi_p).all()
    np.testing.assert_array_equal(result.n_neighbors, np.diff(result.indptr))


def test_precomputed_neighbourhoods_give_the_same_answer() -> None:
    cells, counts, reporters, _ = _planted(1)
    a = analyse(cells, counts, reporters, k=2)
    b = analyse(cells, counts, reporters, neighbourhood=neighbourhoods(cells, 2))
    np.testing.assert_array_equal(a.gi_bin, b.gi_bin)
    np.testing.assert_array_equal(a.gi_z, b.gi_z)


def test_empty_neighbourhood_is_no_data_not_cold() -> None:
    cells = city_cells(10)
    at = {c: i for i, c in enumerate(cells.tolist())}
    weights = np.random.default_rng(2).uniform(4.0, 6.0, cells.size)
    hole = [at[c] for c in h3i.grid_disk(CLUSTER_CENTRE, 2)]
    weights[hole] = 0.0  # no reports in a 19-cell patch
    reporters = np.where(weights > 0, 5.0, 0.0)

    # Without the rule the patch centre would be a 99 % cold spot.
    raw = gi_star(weights, *neighbourhoods(cells, 1))
    assert gi_bins(raw.z, raw.p)[hole[0]] == -3

    result = analyse(cells, weights, reporters, k=1)
    empty = [at[c] for c in h3i.grid_disk(CLUSTER_CENTRE, 1)]  # whole disk inside the hole
    assert result.no_data[empty].all()
    assert np.all(result.gi_bin[empty] == 0)
    assert np.all(result.gi_z[empty] < 0)  # z kept, finite, for the record
    assert result.no_data.sum() == len(empty)


def test_hot_needs_three_reporters_nearby() -> None:
    cells, counts, _, cluster = _planted()
    # One device filed every report of the cluster, from two cells only.
    reporters = np.zeros(cells.size)
    reporters[cluster[:2]] = 1.0
    result = analyse(cells, counts, reporters, k=1)
    assert not np.any(result.gi_bin[cluster] > 0)
    assert result.few_reporters[cluster[0]]
    assert np.all(result.neighbourhood_reporters[cluster] <= 2)
    # The same z and p: the rule only changes the bin.
    honest = analyse(cells, counts, np.full(cells.size, 3.0), k=1)
    np.testing.assert_array_equal(result.gi_z, honest.gi_z)
    assert honest.gi_bin[cluster[0]] == 3 and not honest.few_reporters.any()


def test_exact_neighbourhood_reporters_override_the_sum() -> None:
    cells, counts, reporters, cluster = _planted()
    # A per-cell sum can say 9 where only 2 distinct devices exist nearby.
    exact = np.full(cells.size, 2.0)
    result = analyse(cells, counts, reporters, k=1, neighbourhood_reporters=exact)
    assert not np.any(result.gi_bin > 0)
    relaxed = analyse(cells, counts, reporters, k=1, neighbourhood_reporters=exact, min_reporters=2)
    assert relaxed.gi_bin[cluster[0]] == 3


def test_no_reports_at_all() -> None:
    cells = city_cells(5)
    result = analyse(cells, np.zeros(cells.size), np.zeros(cells.size), k=1)
    assert result.no_data.all()
    assert np.all(result.gi_bin == 0) and np.all(result.gi_z == 0) and np.all(result.gi_p == 1)
