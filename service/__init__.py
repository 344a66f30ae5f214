"""CivicPulse web service: the Flask app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from redis import Redis
from werkzeug.middleware.proxy_fix import ProxyFix

from geo.db import ReadRouter, make_engine
from geo.settings import Settings
from service import auth, errors, headers, inputs, limits, observability

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app: settings from the environment (or ``settings``), then blueprints.

    ``config`` overrides Flask config keys (tests use it); a missing or malformed
    setting raises :class:`geo.settings.ConfigError` here, at start-up.
    """
    settings = settings or Settings.from_env()
    settings.require_public_origin()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        JSON_SORT_KEYS=False,
        VERSION=__version__,
        SETTINGS=settings,
        ERROR_RENDERERS={},
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_hosts:
        # A request naming any other host is a 400 before it reaches a view, so no
        # absolute URL is ever built from a client's Host (service.origin).
        app.config["TRUSTED_HOSTS"] = list(settings.trusted_hosts)
    if config:
        app.config.update(config)
    observability.configure_logging()
    # Pre-ping: after a database restart a pooled connection is replaced on checkout
    # instead of failing its next request. The timeouts keep a slow or absent
    # database from holding web workers (answered 503, see service.errors);
    # workers' long jobs build their own engines without them.
    request_limits: dict[str, Any] = {
        "options": f"-c statement_timeout={int(settings.statement_timeout_ms)}",
        "connect_timeout": 3,
    }
    primary = make_engine(settings.database_url, pre_ping=True, **request_limits)
    app.extensions["civicpulse.engine"] = primary
    # A replica may go away: pre-ping, and give up connecting quickly, so a read
    # falls back to the primary instead of waiting on a dead host.
    replica = (
        make_engine(settings.database_replica_url, **{**request_limits, "connect_timeout": 2})
        if settings.database_replica_url else None
    )
    app.extensions["civicpulse.reads"] = ReadRouter(
        primary, replica, max_lag=settings.replica_max_lag_seconds
    )
    app.extensions["civicpulse.redis"] = Redis.from_url(
        settings.redis_url, socket_connect_timeout=2, socket_timeout=2
    )
    errors.register(app)
    observability.install(app)
    inputs.install(app)
    headers.install(app)
    auth.install(app)

    from service import apidocs, health, openapi
    from service.api import bp as api_bp
    from service.basemap import bp as basemap_bp
    from service.ogc import bp as ogc_bp
    from service.open311 import bp as open311_bp
    from service.planner import bp as planner_bp
    from service.residents import bp as residents_bp
    from service.staff import bp as staff_bp
    from service.staff import oidc as staff_oidc
    from service.staff import render as staff_render
    from service.tiles import bp as tiles_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ogc_bp)
    app.register_blueprint(tiles_bp)
    app.register_blueprint(planner_bp)
    app.register_blueprint(residents_bp)
    app.register_blueprint(basemap_bp)
    app.register_blueprint(staff_bp)
    staff_render.install(app)
    staff_oidc.install(app)
    limits.install(app, settings)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    return app
