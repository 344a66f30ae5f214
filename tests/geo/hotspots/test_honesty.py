"""The honesty rules as the engine applies them, each on the case that once broke it.

Issue 8 found four ways the production engine disagreed with ``analyse``: a park
without residents read as a cold spot under rates, no-data under rates tested
the report count, confirmations were added to the reporters (so one reporter confirming made
more), and suppressed cells kept their trend. Each test below builds that
case through the real intake and the real engine on PostGIS.
"""

from __future__ import annotations

import datetime as dt

import h3
import numpy as np
import pytest
from sqlalchemy import text

from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.read import cell_population, time_cube
from geo.hotspots.runs import create_run
from geo.reports.intake import device_hash
from geo.reports.queries import confirm
from geo.stats import (
    analyse,
    eb_rates,
    emerging_hotspots,
    emerging_labels,
    neighbourhoods,
    restrict_neighbourhoods,
)
from tests.cities import SECRET, empty
from tests.cities.scatter import CENTRE, add_reports, cell_centre, scatter

TODAY = dt.date(2026, 11, 1)  # a Sunday: days 0-6 ago are the final weekly bin
CENTRE_CELL = h3.str_to_int(h3.latlng_to_cell(*CENTRE, 9))


@pytest.fixture(autouse=True)
def _services(services_loaded):
    """Every test here needs the test services."""


def _run(engine, **params) -> int:
    with engine.begin() as conn:
        run_id = create_run(conn, RunParams.from_dict(params), enqueue=False)
    assert execute(engine, run_id, today=TODAY) == "succeeded"
    return run_id


def _cells(engine, run_id: int) -> dict[int, dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM hotspot_cells WHERE run_id = :r ORDER BY h3"), {"r": run_id}
        ).mappings().all()
    return {int(r["h3"]): dict(r) for r in rows}


# --- rates: the park without residents ---------------------------------------------------

PARK = [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(CENTRE_CELL), 1)]


@pytest.fixture
def rates_city(engine):
    """Two districts (crowded west, sparse east) around a 7-cell park where nobody lives.

    Reports are uniform in space over a year, so per head the sparse east reports
    far more; four reports sit in the park's centre cell.
    """
    empty(engine)
    lat, lng = cell_centre(CENTRE_CELL)
    dlat, dlng = 3000 / 111_320, 3000 / (111_320 * np.cos(np.radians(lat)))
    west = f"ST_MakeEnvelope({lng - dlng}, {lat - dlat}, {lng + dlng / 2}, {lat + dlat}, 4326)"
    east = f"ST_MakeEnvelope({lng + dlng / 2}, {lat - dlat}, {lng + dlng}, {lat + dlat}, 4326)"
    # 400 m holds the centres of the park's 7 cells (~300 m apart) and no others.
    park = f"ST_Buffer(ST_SetSRID(ST_MakePoint({lng}, {lat}), 4326)::geography, 400)::geometry"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO boundaries (kind, name, population, geom) VALUES "
            f"('district', 'West', 200000, ST_Multi(ST_Difference({west}, {park}))), "
            f"('district', 'East', 2000, ST_Multi({east}))"
        ))
    rng = np.random.default_rng(17)
    background = [
        p for p in scatter(rng, 1600, spread_m=2900)
        if h3.str_to_int(h3.latlng_to_cell(p[0], p[1], 9)) not in PARK
    ]
    add_reports(engine, background, days_ago=rng.integers(0, 360, len(background)).tolist(),
                today=TODAY)
    add_reports(engine, [cell_centre(CENTRE_CELL)] * 4, days_ago=[5, 40, 90, 200], today=TODAY)
    return engine


def test_a_park_without_residents_is_no_data_never_cold_under_rates(rates_city):
    cells = _cells(rates_city, _run(rates_city, measure="rates", resolution=9, rings=1,
                                          time_step="month"))
    study = np.array(sorted(cells), dtype=np.int64)
    with rates_city.connect() as conn:
        population = dict(zip(study.tolist(), cell_population(conn, study), strict=True))
    assert cells[CENTRE_CELL]["reports"] == 4  # counted, but there is no rate to test
    for cell in PARK:
        assert cells[cell]["no_data"], cell
        assert cells[cell]["gi_bin"] == 0  # was a 99 % cold spot (z −7) with rate := 0
        assert cells[cell]["trend"] is None
    # No-data tests the analysed value: a populated cell without reports has a
    # (smoothed) rate, so it is evidence, not "no data".
    populated_empty = [c for c in cells.values() if c["reports"] == 0 and population[c["h3"]] > 0]
    assert populated_empty and not any(c["no_data"] for c in populated_empty)


