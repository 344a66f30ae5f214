"""POST /api/v1/reports/batch: order, per-item errors, client_id dedupe, size limit."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import text

from .reports_support import assert_problem, counts, key_id, report, settle_outbox

URL = "/api/v1/reports/batch"


def _post(client, api_keys, items, role="app"):
    """Send ``items`` as one batch."""
    return client.post(URL, json={"reports": items}, headers=api_keys.headers(role))


def test_results_keep_order_and_bad_items_do_not_block_good_ones(client, api_keys, engine):
    """Each result sits at its item's index with its client_id and report or error."""
    items = [
        report(),
        report(service="nope"),
        report("flooding", attributes={}),
        report(client_id=...),
        "not an object",
        report(lat=91),
        report("lead_paint", photos=[str(uuid.uuid4())]),
        report(lat=..., long=..., address_string="3 Quay St"),
    ]
    settle_outbox(engine)
    before = counts(engine)
    resp = _post(client, api_keys, items)
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert len(results) == len(items)
    expected = [None, "service_code", "attributes.depth_cm", "client_id", "item", "lat",
                "photos", None]
    for item, result, field in zip(items, results, expected, strict=True):
        sent = item.get("client_id") if isinstance(item, dict) else None
        assert result["client_id"] == sent
        if field is None:
            assert result["report"]["client_id"] == sent and "error" not in result
            assert set(result["report"]) >= {"id", "service_request_id", "status", "token"}
        else:
            assert result["error"]["field"] == field and result["error"]["status"] == 422
            assert result["error"]["message"] and "report" not in result
    assert results[7]["report"]["needs_location"] is True
    after = counts(engine)
    assert after["reports"] == before["reports"] + 2
    assert after["report_events"] == before["report_events"] + 2
    # One transaction, one "reports changed" signal for the whole batch.
    assert after["outbox"] == before["outbox"] + 1


def test_retried_batch_replays_by_client_id(client, api_keys, engine):
    """Sending the same batch again writes nothing and answers the same reports."""
    items = [report(), report("flooding"), report("lead_paint")]
    first = _post(client, api_keys, items).get_json()["results"]
    before = counts(engine)
    again = _post(client, api_keys, items + [report()]).get_json()["results"]
    assert [r["report"]["id"] for r in again[:3]] == [r["report"]["id"] for r in first]
    assert [r["report"]["token"] for r in again[:3]] == [r["report"]["token"] for r in first]
    assert all(r["report"]["replayed"] for r in again[:3]) and not again[3]["report"]["replayed"]
    assert counts(engine)["reports"] == before["reports"] + 1


def test_duplicates_within_a_batch_share_one_report(client, api_keys, engine):
    """A client_id twice in one batch is one report, both results the same."""
    item = report()
    twin = dict(item, description="sent twice by a flaky sync")
    before = counts(engine)["reports"]
    results = _post(client, api_keys, [item, report(), twin]).get_json()["results"]
    assert results[0] == results[2]
    assert results[0]["report"]["id"] != results[1]["report"]["id"]
    assert counts(engine)["reports"] == before + 2


def test_a_bad_first_copy_does_not_hide_a_good_second(client, api_keys):
    """Dedupe is among valid items: a corrected copy later in the batch is written."""
    good = report()
    bad = dict(good, lat=95)
    results = _post(client, api_keys, [bad, good]).get_json()["results"]
    assert results[0]["error"]["field"] == "lat"
    assert results[1]["report"]["client_id"] == good["client_id"]


def test_client_ids_are_per_app_key(client, api_keys):
    """Two apps may pick the same UUID; each gets its own report."""
    item = report()
    mine = _post(client, api_keys, [item]).get_json()["results"][0]["report"]
    theirs = _post(client, api_keys, [item], role="app2").get_json()["results"][0]["report"]
    assert mine["id"] != theirs["id"] and not theirs["replayed"]


def test_a_photo_used_twice_is_that_items_error(client, api_keys, engine):
    """One photo cannot illustrate two reports; the second item says so, the first is kept."""
    photo = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO photos (id, content_type, width, height, bytes, sha256, app_key_id) "
                 "VALUES (:id, 'image/jpeg', 1, 1, 1, repeat('0', 64), :key)"),
            {"id": photo, "key": key_id(engine, api_keys, "app")},
        )
    items = [report(photos=[str(photo)]), report(photos=[str(photo)])]
    results = _post(client, api_keys, items).get_json()["results"]
    assert "report" in results[0]
    assert results[1]["error"]["field"] == "photos"
    with engine.connect() as conn:
        linked = conn.execute(
            text("SELECT report_id FROM photos WHERE id = :id"), {"id": photo}
        ).scalar_one()
    assert linked == results[0]["report"]["id"]
    # Retrying the first item is a replay, not a complaint that the photo is taken.
    again = _post(client, api_keys, items[:1]).get_json()["results"][0]
    assert again["report"]["id"] == linked and again["report"]["replayed"]


def test_batch_over_the_limit_is_413_naming_reports(app, client, api_keys, engine, monkeypatch):
    """More than Settings.max_batch items is refused whole, before anything is written."""
    monkeypatch.setitem(app.config, "SETTINGS",
                        dataclasses.replace(app.config["SETTINGS"], max_batch=3))
    before = counts(engine)
    resp = _post(client, api_keys, [report() for _ in range(4)])
    assert_problem(resp, 413, "reports")
    assert counts(engine) == before
    assert _post(client, api_keys, [report() for _ in range(3)]).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"reports": []}, "reports"), ({"reports": {"a": 1}}, "reports"), ({}, "reports"),
     ({"reports": [report()], "extra": 1}, "extra")],
)
def test_malformed_batch_is_422_naming_the_field(client, api_keys, engine, body, field):
    """The envelope itself must be {"reports": [ … ]} with at least one item."""
    before = counts(engine)
    resp = client.post(URL, json=body, headers=api_keys.headers("app"))
    assert_problem(resp, 422, field)
    assert counts(engine) == before


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("grant_writer", 403), ("app", 200),
                                              ("planner", 200), ("admin", 200)])
def test_who_may_send_a_batch(client, api_keys, role, status):
    """Same roles as a single report."""
    assert _post(client, api_keys, [report()], role=role).status_code == status


def test_large_batch_is_one_statement_worth_of_rows(client, api_keys, engine):
    """500 items land together (the set-based path), each with its own token."""
    items = [report() for _ in range(500)]
    settle_outbox(engine)
    before = counts(engine)
    results = _post(client, api_keys, items).get_json()["results"]
    assert len({r["report"]["id"] for r in results}) == 500
    assert len({r["report"]["token"] for r in results}) == 500
    after = counts(engine)
    assert after["reports"] - before["reports"] == 500
    assert after["outbox"] - before["outbox"] == 1
