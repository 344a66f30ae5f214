"""Configuration: every setting comes from the environment, parsed strictly here.

Both adapters read it: the web service (:mod:`service`) and the workers
(:mod:`workers`), which must not import each other. Nothing here touches the network.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEV_SECRET = "dev-only-not-secret"  # noqa: S105  # nosec B105


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never at a request."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _resolution(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 5 <= value <= 12:
        raise ConfigError(f"{name} must be an H3 resolution between 5 and 12, got {value}")
    return value


def _unit_costs(raw: str) -> dict[str, float]:
    """``CIVICPULSE_UNIT_COSTS``: a JSON object of service code → dollars (≥ 0)."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"CIVICPULSE_UNIT_COSTS must be a JSON object: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")
        for v in value.values()
    ):
        raise ConfigError('CIVICPULSE_UNIT_COSTS must look like {"flooding": 2500, ...}')
    return {str(k): float(v) for k, v in value.items()}


def _app_key(raw: str) -> str:
    """``CIVICPULSE_APP_KEY``: an API key as ``keys create`` prints it (``cp_…``)."""
    raw = raw.strip()
    if raw and not re.fullmatch(r"cp_[A-Za-z0-9_-]{20,100}", raw):
        raise ConfigError("CIVICPULSE_APP_KEY must be an API key (cp_…) of role app")
    return raw


def _basemap(raw: str) -> str:
    """``CIVICPULSE_BASEMAP``: an existing ``.pmtiles`` file, or an http(s) style URL."""
    raw = raw.strip()
    if not raw or raw.startswith(("https://", "http://")):
        return raw
    path = os.path.abspath(raw)
    if not path.endswith(".pmtiles") or not os.path.isfile(path):
        raise ConfigError(
            f"CIVICPULSE_BASEMAP must be a .pmtiles file or a style URL; {raw!r} is neither"
        )
    return path
#: Roles a person signed in may hold (geo.accounts.schema.STAFF_ROLES; settings import nothing).
_PERSON_ROLES = ("planner", "grant_writer", "admin")


