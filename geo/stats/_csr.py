"""Small helpers shared by the statistics modules for CSR neighbourhoods.

A neighbourhood structure is the pair ``(indptr, indices)`` of a square CSR
matrix with implicit weights of 1: row ``i`` lists the positions of the cells
that are neighbours of cell ``i``. The statistics modules take this pair rather
than a matrix object so that callers can build it once (``grid.neighbourhoods``)
and reuse it across Gi*, Moran's I and the priority areas.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray


def as_neighbourhoods(
    indptr: ArrayLike, indices: ArrayLike, n: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Validate a CSR neighbourhood pair for ``n`` cells and return int64 copies."""
    indptr_a = np.asarray(indptr, dtype=np.int64)
    indices_a = np.asarray(indices, dtype=np.int64)
    if indptr_a.ndim != 1 or indptr_a.shape[0] != n + 1:
        raise ValueError(f"indptr must have length n + 1 = {n + 1}, got {indptr_a.shape}")
    if indptr_a[0] != 0 or indptr_a[-1] != indices_a.shape[0]:
        raise ValueError("indptr must start at 0 and end at len(indices)")
    if np.any(np.diff(indptr_a) < 0):
        raise ValueError("indptr must be non-decreasing")
    if indices_a.size and (indices_a.min() < 0 or indices_a.max() >= n):
        raise ValueError(f"indices must lie in [0, {n})")
    return indptr_a, indices_a


def adjacency(indptr: NDArray[np.int64], indices: NDArray[np.int64], n: int) -> sp.csr_array:
    """Binary CSR matrix of a neighbourhood pair (duplicates would add up, so none allowed)."""
    data = np.ones(indices.shape[0], dtype=np.float64)
    return sp.csr_array((data, indices, indptr), shape=(n, n))


def row_ids(indptr: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row index of every stored entry, the COO twin of ``indptr``."""
    counts = np.diff(indptr)
    return np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)


def require_self(indptr: NDArray[np.int64], indices: NDArray[np.int64]) -> None:
    """Raise unless every row lists its own cell, as Gi* ("star") requires.

    A row without itself would silently compute Gi (no star) with the wrong n,
    so this is checked rather than assumed.
    """
    rows = row_ids(indptr)
    own = np.bincount(rows[rows == indices], minlength=indptr.size - 1)
    if np.any(own != 1):
        missing = int(np.count_nonzero(own == 0))
        raise ValueError(f"every neighbourhood must contain its own cell once ({missing} do not)")
