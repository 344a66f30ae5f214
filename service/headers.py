"""Security headers on every response, and who may read ``/metrics``.

Every answer carries ``nosniff``, ``X-Frame-Options: DENY`` and ``no-referrer``; every
HTML page a Content-Security-Policy. The OGC pages are server-rendered, escaped and
script-free, so their policy allows no script at all; their one inline ``<style>`` is
the only exception. A view that needs another policy (the planner map and ``/docs`` load
their own scripts from this origin) sets its own header, which is kept.
"""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, current_app, request

from service.auth import require

#: For the escaped, script-free HTML pages.
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


#: A page that runs only this origin's files: no inline script or style, no eval, no
#: plugin, never framed. MapLibre sets styles from script (CSSOM, allowed) and starts
#: its worker from a same-origin module, so maps need nothing more.
_SELF_ONLY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
    "img-src": "'self' data: blob:", "worker-src": "'self'", "connect-src": "'self'",
    "object-src": "'none'", "base-uri": "'none'", "form-action": "'none'",
    "frame-ancestors": "'none'",
}


def page_csp(**overrides: str) -> str:
    """The self-only page policy, with directives changed by keyword (``_`` for ``-``).

    >>> "form-action 'self'" in page_csp(form_action="'self'")
    True
    """
    directives = {**_SELF_ONLY, **{k.replace("_", "-"): v for k, v in overrides.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _secure(resp: Response) -> Response:
    """Add the headers a view did not set itself."""
    headers = resp.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    # Only pages get a policy: on a script it would govern the script's own context,
    # and the planner map's tile worker must fetch tiles.
    if resp.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", HTML_CSP)
    return resp


def metrics_allowed() -> None:
    """Let a scraper from ``CIVICPULSE_METRICS_NETWORKS`` in; anyone else needs an admin key.

    Behind a reverse proxy on the same host every request comes from the proxy's
    address: leave the setting empty there and give the scraper an admin key.
    """
    networks = current_app.config["SETTINGS"].metrics_networks
    if networks and request.remote_addr:
        try:
            address = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            address = None
        if address is not None and any(address in ipaddress.ip_network(n) for n in networks):
            return
    require("admin")


def install(app: Flask) -> None:
    """Add the headers to every response of ``app``."""
    app.after_request(_secure)
