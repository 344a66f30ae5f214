"""The staff web: ``/login``, ``/logout`` and the signed-in pages under ``/staff``.

Server-rendered pages over the same API and role checks as machines use
(:mod:`service.auth`); the few scripts they load are this app's own files, under
the same Content-Security-Policy as the planner map. Modules: ``render`` (page
responses, errors as pages, the sign-in redirect), ``signin`` (local accounts),
``oidc`` (the city's identity provider), ``pages`` (the staff home), ``evidence``
(evidence packs in the browser), ``admin`` (people, keys, settings),
``reports`` (the triage queue).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")

from service.staff import admin, evidence, oidc, pages, reports, signin  # noqa: E402,F401  (routes register on import)
