"""Bulk report import: CSV and GeoJSON, row-numbered errors, all or nothing, idempotent."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geo.db import make_engine
from geo.h3cells import cell_of
from geo.reports.importer import RowError, import_file
from geo.reports.intake import device_hash
from geo.services import load_services
from tests.geo.private_db import private_database

SECRET = "importer-test-secret-0123"
HEADER = ["service_request_id", "service_code", "lat", "long", "description", "status",
          "requested_datetime", "updated_datetime", "address", "device_id"]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A private database with two services: one asks a required question."""
    with private_database("import") as url:
        eng = make_engine(url)
        with eng.begin() as conn:
            load_services(conn, [
                {"service_code": "pothole", "service_name": "Pothole", "privacy": "public",
                 "attributes": [{"code": "note", "datatype": "string"}]},
                {"service_code": "flooding", "service_name": "Flooding", "attributes": [
                    {"code": "depth_cm", "datatype": "number", "required": True}]},
            ])
        yield eng
        eng.dispose()


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(rid: str, **overrides: str) -> list[str]:
    values = {
        "service_request_id": rid, "service_code": "pothole", "lat": "30.3650",
        "long": "-88.2100", "description": "Hole by the bus stop", "status": "closed",
        "requested_datetime": "2025-03-01T09:30:00-05:00",
        "updated_datetime": "2025-03-04T10:00:00-05:00", "address": "", "device_id": "",
    }
    values.update(overrides)
    return [values[h] for h in HEADER]


def count(engine: Engine, prefix: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM reports WHERE public_id LIKE :p"), {"p": prefix + "%"}
        ).scalar_one()


def run(engine: Engine, path: Path, **kwargs: str):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return import_file(conn, path, secret=SECRET, **kwargs)


def test_csv_import_stores_points_cells_times_and_hashed_devices(engine, tmp_path):
    p = uuid.uuid4().hex[:8]
    path = write_csv(tmp_path / "reports.csv", [
        row(f"{p}-1", device_id="phone-raw-id-42", description="tab\there, back\\slash,\nnewline"),
        row(f"{p}-2", lat="", long="", address="12 Water St", status="OPEN",
            updated_datetime=""),
    ])
    with engine.begin() as conn:
        # Another test's import may have left a signal pending, and one pending signal
        # stands for all: relay it, so that this import must add its own.
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
        outbox_before = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    result = run(engine, path)
    assert (result.read, result.inserted, result.skipped, result.address_only) == (2, 2, 0, 1)
    with engine.connect() as conn:
        first = conn.execute(text(
            "SELECT *, ST_Y(geom) AS lat, ST_X(geom) AS lon, ST_SRID(geom) AS srid, "
            "row_to_json(r)::text AS everything FROM reports r WHERE public_id = :id"
        ), {"id": f"{p}-1"}).one()
        second = conn.execute(
            text("SELECT * FROM reports WHERE public_id = :id"), {"id": f"{p}-2"}
        ).one()
        signal = conn.execute(text("SELECT job, args FROM outbox ORDER BY id DESC LIMIT 1")).one()
        outbox_after = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    assert (first.lat, first.lon, first.srid) == (30.365, -88.21, 4326)
    assert first.h3_cell == cell_of(30.365, -88.21)
    assert first.source == "import" and first.status == "closed"
    assert first.requested_at.isoformat() == "2025-03-01T14:30:00+00:00"
    assert first.updated_at.isoformat() == "2025-03-04T15:00:00+00:00"
    assert first.description == "tab\there, back\\slash,\nnewline"
    assert bytes(first.device_hash) == device_hash(SECRET, "phone-raw-id-42")
    assert "phone-raw-id-42" not in first.everything  # never stored raw
    assert second.geom is None and second.h3_cell is None
    assert second.address_string == "12 Water St" and second.status == "open"
    assert second.updated_at == second.requested_at
    assert outbox_after == outbox_before + 1
    assert signal.job == "reports_changed" and signal.args == {"services": ["pothole"]}


def test_reimport_skips_reports_already_there(engine, tmp_path):
    p = uuid.uuid4().hex[:8]
    path = write_csv(tmp_path / "r.csv", [row(f"{p}-{i}") for i in range(5)])
    assert run(engine, path).inserted == 5
    again = run(engine, path)
    assert (again.inserted, again.skipped) == (0, 5)
    assert count(engine, p) == 5


