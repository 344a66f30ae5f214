"""The hotspot engine end to end on PostGIS: planted clusters, honesty rules, idempotence."""

from __future__ import annotations

import datetime as dt

import h3
import numpy as np
import pytest
from sqlalchemy import text

from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run, latest_run_id
from geo.stats.gistar import gi_star
from geo.stats.grid import neighbourhoods
from tests.cities import empty
from tests.cities.scatter import CENTRE, add_reports, scatter

TODAY = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _services(services_loaded):
    """Every test here needs the test services."""


@pytest.fixture
def city(engine):
    """A city with uniform background reports and one planted cluster."""
    empty(engine)
    rng = np.random.default_rng(7)
    background = scatter(rng, 400)
    add_reports(engine, background, days_ago=rng.integers(1, 300, 400).tolist(), today=TODAY)
    hot = scatter(rng, 120, centre=CENTRE, spread_m=150)
    add_reports(engine, hot, days_ago=rng.integers(1, 300, 120).tolist(), today=TODAY)
    return engine


def _run(engine, **params):
    with engine.begin() as conn:
        run_id = create_run(conn, RunParams.from_dict(params))
    assert execute(engine, run_id, today=TODAY) == "succeeded"
    return run_id


def test_planted_cluster_is_hot_and_background_is_not(city):
    run_id = _run(city, resolution=9, rings=1)
    centre_cell = h3.str_to_int(h3.latlng_to_cell(*CENTRE, 9))
    with city.connect() as conn:
        row = conn.execute(
            text("SELECT gi_bin, reports, priority_rank FROM hotspot_cells "
                 "WHERE run_id = :r AND h3 = :c"), {"r": run_id, "c": centre_cell}
        ).one()
        assert row.gi_bin == 3
        hot_elsewhere = conn.execute(
            text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r AND gi_bin > 0 "
                 "AND h3 <> ALL(:near)"),
            {"r": run_id,
             "near": [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(centre_cell), 2)]},
        ).scalar_one()
        assert hot_elsewhere == 0
        areas = conn.execute(
            text("SELECT count(*) FROM hotspot_areas WHERE run_id = :r"), {"r": run_id}
        ).scalar_one()
        assert areas >= 1
        assert latest_run_id(conn) == run_id


def test_stored_z_equals_gistar_on_the_same_cells(city):
    run_id = _run(city, resolution=9, rings=2)
    with city.connect() as conn:
        rows = conn.execute(
            text("SELECT h3, weight, gi_z, n_neighbors FROM hotspot_cells WHERE run_id = :r "
                 "ORDER BY h3"), {"r": run_id}
        ).all()
    cells = np.array([r.h3 for r in rows], dtype=np.int64)
    y = np.array([r.weight for r in rows])
    indptr, indices = neighbourhoods(cells, 2)
    expected = gi_star(y, indptr, indices)
    np.testing.assert_allclose([r.gi_z for r in rows], expected.z, atol=1e-9)
    assert [r.n_neighbors for r in rows] == expected.n_neighbors.tolist()


def test_every_study_cell_is_analysed_with_zeros(city):
    run_id = _run(city, resolution=9, rings=1)
    with city.connect() as conn:
        zero, total, nodata = conn.execute(
            text("SELECT count(*) FILTER (WHERE reports = 0), count(*), "
                 "count(*) FILTER (WHERE no_data) FROM hotspot_cells WHERE run_id = :r"),
            {"r": run_id},
        ).one()
    assert zero > 0 and total > zero
    assert nodata <= zero


def test_one_phone_cannot_make_a_hotspot(engine):
    empty(engine)
    rng = np.random.default_rng(3)
    # Background well away from the spot, so its neighbourhood holds only the two phones.
    away = [(lat, lng) for lat, lng in scatter(rng, 600) if abs(lat - CENTRE[0]) > 0.006]
    add_reports(engine, away, today=TODAY)
    # 80 reports from two phones in one spot, on different days: hot by counts alone.
    spot = scatter(rng, 80, spread_m=60)
    add_reports(engine, spot, devices=["phone-a", "phone-b"] * 40,
                days_ago=list(range(1, 81)), today=TODAY)
    run_id = _run(engine, resolution=9, rings=1)
    centre_cell = h3.str_to_int(h3.latlng_to_cell(*CENTRE, 9))
    with engine.connect() as conn:
        gi_bin, gi_z = conn.execute(
            text("SELECT gi_bin, gi_z FROM hotspot_cells WHERE run_id = :r AND h3 = :c"),
            {"r": run_id, "c": centre_cell},
        ).one()
        suppressed = conn.execute(
            text("SELECT counts->>'suppressed_few_reporters' FROM hotspot_runs WHERE id = :r"),
            {"r": run_id},
        ).scalar_one()
    assert gi_z > 3  # the statistic sees it …
    assert gi_bin == 0  # … but two phones are not shown as a hotspot
    assert int(suppressed) >= 1


