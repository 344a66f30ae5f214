"""The data commands as an operator runs them: messages, exit codes, nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo.db import make_engine
from service.cli import main
from tests.geo.private_db import private_database

SECRET = "cli-test-secret-0123456789"


@pytest.fixture(scope="module")
def env(redis_url: str) -> Iterator[dict[str, str]]:
    """Environment pointing the commands at a private database and this session's Redis."""
    with private_database("cli") as url:
        yield {
            "DATABASE_URL": url, "REDIS_URL": redis_url,
            "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": SECRET,
        }


@pytest.fixture(scope="module")
def import_env(redis_url: str) -> Iterator[dict[str, str]]:
    """A database of its own for the import test, holding just the pothole service.

    Its own, so that neither test counts the other's reports whatever order they run in.
    """
    with private_database("cli_import") as url:
        yield {
            "DATABASE_URL": url, "REDIS_URL": redis_url,
            "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": SECRET,
        }


def invoke(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def count(env: dict[str, str], sql: str) -> int:
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_demo_data_loads_once_then_refuses(env):
    done = invoke(env, "demo-data", "--reports", "600", "--seed", "4")
    assert done.exit_code == 0, done.output
    assert "6 services, 20 districts" in done.output and "600 reports" in done.output
    again = invoke(env, "demo-data", "--reports", "600")
    assert again.exit_code == 1
    assert "already loaded (use --replace)" in again.output
    assert count(env, "SELECT count(*) FROM reports") == 600


def test_reports_import_reports_counts_and_is_idempotent(import_env, tmp_path):
    env = import_env
    services = tmp_path / "services.json"
    services.write_text(json.dumps([{
        "service_code": "pothole", "service_name": "Pothole", "description": "A hole in the road.",
        "group": "Streets", "keywords": "road", "privacy": "public"}]))
    assert invoke(env, "services", "load", str(services)).exit_code == 0
    path = tmp_path / "history.csv"
    path.write_text(
        "service_request_id,service_code,lat,long,status,requested_datetime,device_id\n"
        "cli-1,pothole,30.36,-88.21,closed,2025-05-01T08:00:00Z,phone-1\n"
        "cli-2,pothole,,,open,2025-05-02T08:00:00Z,\n"
    )
    # The second row has no point and no address: refused, by row and column.
    bad = invoke(env, "reports", "import", str(path))
    assert bad.exit_code == 1
    assert "row 3, column lat: a location is required" in bad.output
    assert "nothing was imported" in bad.output
    assert count(env, "SELECT count(*) FROM reports WHERE public_id LIKE 'cli-%'") == 0
    path.write_text(path.read_text().replace("pothole,,,open", "pothole,30.4,-88.2,open"))
    first = invoke(env, "reports", "import", str(path))
    assert first.exit_code == 0, first.output
    assert "imported 2, skipped 0" in first.output
    # The import leaves the hotspot aggregate current: a run finds nothing to redo.
    assert "hotspot aggregates brought up to date" in first.output
    assert count(env, "SELECT sum(reports) FROM report_cell_days d JOIN reports r "
                      "ON r.service_code = d.service_code AND r.public_id = 'cli-1' "
                      "AND d.day = DATE '2025-05-01'") >= 1
    assert count(env, "SELECT count(*) FROM reports WHERE changed_xact >= "
                      "(SELECT horizon FROM aggregate_state)") == 0
    second = invoke(env, "reports", "import", str(path), "--indexes", "keep")
    assert "imported 0, skipped 2 already present" in second.output
    assert "imported 0 rows, skipped 2 already stored (row 2, row 3), refused 0" in second.output


def test_every_refused_row_is_named_and_nothing_is_imported(import_env, tmp_path):
    env = import_env
    services = tmp_path / "services.json"
    services.write_text(json.dumps([{"service_code": "pothole", "service_name": "Pothole",
                                     "privacy": "public"}]))
    assert invoke(env, "services", "load", str(services)).exit_code == 0
    path = tmp_path / "bad.csv"
    rows = ["service_request_id,service_code,lat,long,status,requested_datetime"]
    rows += [f"many-{i},pothole,30.36,-88.21,closed,2025-05-01T08:00:00Z" for i in range(20)]
    rows[5] = "many-4,pothole,91,-88.21,closed,2025-05-01T08:00:00Z"
    rows[9] = "many-8,pothole,30.36,-88.21,shut,2025-05-01T08:00:00Z"
    rows[17] = "many-16,sinkhole,30.36,-88.21,closed,2025-05-01T08:00:00Z"
    path.write_text("\n".join(rows) + "\n")
    done = invoke(env, "reports", "import", str(path))
    assert done.exit_code == 1
    assert "refused 3 row(s); nothing was imported" in done.output
    for where in ("row 6, column lat", "row 10, column status", "row 18, column service_code"):
        assert where in done.output, done.output
    assert count(env, "SELECT count(*) FROM reports WHERE public_id LIKE 'many-%'") == 0


def test_on_a_terminal_the_import_shows_a_progress_bar(import_env, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    services = tmp_path / "services.json"
    services.write_text(json.dumps([{"service_code": "pothole", "service_name": "Pothole",
                                     "privacy": "public"}]))
    assert invoke(import_env, "services", "load", str(services)).exit_code == 0
    path = tmp_path / "tty.csv"
    rows = ["service_request_id,service_code,lat,long,status,requested_datetime"]
    rows += [f"tty-{i},pothole,30.36,-88.21,closed,2025-05-01T08:00:00Z" for i in range(300)]
    path.write_text("\n".join(rows) + "\n")
    leader, follower = pty.openpty()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("civicpulse")), "reports", "import", str(path)],
        env={**os.environ, **import_env, "TERM": "xterm", "COLUMNS": "100"},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, timeout=120,
        check=False)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert done.returncode == 0, (done.stdout, screen)
    assert b"importing" in screen and b"300/300" in screen
    assert b"imported 300 rows, skipped 0 already stored, refused 0" in done.stdout


def test_boundaries_import_and_a_bad_file(env, tmp_path):
    ring = [[-88.3, 30.3], [-88.29, 30.3], [-88.29, 30.31], [-88.3, 30.31], [-88.3, 30.3]]
    good = tmp_path / "tracts.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"TRACT": "Tract 9901", "POP": 3120},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    done = invoke(env, "boundaries", "import", str(good), "--kind", "tract",
                  "--name-field", "TRACT", "--population-field", "POP")
    assert done.exit_code == 0, done.output
    assert "imported 1 new and replaced 0 tract boundaries" in done.output
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    failed = invoke(env, "boundaries", "import", str(bad), "--kind", "tract")
    assert failed.exit_code == 1 and "not valid JSON" in failed.output
    assert count(env, "SELECT count(*) FROM boundaries WHERE kind = 'tract'") == 1
