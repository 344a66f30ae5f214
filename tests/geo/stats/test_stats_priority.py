"""Priority components, scores, ranks and intervention areas on a constructed grid."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from h3.api import basic_int as h3i

from geo.stats import Emerging, PriorityWeights, intervention_areas, neighbourhoods, priority

CENTRE = h3i.latlng_to_cell(25.77, -80.19, 9)


class Grid(NamedTuple):
    cells: np.ndarray
    z: np.ndarray
    bins: np.ndarray
    weight: np.ndarray
    core: list[int]
    pair: list[int]
    weak: int


def _grid() -> Grid:
    """37 cells; a 7-cell hot core, a 2-cell hot pair on the rim, one weak hot cell."""
    cells = np.array(sorted(h3i.grid_disk(CENTRE, 3)), dtype=np.int64)
    at = {c: i for i, c in enumerate(cells.tolist())}
    core = [at[c] for c in h3i.grid_disk(CENTRE, 1)]
    rim = h3i.grid_ring(CENTRE, 3)
    pair = [at[rim[0]], at[rim[1]]]  # adjacent to each other, 2 rings from the core
    weak = at[rim[9]]
    z = np.zeros(cells.size)
    bins = np.zeros(cells.size, dtype=np.int8)
    weight = np.zeros(cells.size)
    z[core], bins[core], weight[core] = 3.0, 3, 10.0
    z[core[0]], weight[core[0]] = 6.0, 20.0  # the centre: strongest, busiest
    z[pair], bins[pair], weight[pair] = 2.5, 2, 8.0
    z[weak], bins[weak], weight[weak] = 1.8, 1, 5.0
    return Grid(cells, z, bins, weight, core, pair, weak)


def test_components_and_scores_by_hand() -> None:
    g = _grid()
    n = g.cells.size
    severity = np.full(n, 2.0)
    severity[g.pair] = 4.0
    population = np.full(n, 100.0)
    population[g.core] = 400.0
    trend = np.zeros(n, dtype=np.int8)
    trend[g.pair] = Emerging.INTENSIFYING_HOT
    trend[g.core] = Emerging.PERSISTENT_HOT

    p = priority(
        g.cells, g.z, g.bins, g.weight, trend=trend, severity=severity, population=population
    )

    np.testing.assert_allclose(p.components["significance"], np.clip(g.z, 0, 3.29) / 3.29)
    np.testing.assert_allclose(p.components["reports"], g.weight / 20.0)
    np.testing.assert_allclose(p.components["severity"], severity / 4.0)
    np.testing.assert_allclose(p.components["population"], population / 400.0)
    expected_trend = np.where(trend == 4, 0.7, np.where(trend == 3, 1.0, 0.0))
    np.testing.assert_allclose(p.components["trend"], expected_trend)
    assert p.weights == {
        "significance": 0.35,
        "reports": 0.25,
        "trend": 0.15,
        "severity": 0.15,
        "population": 0.10,
    }

    centre = g.core[0]
    # Centre: sig 1, reports 1, trend 0.7, severity 0.5, population 1.
    assert p.score[centre] == pytest.approx(0.35 + 0.25 + 0.15 * 0.7 + 0.15 * 0.5 + 0.10)
    assert p.rank[centre] == 1
    # A pair cell: sig 2.5/3.29, reports 0.4, trend 1, severity 1, population 0.25.
    pair = g.pair[0]
    assert p.score[pair] == pytest.approx(
        0.35 * 2.5 / 3.29 + 0.25 * 0.4 + 0.15 + 0.15 + 0.10 * 0.25
    )


def test_areas_are_contiguous_hot_groups_ranked_by_score() -> None:
    g = _grid()
    p = priority(g.cells, g.z, g.bins, g.weight)
    # The core (7 cells) outranks the pair (2); the weak cell (bin 1) is in no area.
    assert p.area_cells.tolist() == [7, 2]
    assert set(p.area[g.core]) == {0} and set(p.area[g.pair]) == {1}
    assert p.area[g.weak] == -1
    assert np.sum(p.area >= 0) == 9
    assert p.area_rank.tolist() == [1, 2]
    # Extensive component: area totals over the largest total (core 80, pair 16).
    np.testing.assert_allclose(p.area_components["reports"], [1.0, 16 / 80])
    # Intensive component: mean over the area's cells.
    core_sig = (1.0 + 6 * 3.0 / 3.29) / 7  # the centre (z = 6) is capped at 1
    np.testing.assert_allclose(p.area_components["significance"], [core_sig, 2.5 / 3.29])
    # Only two components given: weights rescaled to 0.35/0.60 and 0.25/0.60.
    assert p.weights == pytest.approx({"significance": 0.35 / 0.6, "reports": 0.25 / 0.6})
    assert p.area_score[0] == pytest.approx(0.35 / 0.6 * core_sig + 0.25 / 0.6)


def test_min_bin_controls_membership() -> None:
    g = _grid()
    p = priority(g.cells, g.z, g.bins, g.weight, min_bin=1)
    assert p.area[g.weak] >= 0
    assert p.area_cells.size == 3


def test_ties_go_to_the_smaller_cell_id() -> None:
    cells = np.array(sorted(h3i.grid_disk(CENTRE, 1)), dtype=np.int64)[::-1].copy()
    z = np.array([2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    p = priority(cells, z, np.zeros(7, dtype=np.int8), np.ones(7))
    # Cells 0 and 1 tie on score; cell 1 has the smaller id, so it ranks first.
    assert cells[1] < cells[0]
    assert p.rank[:2].tolist() == [2, 1]
    assert sorted(p.rank.tolist()) == list(range(1, 8))
    assert p.area_score.size == 0 and np.all(p.area == -1)


def test_weights_are_configurable() -> None:
    g = _grid()
    by_reports = priority(
        g.cells, g.z, g.bins, g.weight, weights=PriorityWeights(significance=0.0, reports=1.0)
    )
    np.testing.assert_allclose(by_reports.score, g.weight / 20.0)
    with pytest.raises(ValueError, match="positive weight"):
        priority(
            g.cells, g.z, g.bins, g.weight, weights=PriorityWeights(significance=0.0, reports=0.0)
        )


def test_custom_trend_bonus() -> None:
    g = _grid()
    trend = np.full(g.cells.size, int(Emerging.DIMINISHING_HOT), dtype=np.int8)
    p = priority(
        g.cells, g.z, g.bins, g.weight, trend=trend, trend_bonus={Emerging.DIMINISHING_HOT: 0.8}
    )
    np.testing.assert_allclose(p.components["trend"], 0.8)


def test_intervention_areas_use_edge_adjacency() -> None:
    cells = np.array(sorted(h3i.grid_disk(CENTRE, 2)), dtype=np.int64)
    at = {c: i for i, c in enumerate(cells.tolist())}
    hot = np.zeros(cells.size, dtype=bool)
    ring = h3i.grid_ring(CENTRE, 2)
    hot[[at[ring[0]], at[ring[6]]]] = True  # two rim cells four steps apart
    labels = intervention_areas(hot, *neighbourhoods(cells, 1))
    assert sorted(labels[hot].tolist()) == [0, 1]
    hot[at[CENTRE]] = True  # the centre is two steps from each: still not touching
    assert len(set(intervention_areas(hot, *neighbourhoods(cells, 1))[hot])) == 3
    hot[list(at[c] for c in h3i.grid_disk(CENTRE, 1))] = True  # bridge them
    assert set(intervention_areas(hot, *neighbourhoods(cells, 1))[hot]) == {0}
