"""Emerging hot spots: space-time Gi* over a cube and ArcGIS Pro's trend categories.

The cube is ``counts[t, i]``: time bin ``t`` (oldest first) by study-area cell ``i``.

Space-time Gi*
--------------
As in ArcGIS Emerging Hot Spot Analysis, each bin's neighbours are the spatial
neighbourhood of its cell in the same time step **and the same neighbourhood in the
previous ``time_lag`` steps** (default 1). The global window is the *entire cube*
(ArcGIS's default): n, x̄ and S of the Gi* formula are taken over all T·N bins.

Categories (ArcGIS Pro, "How Emerging Hot Spot Analysis works")
---------------------------------------------------------------
"Hot" below means a statistically significant hot spot bin (significant and z > 0);
"90 %" means at least 90 % of the T time steps (``10·count ≥ 9·T``); the trend is the
Mann–Kendall test on the cell's series of Gi* z-scores, significant at ``alpha``.

* **New** — hot in the final step and never hot before.
* **Consecutive** — a single uninterrupted run of at least two hot bins in the final
  steps, never hot before that run, and less than 90 % of bins hot.
* **Intensifying** — hot for 90 % of the steps including the final one, and the
  intensity increases significantly (MK S > 0, p ≤ alpha).
* **Persistent** — hot for 90 % of the steps with no significant trend.
* **Diminishing** — hot for 90 % of the steps including the final one, and the
  intensity decreases significantly (S < 0, p ≤ alpha).
* **Sporadic** — hot in the final step, an on-again off-again history (hot before
  the final run, with gaps), less than 90 % hot, and never a significant cold spot.
* **Oscillating** — hot in the final step, a significant cold spot in some earlier
  step, and less than 90 % hot.
* **Historical** — not hot in the final step, but hot for at least 90 % of the steps.
* Cold categories mirror these (for intensifying cold spots z trends downwards).
* **No pattern detected** — none of the above.

Where ESRI's wording leaves room, we decide as follows (sfdep, the R port, decides
differently on several of these; see the reference notes):

* The rules are tried in the order listed; the first match wins. So a cell that was
  cold and turns hot only in the final step is *new*, not *oscillating*.
* *Persistent* also requires the final step to be hot; otherwise the cell is
  *historical* (ESRI defines historical as exactly that case).
* *Sporadic* uses Pro's newer wording (hot in the final step), like the AllSource text.
* A cell that matches a hot and a cold category (only possible when one of them is
  *historical*) takes the category of its final step's direction.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.stats._csr import adjacency, as_neighbourhoods, require_self
from geo.stats.fdr import DEFAULT_ALPHAS, gi_bins
from geo.stats.gistar import gi_star_z, two_sided_p
from geo.stats.mann_kendall import MannKendall, mann_kendall

__all__ = [
    "Emerging",
    "EmergingHotspots",
    "SpaceTimeGiStar",
    "classify_emerging",
    "emerging_hotspots",
    "emerging_labels",
    "space_time_gistar",
]


class Emerging(IntEnum):
    """Emerging hot spot categories; cold spots are the negatives of hot spots."""

    NO_PATTERN = 0
    NEW_HOT = 1
    CONSECUTIVE_HOT = 2
    INTENSIFYING_HOT = 3
    PERSISTENT_HOT = 4
    DIMINISHING_HOT = 5
    SPORADIC_HOT = 6
    OSCILLATING_HOT = 7
    HISTORICAL_HOT = 8
    NEW_COLD = -1
    CONSECUTIVE_COLD = -2
    INTENSIFYING_COLD = -3
    PERSISTENT_COLD = -4
    DIMINISHING_COLD = -5
    SPORADIC_COLD = -6
    OSCILLATING_COLD = -7
    HISTORICAL_COLD = -8

    @property
    def label(self) -> str:
        """ArcGIS's wording in snake case, e.g. ``"new_hot_spot"``."""
        if self is Emerging.NO_PATTERN:
            return "no_pattern_detected"
        kind, side = self.name.rsplit("_", 1)
        return f"{kind.lower()}_{side.lower()}_spot"


class SpaceTimeGiStar(NamedTuple):
    """Gi* per bin of a (time × cell) cube."""

    z: NDArray[np.float64]
    p: NDArray[np.float64]
    """Two-sided."""
    n_neighbors: NDArray[np.int64]
    """Bins in each neighbourhood, self included (fewer in the first ``time_lag`` steps)."""


class EmergingHotspots(NamedTuple):
    """Everything an emerging hot spot run produces."""

    gistar: SpaceTimeGiStar
    bins: NDArray[np.int8]
    """Gi* confidence bins per (time, cell), FDR over the whole cube when requested."""
    trend: MannKendall
    """Mann–Kendall on each cell's z series."""
    category: NDArray[np.int8]
    """:class:`Emerging` code per cell."""


