"""Idempotency-Key on the native API: replay, reuse, in-flight, scope, expiry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geo import idempotency as records
from service.errors import Problem
from service.idempotency import parse_key

from .reports_support import assert_problem, counts, create, key_id, report

URL = "/api/v1/reports"


def _send(client, api_keys, body, key, role="app", url=URL):
    """POST ``body`` as exact bytes with ``Idempotency-Key: key``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=raw, content_type="application/json",
                       headers=api_keys.headers(role, **{"Idempotency-Key": key}))


def _record(engine, scope):
    """The stored record for ``scope``, or None."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM idempotency_keys WHERE scope_key = :s"), {"s": scope}
        ).first()


def test_same_key_and_body_replays_the_first_response(client, api_keys, engine):
    """The retry gets the same status, body and Location, marked as a replay; one report."""
    body = report(client_id=...)  # no client_id: only the key prevents a second report
    first = _send(client, api_keys, body, "k-replay-1")
    before = counts(engine)
    again = _send(client, api_keys, body, '"k-replay-1"')  # the sf-string form is the same key
    assert first.status_code == again.status_code == 201
    # The same report, and the body agrees with the header that nothing was written.
    assert first.get_json()["replayed"] is False
    assert again.get_json() == {**first.get_json(), "replayed": True}
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert counts(engine) == before
    scope = records.scope_key(str(key_id(engine, api_keys, "app")), "POST", URL, "k-replay-1")
    stored = _record(engine, scope)
    assert stored.state == "done" and stored.status_code == 201
    hours = (stored.expires_at - stored.created_at).total_seconds() / 3600
    assert hours >= 24


def test_same_key_with_another_body_is_422(client, api_keys, engine):
    """Reusing a key for a different request is the client's mistake."""
    assert _send(client, api_keys, report(), "k-reuse").status_code == 201
    before = counts(engine)
    assert_problem(_send(client, api_keys, report(), "k-reuse"), 422, "Idempotency-Key")
    assert counts(engine) == before


def test_a_request_still_running_is_409(client, api_keys, engine):
    """A claim taken less than 60 s ago means the first attempt is still running."""
    raw = json.dumps(report()).encode()
    scope = records.scope_key(str(key_id(engine, api_keys, "app")), "POST", URL, "k-busy")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (scope_key, fingerprint, expires_at) "
                 "VALUES (:s, :fp, now() + interval '1 day')"),
            {"s": scope, "fp": records.fingerprint("application/json", raw)},
        )
    before = counts(engine)
    resp = _send(client, api_keys, raw, "k-busy")
    assert_problem(resp, 409, "Idempotency-Key")
    assert resp.headers["Retry-After"]
    assert counts(engine) == before


def test_an_abandoned_claim_is_taken_over(client, api_keys, engine):
    """A claim older than 60 s belongs to a request that died: the retry runs."""
    raw = json.dumps(report()).encode()
    scope = records.scope_key(str(key_id(engine, api_keys, "app")), "POST", URL, "k-stale")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (scope_key, fingerprint, locked_at, expires_at) "
                 "VALUES (:s, :fp, now() - interval '2 minutes', now() + interval '1 day')"),
            {"s": scope, "fp": records.fingerprint("application/json", raw)},
        )
    assert _send(client, api_keys, raw, "k-stale").status_code == 201
    assert _record(engine, scope).state == "done"


def test_an_expired_record_is_forgotten(client, api_keys, engine):
    """After the TTL the key is free again, even for another body."""
    scope = records.scope_key(str(key_id(engine, api_keys, "app")), "POST", URL, "k-old")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (scope_key, fingerprint, state, status_code, "
                 "response, expires_at) VALUES (:s, 'x', 'done', 201, '{}', "
                 "now() - interval '1 hour')"),
            {"s": scope},
        )
    assert _send(client, api_keys, report(), "k-old").status_code == 201


