"""The audit trail on the native API: admins read staff actions, filtered and paged."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from geo.access import audit
from service.api import bp
from service.auth import roles_required
from service.db import engine
from service.openapi import operation

ADMIN = ("admin",)


class AuditQuery(BaseModel):
    """Filters (all optional, combined with AND) and the page."""

    model_config = ConfigDict(extra="forbid")
    action: Literal[audit.ACTIONS] | None = Field(  # type: ignore[valid-type]
        None, description="One action, e.g. report.merged")
    actor_key_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                     description="Entries of one API key")
    actor_user_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                      description="Entries of one signed-in person")
    target_type: Literal["report", "api_key", "hotspot_run", "evidence_export",
                         "user"] | None = None
    target_id: str | None = Field(None, min_length=1, max_length=64,
                                  description="With target_type: one object's history")
    since: dt.datetime | None = Field(None, description="From this time (inclusive)")
    until: dt.datetime | None = Field(None, description="Before this time")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=250)


class AuditEventOut(BaseModel):
    """One staff action."""

    id: int
    at: str = Field(description="When (ISO 8601, UTC)")
    action: str
    target_type: str
    target_id: str
    actor_key_id: int | None = Field(description="The API key that acted; null for a person "
                                     "signed in and for the CLI")
    actor_user_id: int | None = Field(description="The person who acted, signed in to the "
                                      "staff pages; null for keys and the CLI")
    actor: str = Field(description="The person's email or the key's name at the time, or cli")
    details: dict[str, Any]


class AuditPage(BaseModel):
    """A page of entries, newest first."""

    events: list[AuditEventOut]
    total: int
    page: int
    page_size: int


@bp.get("/audit")
@roles_required(*ADMIN)
@operation(summary="Staff actions (status changes, merges, keys, runs, exports), newest first",
           query=AuditQuery, responses={200: AuditPage}, roles=ADMIN, tags=("audit",))
def list_audit_events(query: AuditQuery) -> Response:
    """Who did what and when; admins only."""
    with engine().connect() as conn:
        rows, total = audit.list_events(
            conn, action=query.action, actor_key_id=query.actor_key_id,
            actor_user_id=query.actor_user_id,
            target_type=query.target_type, target_id=query.target_id,
            since=query.since, until=query.until,
            limit=query.page_size, offset=(query.page - 1) * query.page_size,
        )
    events = [{**row, "at": row["at"].astimezone(dt.UTC).isoformat()} for row in rows]
    return jsonify(events=events, total=total, page=query.page, page_size=query.page_size)
