"""report_cell_weeks: kept equal to its days, and week-binned runs read the same from it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from sqlalchemy import text

from geo.hotspots import aggregate
from geo.hotspots import read as hotspot_data
from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.read import _weekly_source, read_cells
from geo.hotspots.runs import create_run
from tests.cities import empty
from tests.cities.scatter import CENTRE, add_reports, scatter

TODAY = dt.date(2026, 11, 4)  # a Wednesday: the run's last week is partial

#: The weeks as the days say they are: what the standing table must hold.
_WEEKS_FROM_DAYS = (
    "SELECT service_code, cell, day - (EXTRACT(ISODOW FROM day)::int - 1) AS week, "
    "sum(reports)::int, sum(incidents)::int, sum(reporters)::int, max(reporters) "
    "FROM report_cell_days GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
_WEEKS = (
    "SELECT service_code, cell, week, reports, incidents, reporters, peak_day_reporters "
    "FROM report_cell_weeks ORDER BY 1, 2, 3"
)


@pytest.fixture(autouse=True)
def _services(services_loaded):
    """Every test here needs the test services."""


@pytest.fixture
def city(engine):
    """Two services, a cluster, phones reporting on several days of a week, a future report."""
    empty(engine)
    rng = np.random.default_rng(11)
    add_reports(engine, scatter(rng, 150, spread_m=200),
                days_ago=rng.integers(0, 120, 150).tolist(), today=TODAY)
    with engine.begin() as conn:  # flooding asks questions the fixture does not answer
        conn.execute(text("UPDATE reports SET service_code = 'flooding'"))
    add_reports(engine, scatter(rng, 300), days_ago=rng.integers(0, 380, 300).tolist(),
                today=TODAY)
    # One phone on five days of one week in one spot: its week sums five reporters,
    # its best day holds one (the reporter bound must stay per day).
    add_reports(engine, [CENTRE] * 5, devices=["phone"] * 5, days_ago=[20, 21, 22, 23, 24],
                today=TODAY)
    add_reports(engine, scatter(rng, 40, spread_m=300), devices=["a", "b", "c", "d"] * 10,
                days_ago=rng.integers(0, 60, 40).tolist(), today=TODAY)
    # An import dated after the run's until, inside its last week: never counted.
    add_reports(engine, [CENTRE] * 3, days_ago=[-2, -3, -4], today=TODAY)
    with engine.begin() as conn:
        aggregate.refresh(conn, full=True)
    return engine


def _daily_only(monkeypatch):
    monkeypatch.setattr(hotspot_data, "_weekly_source", lambda *args: None)


def _arrays(obj) -> dict[str, object]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
            for k, v in dataclasses.asdict(obj).items()}


@pytest.mark.parametrize("params", [
    RunParams(),
    RunParams(resolution=8, services=("flooding",)),
    RunParams(since=dt.date(2026, 3, 2), until=dt.date(2026, 9, 28)),  # Monday to Monday
    RunParams(since=dt.date(2025, 12, 31), until=dt.date(2026, 10, 3)),
])
@pytest.mark.parametrize("today", [TODAY, dt.date(2026, 11, 1), dt.date(2026, 10, 31)])
def test_weekly_and_daily_reads_are_identical(city, monkeypatch, params, today):
    since, until = hotspot_data.period(params, today)
    assert _weekly_source(params, since, until) is not None
    with city.begin() as conn:
        weekly = read_cells(conn, params, today)
    _daily_only(monkeypatch)
    with city.begin() as conn:
        daily = read_cells(conn, params, today)
    assert len(daily[0].cells) > 0
    assert _arrays(weekly[0]) == _arrays(daily[0])
    # The series' (bin, cell) entries come in hash order: compare them sorted.
    for series in (weekly[1], daily[1]):
        order = np.lexsort((series.cells, series.bin_index))
        series.bin_index, series.cells = series.bin_index[order], series.cells[order]
        series.weight = series.weight[order]
    assert _arrays(weekly[1]) == _arrays(daily[1])


def test_future_report_is_left_out_of_the_partial_week(city):
    since, until = hotspot_data.period(RunParams(), TODAY)
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    with city.begin() as conn:
        totals, _ = read_cells(conn, RunParams(), TODAY)
        week, days = conn.execute(text(
            "SELECT (SELECT sum(reports) FROM report_cell_weeks WHERE week = :m), "
            "(SELECT sum(reports) FROM report_cell_days WHERE day >= :m AND day < :u)"
        ), {"m": monday, "u": until}).one()
        in_period = conn.execute(text(
            "SELECT count(*) FROM reports WHERE h3_cell IS NOT NULL AND status <> 'duplicate' "
            "AND requested_at >= (CAST(:s AS date)::timestamp AT TIME ZONE 'UTC') "
            "AND requested_at < (CAST(:u AS date)::timestamp AT TIME ZONE 'UTC')"
        ), {"s": since, "u": until}).scalar_one()
    assert week == days + 3  # the standing week holds the future reports …
    assert int(totals.reports.sum()) == in_period  # … the run does not


@pytest.mark.parametrize("params", [
    RunParams(half_life_days=30.0),
    RunParams(time_step="month"),
    RunParams(resolution=10),
    RunParams(since=dt.date(2026, 10, 28), until=dt.date(2026, 11, 3)),  # no whole week
])
def test_daily_path_where_weeks_would_differ(params):
    since, until = hotspot_data.period(params, TODAY)
    assert _weekly_source(params, since, until) is None


def _run(engine, params: RunParams, today: dt.date) -> tuple[list, dict]:
    with engine.begin() as conn:
        run_id = create_run(conn, params)
    assert execute(engine, run_id, today=today) == "succeeded"
    with engine.connect() as conn:
        cells = conn.execute(text(
            "SELECT h3, reports, weight, reporters, gi_z, gi_p, gi_bin, n_neighbors, no_data, "
            "trend, area_id, priority_score, priority_rank FROM hotspot_cells "
            "WHERE run_id = :r ORDER BY h3"), {"r": run_id}).all()
        counts = conn.execute(
            text("SELECT counts FROM hotspot_runs WHERE id = :r"), {"r": run_id}
        ).scalar_one()
    return [tuple(c) for c in cells], counts


def test_whole_runs_are_identical(city, monkeypatch):
    params = RunParams(resolution=9, rings=1)
    weekly_cells, weekly_counts = _run(city, params, TODAY)
    _daily_only(monkeypatch)
    daily_cells, daily_counts = _run(city, params, TODAY)
    assert any(c[9] for c in daily_cells)  # trends were computed
    assert weekly_cells == daily_cells
    assert weekly_counts == daily_counts


def test_incremental_refresh_of_weeks_equals_a_full_rebuild(city):
    with city.connect() as conn:
        assert conn.execute(text(_WEEKS)).all() == conn.execute(text(_WEEKS_FROM_DAYS)).all()
    rng = np.random.default_rng(5)
    # New reports in old weeks and this week, and staff marking old reports duplicates.
    add_reports(city, scatter(rng, 60), days_ago=rng.integers(0, 200, 60).tolist(),
                today=TODAY)
    add_reports(city, [CENTRE] * 2, devices=["phone"] * 2, days_ago=[22, 26], today=TODAY)
    with city.begin() as conn:
        conn.execute(text(
            "UPDATE reports SET status = 'duplicate' WHERE id IN "
            "(SELECT id FROM reports WHERE service_code = 'flooding' ORDER BY id LIMIT 30)"
        ))
        # The refresh looks back from its last run: make it see these changes.
        conn.execute(text("UPDATE aggregate_state SET refreshed_at = now() - interval '1 hour'"))
        aggregate.refresh(conn)
    with city.connect() as conn:
        incremental = conn.execute(text(_WEEKS)).all()
        assert incremental == conn.execute(text(_WEEKS_FROM_DAYS)).all()
    with city.begin() as conn:
        aggregate.refresh(conn, full=True)
    with city.connect() as conn:
        assert conn.execute(text(_WEEKS)).all() == incremental
