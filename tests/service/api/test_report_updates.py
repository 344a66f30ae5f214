"""PATCH /api/v1/reports/{id} and the staff list: status, duplicates, placing, history."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.h3cells import cell_of

from .reports_support import assert_problem, counts, create, key_id, settle_outbox, spot


def _patch(client, api_keys, report_id, body, role="planner"):
    """PATCH a report as ``role``."""
    return client.patch(f"/api/v1/reports/{report_id}", json=body, headers=api_keys.headers(role))


def _row(engine, report_id):
    """The stored report row."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT status, status_notes, duplicate_of, updated_at, geom IS NULL AS no_point, "
                 "h3_cell FROM reports WHERE id = :id"),
            {"id": report_id},
        ).one()


def test_status_change_is_stored_with_its_history(client, api_keys, engine):
    """A planner's change bumps updated_at, appends an event and signals the analysis."""
    out = create(client, api_keys)
    settle_outbox(engine)
    before_row, before = _row(engine, out["id"]), counts(engine)
    resp = _patch(client, api_keys, out["id"], {"status": "in_progress", "status_notes": "Crew"})
    assert resp.status_code == 200
    seen = resp.get_json()
    assert (seen["status"], seen["status_notes"]) == ("in_progress", "Crew")
    after_row = _row(engine, out["id"])
    assert after_row.updated_at > before_row.updated_at
    history = seen["history"]
    assert [e["kind"] for e in history] == ["submitted", "status_changed"]
    assert history[-1]["status"] == "in_progress" and history[-1]["notes"] == "Crew"
    assert history[-1]["actor_key_id"] == key_id(engine, api_keys, "planner")
    after = counts(engine)
    assert after["report_events"] == before["report_events"] + 1
    assert after["outbox"] == before["outbox"] + 1
    # The reporter sees the new status and notes through the token.
    mine = client.get(f"/api/v1/reports/{out['id']}?token={out['token']}").get_json()
    assert (mine["status"], mine["status_notes"]) == ("in_progress", "Crew")
    assert mine["history"][-1]["kind"] == "status_changed"


def test_notes_alone_keep_the_status(client, api_keys, engine):
    """Sending only notes records them without pretending the status changed."""
    out = create(client, api_keys)
    before = counts(engine)["outbox"]
    seen = _patch(client, api_keys, out["id"], {"status_notes": "Inspected"}).get_json()
    assert seen["status"] == "open" and seen["status_notes"] == "Inspected"
    assert seen["history"][-1]["kind"] == "notes_changed"
    assert counts(engine)["outbox"] == before  # nothing the analysis counts changed


def test_marking_a_duplicate(client, api_keys, engine):
    """duplicate_of links to the original, sets 'duplicate', and a later status unlinks."""
    original, copy = create(client, api_keys), create(client, api_keys)
    seen = _patch(client, api_keys, copy["id"], {"duplicate_of": original["id"]}).get_json()
    assert seen["status"] == "duplicate" and seen["duplicate_of"] == original["id"]
    assert seen["history"][-1]["kind"] == "marked_duplicate"
    shown = client.get(f"/api/v1/reports/{copy['id']}", headers=api_keys.headers("admin"))
    assert shown.get_json()["duplicate_of"] == original["id"]
    # A duplicate cannot be the target of another link (no chains, no cycles).
    resp = _patch(client, api_keys, original["id"], {"duplicate_of": copy["id"]})
    assert_problem(resp, 422, "duplicate_of")
    reopened = _patch(client, api_keys, copy["id"], {"status": "open"}).get_json()
    assert reopened["duplicate_of"] is None and reopened["status"] == "open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "fixed"}, "status"),
        ({"status": None, "colour": "red"}, "colour"),
        ({}, "body"),
        ({"duplicate_of": "self"}, "duplicate_of"),
        ({"duplicate_of": 999_999_999}, "duplicate_of"),
        ({"duplicate_of": 0}, "duplicate_of"),
        ({"status": "duplicate"}, "duplicate_of"),
        ({"status": "closed", "duplicate_of": "other"}, "status"),
        ({"lat": 10.0}, "long"),
        ({"lat": 91.0, "long": 0.0}, "lat"),
        ({"status_notes": "x" * 4001}, "status_notes"),
        ({"status_notes": "crew\x00sent"}, "status_notes"),
    ],
)
def test_bad_change_is_422_naming_the_field_and_changes_nothing(
    client, api_keys, engine, body, field
):
    """Every refused change leaves the report, its history and the outbox untouched."""
    out, other = create(client, api_keys), create(client, api_keys)
    body = {k: out["id"] if v == "self" else other["id"] if v == "other" else v
            for k, v in body.items()}
    before, before_row = counts(engine), _row(engine, out["id"])
    assert_problem(_patch(client, api_keys, out["id"], body), 422, field)
    assert counts(engine) == before and _row(engine, out["id"]) == before_row


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("grant_writer", 403),
                                              ("planner", 200), ("admin", 200)])
