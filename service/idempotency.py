"""``Idempotency-Key`` on every POST of ``/api/v1`` (draft-ietf-httpapi-idempotency-key-header).

Use it under :func:`service.openapi.operation` (so bodies are validated first)::

    @bp.post("/things")
    @roles_required("app")
    @operation(summary="Create a thing", body=ThingIn, idempotent=True)
    @idempotent
    def create_thing(body: ThingIn) -> Response:
        with engine().begin() as conn:
            ...write...
            resp = make_response(jsonify(out), 201)
            save(conn, resp)  # stored in the same transaction as the thing
        return resp

Rules (the policy published in /openapi.json):

- The key is 1–255 printable ASCII characters, bare or as a quoted sf-string
  (``"8e03…"``); anything else is a 400 naming ``Idempotency-Key``. Without the
  header a request simply runs. Anonymous callers have no scope to keep their
  responses apart, so their key is checked but not used.
- Scope: API key id + method + path + key. Fingerprint: SHA-256 of content type
  and raw body.
- Same key and body after completion → the stored status and body, with
  ``Idempotent-Replayed: true`` and every ``"replayed"`` flag in the body set to
  true. Another body → 422. Still running (claimed in the last 60 s) → 409 with
  ``Retry-After``.
- Stored outcomes: JSON 2xx and 409 (a business conflict, which a retry must
  see again). Every other outcome — input errors (400/413/415/422), auth (401/403),
  404, and 5xx (whose transaction rolled back) — releases the key, so a corrected
  retry runs. Validation by ``operation`` happens before the key is even claimed.
- Records live ``max(24, Settings.idempotency_ttl_hours)`` hours; expired ones
  are pruned opportunistically (about 1 request in 100 deletes up to 500).
- A view that calls :func:`save` inside its transaction stores the outcome
  atomically with its work. Otherwise the outcome is stored right after; if the
  process dies in between, the claim is taken over after 60 s and the work must
  be safe to repeat (reports dedupe on ``client_id``).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, json, request
from sqlalchemy import Connection

from geo import idempotency as records
from service.auth import principal
from service.db import engine
from service.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("civicpulse.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
MIN_TTL_HOURS = 24
PRUNE_PROBABILITY = 0.01
_KEPT_HEADERS = ("Content-Type", "Location")
_JSON_TYPES = ("application/json", "application/problem+json", "application/geo+json")


@dataclass
class _Pending:
    """This request's claim, and whether the view already stored its outcome."""

    claim: records.Claim
    saved: bool = False


def _bad_key(why: str) -> Problem:
    """A 400 naming the header."""
    return Problem(400, f"{HEADER}: {why}", field=HEADER, kind="invalid-idempotency-key")


def parse_key(raw: str) -> str:
    """The key from a header value: a bare token or a quoted sf-string.

    >>> parse_key('"8e03978e-40d5"')
    '8e03978e-40d5'
    """
    value = raw.strip()
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise _bad_key("an unterminated quoted string")
        out, escaped = [], False
        for ch in value[1:-1]:
            if escaped:
                if ch not in '"\\':
                    raise _bad_key("only \\\" and \\\\ may be escaped")
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                raise _bad_key("a quote inside the string must be escaped")
            else:
                out.append(ch)
        if escaped:
            raise _bad_key("ends with a lone backslash")
        value = "".join(out)
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise _bad_key(f"must be 1 to {MAX_KEY_LENGTH} characters")
    if not all(" " <= ch <= "~" for ch in value):
        raise _bad_key("only printable ASCII characters are allowed")
    return value


