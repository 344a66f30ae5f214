"""Schemathesis against both API documents, as every role, with real ids (issue 9).

``/openapi.json`` (the native API, Open311, tiles, planner) and ``/ogc/api`` (OGC API –
Features) are loaded from the app itself. Every operation is fuzzed as anonymous and
as each role, with valid (positive) and invalid (negative) data; an ``int`` path
parameter is half the time a real id of the seeded report, run, export or
intervention, so the fuzzer also reaches the code behind a found row. Each answer
must not be a 5xx, must be a status and content type the document lists, and an
invalid request must be refused (4xx).

``make test`` runs a bounded number of examples (``CIVICPULSE_FUZZ_EXAMPLES``, default 2
per operation, role and mode; derandomised so a run is repeatable); ``make fuzz`` runs
many, randomised. The totals are printed at the end of the run (``-s``).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    status_code_conformance,
)

from tests.service import sweep_routes

EXAMPLES = int(os.environ.get("CIVICPULSE_FUZZ_EXAMPLES", "2"))
RANDOM = os.environ.get("CIVICPULSE_FUZZ_RANDOM", "") == "1"
ROLES = (None, "app", "planner", "grant_writer", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          negative_data_rejection]
#: Operations that change what other operations read (keys revoke the suite's keys).
SKIP = {("DELETE", "/api/v1/keys/{key_id}")}


@dataclass
class Tally:
    """What the fuzzer sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def real_ids(app, api_keys, engine) -> dict[str, Any]:
    """A report, a run, an export and an intervention the fuzzer may name."""
    client = app.test_client()
    made = client.post("/api/v1/reports", headers=api_keys.headers("app"), json={
        "service_code": "pothole", "lat": 12.5, "long": 45.5, "client_id": str(uuid.uuid4())})
    assert made.status_code == 201
    run, _cell = sweep_routes.publish_lone_run(engine, 12.5, 45.5)
    box = [[45.4, 12.4], [45.6, 12.4], [45.6, 12.6], [45.4, 12.6], [45.4, 12.4]]
    export = client.post("/api/v1/exports", headers=api_keys.headers("grant_writer"), json={
        "area": {"type": "Polygon", "coordinates": [box]}, "run": run, "formats": ["csv"],
        "since": "2025-01-01", "until": "2026-01-01"})
    assert export.status_code == 202, export.get_json()
    intervention = client.post("/api/v1/interventions", headers=api_keys.headers("planner"),
                               json={"name": "Fuzz", "services": ["pothole"], "radius_m": 50,
                                     "start_date": "2025-01-01", "end_date": "2025-02-01",
                                     "geometry": {"type": "Point", "coordinates": [45.5, 12.5]}})
    assert intervention.status_code == 201
    return {"report_id": made.get_json()["id"], "run_id": run,
            "export_id": export.get_json()["id"],
            "intervention_id": intervention.get_json()["id"],
            "collection_id": f"hotspot-run-{run}"}


def _fuzz(app, api_keys, real_ids, document: str, tally: Tally) -> None:
    schema = schemathesis.openapi.from_wsgi(document, app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for role in ROLES:
            headers = api_keys.headers(role)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(operation, mode, headers, role, real_ids, tally)


def _fuzz_operation(operation, mode, headers, role, real_ids, tally: Tally) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case, real):
        if real and mode is GenerationMode.POSITIVE and case.path_parameters:
            for name in case.path_parameters:
                if name in real_ids:
                    case.path_parameters[name] = real_ids[name]
        response = case.call(headers=headers)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then reported
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            tally.failures.append(f"{operation.method.upper()} {operation.path} as {role} "
                                  f"({mode.value}): {response.status_code} {first}")

    # Unsatisfiable: nothing of this operation can be made invalid (no parameters, no body).
    with contextlib.suppress(Unsatisfiable):
        run()


@pytest.mark.parametrize("document", ["/openapi.json", "/ogc/api"])
def test_schemathesis_finds_no_5xx_and_no_mismatch(app, api_keys, real_ids, document,
                                                   capsys):
    tally = Tally()
    _fuzz(app, api_keys, real_ids, document, tally)
    with capsys.disabled():
        fives = sum(n for status, n in tally.statuses.items() if status >= 500)
        print(f"\nfuzzed {document}: {tally.requests} requests, {fives} 5xx, "
              f"statuses {dict(sorted(tally.statuses.items()))}")
    assert tally.requests > 100
    assert tally.failures == [], "\n".join(sorted(set(tally.failures))[:60])


_SAMPLE = {"fmt": "json", "layer": "reports", "photo_id": str(uuid.UUID(int=1))}


def test_options_allow_lists_the_documented_methods(app, client):
    """OPTIONS answers ``Allow`` with what the document says each path serves (the
    Open311 paths listed the catch-all's PUT, PATCH and DELETE)."""
    doc = client.get("/openapi.json").get_json()
    wrong = []
    for path, ops in doc["paths"].items():
        url = re.sub(r"\{([a-z_]+)\}", lambda m: _SAMPLE.get(m.group(1), "1"), path)
        allow = {m.strip() for m in client.options(url).headers.get("Allow", "").split(",")}
        documented = {m.upper() for m in ops}
        if allow - {"HEAD", "OPTIONS"} != documented:
            wrong.append((path, sorted(allow), sorted(documented)))
    assert wrong == []
