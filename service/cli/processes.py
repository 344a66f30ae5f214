"""``civicpulse worker`` and ``civicpulse relay``: run jobs and move the outbox to RQ."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from geo.db import make_engine
from geo.settings import Settings
from service.cli import common
from service.observability import configure_logging
from workers import context
from workers.housekeeping import HousekeepingWorker, sweep_stale
from workers.queues import QUEUE_NAMES
from workers.relay import RelayThread, pending, relay_all, relay_forever

#: Burst mode stops after this many relay-and-work rounds even if jobs keep
#: queueing more work, so a job that re-queues itself cannot keep it running.
MAX_BURST_ROUNDS = 50


def _settings() -> Settings:
    """Settings for this process's jobs: read once, installed for the worker context."""
    settings = common.settings()
    context.install(settings)
    return settings


def _relay_redis(settings: Settings) -> Redis:
    # Short timeouts: the relay holds row locks while it talks to Redis.
    return Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)


def _failed(queues: list[Queue]) -> int:
    return sum(q.failed_job_registry.count for q in queues)


def _drain(settings: Settings, worker_redis: Redis) -> tuple[int, int]:
    """Relay, work the queues empty, repeat until nothing is pending.

    Returns the rounds run and how many jobs failed meanwhile. A failed job whose
    retry is scheduled for later is left to a long-running worker.
    """
    engine = make_engine(settings.database_url, pool_size=1)
    relay_redis = _relay_redis(settings)
    queues = [Queue(name, connection=worker_redis) for name in QUEUE_NAMES]
    failed_before = _failed(queues)
    try:
        sweep_stale(engine)
        for rounds in range(1, MAX_BURST_ROUNDS + 1):
            relay_all(engine, relay_redis)
            HousekeepingWorker(queues, connection=worker_redis).work(burst=True,
                                                                     with_scheduler=True)
            # Jobs may have written outbox rows of their own; another round takes them.
            if pending(engine) == 0 and all(q.count == 0 for q in queues):
                return rounds, _failed(queues) - failed_before
        raise click.ClickException(f"work still pending after {MAX_BURST_ROUNDS} rounds")
    finally:
        engine.dispose()


def register(main: click.Group) -> None:
    """Add this module's commands to ``main``."""

    @main.command()
    @click.option("--burst", is_flag=True, help="Drain the outbox and the queues, then exit.")
    def worker(burst: bool) -> None:
        """Run an RQ worker over all queues, with the outbox relay inside it."""
        configure_logging()
        settings = _settings()
        # No socket timeout: the worker blocks on Redis for minutes waiting for jobs.
        worker_redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            if burst:
                rounds, failed = _drain(settings, worker_redis)
                click.echo(f"outbox and queues drained in {rounds} round(s); "
                           f"{failed} job(s) failed")
                return
            engine = make_engine(settings.database_url, pool_size=1)
            # A worker (re)starting after a crash picks up what the crash left running.
            sweep_stale(engine)
            relay = RelayThread(engine, _relay_redis(settings))
            relay.start()
            try:
                queues = [Queue(name, connection=worker_redis) for name in QUEUE_NAMES]
                HousekeepingWorker(queues, connection=worker_redis).work(with_scheduler=True)
            finally:
                relay.stop()
                engine.dispose()
        except RedisError as exc:
            raise click.ClickException(f"redis at {settings.redis_url}: {exc}") from exc

    @main.command()
    @click.option("--once", is_flag=True, help="Relay what is pending now, then exit.")
    @click.option("--interval", default=1.0, show_default=True, type=float,
                  help="Seconds between passes.")
    def relay(once: bool, interval: float) -> None:
        """Move committed outbox rows to RQ (also runs inside every worker)."""
        configure_logging()
        settings = _settings()
        engine = make_engine(settings.database_url, pool_size=1)
        redis_conn = _relay_redis(settings)
        try:
            if once:
                moved = relay_all(engine, redis_conn)
                left = pending(engine)
                click.echo(f"relayed {moved} job(s); {left} pending")
                if left:
                    # Rows locked by another relay are fine; an unreachable Redis is not.
                    try:
                        redis_conn.ping()
                    except RedisError as exc:
                        raise click.ClickException(f"redis at {settings.redis_url}: {exc}") from exc
                return
            stop = threading.Event()

            def _on_signal(signum: int, frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, _on_signal)
            signal.signal(signal.SIGINT, _on_signal)
            relay_forever(engine, redis_conn, stop, interval)
        finally:
            engine.dispose()