def test_geojson_feature_collection(engine, tmp_path):
    p = uuid.uuid4().hex[:8]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-88.2, 30.4]},
         "properties": {"service_request_id": f"{p}-a", "service_code": "flooding",
                        "requested_datetime": "2025-09-01T12:00:00Z", "status": "closed",
                        "attributes": {"depth_cm": 25}, "device_id": "phone-7"}},
        {"type": "Feature", "geometry": None,
         "properties": {"service_request_id": f"{p}-b", "service_code": "pothole",
                        "requested_datetime": "2025-09-02T12:00:00Z",
                        "address_string": "3 Front St"}},
    ]}
    path = tmp_path / "reports.geojson"
    path.write_text(json.dumps(doc))
    result = run(engine, path)
    assert (result.inserted, result.address_only) == (2, 1)
    with engine.connect() as conn:
        a = conn.execute(text("SELECT attributes, ST_X(geom) AS lon FROM reports "
                              "WHERE public_id = :id"), {"id": f"{p}-a"}).one()
    assert a.attributes == {"depth_cm": 25.0} and a.lon == -88.2


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"lat": "91"}, "lat", "between -90 and 90"),
        ({"long": "east"}, "long", "not a number"),
        ({"lat": "nan"}, "lat", "between"),
        ({"long": ""}, "long", "together"),
        ({"lat": "", "long": "", "address": ""}, "lat", "location is required"),
        ({"service_code": "graffiti"}, "service_code", "unknown service"),
        ({"status": "fixed"}, "status", "not one of"),
        ({"requested_datetime": "yesterday"}, "requested_datetime", "ISO 8601"),
        ({"requested_datetime": "2025-03-01T09:30:00"}, "requested_datetime", "time zone"),
        ({"requested_datetime": "2999-01-01T00:00:00Z"}, "requested_datetime", "future"),
        ({"updated_datetime": "2025-02-01T00:00:00Z"}, "updated_datetime", "before"),
        ({"service_request_id": "has space"}, "service_request_id", "letters, digits"),
        ({"description": "x" * 4001}, "description", "4000"),
    ],
)
def test_bad_row_names_row_and_column_and_writes_nothing(engine, tmp_path, overrides, column,
                                                         message):
    p = uuid.uuid4().hex[:8]
    path = write_csv(tmp_path / "bad.csv", [row(f"{p}-ok"), row(f"{p}-bad", **overrides)])
    with pytest.raises(RowError) as info:
        run(engine, path)
    assert info.value.where == "row 3"
    assert info.value.column == column
    assert message in str(info.value)
    assert count(engine, p) == 0


def test_duplicate_id_in_file_names_both_rows(engine, tmp_path):
    p = uuid.uuid4().hex[:8]
    path = write_csv(tmp_path / "dup.csv", [row(f"{p}-1"), row(f"{p}-2"), row(f"{p}-1")])
    with pytest.raises(RowError, match="row 4, column service_request_id.*also appears at row 2"):
        run(engine, path)
    assert count(engine, p) == 0


def test_attribute_answers_are_checked_against_the_service(engine, tmp_path):
    p = uuid.uuid4().hex[:8]
    path = write_csv(tmp_path / "a.csv", [[f"{p}-1", "flooding", "30.3", "-88.2", "",
                                           "open", "2025-01-01T00:00:00Z", '{"depth_cm": "deep"}']],
                     header=["service_request_id", "service_code", "lat", "long", "description",
                             "status", "requested_datetime", "attributes"])
    with pytest.raises(RowError, match=r"row 2, column attributes\.depth_cm: must be a number"):
        run(engine, path)


@pytest.mark.parametrize(
    ("props", "column", "message"),
    [
        # A lone surrogate: JSON allows the escape, UTF-8 has no encoding for it.
        ({"description": "a\ud800b"}, "(any)", "not valid Unicode"),
        ({"attributes": {"note": "a\ud800b"}}, "attributes", "invalid input syntax"),
        # PostgreSQL's jsonb cannot hold \u0000.
        ({"attributes": {"note": "a\u0000b"}}, "attributes", "Unicode escape"),
    ],
)
def test_values_only_postgresql_refuses_are_still_named(engine, tmp_path, props, column,
                                                        message):
    p = uuid.uuid4().hex[:8]
    base = {"service_code": "pothole", "requested_datetime": "2025-09-02T12:00:00Z"}
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-88.2, 30.4]},
         "properties": dict(base, service_request_id=f"{p}-{i}", **extra)}
        for i, extra in enumerate([{}, props])
    ]
    path = tmp_path / "odd.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(RowError) as info:
        run(engine, path)
    assert (info.value.where, info.value.column) == ("feature 1", column), str(info.value)
    assert message in info.value.message
    assert count(engine, p) == 0


def test_unknown_or_missing_columns_are_named(engine, tmp_path):
    path = write_csv(tmp_path / "h.csv", [], header=HEADER + ["colour"])
    with pytest.raises(RowError, match="row 1, column colour: unknown column"):
        run(engine, path)
    path = write_csv(tmp_path / "h2.csv", [], header=["service_code", "lat", "long"])
    with pytest.raises(RowError, match="column service_request_id: required column is missing"):
        run(engine, path)


def _schema(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'reports' UNION ALL "
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'reports'::regclass"
        )).scalars())


def test_rebuild_mode_puts_every_index_and_key_back(engine, tmp_path):
    before = _schema(engine)
    assert any("gist" in d for d in before) and any("FOREIGN KEY" in d for d in before)
    p = uuid.uuid4().hex[:8]
    good = write_csv(tmp_path / "g.csv", [row(f"{p}-{i}") for i in range(3)])
    assert run(engine, good, indexes="rebuild").inserted == 3
    assert _schema(engine) == before
    bad = write_csv(tmp_path / "b.csv", [row(f"{p}-x"), row(f"{p}-y", lat="100")])
    with pytest.raises(RowError):
        run(engine, bad, indexes="rebuild")
    assert _schema(engine) == before  # the failed import's DROPs were rolled back too
    assert count(engine, p) == 3
