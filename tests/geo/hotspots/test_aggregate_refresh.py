"""The aggregate is rebuilt for what changed, never for history a run has already seen.

After a bulk import a city runs analyses; each run refreshes the aggregate first.
These tests read PostgreSQL's ``xmin`` of the aggregate rows (the transaction that
last wrote each row): a day rebuilt for nothing gets a new one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import Engine, text

from geo.hotspots import aggregate
from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run
from tests.cities import empty
from tests.cities.scatter import CENTRE, add_reports, scatter

TODAY = dt.date(2026, 11, 4)


@pytest.fixture(autouse=True)
def _services(services_loaded):
    """Every test here needs the test services."""


@pytest.fixture
def history(engine: Engine) -> Engine:
    """A year of committed history, aggregated once (as the import command leaves it)."""
    empty(engine)
    rng = np.random.default_rng(3)
    add_reports(engine, scatter(rng, 400), days_ago=rng.integers(1, 365, 400).tolist(),
                today=TODAY)
    with engine.begin() as conn:
        aggregate.refresh(conn)
    return engine


def _writers(engine: Engine) -> dict[tuple[str, int, dt.date], str]:
    """(service, cell, day) → the transaction that last wrote that aggregate row."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT service_code, cell, day, xmin::text FROM report_cell_days"
        )).all()
    return {(s, c, d): x for s, c, d, x in rows}


def test_runs_after_an_import_rebuild_nothing(history: Engine) -> None:
    before = _writers(history)
    assert before
    for _ in range(3):
        with history.begin() as conn:
            run_id = create_run(conn, RunParams(), enqueue=False)
        assert execute(history, run_id, today=TODAY) == "succeeded"
    assert _writers(history) == before
    with history.begin() as conn:
        assert aggregate.refresh(conn) == 0


def test_new_reports_rebuild_only_their_days(history: Engine) -> None:
    before = _writers(history)
    add_reports(history, [CENTRE] * 3, days_ago=[0, 0, 0], today=TODAY)
    with history.begin() as conn:
        assert aggregate.refresh(conn) >= 1
    after = _writers(history)
    changed = {key for key in after if before.get(key) != after[key]}
    assert changed and {day for _, _, day in changed} == {TODAY}
    with history.connect() as conn:
        total = conn.execute(text("SELECT sum(reports) FROM report_cell_days")).scalar()
    assert total == 403


def test_a_write_committed_after_a_refresh_began_is_not_lost(history: Engine) -> None:
    # A slow request's transaction is open while a refresh runs and commits after
    # it: the refresh cannot see its report, so the next refresh must pick it up.
    slow = history.connect()
    slow_tx = slow.begin()
    slow.execute(text(
        "INSERT INTO reports (public_id, service_code, geom, h3_cell, requested_at) "
        "SELECT 'slow-1', service_code, geom, h3_cell, requested_at FROM reports LIMIT 1"
    ))
    with history.begin() as conn:
        aggregate.refresh(conn)
    slow_tx.commit()
    slow.close()
    with history.begin() as conn:
        assert aggregate.refresh(conn) >= 1
    with history.connect() as conn:
        total = conn.execute(text("SELECT sum(reports) FROM report_cell_days")).scalar()
    assert total == 401
