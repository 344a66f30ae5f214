"""The demo's drain-clearing programmes: the evaluation must find the planted effect, and only it.

The demo plants a fall in flooding reports after the start in one programme's
footprint (geo.demo.interventions) and nothing in the other's. Evaluated as a
worker would (``geo.evaluation.evaluate.run``), on the full-size demo city for two
end dates (storms fall differently in each year), the first must come out with a
significant ratio below 1 and the second with an interval that contains 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from geo.db import make_engine
from geo.demo.build import load_demo
from geo.demo.interventions import PROGRAMMES
from geo.evaluation import evaluate, records
from tests.geo.private_db import private_database

SECRET = "demo-evaluation-secret-01"
REPORTS = 60_000  # the demo's own size


@pytest.fixture(scope="module", params=[dt.datetime(2026, 12, 8, tzinfo=dt.UTC),
                                        dt.datetime(2026, 6, 1, tzinfo=dt.UTC)],
                ids=["december", "june"])
def evaluated(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, dict[str, dict]]]:
    """A demo city ending on the given day, both programmes evaluated on that day."""
    end: dt.datetime = request.param
    with private_database("demo_eval") as url:
        eng = make_engine(url)
        with eng.begin() as conn:
            summary = load_demo(conn, secret=SECRET, reports=REPORTS, seed=1, end=end)
        results = {}
        for iid, programme in zip(summary.interventions, PROGRAMMES, strict=True):
            with eng.begin() as conn:
                records.queue(conn, iid, {"as_of": end.date().isoformat()})
                version = conn.execute(text("SELECT version FROM interventions WHERE id = :i"),
                                       {"i": iid}).scalar_one()
            assert evaluate.run(eng, iid, version) == "succeeded"
            with eng.connect() as conn:
                record = records.get(conn, iid)
            assert record is not None
            results[programme.name] = record["result"]
        yield eng, results
        eng.dispose()


def test_the_programme_that_worked_has_a_significant_ratio_below_one(evaluated):
    _, results = evaluated
    worked = results[PROGRAMMES[0].name]
    assert worked["effect_ratio"] is not None, worked["caveats"]
    assert worked["significant"] and worked["ci_high"] < 1, worked
    assert worked["effect_ratio"] < 0.6  # a quarter of the reports were kept
    assert worked["cost_per_avoided_report"] > 0


def test_the_programme_that_did_not_has_an_interval_containing_one(evaluated):
    _, results = evaluated
    other = results[PROGRAMMES[1].name]
    assert other["effect_ratio"] is not None, other["caveats"]
    assert other["ci_low"] <= 1 <= other["ci_high"], other
    assert other["cost_per_avoided_report"] is None
    assert any("no detectable effect" in c for c in other["caveats"])


def test_both_lie_in_the_showcase_district(evaluated):
    engine, _ = evaluated
    with engine.connect() as conn:
        inside = conn.execute(text(
            "SELECT count(*) FROM interventions i JOIN boundaries b ON b.kind = 'district' "
            "AND b.name = 'Old Harbor' AND ST_Intersects(b.geom, i.geom)")).scalar_one()
    assert inside == len(PROGRAMMES)