def test_repeats_from_one_device_on_one_day_count_once(engine):
    empty(engine)
    add_reports(engine, [CENTRE] * 5, devices=["same"] * 5, days_ago=[3] * 5, today=TODAY)
    add_reports(engine, [(CENTRE[0] + 0.01, CENTRE[1])], today=TODAY)
    run_id = _run(engine, resolution=9, rings=1)
    centre_cell = h3.str_to_int(h3.latlng_to_cell(*CENTRE, 9))
    with engine.connect() as conn:
        reports, weight = conn.execute(
            text("SELECT reports, weight FROM hotspot_cells WHERE run_id = :r AND h3 = :c"),
            {"r": run_id, "c": centre_cell},
        ).one()
        merged = conn.execute(
            text("SELECT (counts->>'repeats_merged')::int FROM hotspot_runs WHERE id = :r"),
            {"r": run_id},
        ).scalar_one()
    assert reports == 5
    assert weight == pytest.approx(1.0)  # pothole severity 1 × one incident
    assert merged == 4


def test_second_delivery_is_a_no_op_and_failure_is_recorded(city):
    run_id = _run(city, resolution=9, rings=1)
    with city.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(finished_at) FROM hotspot_cells c "
                                   "JOIN hotspot_runs r ON r.id = c.run_id WHERE r.id = :r"),
                              {"r": run_id}).one()
    assert execute(city, run_id, today=TODAY) == "succeeded"
    with city.connect() as conn:
        after = conn.execute(text("SELECT count(*), max(finished_at) FROM hotspot_cells c "
                                  "JOIN hotspot_runs r ON r.id = c.run_id WHERE r.id = :r"),
                             {"r": run_id}).one()
    assert before == after
    with city.begin() as conn:
        bad = create_run(conn, RunParams.from_dict({"boundary_id": 999999}))
    with pytest.raises(LookupError):
        execute(city, bad, today=TODAY)
    with city.connect() as conn:
        status, error = conn.execute(
            text("SELECT status, error FROM hotspot_runs WHERE id = :r"), {"r": bad}
        ).one()
        assert status == "failed" and "999999" in error
        assert latest_run_id(conn) == run_id


def test_auto_rings_records_choice(city):
    run_id = _run(city, resolution=9, rings="auto")
    with city.connect() as conn:
        rings, profile = conn.execute(
            text("SELECT rings, rings_profile FROM hotspot_runs WHERE id = :r"), {"r": run_id}
        ).one()
    assert 1 <= rings <= 6
    assert len(profile) == 6


def test_a_cluster_appearing_in_the_final_week_is_a_new_hot_spot(engine):
    """ArcGIS's "new hot spot": hot in the final time step only, never before."""
    empty(engine)
    rng = np.random.default_rng(21)
    background = scatter(rng, 1500)
    add_reports(engine, background, days_ago=rng.integers(7, 360, 1500).tolist(), today=TODAY)
    # TODAY is a Sunday: days 0–6 ago are the final weekly bin.
    fresh = scatter(rng, 60, spread_m=120)
    add_reports(engine, fresh, days_ago=rng.integers(0, 7, 60).tolist(), today=TODAY)
    run_id = _run(engine, resolution=9, rings=1, time_step="week")
    centre_cell = h3.str_to_int(h3.latlng_to_cell(*CENTRE, 9))
    with engine.connect() as conn:
        gi_bin, trend = conn.execute(
            text("SELECT gi_bin, trend FROM hotspot_cells WHERE run_id = :r AND h3 = :c"),
            {"r": run_id, "c": centre_cell},
        ).one()
    assert gi_bin == 3
    assert trend == "new_hot_spot"


def test_progress_moves_through_the_aggregate_refresh(city):
    """A reader polling the run row sees the refresh's steps, not 1 % until it ends."""
    with city.begin() as conn:
        run_id = create_run(conn, RunParams.from_dict({"resolution": 9}))
    seen = []

    def progress(percent, step):
        with city.connect() as conn:
            stored = conn.execute(text("SELECT progress FROM hotspot_runs WHERE id = :r"),
                                  {"r": run_id}).scalar_one()
        seen.append((percent, step, stored))

    assert execute(city, run_id, progress=progress, today=TODAY) == "succeeded"
    assert [s[:2] for s in seen[:4]] == [(5, "aggregate locked"), (12, "aggregate days"),
                                         (18, "aggregate weeks"), (20, "read")]
    assert all(stored == percent for percent, _, stored in seen[:-1])  # committed as reported
    percents = [p for p, _, _ in seen]
    assert percents == sorted(set(percents)) and percents[-1] == 100
