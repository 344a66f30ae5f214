"""Housekeeping deletes exactly what nobody can reach, keeps what may be cited, and repeats safely.

On a database of its own: the tasks delete across whole tables, and the runs
test needs to know every run there is.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geo import housekeeping as chores
from geo.db import make_engine
from geo.reports import photos
from geo.services import load_services
from tests.cities.scatter import add_reports
from tests.conftest import SERVICES
from tests.geo.private_db import private_database


@pytest.fixture(scope="module")
def db() -> Iterator[Engine]:
    with private_database("housekeeping") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            load_services(conn, SERVICES)
        yield engine
        engine.dispose()


def _photo(engine: Engine, media: Path, *, hours_old: float, report_id: int | None) -> uuid.UUID:
    """A photo row with its file and thumbnail on disk."""
    pid = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO photos (id, report_id, content_type, width, height, bytes, sha256, "
                 "created_at) VALUES (:id, :r, 'image/jpeg', 1, 1, 1, 'x', "
                 "now() - make_interval(hours => :h))"),
            {"id": pid, "r": report_id, "h": hours_old},
        )
    for path in (photos.media_path(media, pid, "jpg"), photos.thumbnail_path(media, pid)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
    return pid


def _files(media: Path, pid: uuid.UUID) -> list[bool]:
    return [photos.media_path(media, pid, "jpg").exists(),
            photos.thumbnail_path(media, pid).exists()]


def test_unlinked_photos_go_after_their_grace_period(db: Engine, tmp_path: Path) -> None:
    add_reports(db, [(41.0, -73.5)])
    with db.connect() as conn:
        report_id = conn.execute(text("SELECT max(id) FROM reports")).scalar_one()
    abandoned = _photo(db, tmp_path, hours_old=72, report_id=None)
    uploading = _photo(db, tmp_path, hours_old=1, report_id=None)  # its report is on its way
    linked = _photo(db, tmp_path, hours_old=72, report_id=report_id)

    assert chores.prune_unlinked_photos(db, tmp_path, grace_hours=48) == 1
    assert chores.prune_unlinked_photos(db, tmp_path, grace_hours=48) == 0
    with db.connect() as conn:
        left = set(conn.execute(text("SELECT id FROM photos")).scalars())
    assert abandoned not in left and {uploading, linked} <= left
    assert _files(tmp_path, abandoned) == [False, False]
    assert _files(tmp_path, uploading) == _files(tmp_path, linked) == [True, True]


def _export(engine: Engine, root: Path, *, status: str, days_old: float, run_id: int = 0) -> int:
    with engine.begin() as conn:
        export_id = conn.execute(
            text("INSERT INTO evidence_exports (status, params, created_at, finished_at) VALUES "
                 "(:s, CAST(:p AS jsonb), now() - make_interval(days => :d), "
                 "now() - make_interval(days => :d)) RETURNING id"),
            {"s": status, "p": json.dumps({"run_id": run_id}), "d": days_old},
        ).scalar_one()
    pack = root / f"export-{export_id}"
    pack.mkdir()
    (pack / "civicpulse-evidence.zip").write_bytes(b"zip")
    return int(export_id)


def test_old_exports_go_with_their_packs_and_abandoned_scratch(db: Engine, tmp_path: Path) -> None:
    old = _export(db, tmp_path, status="succeeded", days_old=40)
    old_failed = _export(db, tmp_path, status="failed", days_old=40)
    recent = _export(db, tmp_path, status="succeeded", days_old=2)
    abandoned = tmp_path / f".export-{recent}.{uuid.uuid4().hex}"
    rendering = tmp_path / f".export-{recent}.{uuid.uuid4().hex}"
    for scratch in (abandoned, rendering):
        (scratch / "pack").mkdir(parents=True)
    three_hours_ago = time.time() - 3 * 3600
    os.utime(abandoned, (three_hours_ago, three_hours_ago))
    unrelated = tmp_path / "notes"
    unrelated.mkdir()

    assert chores.prune_exports(db, tmp_path, retention_days=30) == 2
    assert chores.prune_exports(db, tmp_path, retention_days=30) == 0
    with db.connect() as conn:
        left = set(conn.execute(text("SELECT id FROM evidence_exports")).scalars())
    assert old not in left and old_failed not in left and recent in left
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"export-{recent}", rendering.name, "notes"])


def test_expired_idempotency_records_go(db: Engine) -> None:
    with db.begin() as conn:
        for key, hours in (("expired", -1), ("live", 24)):
            conn.execute(
                text("INSERT INTO idempotency_keys (scope_key, fingerprint, state, expires_at) "
                     "VALUES (:k, 'f', 'done', now() + make_interval(hours => :h))"),
                {"k": f"hk-{key}", "h": hours},
            )
    assert chores.prune_idempotency_records(db) >= 1
    assert chores.prune_idempotency_records(db) == 0
    with db.connect() as conn:
        left = set(conn.execute(text("SELECT scope_key FROM idempotency_keys "
                                     "WHERE scope_key LIKE 'hk-%'")).scalars())
    assert left == {"hk-live"}


def _run(engine: Engine, params: dict, *, status: str = "succeeded", days_old: float) -> int:
    """A finished run with one cell."""
    with engine.begin() as conn:
        run_id = conn.execute(
            text("INSERT INTO hotspot_runs (params, params_key, status, created_at, finished_at) "
                 "VALUES (CAST(:p AS jsonb), :k, :s, now() - make_interval(days => :d), "
                 "now() - make_interval(days => :d)) RETURNING id"),
            {"p": json.dumps(params), "k": uuid.uuid4().hex, "s": status, "d": days_old},
        ).scalar_one()
        conn.execute(
            text("INSERT INTO hotspot_cells (run_id, h3, reports, weight, reporters, gi_z, gi_p, "
                 "gi_bin, n_neighbors, no_data, geom) VALUES (:r, 1, 0, 0, 0, 0, 1, 0, 7, true, "
                 "ST_GeomFromText('POLYGON((0 0, 0 1, 1 1, 0 0))', 4326))"),
            {"r": run_id},
        )
    return int(run_id)


def test_old_runs_go_unless_latest_newest_of_their_kind_or_cited(db: Engine, tmp_path: Path
                                                                 ) -> None:
    with db.begin() as conn:
        conn.execute(text("TRUNCATE hotspot_runs CASCADE"))
    city, lead = {"services": None}, {"services": ["lead_paint"], "time_step": "month"}
    oldest = _run(db, city, days_old=200)
    cited = _run(db, city, days_old=150)
    older = _run(db, city, days_old=120)
    failed = _run(db, city, status="failed", days_old=100)
    only_lead = _run(db, lead, days_old=300)  # the one lead-paint analysis there is
    latest = _run(db, city, days_old=1)
    _export(db, tmp_path, status="succeeded", days_old=1, run_id=cited)

    assert chores.prune_runs(db, retention_days=90) == 3
    assert chores.prune_runs(db, retention_days=90) == 0
    with db.connect() as conn:
        left = set(conn.execute(text("SELECT id FROM hotspot_runs")).scalars())
        cells = set(conn.execute(text("SELECT run_id FROM hotspot_cells")).scalars())
    assert left == cells == {cited, only_lead, latest}
    assert not {oldest, older, failed} & left


def test_run_all_reports_each_task(db: Engine, tmp_path: Path) -> None:
    counts = chores.run_all(db, media_dir=tmp_path / "media", export_dir=tmp_path / "exports",
                            retention=chores.Retention())
    assert set(counts) == {"photos", "exports", "idempotency_records", "runs"}
    assert all(n >= 0 for n in counts.values())
