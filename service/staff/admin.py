"""``/staff/admin``: API keys (create, shown once; revoke, refused at once), the people who
sign in, the services, and the settings in effect (no secret shown).

Keys are created and revoked by the page's script through ``/api/v1/keys`` with the
session and its CSRF token, as an admin's key would; people are managed with
``civicpulse users`` (listed here).
"""

from __future__ import annotations

from flask import Response, current_app

from geo.access.keys import list_keys
from geo.accounts.users import list_users
from geo.schema import ROLES
from geo.services import list_services
from service.auth import principal
from service.db import engine
from service.staff import bp
from service.staff.render import page, staff_page


@bp.get("/staff/admin")
@staff_page("admin")
def admin() -> Response:
    """Keys, people, services and settings on one page."""
    with engine().connect() as conn:
        keys = list_keys(conn)
        people = list_users(conn)
        services = list_services(conn)
    return page("staff/admin.html", who=principal(), keys=keys, people=people,
                services=services, roles=ROLES,
                settings=current_app.config["SETTINGS"].shown())
