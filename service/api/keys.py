"""API keys on the native API: admins list, create and revoke them.

A key is shown once, in the answer that creates it; only its SHA-256 is stored, so
creation is deliberately not idempotent (a replay would have to store the key).
A revocation takes effect on the next request in every web process
(``service.caches``). Both are in the audit trail with the admin's key.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Response, jsonify, make_response, url_for
from pydantic import BaseModel, ConfigDict, Field

from geo.access import keys
from geo.schema import ROLES
from service.api import bp
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.openapi import operation

ADMIN = ("admin",)
TAGS = ("keys",)


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")
    role: Literal[ROLES]  # type: ignore[valid-type]
    name: str = Field("", max_length=200, description="Who holds it, e.g. 'iOS app'")


class KeyOut(BaseModel):
    """A key as listed: never the key itself."""

    id: int
    name: str
    role: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeyCreated(KeyOut):
    """The new key, shown this once."""

    key: str = Field(description="Send as 'Authorization: Bearer <key>'; not shown again")


class KeyList(BaseModel):
    """Every key, newest first."""

    keys: list[KeyOut]


def _out(row: dict) -> dict:
    return KeyOut.model_validate(row).model_dump(mode="json")


@bp.get("/keys")
@roles_required(*ADMIN)
@operation(summary="Every API key (not the keys themselves), newest first",
           responses={200: KeyList}, roles=ADMIN, tags=TAGS)
def list_keys() -> Response:
    """Ids, names, roles, prefixes, and when each was created or revoked."""
    with engine().connect() as conn:
        return jsonify(keys=[_out(r) for r in keys.list_keys(conn)])


@bp.post("/keys")
@roles_required(*ADMIN)
@operation(summary="Create an API key; the answer is the only time it is shown",
           body=KeyIn, responses={201: KeyCreated}, roles=ADMIN, tags=TAGS)
def create_key(body: KeyIn) -> Response:
    """Store its digest, record who made it; 201 with the key."""
    with engine().begin() as conn:
        who = principal()
        issued = keys.issue_key(conn, body.role, body.name, actor_key_id=who.key_id,
                                actor_user_id=who.user_id)
        row = next(r for r in keys.list_keys(conn) if r["id"] == issued.id)
    resp = make_response(jsonify({**_out(row), "key": issued.key}), 201)
    resp.headers["Location"] = url_for("api.list_keys")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.delete("/keys/<int:key_id>")
@roles_required(*ADMIN)
@operation(summary="Revoke an API key: refused from the next request on, in every process",
           responses={204: "Revoked", 404: "No such key, or revoked already"},
           roles=ADMIN, tags=TAGS)
def revoke_key(key_id: int) -> Response:
    """Revoke it and record who did."""
    with engine().begin() as conn:
        who = principal()
        if not keys.revoke_key(conn, key_id, actor_key_id=who.key_id, actor_user_id=who.user_id):
            raise Problem(404, f"key {key_id}: no such key, or revoked already",
                          kind="not-found")
    return Response(status=204)
