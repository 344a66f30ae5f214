"""The demo city: its services, districts and the structure its reports must show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Engine, text

from geo.db import make_engine
from geo.demo.build import DemoError, load_demo
from geo.demo.city import LANDMARKS, to_lonlat
from geo.demo.reports import generate
from tests.geo.private_db import private_database

SECRET = "demo-test-secret-012345"
END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
N = 4000


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A private database holding a small demo city."""
    with private_database("demo") as url:
        eng = make_engine(url)
        with eng.begin() as conn:
            load_demo(conn, secret=SECRET, reports=N, seed=3, end=END)
        yield eng
        eng.dispose()


def scalar(engine: Engine, sql: str, **params: object):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_six_services_with_questions(engine):
    with engine.connect() as conn:
        found = conn.execute(text("SELECT code, attributes, privacy FROM services"))
        rows = {r.code: r for r in found}
    assert {"flooding", "lead_paint", "blocked_drain", "pothole", "illegal_dumping",
            "streetlight_out"} <= set(rows)
    assert all(len(r.attributes) >= 2 for r in rows.values())
    assert rows["lead_paint"].privacy == "aggregated" and rows["pothole"].privacy == "public"


def test_twenty_districts_with_population_tile_the_city(engine):
    with engine.connect() as conn:
        districts = conn.execute(text(
            "SELECT count(*) AS n, min(population) AS low, sum(population) AS total, "
            "sum(ST_Area(geom::geography)) AS area FROM boundaries WHERE kind = 'district'"
        )).one()
        city = conn.execute(text(
            "SELECT population, ST_Area(geom::geography) AS area FROM boundaries "
            "WHERE kind = 'city'"
        )).one()
    assert districts.n == 20 and districts.low > 1000
    assert districts.total == city.population
    assert districts.area == pytest.approx(city.area, rel=0.005)  # no gaps, no overlaps
    assert 120e6 < city.area < 200e6  # about 15 km across


def test_reports_cover_one_year_mostly_closed_when_old(engine):
    with engine.connect() as conn:
        span = conn.execute(text(
            "SELECT count(*) AS n, min(requested_at) AS first, max(requested_at) AS last "
            "FROM reports"
        )).one()
        old = conn.execute(text(
            "SELECT avg((status IN ('closed', 'duplicate'))::int) FROM reports "
            "WHERE requested_at < :cut"), {"cut": END - dt.timedelta(days=60)}).scalar_one()
    assert span.n == N
    assert END - dt.timedelta(days=365) <= span.first and span.last <= END
    assert span.last - span.first > dt.timedelta(days=350)
    assert old > 0.85
    assert scalar(engine, "SELECT count(*) FROM reports WHERE geom IS NULL") >= 1  # address-only


def test_emerging_cluster_only_in_the_last_three_months(engine):
    lon, lat = to_lonlat(np.array([LANDMARKS.emerging_site[0]]),
                         np.array([LANDMARKS.emerging_site[1]]))
    onset = END - dt.timedelta(days=LANDMARKS.emerging_days)
    near = ("SELECT count(*) FROM reports WHERE service_code = 'illegal_dumping' AND "
            "ST_DWithin(geom::geography, ST_MakePoint(:lon, :lat)::geography, 600) AND ")
    args = {"lon": float(lon[0]), "lat": float(lat[0]), "onset": onset}
    after = scalar(engine, near + "requested_at >= :onset", **args)
    before = scalar(engine, near + "requested_at < :onset", **args)
    assert after >= 60
    assert after / 90 > 10 * (before / 275)  # per day, at least ten times the old rate


def test_lead_paint_clusters_in_old_housing_all_year(engine):
    with engine.connect() as conn:
        share = conn.execute(text(
            "SELECT avg((b.name = 'Old Harbor')::int) FROM reports r JOIN boundaries b "
            "ON b.kind = 'district' AND ST_Contains(b.geom, r.geom) "
            "WHERE r.service_code = 'lead_paint'")).scalar_one()
        months = conn.execute(text(
            "SELECT count(DISTINCT date_trunc('month', requested_at)) FROM reports r "
            "JOIN boundaries b ON b.name = 'Old Harbor' AND ST_Contains(b.geom, r.geom) "
            "WHERE r.service_code = 'lead_paint'")).scalar_one()
    assert share > 0.3  # one district of twenty holds a third of the city's lead paint
    assert months >= 12


def test_flooding_comes_in_storm_bursts(engine):
    with engine.connect() as conn:
        per_day = conn.execute(text(
            "SELECT count(*) FROM reports WHERE service_code = 'flooding' "
            "GROUP BY requested_at::date ORDER BY 1 DESC")).scalars().all()
    assert sum(per_day[:40]) > 0.6 * sum(per_day)  # 40 of 365 days hold most floods


def test_repeat_reports_from_one_device_same_spot_same_day(engine):
    most = scalar(engine, (
        "SELECT max(n) FROM (SELECT count(*) AS n FROM reports a WHERE device_hash IS NOT NULL "
        "GROUP BY device_hash, service_code, requested_at::date, "
        "ST_SnapToGrid(ST_Transform(geom, 32616), 50)) x"))
    assert most >= 5


def test_loading_twice_is_refused_and_replace_does_not_duplicate(engine):
    with pytest.raises(DemoError, match="already loaded"), engine.begin() as conn:
        load_demo(conn, secret=SECRET, reports=500, end=END)
    with engine.begin() as conn:
        summary = load_demo(conn, secret=SECRET, reports=N, seed=3, end=END, replace=True)
    assert summary.reports == N
    assert scalar(engine, "SELECT count(*) FROM reports") == N
    assert scalar(engine, "SELECT count(*) FROM boundaries") == 21


def test_generation_is_deterministic_for_a_seed():
    a = generate(500, seed=11, end=END).rows
    assert a == generate(500, seed=11, end=END).rows
    assert a != generate(500, seed=12, end=END).rows
