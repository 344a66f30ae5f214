"""The audit trail: which staff action happened, who did it and when.

Every staff action writes one entry **in the transaction of the action itself**,
so an action without its entry (or an entry for an action rolled back) cannot
exist. Who: a person signed in to the staff pages (``actor_user_id`` and their
email at the time), the API key (``actor_key_id`` and its name at the time), or the
command line (both NULL, ``actor`` ``"cli"``). Entries are never updated; the
table is append-only by convention and read by admins (``GET /api/v1/audit``).

Actions (``ACTIONS``):

- ``report.status_changed``, ``report.notes_changed`` — staff answered a report
- ``report.merged`` — a report marked as a duplicate of another
- ``report.moved`` — staff set or corrected a report's point
- ``key.created``, ``key.revoked`` — API keys
- ``hotspot_run.requested`` — a hotspot analysis was queued (API or CLI)
- ``export.requested`` — an evidence pack was requested (API or CLI)
- ``user.created``, ``user.updated``, ``user.disabled``, ``user.enabled`` — staff accounts
- ``user.signed_in``, ``user.locked_out`` — sign-ins, and lock-outs after failed ones
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, text

ACTIONS = (
    "report.status_changed",
    "report.notes_changed",
    "report.merged",
    "report.moved",
    "key.created",
    "key.revoked",
    "hotspot_run.requested",
    "export.requested",
    "user.created",
    "user.updated",
    "user.disabled",
    "user.enabled",
    "user.signed_in",
    "user.locked_out",
)

#: ``actor`` of entries written from the command line (no API key involved).
CLI = "cli"


def record(
    conn: Connection,
    action: str,
    *,
    target_type: str,
    target_id: int | str,
    actor_key_id: int | None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
) -> int:
    """Append one entry in ``conn``'s transaction; returns its id.

    ``actor`` defaults to the person's email when one signed in (``actor_user_id``),
    else the key's name when a key acted, else ``"cli"``.

    >>> record(None, "action.unknown", target_type="x", target_id=1, actor_key_id=None)
    Traceback (most recent call last):
    ...
    ValueError: unknown audit action 'action.unknown'
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return int(conn.execute(
        text(
            "INSERT INTO audit_events (action, target_type, target_id, actor_key_id, "
            "actor_user_id, actor, details) VALUES (:action, :tt, :tid, :key, :user, "
            "coalesce(:actor, (SELECT email FROM users WHERE id = :user), "
            "         (SELECT coalesce(nullif(name, ''), 'key ' || id) FROM api_keys "
            "          WHERE id = :key), :cli), CAST(:details AS jsonb)) RETURNING id"
        ),
        {"action": action, "tt": target_type, "tid": str(target_id), "key": actor_key_id,
         "user": actor_user_id, "actor": actor, "cli": CLI,
         "details": json.dumps(details or {}, default=str)},
    ).scalar_one())


def list_events(
    conn: Connection,
    *,
    action: str | None = None,
    actor_key_id: int | None = None,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Entries matching every given filter, newest first, and how many match.

    ``since`` is inclusive, ``until`` exclusive.
    """
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for column, value in (("action", action), ("actor_key_id", actor_key_id),
                          ("actor_user_id", actor_user_id),
                          ("target_type", target_type), ("target_id", target_id)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if since is not None:
        where.append("at >= :since")
        params["since"] = since
    if until is not None:
        where.append("at < :until")
        params["until"] = until
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = conn.execute(
        text(f"SELECT id, at, action, target_type, target_id, actor_key_id, actor_user_id, "
             f"actor, details "
             f"FROM audit_events {clause} ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        params,
    )
    total = conn.execute(text(f"SELECT count(*) FROM audit_events {clause}"), params).scalar_one()
    return [dict(r._mapping) for r in rows], int(total)
