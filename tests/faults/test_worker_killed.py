"""A ``civicpulse worker`` SIGKILLed mid-run and mid-export: nothing partial shows, work finishes.

To kill the worker at a known point without touching its code, the test holds an
``ACCESS EXCLUSIVE`` lock on ``hotspot_cells``: the run blocks when it publishes
its cells, the export when it reads the run's cells, both after claiming their
row. The whole process group (worker, work-horse, scheduler) then gets SIGKILL,
as when a machine disappears. A new worker started later finds the row
``running`` for longer than twice the job's timeout (the test moves
``started_at`` back rather than wait) and sends it back to the queue.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine, text

from geo.db import make_engine
from geo.evidence import exports
from geo.evidence.params import resolve
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run, latest_run_id
from geo.services import load_services
from geo.settings import Settings
from tests.cities import PLACES, prairie
from tests.conftest import SERVICES
from tests.faults.conftest import CIVICPULSE, Processes, cli_env, record_faults, wait_for
from tests.geo.private_db import private_database


@dataclasses.dataclass
class World:
    """A private database with a small city and a published run, and settings for it."""

    engine: Engine
    city: prairie.PrairieCity
    settings: Settings


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with private_database("faults") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            load_services(conn, SERVICES)
        # The evidence-pack city, in a database of its own: no other suite's place is taken.
        city = prairie.build_city(engine, PLACES["evidence-pack"], seed=11)
        root = tmp_path_factory.mktemp("killed")
        yield World(engine, city, dataclasses.replace(
            settings, database_url=url, media_dir=str(root / "media"),
            export_dir=str(root / "exports")))
        engine.dispose()


@pytest.fixture
def clean_rq(redis_url: str) -> Iterator[None]:
    """No RQ keys before or after (a killed worker leaves its registrations behind)."""
    conn = Redis.from_url(redis_url)

    def clear() -> None:
        keys = list(conn.scan_iter("rq:*"))
        if keys:
            conn.delete(*keys)

    clear()
    yield
    clear()
    conn.close()


def _one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def _blocked_on_lock(engine: Engine) -> bool:
    """True when another session of this database waits for a lock (the worker, on ours)."""
    return bool(_one(engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                             "current_database() AND wait_event_type = 'Lock'")[0])


def _kill_while_blocked(world: World, processes: Processes, row_running) -> None:  # type: ignore[no-untyped-def]
    """Start a worker, let it block on our lock mid-job, SIGKILL it, release the lock."""
    with world.engine.connect() as holder:
        holder.execute(text("LOCK TABLE hotspot_cells IN ACCESS EXCLUSIVE MODE"))
        worker = processes.start("worker", [*CIVICPULSE, "worker"], cli_env(world.settings))
        wait_for(lambda: row_running() and _blocked_on_lock(world.engine),
                 "the worker to block mid-job on the test's lock")
        processes.kill(worker)
        holder.rollback()
    assert worker.returncode == -9


def _recover(world: World, table: str, row_id: int) -> subprocess.CompletedProcess[str]:
    """Pretend the row has been running for three hours, then start a fresh burst worker."""
    with world.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET started_at = now() - interval '3 hours' "
                          "WHERE id = :id"), {"id": row_id})
    return subprocess.run([*CIVICPULSE, "worker", "--burst"], env=cli_env(world.settings),
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.usefixtures("clean_rq")
def test_worker_killed_mid_run(world: World, processes: Processes) -> None:
    engine = world.engine
    with engine.connect() as conn:
        previous = latest_run_id(conn)  # what "latest" readers see before the interrupted run
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
        run_id = create_run(conn, RunParams.from_dict({"services": ["flooding"]}))

    _kill_while_blocked(world, processes, lambda: _one(
        engine, "SELECT status FROM hotspot_runs WHERE id = :id", id=run_id)[0] == "running")

    # Readers see the last complete run and not one cell of the interrupted one.
    assert _one(engine, "SELECT status FROM hotspot_runs WHERE id = :id", id=run_id)[0] == "running"
    assert _one(engine, "SELECT count(*) FROM hotspot_cells WHERE run_id = :id", id=run_id)[0] == 0
    assert _one(engine, "SELECT count(*) FROM hotspot_areas WHERE run_id = :id", id=run_id)[0] == 0
    with engine.connect() as conn:
        assert latest_run_id(conn) == previous

    done = _recover(world, "hotspot_runs", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    run = _one(engine, "SELECT status, progress, attempts FROM hotspot_runs WHERE id = :id",
               id=run_id)
    assert (run.status, run.progress) == ("succeeded", 100)
    assert run.attempts == 2  # the killed attempt and the one that finished
    cells, distinct = _one(engine, "SELECT count(*), count(DISTINCT h3) FROM hotspot_cells "
                                   "WHERE run_id = :id", id=run_id)
    assert cells == distinct > 0
    record_faults("worker_killed_mid_run", faults_injected=1, reports_lost=0, jobs_lost=0)


@pytest.mark.usefixtures("clean_rq")
def test_worker_killed_mid_export(world: World, processes: Processes) -> None:
    engine = world.engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
        params = resolve(conn, {"area": {"boundary_id": world.city.city_id},
                                "run": world.city.run_id, "formats": ["csv"]})
        export_id = exports.create(conn, params, requested_by=None)

    _kill_while_blocked(world, processes, lambda: _one(
        engine, "SELECT status, progress FROM evidence_exports WHERE id = :id", id=export_id
    ) == ("running", 10))

    # No pack where readers look: the row is not succeeded and the final directory is absent.
    with engine.connect() as conn:
        row = exports.get(conn, export_id)
    assert row is not None and row["status"] == "running"
    assert exports.result_zip(row) is None
    final = Path(world.settings.export_dir).resolve() / f"export-{export_id}"
    assert not final.exists()

    done = _recover(world, "evidence_exports", export_id)
    assert done.returncode == 0, done.stdout + done.stderr
    with engine.connect() as conn:
        row = exports.get(conn, export_id)
    assert row is not None and (row["status"], row["progress"]) == ("succeeded", 100)
    pack = exports.result_zip(row)
    assert pack is not None and pack.stat().st_size > 0
    assert {f["name"] for f in row["files"]} >= {"data/hotspot_cells.csv"}
    record_faults("worker_killed_mid_export", faults_injected=1, reports_lost=0, jobs_lost=0)
