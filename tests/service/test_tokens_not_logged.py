"""Tracking tokens never reach a log line of the real server (issue 9).

``civicpulse serve`` runs gunicorn as an operator would; its whole output (gunicorn's
and the app's JSON access log, with request ids) is searched for the tokens sent in an
Open311 ``tokens/{token}`` path (both formats, and a path no route matches) and in the
native ``?token=`` query.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET
from tests.live_processes import operator_env, served
from tests.service.api.reports_support import report


@pytest.fixture
def env(database_url: str, redis_url: str, services_loaded: object) -> dict[str, str]:
    """What an operator sets."""
    return operator_env(database_url, redis_url, SECRET)


def test_tokens_are_hashed_in_every_log_line(env, api_keys, tmp_path: Path):
    with served(env, tmp_path) as server:
        made = httpx.post(f"{server.base}/api/v1/reports", headers=api_keys.headers("app"),
                          json=report("pothole"))
        assert made.status_code == 201, made.text
        token, report_id = made.json()["token"], made.json()["id"]
        invented = "NotARealToken-but-still-a-secret"
        for path in (f"tokens/{token}.json", f"tokens/{token}.xml", f"tokens/{invented}.json",
                     f"tokens/{invented}"):
            resp = httpx.get(f"{server.base}/open311/v2/{path}",
                             headers={"X-Request-ID": "tokenprobe"})
            assert resp.status_code in (200, 404), (path, resp.status_code)
        own = httpx.get(f"{server.base}/api/v1/reports/{report_id}", params={"token": token})
        assert own.status_code == 200 and own.json()["view"] == "reporter"
        lines = server.lines()
    text = "\n".join(lines)
    assert token not in text and invented not in text
    logged = [json.loads(line) for line in lines
              if line.startswith("{") and '"request_id": "tokenprobe"' in line]
    hashed = hashlib.sha256(token.encode()).hexdigest()[:12]
    assert f"/open311/v2/tokens/sha256:{hashed}.json" in [e["path"] for e in logged]
    assert len(logged) == 4
