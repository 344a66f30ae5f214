"""Getis–Ord Gi* (Ord & Getis 1995) with binary weights on CSR neighbourhoods.

For cell ``i`` with neighbourhood ``N(i)`` (itself included, weights 1), values ``x``
over all ``n`` cells of the study area::

    W_i   = |N(i)|                              (n_neighbors)
    x̄     = Σ x / n
    S     = sqrt(Σ x² / n − x̄²)                 (population SD, divisor n)
    z_i   = (Σ_{j∈N(i)} x_j − W_i x̄) / (S · sqrt((n W_i − W_i²) / (n − 1)))

This is the binary case of the general formula (S1_i = W_i) and is exactly what
ArcGIS Hot Spot Analysis reports as ``GiZScore`` and what PySAL esda reports as
``G_Local(y, w, transform="B", star=True).Zs``. esda writes it as
``(G − E[G]) / sqrt(V[G])`` with ``G = lag / Σx``; dividing numerator and
denominator by ``n x̄`` gives the form above. Because esda's variance carries
``x̄²`` under the square root, its z flips sign when ``Σx < 0``; ours does not.
Counts and weights are never negative, so the two agree on every real input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from geo.stats._csr import adjacency, as_neighbourhoods, require_self

__all__ = ["GiStar", "gi_star", "gi_star_z", "two_sided_p"]


class GiStar(NamedTuple):
    """Per-cell Gi* results (all arrays of length n)."""

    z: NDArray[np.float64]
    """Analytical z-score; 0 where it is undefined (see :func:`gi_star`)."""
    p: NDArray[np.float64]
    """Two-sided normal p-value, ``2 · (1 − Φ(|z|))``."""
    n_neighbors: NDArray[np.int64]
    """Cells in the neighbourhood, self included (``W_i``)."""
    neighbourhood_sum: NDArray[np.float64]
    """``Σ_{j∈N(i)} x_j``: zero means the neighbourhood holds no reports."""


def gi_star(y: ArrayLike, indptr: ArrayLike, indices: ArrayLike) -> GiStar:
    """Gi* z-scores and two-sided p-values of ``y`` over CSR neighbourhoods.

    Parameters
    ----------
    y : array_like of float, shape (n,)
        Value per cell (weighted report count, rate, ...). Every cell of the
        study area must be present; empty cells are zeros.
    indptr, indices : array_like of int
        Neighbourhoods as CSR (see :func:`geo.stats.grid.neighbourhoods`). Each
        row must contain the cell itself: Gi* ("star") counts the cell in its own
        neighbourhood. Weights are binary.

    Returns
    -------
    GiStar
        ``z``, ``p`` (two-sided), ``n_neighbors`` and ``neighbourhood_sum``.

    Notes
    -----
    Where z is undefined it is set to 0 and p to 1, instead of NaN, so that a
    degenerate study area reads as "not significant" rather than crashing a run:

    * ``y`` constant (e.g. all zeros: no reports at all). ArcGIS stops with an
      error (906) and esda returns NaN.
    * ``W_i = n`` (the neighbourhood is the whole study area): the numerator is
      identically 0, the variance too.

    Cost is one sparse mat-vec: about 2 ms for 10k cells and 13 ms for 100k cells
    at k = 1.

    Examples
    --------
    Five cells on a line, neighbours within one step (self included):

    >>> indptr = [0, 2, 5, 8, 11, 13]
    >>> indices = [0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4]
    >>> r = gi_star([0.0, 0.0, 1.0, 5.0, 6.0], indptr, indices)
    >>> np.round(r.z, 4).tolist()
    [-1.5209, -1.9645, -0.3802, 1.5209, 1.9645]
    >>> r.n_neighbors.tolist()
    [2, 3, 3, 3, 2]
    """
    y_a = np.asarray(y, dtype=np.float64).ravel()
    n = y_a.shape[0]
    indptr_a, indices_a = as_neighbourhoods(indptr, indices, n)
    require_self(indptr_a, indices_a)
    if not np.all(np.isfinite(y_a)):
        raise ValueError("y must be finite")
    lag = adjacency(indptr_a, indices_a, n) @ y_a
    n_neighbors = np.diff(indptr_a)
    z = gi_star_z(lag, n_neighbors.astype(np.float64), y_a)
    return GiStar(z=z, p=two_sided_p(z), n_neighbors=n_neighbors, neighbourhood_sum=lag)


def gi_star_z(
    lag: NDArray[np.float64], weight_sum: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Binary-weights Gi* z from neighbourhood sums; ``x̄``, ``S``, ``n`` come from ``y``.

    Shared with the space-time Gi*, where ``y`` is the whole cube and ``lag`` and
    ``weight_sum`` may be 2-D.

    Parameters
    ----------
    lag : numpy.ndarray
        ``Σ_{j∈N(i)} y_j`` per feature.
    weight_sum : numpy.ndarray
        ``W_i`` per feature, same shape as ``lag``.
    y : numpy.ndarray
        All values of the study area (any shape; flattened).

    Returns
    -------
    numpy.ndarray
        z, shape of ``lag``; 0 where undefined.

    Examples
    --------
    >>> y = np.array([0.0, 0.0, 1.0, 5.0, 6.0])
    >>> float(np.round(gi_star_z(np.array([12.0]), np.array([3.0]), y)[0], 4))
    1.5209
    """
    values = np.asarray(y, dtype=np.float64).ravel()
    n = values.shape[0]
    mean = values.mean()
    # np.ptp == 0 catches exactly-constant data; a variance computed from rounded
    # means could come out as 1e-35 instead of 0 and make z meaningless.
    sd = 0.0 if n < 2 or np.ptp(values) == 0 else float(np.sqrt(values.var()))
    spread = weight_sum * (n - weight_sum) / (n - 1) if n > 1 else np.zeros_like(weight_sum)
    denominator = sd * np.sqrt(np.maximum(spread, 0.0))
    z = np.zeros(np.shape(lag), dtype=np.float64)
    defined = denominator > 0
    z[defined] = (lag[defined] - weight_sum[defined] * mean) / denominator[defined]
    return z


def two_sided_p(z: ArrayLike) -> NDArray[np.float64]:
    """Two-sided normal p-value ``2 · (1 − Φ(|z|))``, as ArcGIS's ``GiPValue``.

    esda's ``p_norm`` is one-sided; twice it equals this value.

    Parameters
    ----------
    z : array_like of float

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> np.round(two_sided_p([0.0, 1.959964, -2.575829]), 4).tolist()
    [1.0, 0.05, 0.01]
    """
    # ndtr(-|z|) is the lower tail, accurate far into it (no 1 − Φ cancellation);
    # it is scipy.stats.norm.sf(|z|) without the distribution-object overhead.
    return 2.0 * ndtr(-np.abs(np.asarray(z, dtype=np.float64)))
