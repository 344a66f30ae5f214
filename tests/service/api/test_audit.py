"""The audit trail: every staff action writes one entry with who and when; only admins read it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo.access import audit
from geo.access.keys import create_key, issue_key
from geo.evidence import exports
from service.cli import main

from .reports_support import create, key_id

URL = "/api/v1/audit"


def _latest(engine, action: str, target_id) -> dict:
    with engine.connect() as conn:
        rows, _ = audit.list_events(conn, action=action, target_id=str(target_id), limit=5)
    assert rows, f"no {action} entry for {target_id}"
    return rows[0]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("planner", 403),
                                              ("grant_writer", 403), ("admin", 200)])
def test_only_admins_read_the_trail(client, api_keys, role, status):
    resp = client.get(URL, headers=api_keys.headers(role))
    assert resp.status_code == status, resp.get_json()
    if status != 200:
        assert resp.mimetype == "application/problem+json"


def test_status_change_merge_and_move_are_recorded(client, api_keys, engine):
    first = create(client, api_keys)
    second = create(client, api_keys)
    planner = api_keys.headers("planner")
    for body, target in (({"status": "closed", "status_notes": "filled"}, first),
                         ({"duplicate_of": first["id"]}, second),
                         ({"lat": 12.5, "long": 45.25}, first)):
        resp = client.patch(f"/api/v1/reports/{target['id']}", json=body, headers=planner)
        assert resp.status_code == 200, resp.get_json()

    planner_id = key_id(engine, api_keys, "planner")
    closed = _latest(engine, "report.status_changed", first["id"])
    assert closed["actor_key_id"] == planner_id and closed["actor"] == "test planner"
    assert (closed["details"]["status_from"], closed["details"]["status_to"]) == ("open", "closed")
    assert "filled" not in str(closed["details"])  # notes stay out of the trail
    merged = _latest(engine, "report.merged", second["id"])
    assert merged["details"]["duplicate_of"] == first["id"]
    moved = _latest(engine, "report.moved", first["id"])
    assert "12.5" not in str(moved["details"])  # nor points
    assert moved["at"] >= closed["at"]


def test_a_refused_change_leaves_no_entry(client, api_keys, engine):
    target = create(client, api_keys)
    resp = client.patch(f"/api/v1/reports/{target['id']}", json={"duplicate_of": target["id"]},
                        headers=api_keys.headers("admin"))
    assert resp.status_code == 422
    with engine.connect() as conn:
        _, total = audit.list_events(conn, target_type="report", target_id=str(target["id"]))
    assert total == 0


def test_runs_and_exports_requested_are_recorded(client, api_keys, engine):
    resp = client.post("/api/v1/hotspot-runs", json={"services": ["pothole"]},
                       headers=api_keys.headers("planner"))
    assert resp.status_code == 202, resp.get_json()
    run_id = resp.get_json()["id"]
    entry = _latest(engine, "hotspot_run.requested", run_id)
    assert entry["actor_key_id"] == key_id(engine, api_keys, "planner")
    assert entry["details"]["trigger"] == "api"
    assert entry["details"]["params"]["services"] == ["pothole"]

    grant_writer = key_id(engine, api_keys, "grant_writer")
    with engine.begin() as conn:  # what POST /api/v1/exports and `civicpulse export` call
        export_id = exports.create(conn, {"run_id": run_id, "services": ["pothole"]},
                                   requested_by=grant_writer, enqueue=False)
    entry = _latest(engine, "export.requested", export_id)
    assert (entry["actor_key_id"], entry["actor"]) == (grant_writer, "test grant_writer")
    assert entry["details"] == {"run_id": run_id, "services": ["pothole"]}


def test_keys_created_and_revoked_are_recorded_from_the_cli(engine, settings):
    env = {"CIVICPULSE_ENV": "test", "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "CIVICPULSE_SECRET_KEY": settings.secret_key}
    name = f"audited {uuid.uuid4().hex[:6]}"
    made = CliRunner().invoke(main, ["keys", "create", "--role", "grant_writer", "--name", name],
                              env=env)
    assert made.exit_code == 0, made.output
    with engine.connect() as conn:
        new_id = conn.execute(text("SELECT id FROM api_keys WHERE name = :n"),
                              {"n": name}).scalar_one()
    created = _latest(engine, "key.created", new_id)
    assert (created["actor"], created["actor_key_id"]) == ("cli", None)
    assert created["details"] == {"role": "grant_writer", "name": name}

    revoked = CliRunner().invoke(main, ["keys", "revoke", str(new_id)], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert _latest(engine, "key.revoked", new_id)["details"]["role"] == "grant_writer"
    again = CliRunner().invoke(main, ["keys", "revoke", str(new_id)], env=env)
    assert again.exit_code != 0 and "no active key" in again.output
    with engine.connect() as conn:
        _, total = audit.list_events(conn, action="key.revoked", target_id=str(new_id))
    assert total == 1


def test_filters_and_pages(client, api_keys, engine):
    # An admin of its own: the shared test admin creates keys in other tests too.
    with engine.begin() as conn:
        admin = issue_key(conn, "admin", "test admin")
        made = [create_key(conn, "app", f"page {i}", actor_key_id=admin.id) for i in range(3)]
    assert len(made) == 3
    admin_id = admin.id
    headers = {"Authorization": f"Bearer {admin.key}"}
    page1 = client.get(URL, query_string={"action": "key.created", "actor_key_id": admin_id,
                                          "page_size": 2}, headers=headers).get_json()
    assert page1["total"] == 3 and len(page1["events"]) == 2
    page2 = client.get(URL, query_string={"action": "key.created", "actor_key_id": admin_id,
                                          "page_size": 2, "page": 2}, headers=headers).get_json()
    ids = [e["id"] for e in page1["events"] + page2["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3  # newest first, no overlap
    assert all(e["actor"] == "test admin" for e in page1["events"])
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    later = client.get(URL, query_string={"since": future}, headers=headers).get_json()
    assert later["total"] == 0


@pytest.mark.parametrize("query", [{"action": "report.deleted"}, {"page_size": 0},
                                   {"since": "yesterday"}, {"colour": "red"}])
def test_bad_filters_are_400s_naming_the_field(client, api_keys, query):
    resp = client.get(URL, query_string=query, headers=api_keys.headers("admin"))
    assert resp.status_code in (400, 422), resp.get_json()
    assert next(iter(query)) in resp.get_json()["detail"]


def test_the_trail_is_in_the_api_document(client):
    doc = client.get("/openapi.json").get_json()
    op = doc["paths"]["/api/v1/audit"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"action", "actor_key_id", "since", "page"}


def test_every_audit_action_is_written_somewhere():
    """An action in the list that no code writes would be a promise nobody keeps."""
    from pathlib import Path

    import geo

    root = Path(geo.__file__).resolve().parent
    sources = "".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py")
                      if p.name != "audit.py")
    missing = [a for a in audit.ACTIONS if f'"{a}"' not in sources]
    assert missing == []