def test_keys_are_scoped_per_api_key(client, api_keys):
    """Two apps using the same key string never see each other's responses."""
    body = report(client_id=...)
    mine = _send(client, api_keys, body, "k-shared")
    theirs = _send(client, api_keys, body, "k-shared", role="app2")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize(
    ("bad_body", "key"),
    [
        # refused by intake, after the key was claimed
        (report(service_code="no-such-service"), "k-fix-intake"),
        # refused by the schema, before the key is claimed
        ({"service_code": "pothole", "lat": 95, "long": 0}, "k-fix-schema"),
    ],
)
def test_validation_outcomes_are_not_cached(client, api_keys, engine, bad_body, key):
    """A 422 for bad input releases the key so the corrected retry runs."""
    before = counts(engine)
    assert _send(client, api_keys, bad_body, key).status_code == 422
    assert counts(engine) == before
    fixed = _send(client, api_keys, report(), key)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


def test_auth_failures_are_not_cached(client, api_keys, engine):
    """A 403 for the wrong role leaves no record behind."""
    before = counts(engine)
    assert _send(client, api_keys, report(), "k-auth", role="grant_writer").status_code == 403
    assert counts(engine) == before


def test_a_confirmation_retry_is_replayed_not_counted(client, api_keys, engine):
    """A confirmation retried with its Idempotency-Key gets the first answer back."""
    out = create(client, api_keys, device_id="phone-own")
    url = f"/api/v1/reports/{out['id']}/confirmations"
    first = _send(client, api_keys, {"device_id": "phone-own"}, "k-conf", url=url)
    before = counts(engine)
    again = _send(client, api_keys, {"device_id": "phone-own"}, "k-conf", url=url)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data() and counts(engine) == before


def test_batch_replay_is_the_first_answer_marked_replayed(client, api_keys, engine):
    """The batch endpoint uses the same machinery; header and body agree for every item."""
    body = {"reports": [report(), report(service="nope"), report("flooding")]}
    first = _send(client, api_keys, body, "k-batch", url="/api/v1/reports/batch")
    again = _send(client, api_keys, body, "k-batch", url="/api/v1/reports/batch")
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    firsts, agains = first.get_json()["results"], again.get_json()["results"]
    assert [r.get("report", {}).get("replayed") for r in firsts] == [False, None, False]
    assert [r.get("report", {}).get("replayed") for r in agains] == [True, None, True]
    for one, other in zip(firsts, agains, strict=True):  # otherwise the same answer
        if "report" in one:
            one["report"]["replayed"] = other["report"]["replayed"]
        assert one == other


@pytest.mark.parametrize("header", ["", '"unterminated', "x" * 256, '"a"b"', '"a\\b"', "é-key"])
def test_malformed_key_is_400(client, api_keys, engine, header):
    """Empty, overlong, non-ASCII or broken sf-strings are refused before anything runs."""
    before = counts(engine)
    assert_problem(_send(client, api_keys, report(), header), 400, "Idempotency-Key")
    assert counts(engine) == before


@pytest.mark.parametrize(
    ("raw", "key"),
    [("abc", "abc"), ('"abc"', "abc"), ('"a\\"b\\\\c"', 'a"b\\c'), (" padded ", "padded"),
     ("x" * 255, "x" * 255)],
)
def test_parse_key_accepts_tokens_and_sf_strings(raw, key):
    """Bare keys and quoted sf-strings (with their two escapes) both work."""
    assert parse_key(raw) == key


def test_parse_key_rejects_an_empty_quoted_string():
    """A key must have at least one character, quoted or not."""
    with pytest.raises(Problem):
        parse_key('""')


def test_prune_expired_deletes_only_expired_records(engine):
    """Housekeeping removes what is past its TTL and nothing else."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (scope_key, fingerprint, expires_at) VALUES "
                 "('prune|old', 'x', now() - interval '1 second'), "
                 "('prune|new', 'x', now() + interval '1 day')")
        )
        records.prune_expired(conn)
        left = conn.execute(
            text("SELECT scope_key FROM idempotency_keys WHERE scope_key LIKE 'prune|%'")
        ).scalars().all()
    assert left == ["prune|new"]


def test_scope_key_stays_within_the_column_for_long_paths():
    """A very long path is digested rather than overflowing the primary key."""
    scope = records.scope_key("1", "POST", "/api/v1/" + "x" * 500, "k" * 255)
    assert len(scope) <= 400 and scope.startswith("1|POST|sha256:")

