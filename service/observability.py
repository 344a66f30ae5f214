"""JSON logs carrying a request id, and Prometheus metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_RID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
#: Path segments that are secrets (Open311 ``tokens/{token}``), wherever they appear:
#: also under a route that did not match, where no view argument names them.
_SECRET_SEGMENT = re.compile(r"(/tokens/)([^/]*?)((?:\.json|\.xml)?(?:/|$))")


def loggable_path(path: str) -> str:
    """``path`` with secret segments replaced by a short hash an operator can still match.

    The query string (where ``?token=`` goes) is never logged at all.

    >>> loggable_path("/open311/v2/tokens/s3cret.json")
    '/open311/v2/tokens/sha256:1ec1c26b50d5.json'
    """
    def hashed(m: re.Match[str]) -> str:
        digest = hashlib.sha256(m.group(2).encode()).hexdigest()[:12]
        return f"{m.group(1)}sha256:{digest}{m.group(3)}"

    return _SECRET_SEGMENT.sub(hashed, path)


#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

#: The loggers of everything our processes run: our code, RQ's worker and scheduler,
#: and Python's warnings (otherwise printed to stderr as plain text).
JSON_LOGGERS = ("civicpulse", "rq", "py.warnings")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules.

    Fields passed with ``extra=`` (``request_id``, ``job_id``, ``status`` …) become
    keys of the object.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_") and value is not None:
                out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Send our loggers, RQ's and Python's warnings to stderr as JSON lines (idempotent).

    RQ adds plain-text handlers of its own to a logger that has none in its
    hierarchy when a worker starts; with ours in place it adds none.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in JSON_LOGGERS:
        logger = logging.getLogger(name)
        if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            continue
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    logging.captureWarnings(True)


def install(app: Flask) -> None:
    """Request ids, access logs and ``/metrics`` for ``app``."""
    registry = CollectorRegistry()
    requests_total = Counter(
        "civicpulse_http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
        registry=registry,
    )
    latency = Histogram(
        "civicpulse_http_request_seconds", "HTTP request latency", ["endpoint"],
        registry=registry,
        buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    queue_depth = Gauge(
        "civicpulse_queue_depth", "Jobs waiting per RQ queue", ["queue"], registry=registry
    )
    outbox_pending = Gauge(
        "civicpulse_outbox_pending", "Outbox rows not yet handed to RQ", registry=registry
    )
    access = logging.getLogger("civicpulse.access")

    @app.before_request
    def _start() -> None:
        rid = request.headers.get("X-Request-ID", "")
        if not rid or len(rid) > 64 or not set(rid) <= _RID_OK:
            rid = uuid.uuid4().hex
        g.request_id = rid
        g.started = time.perf_counter()

    @app.after_request
    def _finish(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        requests_total.labels(request.method, endpoint, str(resp.status_code)).inc()
        latency.labels(endpoint).observe(elapsed)
        if app.config.get("ACCESS_LOG", True):
            access.info(
                "request",
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": loggable_path(request.path),
                    "status": resp.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        return resp

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics: requests, latency, queue depths, outbox backlog (not public)."""
        from sqlalchemy import text

        from service.headers import metrics_allowed

        metrics_allowed()

        from service.db import engine, redis
        from workers.queues import QUEUE_NAMES

        try:
            conn = redis()
            for name in QUEUE_NAMES:
                queue_depth.labels(name).set(conn.llen(f"rq:queue:{name}"))
        except Exception:  # noqa: BLE001 - metrics must render while Redis is down
            pass
        with engine().connect() as db:
            outbox_pending.set(
                db.execute(
                    text("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")
                ).scalar_one()
            )
        # content_type, not mimetype: Flask would append a second "; charset=utf-8".
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
