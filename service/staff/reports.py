"""``/staff/reports``: the triage queue — filter, open a report, answer it, merge, bulk.

Each change goes through :func:`geo.reports.queries.update_report`, the function
behind ``PATCH /api/v1/reports/{id}``, so Open311 and the resident's token view show
it at once and the audit trail names the person. Plain forms and links: the queue
works with the keyboard alone and without script.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request

from geo.boundaries import list_boundaries
from geo.errors import FieldError, NotFound
from geo.reports import queries
from geo.schema import REPORT_STATUSES
from service import caches
from service.auth import principal
from service.db import engine
from service.errors import Problem
from service.staff import bp
from service.staff.render import page, staff_page

STAFF = ("planner",)
PAGE_SIZE = 100
#: Longest public note (what Open311's status_notes carries to the resident).
MAX_NOTE = 2000


def _posted() -> dict[str, Any]:
    """The posted fields: a form from the page, or JSON from a script (lists kept)."""
    if request.form:
        return {k: (v if len(v) > 1 or k == "report" else v[0])
                for k, v in request.form.lists()}
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _filters() -> tuple[dict[str, Any], list[str]]:
    """The queue's filters from the query string; bad values are named, not fatal."""
    args, problems = request.args, []
    out: dict[str, Any] = {}
    if args.get("service"):
        out["service_code"] = args["service"][:64]
    if args.get("status"):
        if args["status"] in REPORT_STATUSES:
            out["status"] = args["status"]
        else:
            problems.append(f"status: must be one of {', '.join(REPORT_STATUSES)}")
    if args.get("district"):
        if args["district"].isdigit() and len(args["district"]) < 10:
            out["boundary_id"] = int(args["district"])
        else:
            problems.append("district: not a district")
    for name in ("since", "until"):
        if args.get(name):
            try:
                out[name] = dt.date.fromisoformat(args[name])
            except ValueError:
                problems.append(f"{name}: must be a date like 2025-03-31")
    if args.get("needs_location"):
        out["needs_location"] = True
    return out, problems


def _queue(status: int = 200, message: str = "") -> Response:
    filters, problems = _filters()
    with engine().connect() as conn:
        rows = queries.list_reports(conn, limit=PAGE_SIZE, **filters)
        services = sorted(caches.services(conn).values(), key=lambda s: s.name)
        districts = list_boundaries(conn, "district")
    return page("staff/reports.html", status=status, who=principal(), rows=rows,
                services=services, districts=districts, statuses=REPORT_STATUSES,
                args=request.args, problems=problems, message=message,
                error=status >= 400)


@bp.get("/staff/reports")
@staff_page(*STAFF)
def reports() -> Response:
    """The queue: filters, then a table of matching reports (oldest first)."""
    return _queue()


def _change(form: Any) -> queries.ReportChange:
    """A change from a form: status, the public note (sent even when empty), duplicate."""
    status = form.get("status") or None
    note = form.get("status_notes")
    if note is not None and len(note) > MAX_NOTE:
        raise FieldError("status_notes", f"at most {MAX_NOTE} characters")
    duplicate = (form.get("duplicate_of") or "").strip().lstrip("#")
    if duplicate and not duplicate.isdigit():
        raise FieldError("duplicate_of", "a report number such as 1234")
    return queries.ReportChange(
        status="duplicate" if duplicate else status,
        status_notes=note.strip() if note is not None and note.strip() else None,
        set_notes=note is not None and note.strip() != "",
        duplicate_of=int(duplicate) if duplicate else None)


def _report_page(report_id: int, status: int = 200, message: str = "") -> Response:
    with engine().connect() as conn:
        report = queries.get_report(conn, report_id, with_contact=True)
    return page("staff/report.html", status=status, who=principal(), r=report,
                statuses=REPORT_STATUSES, message=message, error=status >= 400)


@bp.get("/staff/reports/<int:report_id>")
@staff_page(*STAFF)
def report(report_id: int) -> Response:
    """One report: its facts, photos, history, confirmations and contact; the answer form."""
    try:
        return _report_page(report_id)
    except NotFound:
        return page("staff/error.html", status=404, problem=_missing(report_id))


@bp.post("/staff/reports/<int:report_id>")
@staff_page(*STAFF)
def answer_report(report_id: int) -> Response:
    """Change status and public note, or mark as a duplicate; the report as it is now."""
    who = principal()
    try:
        change = _change(_posted())
        with engine().begin() as conn:
            queries.update_report(conn, report_id, change, actor_key_id=who.key_id,
                                  actor_user_id=who.user_id)
    except NotFound:
        return page("staff/error.html", status=404, problem=_missing(report_id))
    except FieldError as exc:
        return _report_page(report_id, status=422, message=str(exc))
    return _report_page(report_id, message="Saved: residents see it now.")


@bp.post("/staff/reports/bulk")
@staff_page(*STAFF)
def bulk_reports() -> Response:
    """One status (and note) for every ticked report, all in one transaction."""
    who, form = principal(), _posted()
    picked = form.get("report") or []
    ids = [int(i) for i in (picked if isinstance(picked, list) else [picked])
           if str(i).isdigit() and len(str(i)) < 19]
    try:
        change = _change({k: v for k, v in form.items() if k not in ("duplicate_of", "report")})
        if not ids or change.status is None:
            raise FieldError("report", "tick at least one report and choose a status")
        with engine().begin() as conn:
            for report_id in ids:
                queries.update_report(conn, report_id, change, actor_key_id=who.key_id,
                                      actor_user_id=who.user_id)
    except (FieldError, NotFound) as exc:
        return _queue(422, f"Nothing was changed: {exc}")
    return _queue(message=f"Updated {len(ids)} reports.")


def _missing(report_id: int) -> Problem:
    return Problem(404, f"report {report_id}: no such report")


