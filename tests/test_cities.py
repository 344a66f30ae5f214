"""The city builder keeps tests apart: places never overlap, a taken place is refused."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import text

from tests.cities import PLACES, Boundary, Place, PlaceTaken, Report, build, remove, standing

#: Not in PLACES: a spot for this module only (the table check below proves it free).
SPOT = Place("builder-test", 62.0, 25.0, 1500)


def _footprints_overlap(a: Place, b: Place) -> bool:
    aw, as_, ae, an = a.envelope()
    bw, bs, be, bn = b.envelope()
    return aw < be and bw < ae and as_ < bn and bs < an


def test_places_do_not_overlap_and_stay_clear_of_random_points():
    places = [*PLACES.values(), SPOT]
    for a, b in itertools.combinations(places, 2):
        assert not _footprints_overlap(a, b), (a.name, b.name)
    # Tests that scatter reports at random keep within ±40° (Open311's place fixture ±50°).
    assert all(p.envelope()[1] > 41 for p in places)


def _spot_city(engine):
    when = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    return build(engine, SPOT, boundaries=[Boundary("city", "Builder Test", (-1000, -1000,
                                                                              1000, 1000))],
                 reports=[Report("flooding", *SPOT.at(100 * i, 0), when, device=f"d{i}",
                                 label=f"r{i}") for i in range(3)])


def _counts(engine):
    w, s, e, n = SPOT.envelope()
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT (SELECT count(*) FROM reports WHERE geom && ST_MakeEnvelope(:w,:s,:e,:n,4326)),"
            " (SELECT coalesce(sum(reports), 0) FROM report_cell_days "
            "  WHERE day = '2025-03-01' AND service_code = 'flooding')"),
            {"w": w, "s": s, "e": e, "n": n}).one()


def test_a_second_city_on_a_taken_place_is_refused_and_removal_frees_it(engine, services_loaded):
    before = _counts(engine)
    with standing(engine, _spot_city(engine)) as city:
        assert set(city.reports) == {"r0", "r1", "r2"}
        assert _counts(engine) == (before[0] + 3, before[1] + 3)  # the aggregate counts them
        with pytest.raises(PlaceTaken, match="builder-test"):
            _spot_city(engine)
        assert _counts(engine) == (before[0] + 3, before[1] + 3)  # nothing half-built
    assert _counts(engine) == before  # removed, and forgotten by the aggregate
    rebuilt = _spot_city(engine)  # the same city again, as a revisited module does
    remove(engine, rebuilt)
    assert _counts(engine) == before