def request_key() -> str | None:
    """This request's idempotency key, or None when it sent none."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise _bad_key("send the header once")
    return parse_key(values[0])


def _stored(resp: Response) -> dict[str, Any]:
    """What is kept of a response: its body text and the headers a replay needs."""
    headers = {k: resp.headers[k] for k in _KEPT_HEADERS if k in resp.headers}
    return {"headers": headers, "body": resp.get_data(as_text=True)}


def _mark_replayed(doc: Any) -> Any:
    """``doc`` with every boolean ``replayed`` flag set to true.

    The stored body says what the first request did ("replayed": false, it wrote the
    report); a replay wrote nothing, so the body must agree with the header. Nested
    flags (a batch's items) are set too.

    >>> _mark_replayed({"id": 1, "replayed": False, "items": [{"replayed": False}]})
    {'id': 1, 'replayed': True, 'items': [{'replayed': True}]}
    """
    if isinstance(doc, dict):
        return {k: True if k == "replayed" and isinstance(v, bool) else _mark_replayed(v)
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [_mark_replayed(item) for item in doc]
    return doc


def _replay_body(body: str) -> str:
    """The stored body text with its ``replayed`` flags set (unchanged if it has none)."""
    if '"replayed"' not in body:
        return body
    try:
        doc = json.loads(body)
    except ValueError:  # stored outcomes are JSON; keep anything else as it was
        return body
    return json.dumps(_mark_replayed(doc))


def _replay(found: records.Existing) -> Response:
    """The stored outcome again, marked as a replay in its header and its body."""
    stored = found.response or {}
    resp = Response(_replay_body(stored.get("body", "")), status=found.status_code or 200)
    for k, v in stored.get("headers", {}).items():
        resp.headers[k] = v
    resp.headers[REPLAYED_HEADER] = "true"
    return resp


def stores(status: int) -> bool:
    """Whether an outcome with ``status`` is kept for replay (see the module notes)."""
    return 200 <= status < 300 or status == 409


def _replayable(resp: Response) -> bool:
    """Kept outcomes are JSON documents; anything else (a stream, bytes) is not stored."""
    return stores(resp.status_code) and not resp.is_streamed and resp.mimetype in _JSON_TYPES


def save(conn: Connection, resp: Response) -> None:
    """Store ``resp`` as this request's outcome inside ``conn``'s transaction.

    A no-op when the request carries no key, or when ``resp`` is not an outcome
    that is kept. Call it just before the transaction commits.
    """
    pending: _Pending | None = g.get("idempotency")
    if pending is None or not _replayable(resp):
        return
    pending.saved = records.finish(conn, pending.claim, resp.status_code, _stored(resp))


def _ttl_hours() -> int:
    """How long a record lives."""
    # The draft asks for a published expiry; clients retry offline for hours,
    # so never keep records for less than a day whatever the setting says.
    return max(MIN_TTL_HOURS, current_app.config["SETTINGS"].idempotency_ttl_hours)


def _release(held: records.Claim) -> None:
    """Delete our claim, logging (not raising) a failure."""
    try:
        with engine().begin() as conn:
            records.release(conn, held)
    except Exception:  # never hide the view's own error behind this one
        log.exception("could not release idempotency key")


def _finish(held: records.Claim, resp: Response) -> None:
    """Store the outcome after the view's own transaction committed."""
    try:
        with engine().begin() as conn:
            records.finish(conn, held, resp.status_code, _stored(resp))
    except Exception:
        # The work is committed: answer it. The claim stays in flight, so a retry
        # gets 409 for 60 s and then runs again (safe: see the module notes).
        log.exception("could not store idempotent response")


def _prune() -> None:
    """Opportunistic housekeeping of expired records."""
    try:
        with engine().begin() as conn:
            records.prune_expired(conn, limit=500)
    except Exception:  # pruning is housekeeping; the response already exists
        log.exception("could not prune idempotency keys")


def _payload() -> bytes:
    """The bytes that identify this request's content.

    A multipart body carries a boundary that phone HTTP libraries regenerate on
    every retry, so for uploads the payload is the form fields and each file's
    SHA-256, not the raw bytes (reading those would also consume the stream the
    form parser needs).
    """
    if request.mimetype != "multipart/form-data":
        return request.get_data(cache=True)
    parts = [f"{k}={v}" for k, v in sorted(request.form.items(multi=True))]
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        digest = hashlib.file_digest(upload.stream, "sha256")  # type: ignore[arg-type]
        upload.stream.seek(0)
        parts.append(f"{name}:{upload.filename}:{digest.hexdigest()}")
    return "\n".join(parts).encode()


def idempotent(view: F) -> F:
    """Make a POST view replay its first outcome for a repeated ``Idempotency-Key``."""

    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        """Claim, run, store or release; or answer from the record."""
        key = request_key()
        who = principal()
        if key is None or who.scope is None:
            return view(*args, **kwargs)
        scope = records.scope_key(who.scope, request.method, request.path, key)
        fp = records.fingerprint(request.mimetype or "", _payload())
        with engine().begin() as conn:
            # A claim lost in a crash only means the retry runs again (and a report
            # dedupes on client_id), so it need not wait for its WAL flush.
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            outcome = records.claim(conn, scope, fp, ttl_hours=_ttl_hours())
        if isinstance(outcome, records.Existing):
            if outcome.fingerprint != fp:
                raise Problem(422, f"{HEADER}: already used with a different request body",
                              field=HEADER, kind="idempotency-key-reused")
            if outcome.state != "done":
                raise Problem(409, f"{HEADER}: a request with this key is still running",
                              field=HEADER, kind="idempotency-in-flight",
                              headers={"Retry-After": "1"})
            return _replay(outcome)
        pending = g.idempotency = _Pending(outcome)
        try:
            resp = current_app.make_response(view(*args, **kwargs))
        except Problem as exc:
            if not stores(exc.status):
                _release(outcome)
                raise
            # A business conflict is an outcome like any other: keep it. Anything the
            # view saved was rolled back with its transaction, so store it afresh.
            resp = current_app.make_response(current_app.handle_user_exception(exc))
            pending.saved = False
        except BaseException:
            _release(outcome)
            raise
        finally:
            g.pop("idempotency", None)
        if not pending.saved:
            if _replayable(resp):
                _finish(outcome, resp)
            else:
                _release(outcome)
        if random.random() < PRUNE_PROBABILITY:
            _prune()
        return resp

    return inner  # type: ignore[return-value]
