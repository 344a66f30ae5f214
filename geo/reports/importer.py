"""Bulk import of historic reports (CSV or GeoJSON with Open311 field names) through COPY.

Rows are checked and converted in Python while they stream (the H3 cell and the
device hash need Python anyway, and a row number is only known here), written to
a temporary staging table with ``COPY`` and moved into ``reports`` by one
set-based ``INSERT … SELECT`` per chunk. Parsing the next chunk overlaps with the
database inserting the previous one. Everything happens in the caller's
transaction: one bad row and nothing is kept, but every row is still checked, so
one pass names all the refused rows (:class:`RowsRefused`).

Re-importing a file is idempotent: ``service_request_id`` becomes the report's
public id, and ids already present are skipped and counted.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from geo import outbox
from geo.reports.import_rows import (
    ALIASES,
    FIELDS,
    IGNORED,
    REFUSED_LISTED,
    REQUIRED,
    SKIPPED_LISTED,
    STAGING_COLUMNS,
    ImportResult,
    RowConverter,
    RowError,
    RowsRefused,
)
from geo.services import services_by_code

__all__ = ["FIELDS", "ImportResult", "RowError", "RowsRefused", "import_file", "import_rows"]

CHUNK_ROWS = 100_000


_STAGING = """
CREATE TEMP TABLE import_staging (
    public_id text, service_code text, description text, status text, status_notes text,
    lat float8, lon float8, h3_cell bigint, address_string text, address_id text,
    attributes jsonb, requested_at timestamptz, updated_at timestamptz, device_hash bytea,
    media_url text
) ON COMMIT DROP
"""

# In time order: the time indexes, the serial id and (in real exports, whose ids
# grow with time) the public-id index then grow at their right edge instead of
# taking random page splits. The advisory lock in import_rows makes "already
# there" a stable answer, so ON CONFLICT only ever skips an earlier import's rows.
_MOVE = """
INSERT INTO reports (public_id, service_code, description, status, status_notes, geom,
    h3_cell, address_string, address_id, attributes, requested_at, updated_at, source,
    device_hash, media_url)
SELECT s.public_id, s.service_code, s.description, s.status, s.status_notes,
    CASE WHEN s.lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END,
    s.h3_cell, s.address_string, s.address_id, s.attributes, s.requested_at, s.updated_at,
    'import', s.device_hash, s.media_url
