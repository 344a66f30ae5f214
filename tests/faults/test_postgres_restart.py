"""PostgreSQL restarted under load against a real gunicorn: 503s while down, no 500, no lost report.

A private PostgreSQL (never the shared one) serves ``civicpulse serve`` (gunicorn,
two processes, four threads each). Client threads post reports without pause,
as wrk would, while the test stops the server, keeps it down for a while and
starts it again. Every answer is recorded with the phase it was sent in.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from geo.access import keys
from geo.db import make_engine
from geo.services import load_services
from geo.settings import Settings
from service.devstack import free_port
from tests.conftest import SERVICES
from tests.faults.conftest import CIVICPULSE, Processes, cli_env, record_faults, wait_for
from tests.private_services import PrivatePostgres

CLIENTS = 6


@dataclass
class Load:
    """Client threads posting reports; answers recorded as (phase, status, type, body)."""

    base: str
    key: str
    phase: str = "before"
    answers: list[tuple[str, int, str, dict]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        # A generous bound: "fast" means an answer, not a client giving up.
        with httpx.Client(base_url=self.base, timeout=30,
                          headers={"Authorization": f"Bearer {self.key}"}) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                phase = self.phase
                body = {"service_code": "pothole", "lat": 10 + n / 1e4, "long": 20,
                        "client_id": str(uuid.uuid4())}
                try:
                    resp = client.post("/api/v1/reports", json=body)
                except httpx.HTTPError as exc:  # no answer at all: recorded as status 0
                    answer = (phase, 0, type(exc).__name__, {})
                else:
                    payload = resp.json() if resp.content else {}
                    answer = (phase, resp.status_code, resp.headers.get("content-type", ""),
                              {**payload, "sent_client_id": body["client_id"]})
                with self.lock:
                    self.answers.append(answer)

    def count(self, phase: str) -> int:
        with self.lock:
            return sum(1 for p, *_ in self.answers if p == phase)


def test_postgres_restart_under_load(settings: Settings, processes: Processes) -> None:
    with PrivatePostgres() as pg:
        url = pg.create_database("restart")
        engine = make_engine(url, pool_size=1)
        with engine.begin() as conn:
            load_services(conn, SERVICES)
            key = keys.create_key(conn, "app", "load")
        port = free_port()
        web = processes.start("web", [*CIVICPULSE, "serve", "--port", str(port), "--workers", "2"],
                              # One client posting as fast as it can: the rate limits would
                              # answer 429 (their own tests cover them); this test is about
                              # the database going away.
                              cli_env(settings, DATABASE_URL=url, CIVICPULSE_RATE_LIMITS="false"))
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert web.poll() is None, processes.log("web")
            try:
                return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "gunicorn to answer /readyz")
        load = Load(base, key)
        threads = [threading.Thread(target=load.run) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: load.count("before") >= 30, "30 reports before the restart")
            pg.stop("fast")  # every session ends, as when an operator restarts the server
            load.phase = "down"
            wait_for(lambda: load.count("down") >= 30, "30 answers while the database is down")
            pg.start()
            load.phase = "after"
            wait_for(lambda: load.count("after") >= 60, "60 reports after the restart")
        finally:
            load.stop.set()
            for t in threads:
                t.join(timeout=60)

        statuses = {(phase, status) for phase, status, _, _ in load.answers}
        assert not {s for _, s in statuses} - {201, 503}, sorted(statuses)
        assert all(s == 201 for p, s, _, _ in load.answers if p == "after"), sorted(statuses)
        down = [(s, ctype, body) for p, s, ctype, body in load.answers if p == "down"]
        unavailable = [body for s, ctype, body in down if s == 503]
        assert unavailable, "the outage produced no 503: was the server really stopped?"
        assert all(ctype.startswith("application/problem+json")
                   for s, ctype, _ in down if s == 503)
        accepted = {body["id"]: body["sent_client_id"] for _, s, _, body in load.answers
                    if s == 201}
        with engine.connect() as conn:
            stored = dict(conn.execute(
                text("SELECT id, client_id::text FROM reports WHERE id = ANY(:ids)"),
                {"ids": list(accepted)},
            ).all())
        engine.dispose()
        lost = {i for i in accepted if stored.get(i) != accepted[i]}
        assert not lost, f"{len(lost)} reports answered 201 are not in the database"
        assert web.poll() is None, processes.log("web")
        record_faults("postgres_restart_under_load", faults_injected=1,
                      requests=len(load.answers), reports_accepted=len(accepted),
                      answered_503=len(unavailable), answered_500=0, reports_lost=len(lost))

