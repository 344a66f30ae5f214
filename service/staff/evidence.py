"""``/staff/evidence``: request an evidence pack in the browser, follow it, download it.

The page is a form over ``POST /api/v1/exports`` and ``GET /api/v1/exports``: the
browser sends the session cookie and the page's CSRF token, so it can do nothing a
grant writer's key could not. The choices it offers (districts, services, finished
runs) are read here; the script (``static/staff/evidence.js``) posts, polls the
progress and lists past packs with a "run again".
"""

from __future__ import annotations

from flask import Response, current_app

from geo.boundaries import list_boundaries
from geo.hotspots.runs import list_runs
from geo.services import list_services
from service.auth import principal
from service.db import engine
from service.staff import bp
from service.staff.render import page, staff_page

#: Files a pack can hold, as the API names them, with what a grant writer reads.
FORMATS = (("pdf", "PDF summary (map, trend, ranked areas, method)"),
           ("csv", "CSV tables"), ("geojson", "GeoJSON layers"), ("gpkg", "GeoPackage"))


@bp.get("/staff/evidence")
@staff_page("grant_writer", "planner")
def evidence() -> Response:
    """The request form, the progress of the current pack and the list of past packs."""
    with engine().connect() as conn:
        areas = list_boundaries(conn)
        services = list_services(conn)
        runs, _total = list_runs(conn, limit=50)
    finished = [r for r in runs if r["status"] == "succeeded"]
    return page("staff/evidence.html", who=principal(), areas=areas, services=services,
                runs=finished, formats=FORMATS,
                unit_costs=current_app.config["SETTINGS"].unit_costs or {})
