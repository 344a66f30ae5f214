"""H3 neighbourhoods: both build paths against grid_disk itself."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from h3.api import basic_int as h3i

from geo.stats import grid
from geo.stats.grid import (
    latlng_to_cells,
    neighbourhood_distances,
    neighbourhoods,
    study_area_from_reports,
)
from tests.geo.stats._stats_reference import brute_disks, city_cells

# Near Middlesboro, Kentucky: a res-9 disk of 30 rings here spans icosahedron faces
# 2 and 7 and base cells 21 and 34, where local IJ coordinates are rotated.
FACE_EDGE = (36.6538, -83.811)


def _rows(indptr: np.ndarray, indices: np.ndarray) -> list[set[int]]:
    return [set(indices[indptr[i] : indptr[i + 1]].tolist()) for i in range(indptr.size - 1)]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_neighbourhoods_equal_clipped_grid_disk(k: int) -> None:
    cells = city_cells(12, keep=0.7, seed=k)
    indptr, indices = neighbourhoods(cells, k)
    assert _rows(indptr, indices) == brute_disks(cells, k)


def test_rows_are_sorted_and_include_the_cell_itself() -> None:
    cells = city_cells(8, keep=0.8)
    indptr, indices = neighbourhoods(cells, 2)
    for i in range(cells.size):
        row = indices[indptr[i] : indptr[i + 1]]
        assert i in row
        assert np.all(np.diff(row) > 0)


def test_distances_are_h3_grid_distances() -> None:
    cells = city_cells(6, keep=0.9)
    indptr, indices, dist = neighbourhood_distances(cells, 3)
    for i in range(0, cells.size, 7):
        row = slice(indptr[i], indptr[i + 1])
        for j, d in zip(indices[row], dist[row], strict=True):
            assert h3i.grid_distance(int(cells[i]), int(cells[j])) == d


def test_fast_path_matches_fallback_across_icosahedron_faces() -> None:
    centre = h3i.latlng_to_cell(*FACE_EDGE, 9)
    cells = np.array(h3i.grid_disk(centre, 30), dtype=np.int64)
    cells = cells[np.random.default_rng(3).random(cells.size) < 0.85]
    faces = {f for c in cells.tolist() for f in h3i.get_icosahedron_faces(c)}
    assert len(faces) > 1  # the premise of this test

    pairs = grid._pairs_local_ij(cells, 2)
    assert pairs is not None, "the fast path should be usable here"
    fast = grid._to_csr(cells.size, *pairs)
    slow = grid._to_csr(cells.size, *grid._pairs_grid_rings(cells, 2))
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    assert _rows(fast[0], fast[1]) == brute_disks(cells, 2)


def test_pentagon_falls_back_to_grid_disk() -> None:
    pentagon = h3i.get_pentagons(9)[0]
    cells = np.array(h3i.grid_disk(pentagon, 4), dtype=np.int64)
    assert grid._pairs_local_ij(cells, 1) is None
    indptr, indices = neighbourhoods(cells, 1)
    assert _rows(indptr, indices) == brute_disks(cells, 1)
    position = int(np.flatnonzero(cells == pentagon)[0])
    assert indptr[position + 1] - indptr[position] == 6  # a pentagon has 5 neighbours


def test_edge_cases() -> None:
    indptr, indices = neighbourhoods(np.array([], dtype=np.int64), 1)
    assert indptr.tolist() == [0] and indices.size == 0

    single = np.array([h3i.latlng_to_cell(0.0, 0.0, 9)], dtype=np.int64)
    assert neighbourhoods(single, 2)[1].tolist() == [0]

    with pytest.raises(ValueError, match="distinct"):
        neighbourhoods(np.array([single[0], single[0]]), 1)
    mixed = np.array([single[0], h3i.latlng_to_cell(0.0, 0.0, 8)], dtype=np.int64)
    with pytest.raises(ValueError, match="resolutions"):
        neighbourhoods(mixed, 1)


def test_study_area_is_the_union_of_disks() -> None:
    rng = np.random.default_rng(5)
    lat = 25.77 + rng.normal(0, 0.01, 40)
    lng = -80.19 + rng.normal(0, 0.01, 40)
    report_cells = latlng_to_cells(lat, lng, 9)
    expected = set()
    for c in report_cells.tolist():
        expected |= set(h3i.grid_disk(c, 2))
    area = study_area_from_reports(report_cells, 2)
    assert set(area.tolist()) == expected
    assert np.all(np.diff(area) > 0)


def test_latlng_to_cells_matches_the_string_api() -> None:
    cells = latlng_to_cells([25.77, 40.7128], [-80.19, -74.006], 9)
    assert cells.dtype == np.int64
    assert cells.tolist() == [
        h3.str_to_int(h3.latlng_to_cell(25.77, -80.19, 9)),
        h3.str_to_int(h3.latlng_to_cell(40.7128, -74.006, 9)),
    ]