FROM import_staging s
ORDER BY s.requested_at, s.public_id
ON CONFLICT (public_id) DO NOTHING
"""

# What a bulk load may set aside and put back exactly as it was: plain indexes and
# the foreign keys of ``reports`` (unique ones stay: they decide what is new).
_DEFERRABLE_DDL = """
SELECT format('DROP INDEX %I', c.relname) AS drop_sql, pg_get_indexdef(i.indexrelid) AS create_sql
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'reports'::regclass AND NOT i.indisunique AND NOT i.indisprimary
UNION ALL
SELECT format('ALTER TABLE reports DROP CONSTRAINT %I', conname),
       format('ALTER TABLE reports ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))
FROM pg_constraint WHERE conrelid = 'reports'::regclass AND contype = 'f'
"""

#: Below this many rows the indexes are kept: rebuilding would cost more than it saves.
REBUILD_MIN_ROWS = 100_000


Chunk = tuple[bytes, list[str], list[str]]

# Rows of this chunk already stored by an earlier transaction (run only when some were).
_SKIPPED = """
SELECT s.public_id FROM import_staging s JOIN reports r ON r.public_id = s.public_id
WHERE r.changed_xact IS DISTINCT FROM pg_current_xact_id() LIMIT :n
"""


def _chunks(rows: Iterable[tuple[str, Sequence[Any]]], convert: RowConverter) -> Iterator[Chunk]:
    """COPY payloads of :data:`CHUNK_ROWS` converted rows each, with each line's row and id.

    A bad row does not stop the reading: every row is checked, so that one pass
    names all the refused rows; after the first one nothing more is sent to the
    database, and :class:`RowsRefused` is raised at the end.
    """
    lines: list[str] = []
    wheres: list[str] = []
    ids: list[str] = []
    refused: list[RowError] = []
    total_refused = 0
    for where, values in rows:
        try:
            line = convert.line(where, values)
        except RowError as exc:
            total_refused += 1
            if len(refused) < REFUSED_LISTED:
                refused.append(exc)
            continue
        if total_refused:
            continue
        lines.append(line)
        wheres.append(where)
        ids.append(values[0])
        if len(lines) >= CHUNK_ROWS:
            yield _encode(lines, wheres, convert), wheres, ids
            lines, wheres, ids = [], [], []
    if total_refused:
        raise RowsRefused(refused, total_refused)
    if lines:
        yield _encode(lines, wheres, convert), wheres, ids


def _encode(lines: list[str], wheres: list[str], convert: RowConverter) -> bytes:
    convert.result.read += len(lines)
    try:
        return ("\n".join(lines) + "\n").encode()
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\\ud800" escape
        for line, where in zip(lines, wheres, strict=True):
            try:
                line.encode()
            except UnicodeEncodeError:
                raise RowError(where, "(any)", "text that is not valid Unicode") from None
        raise


def _refused(exc: psycopg.Error, wheres: list[str]) -> RowError:
    """PostgreSQL's refusal of a staged line, named by the file's row and column."""
    found = re.search(r"COPY import_staging, line (\d+)(?:, column (\w+))?", exc.diag.context or "")
    line = int(found.group(1)) if found else 0
    where = wheres[line - 1] if 0 < line <= len(wheres) else "a row"
    column = STAGING_COLUMNS.get(found.group(2) or "", "(any)") if found else "(any)"
    return RowError(where, column, exc.diag.message_primary or str(exc))


def _prefetch(items: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    """Run ``items`` in a thread so parsing overlaps with the database's work.

    The consumer waits on the socket (releasing the GIL) while the producer parses;
    an exception in the producer is re-raised here, in the caller's thread.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put(("item", item))
            box.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer as is
            box.put(("error", exc))

    worker = threading.Thread(target=produce, name="import-parser", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = box.get()
            if kind == "item":
                yield payload
            elif kind == "error":
                raise payload
            else:
                return
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        worker.join()


def _rebuild_wanted(conn: Connection, expected_rows: int | None, mode: str) -> bool:
    """Whether to set the indexes and foreign keys aside for this import."""
    if mode != "auto":
        return mode == "rebuild"
    if expected_rows is None or expected_rows < REBUILD_MIN_ROWS:
        return False
    existing = conn.execute(
        text(
            "SELECT CASE WHEN reltuples < 0 THEN (SELECT count(*) FROM reports) "
            "ELSE reltuples END FROM pg_class WHERE oid = 'reports'::regclass"
        )
    ).scalar_one()
    return expected_rows > existing


def set_aside(conn: Connection) -> list[str]:
    """Drop the plain indexes and foreign keys of ``reports``; returns the DDL to put them back.

    PostgreSQL's "Populating a Database" advice: building an index once from all
    rows, and checking a foreign key with one join, is several times cheaper than
    a million single insertions and trigger calls. The DROPs lock ``reports``
    against every reader and writer until commit, which is why ``auto`` only does
    this when the import outweighs the table (a city's first load).
    """
    conn.execute(text("SET LOCAL lock_timeout = '30s'"))
    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    ddl = conn.execute(text(_DEFERRABLE_DDL)).all()
    for row in ddl:
        conn.execute(text(row.drop_sql))
    return [row.create_sql for row in ddl]


def put_back(conn: Connection, ddl: Sequence[str]) -> None:
    """Rebuild what :func:`set_aside` dropped, then refresh the table's statistics."""
    for statement in ddl:
        conn.execute(text(statement))
    if ddl:
        conn.execute(text("ANALYZE reports"))  # a first load leaves no statistics at all


def import_rows(
    conn: Connection,
    rows: Iterable[tuple[str, Sequence[Any]]],
    *,
    secret: str,
    indexes: str = "auto",
    expected_rows: int | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import rows of ``(where, values in FIELDS order)`` into ``reports``.

    ``where`` names the row in messages ("row 12"). Runs in the caller's
    transaction and adds one "reports changed" outbox signal when anything was
    inserted. Every row is checked; if any is refused nothing is imported and
    :class:`RowsRefused` names them. ``progress`` is called with the rows done so
    far after each chunk. ``indexes`` is
    ``keep`` (insert with indexes in place: never blocks readers), ``rebuild``
    (set plain indexes and foreign keys aside and rebuild them: locks ``reports``
    until commit) or ``auto``: rebuild only when ``expected_rows`` is at least
    :data:`REBUILD_MIN_ROWS` and outnumbers the reports already there.

    Example, on a database connection (not run as a doctest)::

        import_rows(conn, [("row 2", ["r1", "pothole", "40.1", "-74.2", "", "closed",
            "2025-03-01T09:00:00+00:00", "", "", "", "", "", "", ""])],
            secret=key)
        ImportResult(read=1, inserted=1, skipped=0, address_only=0, services={'pothole'})
    """
    if indexes not in ("auto", "keep", "rebuild"):
        raise ValueError("indexes must be auto, keep or rebuild")
    convert = RowConverter(services_by_code(conn), secret, now or dt.datetime.now(dt.UTC))
    # One import at a time, so that "already imported" cannot change under us.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('civicpulse.reports.import'))"))
    conn.execute(text("SET LOCAL work_mem = '64MB'"))  # each chunk's sort stays in memory
    conn.execute(text(_STAGING))
    restore = set_aside(conn) if _rebuild_wanted(conn, expected_rows, indexes) else []
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    result = convert.result
    # The parser thread converts chunk k+1 while the database inserts chunk k.
    done = 0
    for payload, wheres, ids in _prefetch(_chunks(rows, convert)):
        try:
            with cursor.copy("COPY import_staging FROM STDIN") as copy:
                copy.write(payload)
        except psycopg.DataError as exc:  # a value Python let through and PostgreSQL did not
            raise _refused(exc, wheres) from None
        moved = conn.execute(text(_MOVE)).rowcount
        result.inserted += moved
        wanted = SKIPPED_LISTED - len(result.skipped_rows)
        if moved < len(wheres) and wanted > 0:
            row_of = dict(zip(ids, wheres, strict=True))
            found = conn.execute(text(_SKIPPED), {"n": wanted}).scalars()
            result.skipped_rows.extend(sorted((row_of[i] for i in found if i in row_of),
                                              key=lambda w: (len(w), w)))
        conn.execute(text("TRUNCATE import_staging"))
        done += len(wheres)
        if progress is not None:
            progress(done)
    put_back(conn, restore)
    conn.execute(text("DROP TABLE import_staging"))
    result.skipped = result.read - result.inserted
    if result.inserted:
        outbox.signal_reports_changed(conn, sorted(result.services))
    return result


def estimate_rows(path: Path) -> int:
    """Rows of a CSV file estimated from its size and its first megabyte."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    lines = max(head.count(b"\n"), 1)
    return int(size / (len(head) / lines)) if head else 0


def csv_rows(path: Path) -> Iterator[tuple[str, Sequence[str]]]:
    """Rows of a CSV file with an Open311 header, numbered as a spreadsheet shows them."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [ALIASES.get(h.strip(), h.strip()) for h in next(reader)]
        except StopIteration:
            raise RowError("row 1", "(header)", "the file is empty") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RowError("row 1", "(header)", f"not a UTF-8 CSV header ({exc})") from None
        unknown = [h for h in header if h not in FIELDS and h not in IGNORED]
        if unknown:
            raise RowError("row 1", unknown[0], f"unknown column; expected {', '.join(FIELDS)}")
        for name in REQUIRED:
            if name not in header:
                raise RowError("row 1", name, "required column is missing")
        width = len(header)
        # A missing column reads the empty string appended at index ``width``.
        pick = itemgetter(*[header.index(f) if f in header else width for f in FIELDS])
        number = 1
        try:
            for number, row in enumerate(reader, start=2):  # noqa: B007 - used after the loop
                if len(row) != width:
                    if not row:
                        continue
                    problem = f"{len(row)} fields, the header has {width}"
                    raise RowError(f"row {number}", "(all)", problem)
                row.append("")
                yield f"row {number}", pick(row)
        except UnicodeDecodeError:
            raise RowError(f"row {number + 1}", "(all)", "not UTF-8 text") from None
        except csv.Error as exc:
            raise RowError(f"row {number + 1}", "(all)", f"malformed CSV ({exc})") from None


def geojson_rows(path: Path) -> Iterator[tuple[str, list[Any]]]:
    """Rows of a GeoJSON FeatureCollection of Points with Open311 properties."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RowError("the file", "(all)", f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise RowError("the file", "type", "expected a GeoJSON FeatureCollection")
    for i, feature in enumerate(doc.get("features") or []):
        where = f"feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise RowError(where, "type", "expected a GeoJSON Feature")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise RowError(where, "properties", "must be an object")
        props = {ALIASES.get(k, k): v for k, v in props.items()}
        unknown = [k for k in props if k not in FIELDS and k not in IGNORED]
        if unknown:
            raise RowError(where, unknown[0], "unknown property")
        geometry = feature.get("geometry")
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (not isinstance(geometry, dict) or geometry.get("type") != "Point"
                    or not isinstance(coords, list) or len(coords) < 2):
                raise RowError(where, "geometry", "must be a Point [long, lat] or null")
            props["long"], props["lat"] = coords[0], coords[1]
        values = [props.get(f) for f in FIELDS]
        yield where, [v if isinstance(v, (str, dict, list)) or v is None else str(v)
                      for v in values]


def import_file(
    conn: Connection, path: Path, *, secret: str, indexes: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a CSV or GeoJSON file of reports (chosen by extension); see :func:`import_rows`."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        features = list(geojson_rows(path))  # GeoJSON is parsed whole anyway
        return import_rows(
            conn, features, secret=secret, indexes=indexes, expected_rows=len(features),
            progress=progress,
        )
    if suffix in (".csv", ".txt"):
        return import_rows(
            conn, csv_rows(path), secret=secret, indexes=indexes,
            expected_rows=estimate_rows(path), progress=progress,
        )
    raise RowError(path.name, "(file)", "expected a .csv or .geojson file")

