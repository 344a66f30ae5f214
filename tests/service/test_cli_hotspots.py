"""``civicpulse hotspots run``: the API's vocabulary (``--services``), the old flag still works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo.db import make_engine
from service.cli import main
from tests.geo.private_db import private_database


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """The commands' environment, on a private database (queued runs stay out of others')."""
    with private_database("cli_hotspots") as url:
        yield {"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:6379/15",
               "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": "cli-test-secret-0123456789"}


def _queued_services(env: dict[str, str], output: str) -> list[str]:
    run_id = int(output.split("queued hotspot run ")[1].split(";")[0])
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            params = conn.execute(text("SELECT params FROM hotspot_runs WHERE id = :id"),
                                  {"id": run_id}).scalar_one()
    finally:
        engine.dispose()
    return sorted(params["services"] or [])


@pytest.mark.parametrize("args", [["--services", "pothole,flooding"],
                                  ["--services", "pothole", "--services", "flooding"]])
def test_services_as_the_api_names_them(env, args):
    done = CliRunner().invoke(main, ["hotspots", "run", *args], env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "deprecated" not in done.output
    assert _queued_services(env, done.output) == ["flooding", "pothole"]


def test_category_still_works_and_warns(env):
    done = CliRunner().invoke(main, ["hotspots", "run", "--category", "pothole"], env=env,
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "'category' is deprecated" in done.stderr and "--services" in done.stderr
    assert _queued_services(env, done.stdout) == ["pothole"]


def test_help_shows_services_not_category(env):
    shown = CliRunner().invoke(main, ["hotspots", "run", "--help"]).output
    assert "--services" in shown and "--category" not in shown
