"""The example files of ``examples/`` load with the CLI, and Open311 output loads back whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo.db import make_engine
from geo.demo.services import DEMO_SERVICES
from geo.services import services_by_code
from service.cli import main
from tests.geo.private_db import private_database

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """Environment pointing the commands at a private database."""
    with private_database("examples") as url:
        yield {"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:6379/15",
               "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": "examples-secret-0123456789"}


def invoke(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def query(env: dict[str, str], sql: str) -> list[Any]:
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_the_example_files_load_with_the_cli(env: dict[str, str]) -> None:
    loaded = invoke(env, "services", "load", str(EXAMPLES / "services.json"))
    assert loaded.exit_code == 0 and "loaded 6 services" in loaded.output, loaded.output
    for layer, kind, count in (("city", "city", 1), ("districts", "district", 20)):
        done = invoke(env, "boundaries", "import", str(EXAMPLES / "city.gpkg"), "--layer", layer,
                      "--kind", kind)
        assert done.exit_code == 0 and f"imported {count} new" in done.output, done.output
    history = invoke(env, "reports", "import", str(EXAMPLES / "history.csv"))
    assert history.exit_code == 0 and "imported 40" in history.output, history.output

    stored = {r.code: r for r in query(env, "SELECT code, privacy, attributes FROM services")}
    for item in DEMO_SERVICES:
        assert stored[item["service_code"]].privacy == item["privacy"]
        assert [a["code"] for a in stored[item["service_code"]].attributes] == [
            a["code"] for a in item["attributes"]]
    population = query(env, "SELECT sum(population) FILTER (WHERE kind = 'district'), "
                            "max(population) FILTER (WHERE kind = 'city') FROM boundaries")[0]
    assert population[0] == population[1] > 0  # the districts add up to the city
    # Every example report lies in the city and carries answers the questions allow.
    outside = query(env, "SELECT count(*) FROM reports r WHERE r.geom IS NOT NULL AND NOT "
                         "EXISTS (SELECT 1 FROM boundaries b WHERE b.kind = 'city' "
                         "AND ST_Contains(b.geom, r.geom))")[0][0]
    assert outside == 0


def test_open311_output_loads_back_with_questions_and_privacy(
    client: Any, env: dict[str, str], engine: Any, tmp_path: Path
) -> None:
    listing = client.get("/open311/v2/services.json").get_json()
    files = [tmp_path / "services.json"]
    files[0].write_text(json.dumps(listing))
    for item in listing:
        definition = client.get(f"/open311/v2/services/{item['service_code']}.json").get_json()
        files.append(tmp_path / f"{item['service_code']}.json")
        files[-1].write_text(json.dumps(definition))

    alone = invoke(env, "services", "load", str(files[0]))
    assert alone.exit_code == 1 and "load its service definition too" in alone.output

    done = invoke(env, "services", "load", *map(str, files))
    assert done.exit_code == 0, done.output
    engine_back = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn, engine_back.connect() as back:
            served, loaded = services_by_code(conn), services_by_code(back)
    finally:
        engine_back.dispose()
    assert {code: loaded[code] for code in served} == served
    assert served["lead_paint"].privacy == "aggregated" and served["lead_paint"].attributes


def test_a_definition_for_no_listed_service_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "services.json"
    listing.write_text(json.dumps([{"service_code": "pothole", "service_name": "Pothole"}]))
    stray = tmp_path / "graffiti.json"
    stray.write_text(json.dumps({"service_code": "graffiti", "attributes": []}))
    done = invoke(env, "services", "load", str(listing), str(stray))
    assert done.exit_code == 1 and "no service 'graffiti'" in done.output
