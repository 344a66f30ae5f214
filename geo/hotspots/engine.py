"""Run a hotspot analysis end to end: read, compute, publish.

The steps, each timed into the run's ``timings``:

1. claim the run (``queued``/``running`` → ``running``; a ``succeeded`` run is left
   alone, which makes a second delivery of the job a no-op);
2. bring the per-cell-day aggregate up to date and read per-cell totals and the
   time series of the space-time cube (one SQL pass over the aggregate);
3. lay out the study area (the boundary's cells, else K rings around reports) with
   zeros for empty cells, choose K when ``rings="auto"``;
4. Gi* with binary weights, BH-FDR bins and the honesty rules (no-data, ≥ 3 distinct
   reporters), all by :func:`geo.stats.hotspots.analyse`, their one implementation;
5. emerging hot spots on the space-time cube of the analysed measure (counts or
   rates), none for cells the rules silenced; priority scores and areas;
6. when the run covers an ``aggregated`` service, the same again as the public may
   see it (:mod:`geo.hotspots.public`: resolution 8 or coarser, without the
   reports of cells below the reporter rule);
7. publish cells, areas, the public twin and ``succeeded`` in one transaction.

A failure marks the run ``failed`` with the error; nothing of it becomes visible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from geo.hotspots import aggregate, public
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.read import (
    cell_population,
    cells_in_boundary,
    neighbourhood_reporters,
    period,
    read_cells,
    study_boundary,
    unlocated_reports,
)
from geo.privacy import MIN_REPORTERS
from geo.stats.grid import neighbourhoods, restrict_neighbourhoods, study_area_from_reports
from geo.stats.hotspots import HotspotCells, analyse
from geo.stats.moran import choose_rings
from geo.stats.priority import PriorityWeights, priority
from geo.stats.rates import eb_rates
from geo.stats.trends import emerging_hotspots, emerging_labels

Progress = Callable[[int, str], None]

#: Fewer time bins than this and a trend is noise: the run leaves ``trend`` empty.
MIN_TREND_BINS = 6


def _most_common(labels: list[str | None]) -> str | None:
    """The most frequent label; ties go to the alphabetically first (runs must reproduce).

    >>> _most_common(["persistent", "new", "new", "persistent"])
    'new'
    """
    named = sorted(label for label in labels if label is not None)
    return max(named, key=named.count) if named else None


#: Percent done after each step of the aggregate refresh (reading the cells is 20).
AGGREGATE_PROGRESS = {"locked": 5, "days": 12, "weeks": 18}


def _noop(_percent: int, _step: str) -> None:
    return None


@contextmanager
def _fast_commit(engine: Engine) -> Iterator[Connection]:
    """A transaction whose commit does not wait for the disk (~4 ms per commit here).

    Only for writes a crash may lose harmlessly: the claim and progress (the job
    is retried) and the derived aggregate (the next refresh redoes it). The
    result is published with a durable commit, which also flushes these.
    """
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        yield conn


def claim(engine: Engine, run_id: int) -> RunParams | None:
    """Mark the run running and return its parameters; None if it is already done."""
    with _fast_commit(engine) as conn:
        row = conn.execute(
            text(
                "UPDATE hotspot_runs SET status = 'running', started_at = now(), progress = 1, "
                "attempts = attempts + 1, error = NULL "
                "WHERE id = :id AND status IN ('queued', 'running', 'failed') RETURNING params"
            ),
            {"id": run_id},
        ).first()
    return RunParams.from_dict(row.params) if row else None


def set_progress(engine: Engine, run_id: int, percent: int) -> None:
    """Record progress in the run row (readers poll it)."""
    with _fast_commit(engine) as conn:
        conn.execute(
            text("UPDATE hotspot_runs SET progress = :p WHERE id = :id AND status = 'running'"),
            {"p": percent, "id": run_id},
        )


def fail(engine: Engine, run_id: int, error: str) -> None:
    """Mark the run failed with a message for the planner."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE hotspot_runs SET status = 'failed', finished_at = now(), error = :e "
                "WHERE id = :id AND status <> 'succeeded'"
            ),
            {"e": error[:2000], "id": run_id},
        )


def execute(
    engine: Engine, run_id: int, *, progress: Progress = _noop, today: dt.date | None = None
) -> str:
    """Run ``run_id`` to completion; returns its final status.

    Raises whatever a step raised after recording the failure, so a job runner can
    retry; a retry starts from scratch and publishing replaces, never appends.
    """
    params = claim(engine, run_id)
    if params is None:
        return "succeeded"
    try:
        _analyse_and_publish(engine, run_id, params, progress, today or dt.date.today())
    except Exception as exc:
        fail(engine, run_id, f"{type(exc).__name__}: {exc}")
        raise
    return "succeeded"


