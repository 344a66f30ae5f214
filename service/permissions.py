"""Who may do what: one row per route (method and URL rule) × principal → outcome.

The views enforce access (``service.auth``: ``roles_required``, ``require``, and the
privacy checks of each view); this table states what they must answer, as data.
``tests/service/test_permissions.py`` walks every row with every principal against a
seeded database with real ids and checks the answers, and fails when the app serves a
route that has no row here; ``docs/security.md`` carries :func:`markdown` of it (a
test checks the copy). **A new route needs a row**: usually one line with
:func:`roles` or :data:`EVERYONE`.

The principals are the roles of ``geo.schema.ROLES``, anonymous, and a resident
holding a report's tracking token (no API key): ``resident`` asks about their own
report, ``other_resident`` about someone else's with their own token. Requests that
name one report name a *lone* lead-paint report (an ``aggregated`` service, one
reporter), so the table also shows who may see such a report at all.

Outcomes: ``allowed`` (a 2xx answer), ``401`` (no or unknown key), ``403`` (a key
whose role may not), ``404`` (as if the thing did not exist: a lone report, a photo
not yours, a wrong token).
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["allowed", 401, 403, 404]
ALLOWED: Outcome = "allowed"

#: Column order of the table.
PRINCIPALS = ("anonymous", "app", "planner", "grant_writer", "admin", "resident",
              "other_resident")
#: Principals without an API key (a resident's token is not a key).
KEYLESS = ("anonymous", "resident", "other_resident")

Row = dict[str, Outcome]


def roles(*allowed: str) -> Row:
    """A route for API keys of ``allowed`` roles (admin holds every role): 401 without a
    key, 403 with another role."""
    return {p: (401 if p in KEYLESS else ALLOWED if p in (*allowed, "admin") else 403)
            for p in PRINCIPALS}


def answers(outcome: Outcome, **exceptions: Outcome) -> Row:
    """Every principal gets ``outcome`` except those named."""
    return {p: exceptions.get(p, outcome) for p in PRINCIPALS}


#: Public: anyone, key or not (what they see is filtered by the privacy layer).
EVERYONE = answers(ALLOWED)
#: Not an operation: 404 for everyone (Open311's catch-all, Flask's empty static folder).
NOBODY = answers(404)
#: The lone lead report itself: staff, and its reporter with the token.
LONE_REPORT = answers(404, planner=ALLOWED, admin=ALLOWED, resident=ALLOWED)
#: A photo of the lone report: staff and the app key that uploaded it.
LONE_PHOTO = answers(404, app=ALLOWED, planner=ALLOWED, admin=ALLOWED)

READERS = ("planner", "grant_writer")  # hotspot runs, interventions
STAFF = ("planner",)  # with admin: exact points, contacts, changes
WRITERS = ("app", "planner")  # reports and photos

_OPEN311_ANY = ("GET", "POST", "PUT", "PATCH", "DELETE")

TABLE: dict[tuple[str, str], Row] = {
    # Native API: reports
    ("POST", "/api/v1/reports"): roles(*WRITERS),
    ("GET", "/api/v1/reports"): roles(*STAFF),
    ("POST", "/api/v1/reports/batch"): roles(*WRITERS),
    ("GET", "/api/v1/reports/nearby"): roles(*WRITERS),
    ("GET", "/api/v1/reports/<int:report_id>"): LONE_REPORT,
    ("PATCH", "/api/v1/reports/<int:report_id>"): roles(*STAFF),
    # Confirming a lone report: an app key learns nothing (404, as for a missing id).
    ("POST", "/api/v1/reports/<int:report_id>/confirmations"): roles(*WRITERS) | {"app": 404},
    # Photos
    ("POST", "/api/v1/photos"): roles(*WRITERS),
    ("GET", "/api/v1/photos/<uuid:photo_id>"): LONE_PHOTO,
    ("GET", "/api/v1/photos/<uuid:photo_id>/thumbnail"): LONE_PHOTO,
    # Hotspot runs
    ("POST", "/api/v1/hotspot-runs"): roles("planner"),
    ("GET", "/api/v1/hotspot-runs"): roles(*READERS),
    ("GET", "/api/v1/hotspot-runs/<int:run_id>"): roles(*READERS),
    ("GET", "/api/v1/hotspot-runs/<int:run_id>/cells"): roles(*READERS),
    ("GET", "/api/v1/hotspot-runs/<int:run_id>/areas"): roles(*READERS),
    # Evidence exports (the download's signature is its credential)
    ("POST", "/api/v1/exports"): roles("grant_writer", "planner"),
    ("GET", "/api/v1/exports"): roles("grant_writer", "planner"),
    ("GET", "/api/v1/exports/<int:export_id>"): roles("grant_writer", "planner"),
    ("GET", "/api/v1/exports/<int:export_id>/download"): EVERYONE,
    # Interventions
    ("POST", "/api/v1/interventions"): roles("planner"),
    ("GET", "/api/v1/interventions"): roles(*READERS),
    ("GET", "/api/v1/interventions/<int:intervention_id>"): roles(*READERS),
    ("PATCH", "/api/v1/interventions/<int:intervention_id>"): roles("planner"),
    ("DELETE", "/api/v1/interventions/<int:intervention_id>"): roles("planner"),
    ("GET", "/api/v1/interventions/<int:intervention_id>/evaluation"): roles(*READERS),
    ("POST", "/api/v1/interventions/<int:intervention_id>/evaluation"): roles("planner"),
    # Administration
    ("GET", "/api/v1/audit"): roles(),
    ("GET", "/api/v1/keys"): roles(),
    ("POST", "/api/v1/keys"): roles(),
    ("DELETE", "/api/v1/keys/<int:key_id>"): roles(),
    ("GET", "/metrics"): roles(),  # or a scraper from CIVICPULSE_METRICS_NETWORKS
    # Open311 GeoReport v2 (a missing api_key is Open311's 403, not 401)
    ("GET", "/open311/v2/discovery.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/services.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/services/<code>.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/requests.<fmt>"): EVERYONE,
    ("POST", "/open311/v2/requests.<fmt>"): roles(*WRITERS) | dict.fromkeys(KEYLESS, 403),
    ("GET", "/open311/v2/requests/<request_id>.<fmt>"): LONE_REPORT | {"resident": 404},
    # Exchanging a token: the resident's own works; without it, nothing is learnt.
    ("GET", "/open311/v2/tokens/<token>.<fmt>"): answers(
        404, resident=ALLOWED, other_resident=ALLOWED),
    **{(m, "/open311/v2/"): NOBODY for m in _OPEN311_ANY},
    **{(m, "/open311/v2/<path:rest>"): NOBODY for m in _OPEN311_ANY},
    # OGC API – Features (privacy-filtered; the item asked for is the lone report)
    ("GET", "/ogc/"): EVERYONE,
    ("GET", "/ogc/api"): EVERYONE,
    ("GET", "/ogc/api.html"): EVERYONE,
    ("GET", "/ogc/conformance"): EVERYONE,
    ("GET", "/ogc/collections"): EVERYONE,
    ("GET", "/ogc/collections/<collection_id>"): EVERYONE,
    ("GET", "/ogc/collections/<collection_id>/items"): EVERYONE,
    ("GET", "/ogc/collections/<collection_id>/items/<feature_id>"): LONE_REPORT | {
        "resident": 404},
    ("GET", "/ogc/collections/hotspot-runs/<int:run_id>"): EVERYONE,
    ("GET", "/ogc/collections/hotspot-runs/<int:run_id>/items"): EVERYONE,
    ("GET", "/ogc/collections/hotspot-runs/<int:run_id>/items/<feature_id>"): EVERYONE,
    # Vector tiles (privacy-filtered)
    ("GET", "/tiles/<layer>.json"): EVERYONE,
    ("GET", "/tiles/<layer>/<z>/<x>/<y>.mvt"): EVERYONE,
    # The map page (its data needs a key), documents, probes
    ("GET", "/planner/"): EVERYONE,
    ("GET", "/planner/static/<path:filename>"): EVERYONE,
    ("GET", "/planner/whoami"): EVERYONE,
    # The residents' app: public files; it sends reports with its own (public) app key
    ("GET", "/app/"): EVERYONE,
    ("GET", "/app/sw.js"): EVERYONE,
    ("GET", "/app/manifest.webmanifest"): EVERYONE,
    ("GET", "/app/static/<path:filename>"): EVERYONE,
    ("GET", "/app/services.json"): EVERYONE,
    ("GET", "/app/i18n/<language>.json"): EVERYONE,
    # The basemap: public; the file and its style are 404 while none is configured
    # (as in the table's test app), else everyone's
    ("GET", "/basemap/basemap.pmtiles"): NOBODY,
    ("GET", "/basemap/style.json"): NOBODY,
    ("GET", "/basemap/static/<path:filename>"): EVERYONE,
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/"): EVERYONE,
    ("GET", "/docs/static/<path:filename>"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/static/<path:filename>"): EVERYONE,  # the shared stylesheet
    # Staff sign-in and pages (a page's 401 is a redirect to /login for a browser)
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): answers(403),  # without the form's CSRF token
    ("POST", "/logout"): EVERYONE,
    # The city's identity provider: 404 where none is configured (as in the tests)
    ("GET", "/login/oidc"): NOBODY,
    ("GET", "/login/oidc/callback"): NOBODY,
    ("GET", "/staff/"): roles("planner", "grant_writer"),
    ("GET", "/staff/admin"): roles(),
    ("GET", "/staff/reports"): roles("planner"),
    ("GET", "/staff/reports/<int:report_id>"): roles("planner"),
    ("POST", "/staff/reports/<int:report_id>"): roles("planner"),
    ("POST", "/staff/reports/bulk"): roles("planner"),
    ("POST", "/staff/admin/keys"): roles(),
    ("POST", "/staff/admin/keys/<int:key_id>/revoke"): roles(),
    ("POST", "/staff/admin/users"): roles(),
    ("POST", "/staff/admin/users/<int:user_id>"): roles() | {"admin": 404},  # no such person
    ("GET", "/staff/evidence"): roles("planner", "grant_writer"),
}


def outcome(method: str, rule: str, who: str) -> Outcome:
    """What ``who`` gets from ``method rule`` (KeyError for a route without a row)."""
    return TABLE[(method, rule)][who]


def _cell(value: Outcome) -> str:
    return "✓" if value == ALLOWED else str(value)


def markdown() -> str:
    """The table as Markdown, one line per route, for docs/security.md."""
    head = "| method | route | " + " | ".join(p.replace("_", " ") for p in PRINCIPALS) + " |"
    rule = "|---|---|" + "---|" * len(PRINCIPALS)
    lines = [head, rule]
    for (method, path), row in TABLE.items():
        cells = " | ".join(_cell(row[p]) for p in PRINCIPALS)
        lines.append(f"| {method} | `{path}` | {cells} |")
    return "\n".join(lines) + "\n"