def _oidc_roles(raw: str) -> dict[str, str]:
    """``CIVICPULSE_OIDC_ROLES``: JSON object of claim value (a group) → CivicPulse role."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"CIVICPULSE_OIDC_ROLES must be a JSON object: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and v in _PERSON_ROLES for k, v in value.items()
    ):
        raise ConfigError('CIVICPULSE_OIDC_ROLES must look like {"gis-planners": "planner", ...} '
                          f"with roles among {', '.join(_PERSON_ROLES)}")
    return dict(value)


def _oidc(env: Mapping[str, str], mode: str) -> dict[str, Any]:
    """The OpenID Connect settings: all three of issuer, client id and secret, or none."""
    names = ("CIVICPULSE_OIDC_ISSUER", "CIVICPULSE_OIDC_CLIENT_ID",
             "CIVICPULSE_OIDC_CLIENT_SECRET")
    issuer, client_id, secret = (env.get(n, "").strip() for n in names)
    given = [n for n, v in zip(names, (issuer, client_id, secret), strict=True) if v]
    if given and len(given) < 3:
        missing = ", ".join(n for n in names if n not in given)
        raise ConfigError(f"OpenID Connect needs {missing} too (or none of the three)")
    if issuer and not issuer.startswith("https://") and not (
        mode != "production" and issuer.startswith("http://")
    ):
        raise ConfigError("CIVICPULSE_OIDC_ISSUER must be an https:// URL")
    roles = _oidc_roles(env.get("CIVICPULSE_OIDC_ROLES", ""))
    if issuer and not roles:
        raise ConfigError("CIVICPULSE_OIDC_ROLES is required with CIVICPULSE_OIDC_ISSUER: "
                          'which groups give which role, e.g. {"gis-planners": "planner"}')
    return {"oidc_issuer": issuer.rstrip("/"), "oidc_client_id": client_id,
            "oidc_client_secret": secret, "oidc_roles": roles,
            "oidc_role_claim": env.get("CIVICPULSE_OIDC_ROLE_CLAIM", "").strip() or "groups"}


#: ``10/minute``, ``20 per hour``, ``5/30 seconds``: one Flask-Limiter (``limits``) item.
_LIMIT_ITEM = re.compile(
    r"\s*\d+\s*(?:/|per)\s*(?:\d+\s*)?(?:second|minute|hour|day|month|year)s?\s*", re.I
)


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate-limit string such as ``30/minute;500/day``, checked now."""
    raw = env.get(name, "") or default
    if not all(_LIMIT_ITEM.fullmatch(part) for part in re.split(r"[;,]", raw)):
        raise ConfigError(f"{name} must look like '30/minute;500/day', got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in ("1", "true", "yes", "on")


def _networks(raw: str) -> tuple[str, ...]:
    """``CIVICPULSE_METRICS_NETWORKS``: comma-separated CIDRs (``10.0.0.0/8,::1/128``)."""
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigError(f"CIVICPULSE_METRICS_NETWORKS: {part!r} is not a network") from exc
    return tuple(out)


def sqlalchemy_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver named, as SQLAlchemy needs it.

    >>> sqlalchemy_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: Where dev and test servers are reached when no public URL or host list is set.
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def _trusted_hosts(env: Mapping[str, str], mode: str) -> tuple[str, ...]:
    """``CIVICPULSE_TRUSTED_HOSTS`` (comma-separated); local hosts by default outside production."""
    raw = env.get("CIVICPULSE_TRUSTED_HOSTS", "")
    hosts = tuple(h.strip() for h in raw.split(",") if h.strip())
    if not hosts and mode != "production" and not env.get("CIVICPULSE_PUBLIC_URL"):
        return LOCAL_HOSTS
    return hosts


@dataclass(frozen=True)
class Settings:
    """Validated settings of one CivicPulse process."""

    database_url: str
    redis_url: str
    secret_key: str
    env: str = "production"
    media_dir: str = "./var/media"
    export_dir: str = "./var/exports"
    jurisdiction_id: str = ""
    max_upload_bytes: int = 10 * 1024 * 1024
    max_batch: int = 500
    idempotency_ttl_hours: int = 48
    refresh_debounce_seconds: int = 120
    #: H3 resolution of the cells an intervention's evaluation compares.
    evaluation_resolution: int = 9
    public_base_url: str = ""
    #: Hosts a request may name when absolute URLs are built from it (no public URL set).
    trusted_hosts: tuple[str, ...] = ()
    #: Largest JSON request body (a full batch of reports is well under this).
    max_json_bytes: int = 4 * 1024 * 1024
    #: Longest a web request's SQL statement may run; workers' long jobs have none.
    statement_timeout_ms: int = 15_000
    #: Networks whose clients may read /metrics without an admin key.
    metrics_networks: tuple[str, ...] = ()
    #: Reverse proxies in front of us whose X-Forwarded-For is believed (for per-IP limits).
    trusted_proxies: int = 0
    #: Rate limits (Flask-Limiter strings), counted in Redis; see service.limits.
    rate_limits_enabled: bool = True
    rate_limit_storage_url: str = ""
    rate_limit_writes_per_key: str = "600/minute"
    rate_limit_writes_per_ip: str = "120/minute"
    rate_limit_writes_per_device: str = "20/minute;200/day"
    rate_limit_nearby: str = "30/minute"
    rate_limit_exports: str = "20/hour"
    #: Housekeeping (workers/housekeeping.py): how often it runs and what it keeps.
    housekeeping_interval_seconds: int = 3600
    photo_grace_hours: int = 48
    export_retention_days: int = 30
    run_retention_days: int = 90
    #: Default dollars per problem by service code, for evidence packs' funding requests.
    unit_costs: dict[str, float] = field(default_factory=dict)
    #: A streaming replica for the read-only surfaces (OGC, tiles, public Open311
    #: reads); empty: everything reads the primary.
    database_replica_url: str = ""
    #: Reads go back to the primary while the replica is further behind than this.
    replica_max_lag_seconds: int = 10
    #: The residents' web app's API key (role ``app``): public by design, since the
    #: page hands it to every browser; empty: ``/app/`` says it is not set up.
    app_key: str = ""
    #: The basemap: a PMTiles file served at ``/basemap/``, or the URL of a MapLibre
    #: style the city serves itself; empty: maps have no streets.
    basemap: str = ""
    #: Staff sign-in (geo.accounts): session lifetimes and the lock-out after failures.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    #: OpenID Connect (the city's identity provider); empty issuer: local accounts only.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    #: The claim holding a person's groups, and which group gives which role.
    oidc_role_claim: str = "groups"
    oidc_roles: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Directories are made absolute now, against the working directory the process
        # started in: a relative path would otherwise be resolved later against whatever
        # a library picks (Flask's send_file uses the app's package folder, which turned
        # every photo URL into a 500).
        for name in ("media_dir", "export_dir"):
            object.__setattr__(self, name, os.path.abspath(getattr(self, name)))

    def require_public_origin(self) -> None:
        """A production web process needs ``CIVICPULSE_PUBLIC_URL`` or trusted hosts.

        Otherwise absolute URLs (export downloads, TileJSON, OGC and Open311 links)
        would be built from whatever ``Host`` a client sends.
        """
        if self.env == "production" and not (self.public_base_url or self.trusted_hosts):
            raise ConfigError(
                "CIVICPULSE_PUBLIC_URL is required in production (e.g. https://311.city.gov), "
                "or CIVICPULSE_TRUSTED_HOSTS listing the host names clients use"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); fail fast on bad values."""
        env = os.environ if env is None else env
        mode = env.get("CIVICPULSE_ENV", "production")
        if mode not in ("production", "dev", "test"):
            raise ConfigError("CIVICPULSE_ENV must be production, dev or test")
        database_url = env.get("DATABASE_URL", "")
        if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ConfigError("DATABASE_URL must be set to a postgresql:// URL")
        redis_url = env.get("REDIS_URL", "")
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL must be set to a redis:// URL")
        secret = env.get("CIVICPULSE_SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise ConfigError(
                    "CIVICPULSE_SECRET_KEY is required (set CIVICPULSE_ENV=dev to use a dev key)"
                )
            secret = DEV_SECRET
        elif mode == "production" and len(secret) < 16:
            raise ConfigError("CIVICPULSE_SECRET_KEY must be at least 16 characters")
        replica_url = env.get("DATABASE_REPLICA_URL", "")
        if replica_url and not replica_url.startswith(
            ("postgresql://", "postgres://", "postgresql+psycopg://")
        ):
            raise ConfigError("DATABASE_REPLICA_URL must be a postgresql:// URL when set")
        return cls(
            database_url=sqlalchemy_url(database_url),
            database_replica_url=sqlalchemy_url(replica_url) if replica_url else "",
            replica_max_lag_seconds=_int(env, "CIVICPULSE_REPLICA_MAX_LAG_SECONDS", 10),
            redis_url=redis_url,
            secret_key=secret,
            env=mode,
            media_dir=env.get("CIVICPULSE_MEDIA_DIR") or "./var/media",
            export_dir=env.get("CIVICPULSE_EXPORT_DIR") or "./var/exports",
            jurisdiction_id=env.get("CIVICPULSE_JURISDICTION_ID", ""),
            max_upload_bytes=_int(env, "CIVICPULSE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
            max_batch=_int(env, "CIVICPULSE_MAX_BATCH", 500),
            refresh_debounce_seconds=_int(env, "CIVICPULSE_REFRESH_DEBOUNCE_SECONDS", 120),
            max_json_bytes=_int(env, "CIVICPULSE_MAX_JSON_BYTES", 4 * 1024 * 1024),
            statement_timeout_ms=_int(env, "CIVICPULSE_STATEMENT_TIMEOUT_MS", 15_000),
            metrics_networks=_networks(env.get("CIVICPULSE_METRICS_NETWORKS", "")),
            trusted_proxies=_int(env, "CIVICPULSE_TRUSTED_PROXIES", 0),
            rate_limits_enabled=_flag(env, "CIVICPULSE_RATE_LIMITS", True),
            rate_limit_storage_url=env.get("CIVICPULSE_RATE_LIMIT_STORAGE_URL", ""),
            rate_limit_writes_per_key=_rate_limit(
                env, "CIVICPULSE_RATE_LIMIT_WRITES_PER_KEY", "600/minute"),
            rate_limit_writes_per_ip=_rate_limit(
                env, "CIVICPULSE_RATE_LIMIT_WRITES_PER_IP", "120/minute"),
            rate_limit_writes_per_device=_rate_limit(
                env, "CIVICPULSE_RATE_LIMIT_WRITES_PER_DEVICE", "20/minute;200/day"),
            rate_limit_nearby=_rate_limit(env, "CIVICPULSE_RATE_LIMIT_NEARBY", "30/minute"),
            rate_limit_exports=_rate_limit(env, "CIVICPULSE_RATE_LIMIT_EXPORTS", "20/hour"),
            evaluation_resolution=_resolution(env, "CIVICPULSE_EVALUATION_RESOLUTION", 9),
            public_base_url=env.get("CIVICPULSE_PUBLIC_URL", "").rstrip("/"),
            trusted_hosts=_trusted_hosts(env, mode),
            housekeeping_interval_seconds=_positive(
                env, "CIVICPULSE_HOUSEKEEPING_INTERVAL_SECONDS", 3600),
            photo_grace_hours=_positive(env, "CIVICPULSE_PHOTO_GRACE_HOURS", 48),
            export_retention_days=_positive(env, "CIVICPULSE_EXPORT_RETENTION_DAYS", 30),
            run_retention_days=_positive(env, "CIVICPULSE_RUN_RETENTION_DAYS", 90),
            unit_costs=_unit_costs(env.get("CIVICPULSE_UNIT_COSTS", "")),
            app_key=_app_key(env.get("CIVICPULSE_APP_KEY", "")),
            basemap=_basemap(env.get("CIVICPULSE_BASEMAP", "")),
            session_idle_minutes=_positive(env, "CIVICPULSE_SESSION_IDLE_MINUTES", 30),
            session_max_hours=_positive(env, "CIVICPULSE_SESSION_MAX_HOURS", 12),
            login_max_failures=_positive(env, "CIVICPULSE_LOGIN_MAX_FAILURES", 5),
            login_lockout_minutes=_positive(env, "CIVICPULSE_LOGIN_LOCKOUT_MINUTES", 15),
            **_oidc(env, mode),
            extra={
                key: env[name]
                for key, name in (
                    ("open311_contact", "CIVICPULSE_OPEN311_CONTACT"),
                    ("open311_key_service", "CIVICPULSE_OPEN311_KEY_SERVICE"),
                )
                if env.get(name)
            },
        )
