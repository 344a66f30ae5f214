"""One call from per-cell weights to the hotspot fields a run stores for each cell.

:func:`analyse` chains neighbourhoods → Gi* → FDR bins and then applies the two
honesty rules of the architecture ("few reports never read as safe"). It is the
one implementation of those rules: the production engine calls it.

* **No data.** A cell whose whole neighbourhood holds zero analysed value has no
  evidence either way, and neither has a cell without a value at all (NaN: a
  rate where nobody lives). Both get ``gi_bin = 0`` and ``no_data = True``. Cells
  without a value are left out of the statistic altogether (as ArcGIS drops zero
  denominators) and get ``z = 0``, ``p = 1``; other no-data cells keep the finite
  z and p Gi* gives (usually mildly negative z), so no NaN reaches storage, but
  they must be shown as "no data", never as cold.
* **Three reporters.** A cell may be shown hot only when its neighbourhood holds
  reports from at least ``min_reporters`` (3) distinct reporters, so that one
  persistent phone cannot make a hot spot. Hot cells below that are demoted to
  ``gi_bin = 0`` and flagged in ``few_reporters``. The rule is applied after the FDR
  step and only demotes, so it never makes another cell significant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.stats._csr import adjacency, as_neighbourhoods, row_ids
from geo.stats.fdr import DEFAULT_ALPHAS, gi_bins
from geo.stats.gistar import gi_star
from geo.stats.grid import neighbourhoods, restrict_neighbourhoods

#: Given hot candidates (positions) and each one's neighbourhood (positions), the
#: exact distinct reporters of each neighbourhood (values ≥ the rule's minimum may
#: be capped at it).
ReporterCounter = Callable[[NDArray[np.int64], list[NDArray[np.int64]]], ArrayLike]

__all__ = ["HotspotCells", "analyse"]


@dataclass(frozen=True)
class HotspotCells:
    """Per-cell hotspot fields, aligned with the ``cells`` given to :func:`analyse`."""

    gi_z: NDArray[np.float64]
    gi_p: NDArray[np.float64]
    """Two-sided; not FDR-adjusted (as in ArcGIS, only ``gi_bin`` reflects FDR)."""
    gi_bin: NDArray[np.int8]
    """-3..3 after FDR and the honesty rules."""
    n_neighbors: NDArray[np.int64]
    """Cells in the neighbourhood, self included; 0 for a cell without a value."""
    no_data: NDArray[np.bool_]
    """No value, or the neighbourhood holds zero weight: show as "no data", not cold."""
    has_value: NDArray[np.bool_]
    """The cell had a (finite) weight and took part in the statistic."""
    few_reporters: NDArray[np.bool_]
    """Significantly hot, but fewer than ``min_reporters`` reporters nearby: demoted to 0."""
    neighbourhood_weight: NDArray[np.float64]
    neighbourhood_reporters: NDArray[np.float64]
    """Reporters over each neighbourhood: exact where counted, else the upper bound."""
    indptr: NDArray[np.int64]
    """The neighbourhoods used, as CSR over ``cells`` (a cell without a value has an
    empty row and is in no other row), for reuse (e.g. priority areas when k = 1)."""
    indices: NDArray[np.int64]


def analyse(
    cells: ArrayLike,
    weights: ArrayLike,
    reporters: ArrayLike | None,
    k: int = 1,
    *,
    neighbourhood: tuple[ArrayLike, ArrayLike] | None = None,
    neighbourhood_reporters: ArrayLike | None = None,
    reporters_floor: ArrayLike | None = None,
    count_reporters: ReporterCounter | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    fdr: bool = True,
    min_reporters: int = 3,
) -> HotspotCells:
    """Gi*, FDR bins and the honesty rules for every cell of a study area.

    Parameters
    ----------
    cells : array_like of int64, shape (n,)
        The study area (every cell, empty ones included), distinct H3 cells.
    weights : array_like of float, shape (n,)
        The analysed value per cell: weighted report count (severity × recency,
        one incident per device, cell and day) with zeros for empty cells, or a
        rate. NaN means the cell has no value (a rate where nobody lives): it is
        left out of the statistic and marked no-data.
    reporters : array_like of float, shape (n,), or None
        Distinct reporters per cell. Summed over each neighbourhood this
        *over*-counts a device that reported in several cells of it: an upper
        bound. Alone, the 3-reporter rule is then an approximation that errs
        towards showing a cell hot; pass ``count_reporters`` (or
        ``neighbourhood_reporters``) for the exact rule.
    k : int, default 1
        Rings of the Gi* neighbourhood (ignored when ``neighbourhood`` is given).
    neighbourhood : (indptr, indices), optional
        Precomputed neighbourhoods of ``cells`` (self included).
    neighbourhood_reporters : array_like of float, shape (n,), optional
        Exact distinct reporters over each cell's neighbourhood (e.g. a
        ``COUNT(DISTINCT device_id)`` over the disk in SQL); overrides ``reporters``.
    reporters_floor : array_like of float, shape (n,), optional
        Per cell, a number of reporters certainly distinct from each other (e.g.
        the most of any one day there): the largest over a neighbourhood is a
        lower bound of its reporters, which settles candidates without counting.
    count_reporters : callable, optional
        ``count_reporters(candidates, members)`` gives the exact reporters of the
        neighbourhoods of hot ``candidates`` (positions; ``members`` are their
        neighbourhoods as positions). Asked only about hot cells whose bounds
        (``reporters_floor`` below, the sum of ``reporters`` above) do not
        settle the rule, so the expensive count stays rare.
    alphas : sequence of float, default (0.10, 0.05, 0.01)
        Levels of bins 1, 2, 3.
    fdr : bool, default True
        Benjamini–Hochberg per level, as ArcGIS with FDR on.
    min_reporters : int, default 3
        Distinct reporters a neighbourhood needs before a cell may be shown hot.

    Returns
    -------
    HotspotCells

    Examples
    --------
    >>> from h3.api import basic_int as h3i
    >>> cells = np.array(sorted(h3i.grid_disk(h3i.latlng_to_cell(25.77, -80.19, 9), 6)))
    >>> weights = np.zeros(cells.size)
    >>> weights[:30] = 1.0
    >>> weights[:5] = 12.0  # five neighbouring cells with many reports
    >>> r = analyse(cells, weights, reporters=np.where(weights > 0, 1.0, 0.0))
    >>> int(r.gi_bin.max()), bool(r.no_data.any()), bool(np.isfinite(r.gi_z).all())
    (3, True, True)
    """
    cells_a = np.asarray(cells, dtype=np.int64).ravel()
    n = cells_a.shape[0]
    if np.shape(weights) != (n,):
        raise ValueError(f"weights must have one value per cell ({n}), got {np.shape(weights)}")
    values = np.asarray(weights, dtype=np.float64)
    if neighbourhood is None:
        indptr, indices = neighbourhoods(cells_a, k)
    else:
        indptr, indices = as_neighbourhoods(*neighbourhood, n)

    has_value = ~np.isnan(values)
    kept = np.flatnonzero(has_value)
    if kept.size < n:
        # Gi*'s n, mean and spread are over the cells that have a value only.
        sub_ptr, sub_idx = restrict_neighbourhoods(indptr, indices, has_value)
        counts = np.zeros(n, dtype=np.int64)
        counts[kept] = np.diff(sub_ptr)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        indices = kept[sub_idx]
    else:
        sub_ptr, sub_idx = indptr, indices
    sub = gi_star(values[kept], sub_ptr, sub_idx)
    z, p = np.zeros(n), np.ones(n)
    n_neighbors = np.zeros(n, dtype=np.int64)
    neighbourhood_weight = np.zeros(n)
    bins = np.zeros(n, dtype=np.int8)
    z[kept], p[kept], n_neighbors[kept] = sub.z, sub.p, sub.n_neighbors
    neighbourhood_weight[kept] = sub.neighbourhood_sum
    bins[kept] = gi_bins(sub.z, sub.p, alphas, fdr=fdr)

    no_data = ~has_value | (neighbourhood_weight == 0)
    bins[no_data] = 0

    if neighbourhood_reporters is not None:
        nearby = np.asarray(neighbourhood_reporters, dtype=np.float64).ravel().copy()
    elif reporters is not None:
        per_cell = np.asarray(reporters, dtype=np.float64).ravel()
        if per_cell.shape[0] != n:
            raise ValueError("reporters must have one value per cell")
        nearby = adjacency(indptr, indices, n) @ per_cell
        if count_reporters is not None:
            unsure = np.flatnonzero((bins > 0) & (nearby >= min_reporters))
            if reporters_floor is not None:
                floor = np.asarray(reporters_floor, dtype=np.float64).ravel()
                lower = np.zeros(n)
                np.maximum.at(lower, row_ids(indptr), floor[indices])
                unsure = unsure[lower[unsure] < min_reporters]
            if unsure.size:
                members = [indices[indptr[i]:indptr[i + 1]] for i in unsure.tolist()]
                nearby[unsure] = np.asarray(count_reporters(unsure, members), dtype=np.float64)
    else:
        raise ValueError("pass reporters or neighbourhood_reporters")
    if nearby.shape[0] != n:
        raise ValueError("neighbourhood_reporters must have one value per cell")
    few = (bins > 0) & (nearby < min_reporters)
    bins[few] = 0

    return HotspotCells(
        gi_z=z,
        gi_p=p,
        gi_bin=bins,
        n_neighbors=n_neighbors,
        no_data=no_data,
        has_value=has_value,
        few_reporters=few,
        neighbourhood_weight=neighbourhood_weight,
        neighbourhood_reporters=nearby,
        indptr=indptr,
        indices=indices,
    )
