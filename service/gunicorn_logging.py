"""gunicorn's own log lines as JSON, like the app's (``civicpulse serve`` selects this class).

gunicorn writes its start-up, worker and error lines through its ``gunicorn.error``
logger in a text format of its own; this logger class gives its handlers our
:class:`~service.observability.JsonFormatter`. The access log is the app's
``civicpulse.access`` line (request id, secret path segments hashed), so
``civicpulse serve`` leaves gunicorn's off; an operator who turns it on
(``GUNICORN_CMD_ARGS="--access-logfile -"``) gets JSON lines with the same care:
secret segments hashed and no query string.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger

from service.observability import JsonFormatter, loggable_path


class JsonLogger(Logger):
    """gunicorn's logger with JSON-lines handlers."""

    def _set_handler(self, log: logging.Logger, output: Any, fmt: logging.Formatter,
                     stream: Any = None) -> None:
        super()._set_handler(log, output, JsonFormatter(), stream)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """One JSON object per request, the fields an access log needs by name."""
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info("request", extra={
            "request_id": atoms.get("{x-request-id}o"),
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": loggable_path(atoms["U"] or ""),
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": round(atoms["D"] / 1000, 2),
            "user_agent": atoms["a"],
        })
