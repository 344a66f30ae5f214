"""Priority ranking of cells and of intervention areas (contiguous hot cells).

A grant writer needs more than "hot or not": a ranked list of places to act, with
the reasons for each rank visible. The score is a weighted sum of components, each
normalised to [0, 1] so that the weights say how much each reason counts:

=============  ===========================================================  =======
component      per cell                                                     default
=============  ===========================================================  =======
significance   ``clip(gi_z, 0, z_cap) / z_cap``; z_cap = 3.29 (p = 0.001)     0.35
reports        weighted reports / the largest cell's weighted reports       0.25
trend          bonus of the emerging category (intensifying, new: 1.0 …)    0.15
severity       the cell's severity / the largest severity                   0.15
population     exposed population / the largest population                  0.10
=============  ===========================================================  =======

Components not supplied (no trend run, population unknown) are left out and the
remaining weights are rescaled to sum to 1, so a score stays in [0, 1]. The weights
are a policy choice, not a statistical result: they are arguments, and the weights
actually used are returned with the scores so that an evidence pack can print them.

Capping z stops a single extreme cell from flattening everyone else: beyond
p = 0.001 "more significant" does not mean "more urgent". Cold cells (z < 0)
score 0 on significance.

An *intervention area* is a connected component of hot cells (``gi_bin >= 2`` by
default) under H3 edge adjacency (k = 1), found with
``scipy.sparse.csgraph.connected_components``. Its components are the mean of its
cells' intensive components (significance, trend, severity) and, for the extensive
ones (reports, population), its total divided by the largest area's total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components

from geo.stats._csr import adjacency, as_neighbourhoods
from geo.stats.grid import neighbourhoods
from geo.stats.trends import Emerging

__all__ = [
    "DEFAULT_TREND_BONUS",
    "Priority",
    "PriorityWeights",
    "intervention_areas",
    "priority",
]


@dataclass(frozen=True)
class PriorityWeights:
    """Relative weight of each priority component (rescaled to sum to 1)."""

    significance: float = 0.35
    reports: float = 0.25
    trend: float = 0.15
    severity: float = 0.15
    population: float = 0.10


DEFAULT_TREND_BONUS: Mapping[int, float] = {
    # Growing problems first: acting early is cheaper than acting late.
    Emerging.INTENSIFYING_HOT: 1.0,
    Emerging.NEW_HOT: 1.0,
    Emerging.CONSECUTIVE_HOT: 0.9,
    Emerging.PERSISTENT_HOT: 0.7,
    Emerging.SPORADIC_HOT: 0.5,
    Emerging.OSCILLATING_HOT: 0.5,
    Emerging.DIMINISHING_HOT: 0.3,
    Emerging.HISTORICAL_HOT: 0.1,
}
"""Trend component per :class:`~geo.stats.trends.Emerging` code; absent codes score 0."""

_INTENSIVE = ("significance", "trend", "severity")


@dataclass(frozen=True)
class Priority:
    """Priority scores, ranks and their components for cells and intervention areas."""

    score: NDArray[np.float64]
    """Per cell, in [0, 1]."""
    rank: NDArray[np.int64]
    """Per cell, 1 = highest score; ties go to the smaller cell id."""
    components: dict[str, NDArray[np.float64]]
    """Per cell normalised components that entered the score."""
    weights: dict[str, float]
    """Weights actually applied (rescaled over the components present)."""
    area: NDArray[np.int64]
    """Per cell: intervention area, numbered in priority order from 0; -1 outside areas."""
    area_score: NDArray[np.float64]
    """Per area, in rank order (``area_score[0]`` is the top area)."""
    area_cells: NDArray[np.int64]
    """Cells per area."""
    area_components: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    """Per area normalised components."""

    @property
    def area_rank(self) -> NDArray[np.int64]:
        """Rank of each area (1 = highest); areas are stored in rank order."""
        return np.arange(1, self.area_score.shape[0] + 1, dtype=np.int64)


def intervention_areas(hot: ArrayLike, indptr: ArrayLike, indices: ArrayLike) -> NDArray[np.int64]:
    """Label connected groups of hot cells.

    Parameters
    ----------
    hot : array_like of bool, shape (n,)
        Cells eligible for an area (e.g. ``gi_bin >= 2``).
    indptr, indices : array_like of int
        Adjacency as CSR; use k = 1 neighbourhoods so that areas are contiguous.

    Returns
    -------
    numpy.ndarray of int64
        Area label per cell, -1 for cells that are not hot. Labels are 0..A-1 in
        order of each area's first cell position.

    Examples
    --------
    Five cells on a line; cells 0, 1 and 3 are hot:

    >>> indptr = [0, 2, 5, 8, 11, 13]
    >>> indices = [0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4]
    >>> intervention_areas([True, True, False, True, False], indptr, indices).tolist()
    [0, 0, -1, 1, -1]
    """
    hot_a = np.asarray(hot, dtype=bool).ravel()
    n = hot_a.shape[0]
    indptr_a, indices_a = as_neighbourhoods(indptr, indices, n)
    labels = np.full(n, -1, dtype=np.int64)
    members = np.flatnonzero(hot_a)
    if members.size == 0:
        return labels
    graph = adjacency(indptr_a, indices_a, n)[members][:, members]
    _, component = connected_components(graph, directed=False)
    # connected_components labels in order of first appearance, i.e. of position.
    labels[members] = component
    return labels


def priority(
    cells: ArrayLike,
    gi_z: ArrayLike,
    gi_bin: ArrayLike,
    weight: ArrayLike,
    *,
    trend: ArrayLike | None = None,
    severity: ArrayLike | None = None,
    population: ArrayLike | None = None,
    adjacency_csr: tuple[ArrayLike, ArrayLike] | None = None,
    weights: PriorityWeights = PriorityWeights(),  # noqa: B008 -- frozen, so safe to share
    trend_bonus: Mapping[int, float] = DEFAULT_TREND_BONUS,
    min_bin: int = 2,
    z_cap: float = 3.29,
) -> Priority:
    """Score and rank cells and intervention areas (see the module docstring).

    Parameters
    ----------
    cells : array_like of int64, shape (n,)
        Study-area cells; ids break ties in the ranking.
    gi_z, gi_bin : array_like, shape (n,)
        Gi* z and confidence bin per cell (after the honesty rules).
    weight : array_like of float, shape (n,)
        Weighted report count per cell.
    trend : array_like of int, optional
        :class:`~geo.stats.trends.Emerging` code per cell.
    severity : array_like of float, optional
        Severity per cell (e.g. mean category severity of its reports).
    population : array_like of float, optional
        Exposed population per cell, when known.
    adjacency_csr : (indptr, indices), optional
        k = 1 neighbourhoods of ``cells``; built with
        :func:`geo.stats.grid.neighbourhoods` when absent.
    weights : PriorityWeights
        Component weights.
    trend_bonus : mapping of int to float
        Trend component per emerging category code.
    min_bin : int, default 2
        Smallest ``gi_bin`` that makes a cell part of an intervention area (95 %).
    z_cap : float, default 3.29
        z at which the significance component saturates.

    Returns
    -------
    Priority

    Examples
    --------
    Five cells on a line (ids 10..14); cells 0–1 form one hot area, cell 3 another:

    >>> csr = ([0, 2, 5, 8, 11, 13], [0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4])
    >>> p = priority(np.arange(10, 15), [3.5, 2.2, 0.1, 2.5, -0.4], [3, 2, 0, 2, 0],
    ...              [8.0, 3.0, 1.0, 6.0, 0.0], adjacency_csr=csr)
    >>> p.rank.tolist()
    [1, 3, 4, 2, 5]
    >>> p.area.tolist(), p.area_cells.tolist()
    ([0, 0, -1, 1, -1], [2, 1])
    >>> sorted(p.weights)
    ['reports', 'significance']
    """
    cells_a = np.asarray(cells, dtype=np.int64).ravel()
    n = cells_a.shape[0]
    z = _vector(gi_z, n, "gi_z")
    bins = np.asarray(gi_bin, dtype=np.int64).ravel()
    reports = _vector(weight, n, "weight")
    if bins.shape[0] != n:
        raise ValueError("gi_bin must have one value per cell")

    raw: dict[str, NDArray[np.float64]] = {
        "significance": np.clip(z, 0.0, z_cap) / z_cap,
        "reports": reports,
    }
    if trend is not None:
        codes = np.asarray(trend, dtype=np.int64).ravel()
        lookup = np.zeros(17)
        for code, bonus in trend_bonus.items():
            lookup[int(code) + 8] = bonus
        raw["trend"] = lookup[codes + 8]
    if severity is not None:
        raw["severity"] = _vector(severity, n, "severity")
    if population is not None:
        raw["population"] = _vector(population, n, "population")

    components = {
        name: values if name in ("significance", "trend") else _share_of_max(values)
        for name, values in raw.items()
    }
    used = _used_weights(weights, components)
    score = _weighted_sum(components, used, n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((cells_a, -score))] = np.arange(1, n + 1)

    if adjacency_csr is None:
        adjacency_csr = neighbourhoods(cells_a, 1)
    labels = intervention_areas(bins >= min_bin, *adjacency_csr)
    area, area_score, area_cells, area_components = _score_areas(
        labels, cells_a, components, raw, used
    )
    return Priority(
        score=score,
        rank=rank,
        components=components,
        weights=used,
        area=area,
        area_score=area_score,
        area_cells=area_cells,
        area_components=area_components,
    )


def _score_areas(
    labels: NDArray[np.int64],
    cells: NDArray[np.int64],
    components: dict[str, NDArray[np.float64]],
    raw: dict[str, NDArray[np.float64]],
    used: dict[str, float],
) -> tuple[
    NDArray[np.int64], NDArray[np.float64], NDArray[np.int64], dict[str, NDArray[np.float64]]
]:
    n_areas = int(labels.max()) + 1 if labels.size else 0
    inside = labels >= 0
    lab = labels[inside]
    size = np.bincount(lab, minlength=n_areas)
    per_area: dict[str, NDArray[np.float64]] = {}
    for name in components:
        # bincount with weights sums floats; the cast is for the type checker.
        if name in _INTENSIVE:
            total = np.bincount(lab, components[name][inside], n_areas).astype(np.float64)
            per_area[name] = total / np.maximum(size, 1)
        else:
            total = np.bincount(lab, raw[name][inside], n_areas).astype(np.float64)
            per_area[name] = _share_of_max(total)
    score = _weighted_sum(per_area, used, n_areas)

    first_id = np.full(n_areas, np.iinfo(np.int64).max)
    np.minimum.at(first_id, lab, cells[inside])
    order = np.lexsort((first_id, -score))  # best first; ties to the smaller cell id
    new_label = np.empty(n_areas, dtype=np.int64)
    new_label[order] = np.arange(n_areas)
    area = np.full(labels.shape, -1, dtype=np.int64)
    area[inside] = new_label[lab]
    return (
        area,
        score[order],
        size[order],
        {name: values[order] for name, values in per_area.items()},
    )


def _vector(values: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.shape[0] != n:
        raise ValueError(f"{name} must have one value per cell")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _share_of_max(values: NDArray[np.float64]) -> NDArray[np.float64]:
    top = float(values.max()) if values.size else 0.0
    return np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)


def _used_weights(weights: PriorityWeights, components: Mapping[str, object]) -> dict[str, float]:
    present = {name: w for name, w in asdict(weights).items() if name in components}
    if any(w < 0 for w in present.values()):
        raise ValueError("priority weights must be non-negative")
    total = sum(present.values())
    if total <= 0:
        raise ValueError("at least one present priority component needs a positive weight")
    return {name: w / total for name, w in present.items()}


def _weighted_sum(
    components: Mapping[str, NDArray[np.float64]], used: Mapping[str, float], n: int
) -> NDArray[np.float64]:
    score = np.zeros(n, dtype=np.float64)
    for name, w in used.items():
        score += w * components[name]
    return score
