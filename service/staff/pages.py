"""The staff home: what each role can open."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for

from geo.access.keys import Principal
from service.auth import principal
from service.staff import bp
from service.staff.render import page, staff_page

STAFF = ("planner", "grant_writer")


@bp.get("/staff/")
@staff_page(*STAFF)
def home() -> Response:
    """Links to the pages the signed-in person's role opens."""
    return page("staff/home.html", who=principal())


#: The staff pages, in menu order: endpoint, label, what it is for, who opens it.
NAV = (
    ("staff.evidence", "Evidence packs", "request, follow and download packs", STAFF),
    ("staff.reports", "Reports", "the triage queue: status, duplicates, notes", ("planner",)),
    ("staff.admin", "Admin", "people, API keys, services and settings", ("admin",)),
)


@bp.context_processor
def navigation() -> dict[str, Any]:
    """``nav_links(who)``: the menu entries of pages this app serves and ``who`` opens."""

    def nav_links(who: Principal) -> list[dict[str, str]]:
        served = current_app.view_functions
        return [{"url": url_for(endpoint), "label": label, "blurb": blurb}
                for endpoint, label, blurb, roles in NAV
                if endpoint in served and who.has(*roles)]

    return {"nav_links": nav_links}
