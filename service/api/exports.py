"""Evidence exports on the native API: request a pack, follow it, download it.

Who may do what: ``grant_writer``, ``planner`` and ``admin`` request exports and
read any export's status. Exports are city-internal working documents, not
personal ones, so a colleague may pick up a pack someone else requested; the
pack itself holds no personal data (see ``geo.evidence``).

The download is a zip of the whole pack (``evidence.pdf``, ``figures/``,
``data/``) behind a signed link that needs no API key, so it can be pasted into a
browser or an e-mail to a colleague: HMAC-SHA256 over the id and the expiry with
the server's secret key, valid 24 hours. Every status read mints a fresh link.
An expired or altered link is a 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from flask import Response, current_app, jsonify, make_response, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from geo.errors import FieldError
from geo.evidence import exports, links
from geo.evidence.params import resolve
from geo.settings import Settings
from service.api import bp
from service.api.job_status import JobStatus
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.idempotency import idempotent, save
from service.openapi import Body, operation
from service.origin import external_url

ROLES = ("grant_writer", "planner")
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
Dollars = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]


class ExportIn(BaseModel):
    """What an evidence pack covers; the run's services and period when left out."""

    model_config = ConfigDict(extra="forbid")
    area: dict[str, Any] = Field(
        description='{"boundary_id": N}, or a GeoJSON Polygon/MultiPolygon (or a Feature '
        "holding one) in WGS84, at most 10,000 vertices"
    )
    services: list[str] | None = Field(None, description="Service codes analysed by the run")
    since: str | None = Field(None, pattern=ISO_DATE, description="First day (ISO date)")
    until: str | None = Field(None, pattern=ISO_DATE, description="Day after the last (ISO date)")
    run: StrictInt | Literal["latest"] = Field("latest", description='Hotspot run id or "latest"')
    budget: Dollars | None = Field(None, description="Dollars available, for the greedy choice")
    unit_costs: dict[str, Dollars] | None = Field(
        None, description="Dollars per problem by service code; defaults from the server"
    )
    formats: list[Literal["pdf", "csv", "geojson", "gpkg"]] | None = Field(
        None, min_length=1, description="Which files to produce; all by default"
    )


class ExportOut(JobStatus):
    """An evidence export's status resource."""

    params: dict[str, Any]
    files: list[dict[str, Any]]
    download_url: str | None = Field(None, description="Signed link, valid 24 h, no key needed")
    download_expires_at: dt.datetime | None = None


class ExportListQuery(BaseModel):
    """Paging of the export list."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class ExportList(BaseModel):
    """Evidence exports, newest first (each with a fresh download link when done)."""

    exports: list[ExportOut]
    total: int
    page: int
    page_size: int


class DownloadQuery(BaseModel):
    """The signed link's parameters."""

    model_config = ConfigDict(extra="forbid")
    expires: str | None = Field(None, description="Unix time the link stops working")
    signature: str | None = Field(None, description="HMAC-SHA256 of id and expiry, hex")


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"], "status": row["status"], "progress": row["progress"],
        **{k: row[k].isoformat() if row[k] else None
           for k in ("created_at", "started_at", "finished_at")},
        "params": _public_params(row["params"]), "files": row["files"] or [],
    }
    if row["error"]:
        out["error"] = row["error"]
    if row["status"] == "succeeded":
        expires, sig = links.sign(_settings().secret_key, row["id"])
        path = url_for("api.download_export", export_id=row["id"], expires=expires, signature=sig)
        out["download_url"] = external_url(path)
        out["download_expires_at"] = dt.datetime.fromtimestamp(expires, dt.UTC).isoformat()
    return out


def _public_params(params: dict[str, Any]) -> dict[str, Any]:
    """The stored parameters, with a drawn area summarised (it can be 10,000 vertices)."""
    area = params.get("area") or {}
    if "geometry" in area:
        return {**params, "area": {"name": area.get("name"), "type": area["geometry"]["type"]}}
    return params


def _export_or_404(export_id: int) -> dict[str, Any]:
    with engine().connect() as conn:
        row = exports.get(conn, export_id)
    if row is None:
        raise Problem(404, f"evidence export {export_id} does not exist", kind="not-found")
    return row


@bp.post("/exports")
@roles_required(*ROLES)
@operation(summary="Request an evidence pack", body=ExportIn, roles=(*ROLES, "admin"),
           responses={202: ExportOut}, idempotent=True, tags=("exports",))
@idempotent
def create_export(body: ExportIn) -> Response:
    """Check and resolve the request, record it with its job; 202 with the status URL."""
    with engine().begin() as conn:
        try:
            params = resolve(conn, body.model_dump(exclude_none=True),
                             default_unit_costs=_settings().unit_costs)
        except FieldError as exc:
            kind = "run-not-ready" if exc.status == 409 else "validation"
            raise Problem(exc.status, str(exc), field=exc.field, kind=kind) from None
        who = principal()
        export_id = exports.create(conn, params, requested_by=who.key_id,
                                   requested_by_user=who.user_id)
        row = exports.get(conn, export_id)
        assert row is not None
        resp = make_response(jsonify(_out(row)), 202)
        resp.headers["Location"] = url_for("api.get_export", export_id=export_id)
        # The outbox row commits with the export, so the job never looks for a missing row.
        save(conn, resp)
    return resp


@bp.get("/exports")
@roles_required(*ROLES)
@operation(summary="Evidence exports, newest first (past packs, to follow or run again)",
           query=ExportListQuery, responses={200: ExportList}, roles=(*ROLES, "admin"),
           tags=("exports",))
def list_exports(query: ExportListQuery) -> Response:
    """Every export of the city with its parameters and status: they are city-internal."""
    with engine().connect() as conn:
        rows, total = exports.page(conn, limit=query.page_size,
                                   offset=(query.page - 1) * query.page_size)
    resp = jsonify(exports=[_out(r) for r in rows], total=total, page=query.page,
                   page_size=query.page_size)
    resp.cache_control.private = True
    resp.cache_control.no_store = True
    return resp


@bp.get("/exports/<int:export_id>")
@roles_required(*ROLES)
@operation(summary="An evidence export's status", responses={200: ExportOut},
           roles=(*ROLES, "admin"), tags=("exports",))
def get_export(export_id: int) -> Response:
    """Status and progress; when it has succeeded, a fresh signed download link."""
    return jsonify(_out(_export_or_404(export_id)))


@bp.get("/exports/<int:export_id>/download")
@operation(summary="Download an evidence pack (zip) with a signed link", query=DownloadQuery,
           responses={200: Body("The evidence pack", {"application/zip": None}),
                      403: "expired or altered link"},
           tags=("exports",))
def download_export(export_id: int, query: DownloadQuery) -> Response:
    """The pack as a zip; the signature, not an API key, authorises it."""
    # Check the signature before looking anything up: an unsigned request learns nothing.
    why = links.verify(_settings().secret_key, export_id, query.expires, query.signature)
    if why == "expired":
        raise Problem(403, "this download link has expired; get a new one from the export's "
                      "status", kind="link-expired")
    if why is not None:
        raise Problem(403, "this download link is not valid", kind="link-invalid")
    row = _export_or_404(export_id)
    path = exports.result_zip(row)
    if path is None:
        raise Problem(404, f"evidence export {export_id} has no pack to download",
                      kind="not-found")
    resp = send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=exports.zip_name(export_id), max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
