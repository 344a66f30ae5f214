"""Space-time Gi* against esda on the unrolled cube; emerging categories one by one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from esda.getisord import G_Local
from h3.api import basic_int as h3i
from libpysal.weights import W

from geo.stats import (
    Emerging,
    classify_emerging,
    emerging_hotspots,
    emerging_labels,
    gi_bins,
    neighbourhoods,
    space_time_gistar,
    two_sided_p,
)
from tests.geo.stats._stats_reference import city_cells


def _space_time_w(indptr: np.ndarray, indices: np.ndarray, steps: int, lag: int) -> W:
    """Bin (t, i) is node t·N + i; its neighbours: disk(i) in steps t−lag..t."""
    n = indptr.size - 1
    neighbours = {}
    for t in range(steps):
        for i in range(n):
            disk = indices[indptr[i] : indptr[i + 1]].tolist()
            neighbours[t * n + i] = [
                back * n + j for back in range(max(0, t - lag), t + 1) for j in disk
            ]
    return W(neighbours, id_order=list(range(n * steps)), silence_warnings=True)


@pytest.mark.parametrize(("lag", "seed"), [(1, 0), (2, 1), (0, 2)])
def test_space_time_z_equals_esda_on_the_unrolled_cube(lag: int, seed: int) -> None:
    cells = city_cells(4, keep=0.85, seed=seed)
    indptr, indices = neighbourhoods(cells, 1)
    steps = 6
    cube = np.random.default_rng(seed).poisson(1.5, (steps, cells.size)).astype(float)

    ours = space_time_gistar(cube, indptr, indices, time_lag=lag)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        w = _space_time_w(indptr, indices, steps, lag)
        reference = G_Local(cube.ravel(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours.z.ravel(), reference.Zs, rtol=0, atol=1e-9)
    cardinality = [w.cardinalities[node] for node in range(cube.size)]
    np.testing.assert_array_equal(ours.n_neighbors.ravel(), cardinality)


def _series(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


HOT, OFF, COLD = 3.0, 0.5, -3.0  # |z| ≥ 1.96 is significant at α = 0.05

# One constructed ten-step z series per hot category (cold ones are the negatives).
HOT_CASES = {
    Emerging.NEW_HOT: [OFF] * 9 + [HOT],
    Emerging.CONSECUTIVE_HOT: [OFF] * 7 + [HOT] * 3,
    Emerging.INTENSIFYING_HOT: list(np.linspace(2.0, 6.0, 10)),
    Emerging.PERSISTENT_HOT: [HOT, 4.0] * 5,
    Emerging.DIMINISHING_HOT: list(np.linspace(6.0, 2.0, 10)),
    Emerging.SPORADIC_HOT: [HOT, OFF, OFF, HOT, OFF, HOT, OFF, OFF, OFF, HOT],
    Emerging.OSCILLATING_HOT: [HOT, OFF, COLD, OFF, HOT, OFF, OFF, COLD, OFF, HOT],
    Emerging.HISTORICAL_HOT: [HOT] * 9 + [OFF],
}


def _cube(series: list[list[float]]) -> np.ndarray:
    return np.stack([_series(s) for s in series], axis=1)  # (time, cells)


@pytest.mark.parametrize("sign", [1, -1], ids=["hot", "cold"])
def test_one_series_per_category(sign: int) -> None:
    z = sign * _cube(list(HOT_CASES.values()))
    expected = [sign * int(code) for code in HOT_CASES]
    assert classify_emerging(z, two_sided_p(z)).tolist() == expected
    # The same from integer bins (no FDR): significant at 95 % means |bin| >= 2.
    bins = gi_bins(z, two_sided_p(z), fdr=False)
    assert classify_emerging(z, bins).tolist() == expected


def test_rules_where_the_wording_leaves_room() -> None:
    z = _cube(
        [
            [OFF] * 10,  # never significant
            [HOT] + [OFF] * 9,  # hot once, long ago
            [COLD] * 3 + [OFF] * 6 + [HOT],  # cold, then hot only at the end: new
            [COLD] * 9 + [HOT],  # historical cold, final hot: the final step decides
            [HOT] * 9 + [COLD],  # historical hot, final cold
            [OFF] * 8 + [HOT] * 2,  # a final run of two is enough for consecutive
            [HOT] + [OFF] * 8 + [HOT],  # hot before, then hot again: sporadic
            [HOT, OFF] + [HOT] * 8,  # 90 % hot incl. final, no trend: persistent
        ]
    )
    assert emerging_labels(classify_emerging(z, two_sided_p(z))).tolist() == [
        "no_pattern_detected",
        "no_pattern_detected",
        "new_hot_spot",
        "new_hot_spot",
        "new_cold_spot",
        "consecutive_hot_spot",
        "sporadic_hot_spot",
        "persistent_hot_spot",
    ]


def test_labels_cover_every_code() -> None:
    codes = [int(c) for c in Emerging]
    labels = emerging_labels(codes).tolist()
    assert len(set(labels)) == len(codes) == 17
    assert emerging_labels([4, -7]).tolist() == ["persistent_hot_spot", "oscillating_cold_spot"]


def test_planted_trends_are_recovered() -> None:
    cells = city_cells(12)
    position = {c: i for i, c in enumerate(cells.tolist())}
    ring = h3i.grid_ring(h3i.latlng_to_cell(25.77, -80.19, 9), 7)
    steady, late, growing = ([position[c] for c in h3i.grid_disk(ring[j], 1)] for j in (0, 14, 28))
    weeks = 52
    rate = np.full((weeks, cells.size), 0.5)
    rate[:, steady] += 4.0  # hot all year at a constant level
    rate[44:, late] += 6.0  # hot only in the last 8 weeks
    rate[:, growing] += (2.0 + np.arange(weeks) / 6.0)[:, None]  # hot and rising
    counts = np.random.default_rng(0).poisson(rate)

    result = emerging_hotspots(counts, *neighbourhoods(cells, 1))
    labels = emerging_labels(result.category)
    assert labels[steady[0]] == "persistent_hot_spot"
    assert labels[late[0]] == "consecutive_hot_spot"
    assert labels[growing[0]] == "intensifying_hot_spot"
    assert result.bins.shape == (weeks, cells.size)
    assert np.mean(labels == "no_pattern_detected") > 0.8
    assert not np.any(result.category < 0)  # a Poisson background has no real cold spots


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="time, cells"):
        space_time_gistar(np.zeros(5), [0, 1], [0])
    with pytest.raises(ValueError, match="alpha"):
        classify_emerging(np.zeros((3, 1)), np.zeros((3, 1), dtype=np.int8), alpha=0.2)