def test_the_engine_under_rates_is_analyse_on_the_rates(rates_city):
    run_id = _run(rates_city, measure="rates", resolution=9, rings=1, time_step="month")
    cells = _cells(rates_city, run_id)
    study = np.array(sorted(cells), dtype=np.int64)
    weight = np.array([cells[c]["weight"] for c in study])
    with rates_city.connect() as conn:
        population = cell_population(conn, study)
        cube, _ = time_cube(conn, RunParams(measure="rates", time_step="month"), TODAY, study)
    assert population is not None
    rates = eb_rates(weight, population).rate
    expected = analyse(study, rates, np.array([cells[c]["reporters"] for c in study]), k=1)
    np.testing.assert_allclose([cells[c]["gi_z"] for c in study], expected.gi_z, atol=1e-9)
    assert [cells[c]["no_data"] for c in study] == expected.no_data.tolist()
    assert [cells[c]["gi_bin"] for c in study] == expected.gi_bin.tolist()

    # The trends come from a cube of rates over the cells that have one.
    keep = ~np.isnan(rates)
    rate_cube = np.vstack([eb_rates(row, population).rate for row in cube])[:, keep]
    sub = restrict_neighbourhoods(*neighbourhoods(study, 1), keep)
    from_rates = emerging_labels(emerging_hotspots(rate_cube, *sub).category)
    stored = [cells[c]["trend"] for c in study[keep]]
    silent = expected.no_data[keep] | expected.few_reporters[keep]
    assert stored == [None if s else str(label) for s, label in zip(silent, from_rates,
                                                                     strict=True)]
    from_counts = emerging_labels(emerging_hotspots(cube, *neighbourhoods(study, 1)).category)
    # Per head the sparse east is hot; by counts the city is uniform.
    assert sum(t is not None and t.endswith("hot_spot") for t in stored) >= 5
    assert not any(str(t).endswith("hot_spot") for t in from_counts)


# --- distinct reporters: people, across reports and confirmations ------------------------

def _spot(engine, devices: list[str]) -> list[int]:
    """Background far away; ``devices`` take turns reporting in 3 adjacent cells for 80 days."""
    empty(engine)
    rng = np.random.default_rng(3)
    away = [(la, ln) for la, ln in scatter(rng, 600) if abs(la - CENTRE[0]) > 0.006]
    add_reports(engine, away, today=TODAY)
    three = [CENTRE_CELL, *[h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(CENTRE_CELL),
                                                                      1)[:2]]]
    points = [cell_centre(three[i % 3]) for i in range(80)]
    add_reports(engine, points, devices=[devices[i % len(devices)] for i in range(80)],
                days_ago=list(range(1, 81)), today=TODAY)
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id FROM reports WHERE device_hash = :d ORDER BY id"),
            {"d": device_hash(SECRET, devices[0])}).scalars())


def _centre(engine, run_id: int) -> tuple[int, float, str | None]:
    cell = _cells(engine, run_id)[CENTRE_CELL]
    return cell["gi_bin"], cell["gi_z"], cell["trend"]


def _confirm(engine, report_id: int, reporter: str, *, device: str | None = None) -> None:
    """A "me too" on ``report_id`` by ``reporter`` (an imported report's reporter is its device)."""
    with engine.begin() as conn:
        confirm(conn, report_id, device=device_hash(SECRET, device) if device else None,
                reporter=device_hash(SECRET, reporter), staff=True)


def test_the_filer_confirming_its_own_reports_makes_no_new_person(engine):
    """One phone in three adjacent cells, plus "me too"s on two of its reports sent
    without a device id from where it reports (the same reporter): one person.

    Reporters + confirmations counted it as three: a 99 % hot spot.
    """
    reports = _spot(engine, ["phone-a"])
    _confirm(engine, reports[0], "phone-a")
    _confirm(engine, reports[1], "phone-a")
    gi_bin, gi_z, trend = _centre(engine, _run(engine, resolution=9, rings=1))
    assert gi_z > 3  # the statistic sees the spot …
    assert gi_bin == 0  # … but one reporter is not a hot spot
    assert trend is None


def test_a_reporter_counts_once_however_often_it_reports_or_confirms(engine):
    reports = _spot(engine, ["phone-a", "phone-b"])
    for report_id in reports[:4]:  # phone-b also confirms four of phone-a's reports
        _confirm(engine, report_id, "phone-b", device="phone-b")
    gi_bin, gi_z, _ = _centre(engine, _run(engine, resolution=9, rings=1))
    assert gi_z > 3 and gi_bin == 0


def test_confirmations_by_other_reporters_are_people(engine):
    reports = _spot(engine, ["phone-a"])
    _confirm(engine, reports[0], "neighbour-1")
    _confirm(engine, reports[1], "neighbour-2")
    gi_bin, _, _ = _centre(engine, _run(engine, resolution=9, rings=1))
    assert gi_bin == 3  # three people: the rule is met


# --- suppressed cells carry no trend ----------------------------------------------------

@pytest.mark.parametrize(("phones", "shown"), [(2, False), (3, True)])
def test_cells_suppressed_by_the_reporter_rule_carry_no_trend(engine, phones, shown):
    """A spot reported daily for the last three weeks is a consecutive hot spot …

    … when three people report it; with two it is suppressed, and so is its trend.
    """
    empty(engine)
    rng = np.random.default_rng(5)
    away = [(la, ln) for la, ln in scatter(rng, 1500) if abs(la - CENTRE[0]) > 0.006]
    add_reports(engine, away, days_ago=rng.integers(0, 360, len(away)).tolist(), today=TODAY)
    devices = [f"phone-{i}" for i in range(phones)]
    disk = [cell_centre(c) for c in PARK]
    visits = [(p, dev, d) for d in range(21) for dev in devices for p in disk]
    add_reports(engine, [v[0] for v in visits], devices=[v[1] for v in visits],
                days_ago=[v[2] for v in visits], today=TODAY)
    gi_bin, gi_z, trend = _centre(engine, _run(engine, resolution=9, rings=1))
    assert gi_z > 3
    if shown:
        assert gi_bin > 0 and trend is not None and trend.endswith("hot_spot")
    else:
        assert gi_bin == 0 and trend is None