def _trends(
    cube: np.ndarray, population: np.ndarray | None, hot: HotspotCells
) -> np.ndarray:
    """Emerging hot spot codes per cell, over the same values and cells as the analysis.

    Under rates every time bin is a rate (EB-smoothed like the whole period), and
    cells without residents take no part, as in :func:`analyse`; they get code 0.
    """
    if population is not None:
        cube = np.vstack([eb_rates(row, population).rate for row in cube]) if len(cube) else cube
    keep = hot.has_value
    codes = np.zeros(cube.shape[1], dtype=np.int64)
    if keep.any():
        sub_ptr, sub_idx = restrict_neighbourhoods(hot.indptr, hot.indices, keep)
        codes[keep] = emerging_hotspots(cube[:, keep], sub_ptr, sub_idx).category
    return codes


def _report(
    engine: Engine, run_id: int | None, progress: Progress, percent: int, step: str
) -> None:
    if run_id is None:  # the public twin: the run's progress was already reported
        return
    set_progress(engine, run_id, percent)
    progress(percent, step)


@dataclass
class _Outcome:
    """One analysis, ready to publish."""

    cells: CellResult
    areas: list[AreaResult]
    counts: dict[str, Any]
    fingerprint: str
    rings: int
    profile: list[Any] | None


def _analyse_and_publish(
    engine: Engine, run_id: int, params: RunParams, progress: Progress, today: dt.date
) -> None:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    # The refresh can be most of a run (a first full rebuild, or a wait behind another
    # worker's refresh): it reports its steps so a reader does not watch 1 % for long.
    with _fast_commit(engine) as conn:
        aggregate.refresh(conn, progress=lambda step: _report(
            engine, run_id, progress, AGGREGATE_PROGRESS[step], f"aggregate {step}"))
        needs_twin = public.needed(conn, params)
    lap("aggregate_refresh")
    staff = _analyse(engine, run_id, params, progress, today, lap)
    twin = None
    if needs_twin:
        twin_params = public.params_of(params)
        with engine.connect() as conn:
            withheld = public.withheld(conn, twin_params, *period(twin_params, today))
        twin = _analyse(engine, None, twin_params, _noop, today, _noop_lap, withheld)
        staff.counts["public_twin"] = True  # readers who are not staff read the twin
        lap("public_analysis")
    with engine.begin() as conn:
        publish(
            conn, run_id, staff.cells, staff.areas, counts=staff.counts,
            fingerprint=staff.fingerprint, rings=staff.rings, rings_profile=staff.profile,
            timings=timings,
        )
        if twin is not None:
            public.publish_twin(conn, run_id, twin.cells, twin.areas)
        # Publishing's own time, up to the commit, goes in the same transaction.
        lap("publish")
        conn.execute(
            text("UPDATE hotspot_runs SET timings = CAST(:t AS jsonb) WHERE id = :id"),
            {"t": json.dumps(timings), "id": run_id},
        )
    progress(100, "published")


def _noop_lap(_name: str) -> None:
    return None


def _nothing_public(params: RunParams) -> _Outcome:
    """The public twin when no report may be shown and no boundary gives an area."""
    none = np.zeros(0, dtype=np.int64)
    cells = CellResult(h3=none, reports=none, weight=none.astype(np.float64), reporters=none,
                       gi_z=none.astype(np.float64), gi_p=none.astype(np.float64),
                       gi_bin=none.astype(np.int8), n_neighbors=none,
                       no_data=none.astype(bool))
    return _Outcome(cells, [], {}, "", params.rings if isinstance(params.rings, int) else 1, None)