def space_time_gistar(
    counts: ArrayLike, indptr: ArrayLike, indices: ArrayLike, *, time_lag: int = 1
) -> SpaceTimeGiStar:
    """Gi* of every bin of a space-time cube with time-lagged neighbourhoods.

    Parameters
    ----------
    counts : array_like of float, shape (T, N)
        Value per time step and cell (oldest step first).
    indptr, indices : array_like of int
        Spatial neighbourhoods as CSR, self included.
    time_lag : int, default 1
        Previous time steps whose same neighbourhood joins each bin's neighbourhood.

    Returns
    -------
    SpaceTimeGiStar
        ``z`` and two-sided ``p`` of shape (T, N); 0 and 1 where undefined (constant
        cube), as for :func:`geo.stats.gistar.gi_star`.

    Examples
    --------
    Two cells that neighbour each other, three weeks:

    >>> st = space_time_gistar([[0, 1], [2, 3], [9, 8]], [0, 2, 4], [0, 1, 0, 1])
    >>> st.n_neighbors.tolist()  # week 0 has no previous week
    [[2, 2], [4, 4], [4, 4]]
    >>> np.round(st.z, 3).tolist()
    [[-1.534, -1.534], [-2.148, -2.148], [1.534, 1.534]]
    """
    cube = np.asarray(counts, dtype=np.float64)
    if cube.ndim != 2:
        raise ValueError(f"counts must be (time, cells), got shape {cube.shape}")
    if time_lag < 0:
        raise ValueError("time_lag must be >= 0")
    if not np.all(np.isfinite(cube)):
        raise ValueError("counts must be finite")
    n_steps, n_cells = cube.shape
    indptr_a, indices_a = as_neighbourhoods(indptr, indices, n_cells)
    require_self(indptr_a, indices_a)
    spatial = (adjacency(indptr_a, indices_a, n_cells) @ cube.T).T
    lag = spatial.copy()
    for back in range(1, min(time_lag, n_steps - 1) + 1):
        lag[back:] += spatial[:-back]
    steps_seen = np.minimum(np.arange(n_steps), time_lag) + 1
    n_neighbors = steps_seen[:, None] * np.diff(indptr_a)[None, :]
    z = gi_star_z(lag, n_neighbors.astype(np.float64), cube)
    return SpaceTimeGiStar(z=z, p=two_sided_p(z), n_neighbors=n_neighbors)


def classify_emerging(
    z: ArrayLike,
    significance: ArrayLike,
    alpha: float = 0.05,
    *,
    trend: MannKendall | None = None,
) -> NDArray[np.int8]:
    """ArcGIS Pro emerging hot spot category of each cell (see the module docstring).

    Parameters
    ----------
    z : array_like of float, shape (T, N)
        Gi* z per time step and cell.
    significance : array_like, shape (T, N)
        Either integer confidence bins (-3..3, e.g. from :func:`geo.stats.fdr.gi_bins`,
        FDR-corrected or not): a bin is significant when ``|bin|`` reaches the level
        of ``alpha`` (0.10 → 1, 0.05 → 2, 0.01 → 3) and its sign says hot or cold;
        or float p-values: significant when ``p <= alpha``, hot when z > 0.
    alpha : float, default 0.05
        Significance of the bins and of the Mann–Kendall trend.
    trend : MannKendall, optional
        Precomputed ``mann_kendall(z, axis=0)``.

    Returns
    -------
    numpy.ndarray of int8, shape (N,)
        :class:`Emerging` codes; :func:`emerging_labels` turns them into names.

    Examples
    --------
    Ten weeks, three cells: hot only in the last week; hot every week with z
    climbing; hot in weeks 0–8 and not in the last:

    >>> weeks = np.arange(10.0)
    >>> z = np.stack([np.r_[np.zeros(9), 3.0], 3 + weeks, np.r_[np.full(9, 3.0), 0.5]], 1)
    >>> codes = classify_emerging(z, two_sided_p(z))
    >>> emerging_labels(codes).tolist()
    ['new_hot_spot', 'intensifying_hot_spot', 'historical_hot_spot']
    """
    z_a = np.asarray(z, dtype=np.float64)
    sig_a = np.asarray(significance)
    if z_a.ndim != 2 or sig_a.shape != z_a.shape:
        raise ValueError("z and significance must both be (time, cells)")
    if np.issubdtype(sig_a.dtype, np.integer):
        if alpha not in DEFAULT_ALPHAS:
            raise ValueError(f"with bins, alpha must be one of {DEFAULT_ALPHAS}")
        level = DEFAULT_ALPHAS.index(alpha) + 1
        hot, cold = sig_a >= level, sig_a <= -level
    else:
        significant = sig_a.astype(np.float64) <= alpha
        hot, cold = significant & (z_a > 0), significant & (z_a < 0)
    mk = trend if trend is not None else mann_kendall(z_a, axis=0)
    rising = (mk.s > 0) & (mk.p <= alpha)
    falling = (mk.s < 0) & (mk.p <= alpha)

    hot_code = _categories(hot, cold, rising, falling)
    cold_code = -_categories(cold, hot, falling, rising)
    # Only "historical" can coincide with a category of the other sign; the final
    # step's direction decides, and with a non-significant final step at most one
    # historical category can hold (both would need 90 % of the steps each).
    return np.where(cold[-1] | (hot_code == 0), cold_code, hot_code).astype(np.int8)


