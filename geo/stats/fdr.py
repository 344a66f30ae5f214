"""Confidence bins for Gi* with Benjamini–Hochberg FDR, as ArcGIS Pro bins them.

ArcGIS Hot Spot Analysis with "Apply False Discovery Rate (FDR) Correction" writes
``Gi_Bin`` in -3..3 and leaves ``GiZScore`` / ``GiPValue`` untouched. Its script
(``Stats.fdrTransform``) runs a Benjamini–Hochberg step-up once per confidence level
α ∈ {0.10, 0.05, 0.01} over the p-values of *all* n features:

1. rank the p-values ascending, ``p_(1) ≤ … ≤ p_(n)``;
2. find the largest rank ``r`` with ``p_(r) ≤ (r / n) · α``;
3. every feature with ``p ≤ p_(r)`` is significant at that level (none if no such r).

A feature's bin is ±3 when significant at α = 0.01, else ±2 at 0.05, else ±1 at 0.10,
else 0; the sign is the sign of its z. Because BH thresholds grow with α, the three
significant sets are nested, so the "highest level wins" rule is well defined.
(Caldas de Castro & Singer 2006 introduced BH for local spatial statistics.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DEFAULT_ALPHAS", "benjamini_hochberg", "gi_bins"]

DEFAULT_ALPHAS: tuple[float, ...] = (0.10, 0.05, 0.01)
"""Significance levels of bins 1, 2, 3 (90, 95, 99 % confidence)."""


def benjamini_hochberg(p: ArrayLike, alpha: float) -> NDArray[np.bool_]:
    """Benjamini–Hochberg step-up: which p-values are significant at FDR ``alpha``.

    Parameters
    ----------
    p : array_like of float
        p-values. NaN marks a test that was not performed: it is never significant
        and does not count towards ``n``.
    alpha : float
        False discovery rate, in (0, 1).

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``p``.

    Examples
    --------
    Thresholds are 0.01, 0.02, 0.03, 0.04 for n = 4 and α = 0.04. The largest rank
    under its threshold is 3 (0.025 ≤ 0.03), so the three smallest p are kept even
    though 0.021 > 0.02 on its own rank:

    >>> benjamini_hochberg([0.005, 0.021, 0.025, 0.5], 0.04).tolist()
    [True, True, True, False]
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p_a = np.asarray(p, dtype=np.float64)
    return p_a <= _bh_cutoffs(p_a, (alpha,))[0]


def gi_bins(
    z: ArrayLike,
    p: ArrayLike,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    *,
    fdr: bool = True,
) -> NDArray[np.int8]:
    """Confidence bins -3..3 from z and two-sided p, optionally FDR-corrected.

    Parameters
    ----------
    z : array_like of float
        Gi* z-scores; only their sign is used.
    p : array_like of float
        Two-sided p-values, same shape as ``z``.
    alphas : sequence of float, default (0.10, 0.05, 0.01)
        Decreasing significance levels; bin ``±j`` means significant at
        ``alphas[j - 1]`` but not at ``alphas[j]``.
    fdr : bool, default True
        Benjamini–Hochberg per level over all finite p (ArcGIS with FDR on);
        False compares p with α directly (ArcGIS with FDR off).

    Returns
    -------
    numpy.ndarray of int8
        Same shape as ``z``; positive for hot, negative for cold, 0 for not
        significant (also for NaN p and for z = 0).

    Examples
    --------
    >>> z = [3.2, 2.1, -2.7, 1.7, 0.3]
    >>> p = [0.0014, 0.036, 0.0069, 0.089, 0.76]
    >>> gi_bins(z, p, fdr=False).tolist()
    [3, 2, -3, 1, 0]
    >>> gi_bins(z, p).tolist()  # BH thresholds (r/5)·α demote the weaker cells
    [3, 1, -2, 0, 0]
    """
    z_a = np.asarray(z, dtype=np.float64)
    p_a = np.asarray(p, dtype=np.float64)
    if z_a.shape != p_a.shape:
        raise ValueError(f"z and p must have the same shape, got {z_a.shape} and {p_a.shape}")
    levels = tuple(float(a) for a in alphas)
    if not levels or any(not 0.0 < a < 1.0 for a in levels):
        raise ValueError(f"alphas must lie in (0, 1), got {levels}")
    if any(b >= a for a, b in zip(levels, levels[1:], strict=False)):
        raise ValueError(f"alphas must be strictly decreasing, got {levels}")
    cutoffs = _bh_cutoffs(p_a, levels) if fdr else np.array(levels)
    level = np.zeros(p_a.shape, dtype=np.int8)
    for cutoff in cutoffs:
        # Nested sets: each stricter level that a cell passes adds one to its bin.
        level += (p_a <= cutoff).astype(np.int8)
    return (level * np.sign(z_a)).astype(np.int8)


def _bh_cutoffs(p: NDArray[np.float64], alphas: Sequence[float]) -> NDArray[np.float64]:
    """Largest p-value that BH declares significant, per alpha (-inf when none)."""
    finite = np.sort(p[np.isfinite(p)], axis=None)
    m = finite.shape[0]
    cutoffs = np.full(len(alphas), -np.inf)
    if m == 0:
        return cutoffs
    ranks = np.arange(1, m + 1, dtype=np.float64) / m
    for j, alpha in enumerate(alphas):
        under = np.flatnonzero(finite <= ranks * alpha)
        if under.size:
            cutoffs[j] = finite[under[-1]]
    return cutoffs