def _analyse(
    engine: Engine, run_id: int | None, params: RunParams, progress: Progress, today: dt.date,
    lap: Callable[[str], None], withheld: public.Withheld | None = None,
) -> _Outcome:
    """Read, lay out the study area, apply the statistics: one analysis of ``params``.

    ``withheld`` (the public twin) leaves out those (service, cell) groups' reports.
    """
    with engine.connect() as conn:
        totals, series = read_cells(conn, params, today, withheld)
        unlocated = unlocated_reports(conn, params, today)
        boundary = study_boundary(conn, params)
    lap("read")
    _report(engine, run_id, progress, 20, "read")

    if boundary is not None:
        study = cells_in_boundary(boundary, params.resolution)
    else:
        k_area = params.rings if isinstance(params.rings, int) else 6
        study = study_area_from_reports(totals.cells, k_area)
    if len(study) == 0:
        if withheld is None:
            raise ValueError("the study area is empty: no reports in the period and no boundary")
        return _nothing_public(params)
    pos = np.searchsorted(study, totals.cells)
    inside = (pos < len(study)) & (study[np.minimum(pos, len(study) - 1)] == totals.cells)
    n = len(study)
    reports = np.zeros(n, dtype=np.int64)
    weight = np.zeros(n)
    reporters = np.zeros(n, dtype=np.int64)
    best_group = np.zeros(n, dtype=np.int64)
    severity = np.zeros(n)
    reports[pos[inside]] = totals.reports[inside]
    weight[pos[inside]] = totals.weight[inside]
    reporters[pos[inside]] = totals.reporters[inside]
    if totals.best_group_reporters is not None:
        best_group[pos[inside]] = totals.best_group_reporters[inside]
    severity[pos[inside]] = totals.severity[inside]
    lap("study_area")

    population = None
    analysed = weight
    if params.measure == "rates" or params.weights().get("population", 1) > 0:
        with engine.connect() as conn:
            population = cell_population(conn, study)
    if params.measure == "rates":
        if population is None:
            raise ValueError("measure=rates needs district boundaries with population")
        # NaN where nobody lives: no rate, so analyse() leaves the cell out as no-data.
        analysed = eb_rates(weight, population).rate
    lap("population")

    profile: list[Any] | None = None
    valid = ~np.isnan(analysed)
    if params.rings == "auto":
        k, zs = choose_rings(study[valid], analysed[valid], k_max=6)
        profile = [{"k": i + 1, "z": float(z)} for i, z in enumerate(zs)]
    else:
        k = int(params.rings)
    indptr, indices = neighbourhoods(study, k)
    lap("neighbourhoods")
    _report(engine, run_id, progress, 40, "neighbourhoods")

    def count_reporters(centres: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
        # The aggregate's bounds settle most candidates; these few are counted from
        # the reports (all of them took 2 s at 1M reports: a dense hot area holds
        # ~10^5 reports).
        with engine.connect() as conn:
            return neighbourhood_reporters(
                conn, params, today, study[centres], [study[m] for m in members], withheld)

    hot = analyse(
        study, analysed, reporters, neighbourhood=(indptr, indices),
        reporters_floor=best_group, count_reporters=count_reporters,
        min_reporters=MIN_REPORTERS,
    )
    bins, no_data = hot.gi_bin, hot.no_data
    lap("gistar")
    _report(engine, run_id, progress, 60, "gistar")

    trend_codes = None
    trend_labels: list[str | None] | None = None
    cube, time_bins = series.dense(study), series.bins
    if len(time_bins) >= MIN_TREND_BINS:
        trend_codes = _trends(cube, population if params.measure == "rates" else None, hot)
        labels = emerging_labels(trend_codes)
        # A cell demoted by the reporter rule or without evidence has no trend to show.
        silent = no_data | hot.few_reporters
        trend_labels = [None if silent[i] else str(labels[i]) for i in range(n)]
    lap("emerging")
    _report(engine, run_id, progress, 80, "emerging")

    weights = PriorityWeights(**{**PriorityWeights().__dict__, **params.weights()})
    ranked = priority(
        study, hot.gi_z, bins, weight, trend=trend_codes, severity=severity,
        population=population, weights=weights,
    )
    # Column-wise: one dict per cell built from lists, not 5·n numpy scalars.
    names = list(ranked.components)
    columns = [[round(v, 6) for v in ranked.components[name].astype(np.float64).tolist()]
               for name in names]
    components = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    areas = []
    for a in range(len(ranked.area_score)):
        members = np.flatnonzero(ranked.area == a)
        area_trends = [trend_labels[i] for i in members] if trend_labels else []
        areas.append(
            AreaResult(
                area_id=a + 1,
                cells=[int(c) for c in study[members]],
                reports=int(reports[members].sum()),
                weight=float(weight[members].sum()),
                priority_score=float(ranked.area_score[a]),
                priority_rank=a + 1,
                components={k2: round(float(v[a]), 6) for k2, v in ranked.area_components.items()},
                population=float(population[members].sum()) if population is not None else None,
                trend=_most_common(area_trends),
            )
        )
    lap("priority")

    since, until = period(params, today)
    digest = hashlib.sha256()
    for array in (study, reports, weight):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(f"{since}:{until}:{params.key()}".encode())
    counts = {
        "cells": int(n),
        "reports": int(reports.sum()),
        "reports_outside_study_area": int(totals.reports[~inside].sum()),
        "reports_without_location": unlocated,
        "repeats_merged": int(totals.reports[inside].sum() - totals.incidents[inside].sum()),
        "hot_cells": int((bins > 0).sum()),
        "cold_cells": int((bins < 0).sum()),
        "no_data_cells": int(no_data.sum()),
        "suppressed_few_reporters": int(hot.few_reporters.sum()),
        "areas": len(areas),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "time_bins": len(time_bins),
        "priority_weights": ranked.weights,
    }
    result = CellResult(
        h3=study, reports=reports, weight=weight, reporters=reporters, gi_z=hot.gi_z,
        gi_p=hot.gi_p, gi_bin=bins, n_neighbors=hot.n_neighbors, no_data=no_data,
        trend=trend_labels,
        area_id=np.where(ranked.area >= 0, ranked.area + 1, -1),
        priority_score=ranked.score, priority_rank=ranked.rank, components=components,
    )
    return _Outcome(result, areas, counts, digest.hexdigest(), k, profile)
