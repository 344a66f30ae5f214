"""A revoked key is refused on the next request in every process, and a changed service
is used at once (issue 9): two real ``civicpulse serve`` processes on one database.

Both processes have used the key (so each holds it in memory); an admin revokes it
through the API on the first; the very next request on the second is a 401.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from geo.access import keys
from geo.services import load_services
from tests.conftest import SECRET, SERVICES
from tests.live_processes import operator_env, served


@pytest.fixture(scope="module")
def two_servers(settings, tmp_path_factory, services_loaded):
    tmp_path = tmp_path_factory.mktemp("two-servers")
    env = operator_env(settings.database_url, settings.redis_url, SECRET)
    env.update(CIVICPULSE_MEDIA_DIR=str(tmp_path / "media"),
               CIVICPULSE_EXPORT_DIR=str(tmp_path / "exports"), CIVICPULSE_RATE_LIMITS="false")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with served(env, tmp_path / "a", workers=2) as a, served(env, tmp_path / "b", workers=2) as b:
        yield a, b


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_revoked_key_is_refused_on_the_next_request_in_every_process(two_servers, engine,
                                                                        api_keys):
    a, b = two_servers
    with engine.begin() as conn:
        doomed = keys.issue_key(conn, "planner", "about to be revoked")
    # Every worker of both servers has the key in memory (gunicorn spreads connections).
    for server in (a, b):
        for _ in range(8):
            got = httpx.get(f"{server.base}/planner/whoami", headers=_bearer(doomed.key))
            assert got.json()["role"] == "planner"
    gone = httpx.delete(f"{a.base}/api/v1/keys/{doomed.id}", headers=_bearer(api_keys["admin"]))
    assert gone.status_code == 204
    for server in (b, a):
        for _ in range(8):
            got = httpx.get(f"{server.base}/planner/whoami", headers=_bearer(doomed.key))
            assert got.status_code == 401, (server.base, got.text)
    again = httpx.delete(f"{a.base}/api/v1/keys/{doomed.id}", headers=_bearer(api_keys["admin"]))
    assert again.status_code == 404
    # The key that did it is still good, and the audit trail names it.
    log = httpx.get(f"{b.base}/api/v1/audit?action=key.revoked&target_id={doomed.id}",
                    headers=_bearer(api_keys["admin"])).json()
    assert [e["actor_key_id"] is not None for e in log["events"]] == [True]


def test_a_retired_service_is_refused_on_the_next_request_in_every_process(two_servers,
                                                                           engine, api_keys):
    a, b = two_servers
    report = {"service_code": "pothole", "lat": 41.5, "long": -71.3}
    for server in (a, b):
        for _ in range(4):
            made = httpx.post(f"{server.base}/api/v1/reports", json=report,
                              headers=_bearer(api_keys["app"]))
            assert made.status_code == 201, made.text
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE services SET active = false WHERE code = 'pothole'"))
        for server in (a, b):
            for _ in range(4):
                refused = httpx.post(f"{server.base}/api/v1/reports", json=report,
                                     headers=_bearer(api_keys["app"]))
                assert refused.status_code == 422, refused.text
                assert refused.json()["errors"][0]["field"] == "service_code"
    finally:
        with engine.begin() as conn:
            load_services(conn, SERVICES)
            conn.execute(text("UPDATE services SET active = true WHERE code = 'pothole'"))


def test_the_admin_api_creates_and_lists_keys_without_showing_them_again(client, api_keys):
    admin = _bearer(api_keys["admin"])
    made = client.post("/api/v1/keys", json={"role": "grant_writer", "name": "Grants office"},
                       headers=admin)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    body = made.get_json()
    assert body["key"].startswith(body["prefix"]) and body["role"] == "grant_writer"
    assert client.get("/planner/whoami", headers=_bearer(body["key"])).get_json()["role"] == (
        "grant_writer")
    listed = client.get("/api/v1/keys", headers=admin).get_json()["keys"]
    [row] = [k for k in listed if k["id"] == body["id"]]
    assert "key" not in row and row["revoked_at"] is None
    assert body["key"] not in client.get("/api/v1/keys", headers=admin).get_data(as_text=True)
    bad = client.post("/api/v1/keys", json={"role": "root"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "role"