def test_who_may_change_a_report(client, api_keys, role, status):
    """Only staff change reports."""
    out = create(client, api_keys)
    resp = _patch(client, api_keys, out["id"], {"status": "closed"}, role=role)
    assert resp.status_code == status


@pytest.mark.parametrize("report_id", ["999999999999", "abc", "0x1", "99999999999999999999"])
def test_patching_an_unknown_report_is_404(client, api_keys, report_id):
    """No such report, whatever shape the id has."""
    resp = _patch(client, api_keys, report_id, {"status": "closed"})
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_staff_place_an_address_only_report(client, api_keys, engine):
    """The needs_location list finds it; a PATCH with lat/long sets its point and cell."""
    out = create(client, api_keys, lat=..., long=..., address_string="7 Dock Rd")
    listed = client.get("/api/v1/reports?needs_location=true&page_size=250",
                        headers=api_keys.headers("planner")).get_json()
    assert out["id"] in {r["id"] for r in listed["reports"]}
    assert all(r["lat"] is None for r in listed["reports"])
    lat, lng = spot()
    seen = _patch(client, api_keys, out["id"], {"lat": lat, "long": lng}).get_json()
    assert (seen["lat"], seen["long"], seen["needs_location"]) == (lat, lng, False)
    assert seen["history"][-1]["kind"] == "located"
    assert _row(engine, out["id"]).h3_cell == cell_of(lat, lng)
    listed = client.get("/api/v1/reports?needs_location=true&page_size=250",
                        headers=api_keys.headers("admin")).get_json()
    assert out["id"] not in {r["id"] for r in listed["reports"]}


def test_list_pages_do_not_overlap(client, api_keys):
    """Pages are stable (oldest first) and say whether more follow."""
    for _ in range(3):
        create(client, api_keys, service="flooding")
    h = api_keys.headers("planner")
    one = client.get("/api/v1/reports?service_code=flooding&page_size=2", headers=h).get_json()
    two = client.get("/api/v1/reports?service_code=flooding&page_size=2&page=2",
                     headers=h).get_json()
    assert one["has_more"] is True and len(one["reports"]) == 2
    assert not {r["id"] for r in one["reports"]} & {r["id"] for r in two["reports"]}
    assert [r["id"] for r in one["reports"]] == sorted(r["id"] for r in one["reports"])


@pytest.mark.parametrize(
    ("query", "field"),
    [("page_size=0", "page_size"), ("page_size=251", "page_size"), ("page=0", "page"),
     ("page=x", "page"), ("status=fixed", "status"), ("needs_location=maybe", "needs_location"),
     ("colour=red", "colour"), ("service_code=%00", "service_code"),
     ("service_code=pot%00hole", "service_code")],
)
def test_list_bad_query_is_400(client, api_keys, query, field):
    """Paging outside 1–250 and unknown filters are refused naming the parameter."""
    resp = client.get(f"/api/v1/reports?{query}", headers=api_keys.headers("planner"))
    assert_problem(resp, 400, field)


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("grant_writer", 403),
                                              ("planner", 200), ("admin", 200)])
def test_who_may_list_reports(client, api_keys, role, status):
    """The list shows exact points and addresses: staff only."""
    resp = client.get("/api/v1/reports?needs_location=true", headers=api_keys.headers(role))
    assert resp.status_code == status
