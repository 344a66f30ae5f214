"""Micro-benchmark of the hotspot statistics core (geo.stats).

Times Gi*, FDR bins, priority and the whole ``analyse`` step on ~50k H3 cells, and
the emerging hot spot analysis on 30k cells × 52 weekly bins (binning 1M reports
into the cube included). Each row prints the median of ``--repeat`` runs, a floor
measured in the same run (the one operation the step cannot avoid, e.g. the sparse
mat-vec for Gi*) and the ratio of the two. Wall time never gates CI.

Run from the repository root::

    .venv/bin/python benchmarks/bench_stats.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from h3.api import basic_int as h3i

try:
    import geo.stats  # noqa: F401 -- installed with `make setup`
except ModuleNotFoundError:  # running from a bare checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.sparse import csr_array  # noqa: E402

from geo.stats import (  # noqa: E402
    analyse,
    classify_emerging,
    emerging_hotspots,
    gi_bins,
    gi_star,
    mann_kendall,
    neighbourhoods,
    priority,
    space_time_gistar,
)

MIAMI = (25.77, -80.19)


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def study_area(rings: int) -> np.ndarray:
    centre = h3i.latlng_to_cell(*MIAMI, 9)
    return np.array(sorted(h3i.grid_disk(centre, rings)), dtype=np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows: list[tuple[str, float, str, float]] = []

    def bench(name: str, fn: Callable[[], object], floor_name: str, floor: Callable[[], object]):
        rows.append(
            (
                name,
                median_seconds(fn, args.repeat),
                floor_name,
                median_seconds(floor, args.repeat),
            )
        )

    # --- one snapshot: ~50k cells (k = 128 rings gives 49,537 cells) -----------------
    cells = study_area(128)
    n = cells.size
    weights = rng.negative_binomial(1, 0.4, n).astype(float)
    reporters = np.minimum(weights, 3.0)
    indptr, indices = neighbourhoods(cells, 1)
    matrix = csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    result = gi_star(weights, indptr, indices)
    bins = gi_bins(result.z, result.p)
    order_keys = rng.random(n)

    bench(
        f"neighbourhoods k=1 ({n:,} cells)",
        lambda: neighbourhoods(cells, 1),
        "h3 cell_to_local_ij loop",
        lambda: [h3i.cell_to_local_ij(int(cells[0]), c) for c in cells.tolist()],
    )
    bench(
        "gi_star",
        lambda: gi_star(weights, indptr, indices),
        "sparse mat-vec",
        lambda: matrix @ weights,
    )
    bench(
        "gi_bins (FDR)",
        lambda: gi_bins(result.z, result.p),
        "np.sort(p)",
        lambda: np.sort(result.p),
    )
    bench(
        "priority",
        lambda: priority(cells, result.z, bins, weights, adjacency_csr=(indptr, indices)),
        "np.lexsort ranking",
        lambda: np.lexsort((cells, order_keys)),
    )
    bench(
        "analyse (gi* + fdr + rules)",
        lambda: analyse(cells, weights, reporters, neighbourhood=(indptr, indices)),
        "sparse mat-vec",
        lambda: matrix @ weights,
    )

    # --- emerging: ~30k cells × 52 weeks from 1M reports ------------------------------
    st_cells = study_area(100)  # 30,301 cells
    m = st_cells.size
    weeks = 52
    st_indptr, st_indices = neighbourhoods(st_cells, 1)
    st_matrix = csr_array((np.ones(st_indices.size), st_indices, st_indptr), shape=(m, m))
    report_cell = rng.integers(0, m, 1_000_000)
    report_week = rng.integers(0, weeks, 1_000_000)

    def cube_from_reports() -> np.ndarray:
        flat = np.bincount(report_week * m + report_cell, minlength=weeks * m)
        return flat.reshape(weeks, m).astype(np.float64)

    cube = cube_from_reports()
    st = space_time_gistar(cube, st_indptr, st_indices)
    st_bins = gi_bins(st.z.ravel(), st.p.ravel()).reshape(st.z.shape)

    bench(
        f"cube from 1M reports ({m:,} x {weeks})",
        cube_from_reports,
        "np.bincount",
        lambda: np.bincount(report_cell, minlength=m),
    )
    bench(
        "space_time_gistar",
        lambda: space_time_gistar(cube, st_indptr, st_indices),
        "sparse mat-mat",
        lambda: st_matrix @ cube.T,
    )
    bench(
        "mann_kendall",
        lambda: mann_kendall(st.z, axis=0),
        "np.sort(z, axis=0)",
        lambda: np.sort(st.z, axis=0),
    )
    bench(
        "classify_emerging (incl. MK)",
        lambda: classify_emerging(st.z, st_bins),
        "np.sort(z, axis=0)",
        lambda: np.sort(st.z, axis=0),
    )
    bench(
        "emerging_hotspots (total)",
        lambda: (cube_from_reports(), emerging_hotspots(cube, st_indptr, st_indices)),
        "sparse mat-mat",
        lambda: st_matrix @ cube.T,
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'median':>9}  {'floor':<26} {'floor med':>9}  {'ratio':>6}")
    for name, seconds, floor_name, floor_seconds in rows:
        ratio = seconds / floor_seconds if floor_seconds > 0 else float("inf")
        print(
            f"{name:<{width}}  {seconds * 1e3:7.1f}ms  {floor_name:<26} "
            f"{floor_seconds * 1e3:7.1f}ms  {ratio:6.1f}"
        )


if __name__ == "__main__":
    main()
