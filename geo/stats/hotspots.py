"""One call from per-cell weights to the hotspot fields a run stores for each cell.

:func:`analyse` chains neighbourhoods → Gi* → FDR bins and then applies the two
honesty rules of the architecture ("few reports never read as safe"):

* **No data.** A cell whose whole neighbourhood holds zero weight has no evidence
  either way. It gets ``gi_bin = 0`` and ``no_data = True``; its z and p stay the
  finite values Gi* gives (usually mildly negative z), so no NaN reaches storage,
  but they must be shown as "no data", never as cold.
* **Three reporters.** A cell may be shown hot only when its neighbourhood holds
  reports from at least ``min_reporters`` (3) distinct reporters, so that one
  persistent phone cannot make a hot spot. Hot cells below that are demoted to
  ``gi_bin = 0`` and flagged in ``few_reporters``. The rule is applied after the FDR
  step and only demotes, so it never makes another cell significant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.stats._csr import adjacency, as_neighbourhoods
from geo.stats.fdr import DEFAULT_ALPHAS, gi_bins
from geo.stats.gistar import gi_star
from geo.stats.grid import neighbourhoods

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
    """Cells in the neighbourhood, self included."""
    no_data: NDArray[np.bool_]
    """Neighbourhood holds zero weight: show as "no data", not cold."""
    few_reporters: NDArray[np.bool_]
    """Significantly hot, but fewer than ``min_reporters`` reporters nearby: demoted to 0."""
    neighbourhood_weight: NDArray[np.float64]
    neighbourhood_reporters: NDArray[np.float64]
    indptr: NDArray[np.int64]
    """The neighbourhoods used, as CSR, for reuse (e.g. priority areas when k = 1)."""
    indices: NDArray[np.int64]


def analyse(
    cells: ArrayLike,
    weights: ArrayLike,
    reporters: ArrayLike | None,
    k: int = 1,
    *,
    neighbourhood: tuple[ArrayLike, ArrayLike] | None = None,
    neighbourhood_reporters: ArrayLike | None = None,
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
        Weighted report count per cell (severity × recency, one incident per
        device, cell and day); zeros for empty cells.
    reporters : array_like of float, shape (n,), or None
        Distinct reporters (devices) per cell. Summed over each neighbourhood this
        *over*-counts a device that reported in several cells of it, so the
        3-reporter rule is then an approximation that errs towards showing a cell
        hot. Pass ``neighbourhood_reporters`` for the exact rule.
    k : int, default 1
        Rings of the Gi* neighbourhood (ignored when ``neighbourhood`` is given).
    neighbourhood : (indptr, indices), optional
        Precomputed neighbourhoods of ``cells`` (self included).
    neighbourhood_reporters : array_like of float, shape (n,), optional
        Exact distinct reporters over each cell's neighbourhood (e.g. a
        ``COUNT(DISTINCT device_id)`` over the disk in SQL); overrides ``reporters``.
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
    if neighbourhood is None:
        indptr, indices = neighbourhoods(cells_a, k)
    else:
        indptr, indices = as_neighbourhoods(*neighbourhood, n)

    result = gi_star(weights, indptr, indices)
    bins = gi_bins(result.z, result.p, alphas, fdr=fdr)

    no_data = result.neighbourhood_sum == 0
    bins[no_data] = 0

    if neighbourhood_reporters is not None:
        nearby = np.asarray(neighbourhood_reporters, dtype=np.float64).ravel()
    elif reporters is not None:
        per_cell = np.asarray(reporters, dtype=np.float64).ravel()
        if per_cell.shape[0] != n:
            raise ValueError("reporters must have one value per cell")
        nearby = adjacency(indptr, indices, n) @ per_cell
    else:
        raise ValueError("pass reporters or neighbourhood_reporters")
    if nearby.shape[0] != n:
        raise ValueError("neighbourhood_reporters must have one value per cell")
    few = (bins > 0) & (nearby < min_reporters)
    bins[few] = 0

    return HotspotCells(
        gi_z=result.z,
        gi_p=result.p,
        gi_bin=bins,
        n_neighbors=result.n_neighbors,
        no_data=no_data,
        few_reporters=few,
        neighbourhood_weight=result.neighbourhood_sum,
        neighbourhood_reporters=nearby,
        indptr=indptr,
        indices=indices,
    )
