"""Shared test helpers: study areas near a real city and PySAL weights from CSR.

Imported as ``tests.geo.stats._stats_reference``, like the other test helpers.
"""

from __future__ import annotations

import numpy as np
from h3.api import basic_int as h3i
from libpysal.weights import W

MIAMI = (25.77, -80.19)


def city_cells(radius: int, keep: float = 1.0, seed: int = 0, res: int = 9) -> np.ndarray:
    """H3 cells within ``radius`` rings of downtown Miami, a random ``keep`` share of them.

    Dropping cells at random makes ragged edges and holes, which is what clipping
    to the study area has to handle.
    """
    centre = h3i.latlng_to_cell(*MIAMI, res)
    cells = np.array(sorted(h3i.grid_disk(centre, radius)), dtype=np.int64)
    if keep < 1.0:
        rng = np.random.default_rng(seed)
        cells = cells[rng.random(cells.size) < keep]
    return cells


def to_w(indptr: np.ndarray, indices: np.ndarray, include_self: bool = True) -> W:
    """libpysal W with the same neighbour lists, ids 0..n-1 in order."""
    n = indptr.shape[0] - 1
    neighbours = {}
    for i in range(n):
        row = [int(j) for j in indices[indptr[i] : indptr[i + 1]]]
        neighbours[i] = row if include_self else [j for j in row if j != i]
    return W(neighbours, id_order=list(range(n)), silence_warnings=True)


def brute_disks(cells: np.ndarray, k: int) -> list[set[int]]:
    """grid_disk of every cell clipped to ``cells``, as sets of positions."""
    position = {int(c): i for i, c in enumerate(cells)}
    return [{position[c] for c in h3i.grid_disk(int(cell), k) if c in position} for cell in cells]