def emerging_labels(codes: ArrayLike) -> NDArray[np.str_]:
    """Names (``Emerging.label``) of category codes, vectorised.

    Examples
    --------
    >>> emerging_labels([0, 3, -1]).tolist()
    ['no_pattern_detected', 'intensifying_hot_spot', 'new_cold_spot']
    """
    lookup = np.array([Emerging(c).label for c in range(-8, 9)])
    return lookup[np.asarray(codes, dtype=np.int64) + 8]


def emerging_hotspots(
    counts: ArrayLike,
    indptr: ArrayLike,
    indices: ArrayLike,
    *,
    alpha: float = 0.05,
    time_lag: int = 1,
    fdr: bool = True,
) -> EmergingHotspots:
    """Space-time Gi*, FDR bins, Mann–Kendall and categories in one call.

    Parameters
    ----------
    counts : array_like of float, shape (T, N)
        The space-time cube (time step × cell), oldest first.
    indptr, indices : array_like of int
        Spatial neighbourhoods as CSR, self included.
    alpha : float, default 0.05
        Significance of hot/cold bins and of the trend (one of 0.10, 0.05, 0.01).
    time_lag : int, default 1
        Previous steps in each bin's neighbourhood.
    fdr : bool, default True
        Bin with Benjamini–Hochberg over all T·N bins (Pro applies FDR to the
        per-bin Gi*; we take the whole cube as the family, matching its global window).

    Returns
    -------
    EmergingHotspots

    Examples
    --------
    >>> cube = np.zeros((8, 3))
    >>> cube[:, 0] = [0, 0, 0, 0, 9, 9, 9, 9]  # cell 0 flares up in week 4
    >>> indptr, indices = [0, 1, 2, 3], [0, 1, 2]  # three isolated cells
    >>> emerging_labels(emerging_hotspots(cube, indptr, indices).category).tolist()
    ['consecutive_hot_spot', 'no_pattern_detected', 'no_pattern_detected']
    """
    gistar = space_time_gistar(counts, indptr, indices, time_lag=time_lag)
    bins = gi_bins(gistar.z.ravel(), gistar.p.ravel(), fdr=fdr).reshape(gistar.z.shape)
    trend = mann_kendall(gistar.z, axis=0)
    category = classify_emerging(gistar.z, bins, alpha, trend=trend)
    return EmergingHotspots(gistar=gistar, bins=bins, trend=trend, category=category)


def _categories(
    same: NDArray[np.bool_],
    other: NDArray[np.bool_],
    increasing: NDArray[np.bool_],
    decreasing: NDArray[np.bool_],
) -> NDArray[np.int8]:
    """Hot-side category codes (1..8, 0 = none) for ``same`` = this side's significant bins."""
    n_steps = same.shape[0]
    count = same.sum(axis=0)
    final = same[-1]
    # Length of the run of significant bins that ends at the final step.
    run = np.cumprod(same[::-1], axis=0).sum(axis=0)
    before_run = count > run
    ninety = 10 * count >= 9 * n_steps
    other_ever = other.any(axis=0)

    conditions = [
        final & (count == 1),
        final & (run >= 2) & ~before_run & ~ninety,
        final & ninety & increasing,
        final & ninety & ~increasing & ~decreasing,
        final & ninety & decreasing,
        final & ~ninety & before_run & ~other_ever,
        final & ~ninety & other_ever,
        ~final & ninety,
    ]
    codes = [
        Emerging.NEW_HOT,
        Emerging.CONSECUTIVE_HOT,
        Emerging.INTENSIFYING_HOT,
        Emerging.PERSISTENT_HOT,
        Emerging.DIMINISHING_HOT,
        Emerging.SPORADIC_HOT,
        Emerging.OSCILLATING_HOT,
        Emerging.HISTORICAL_HOT,
    ]
    # np.select takes the first true condition, which is the documented rule order.
    return np.select(conditions, [int(c) for c in codes], default=0).astype(np.int8)
