"""Run parameters have one definition: the API, its OpenAPI schema and the CLI/job agree."""

from __future__ import annotations

import pytest

from geo.errors import FieldError
from geo.hotspots.params import RunParams


def test_the_api_schema_is_the_run_parameters(client):
    doc = client.get("/openapi.json").get_json()
    body = doc["paths"]["/api/v1/hotspot-runs"]["post"]["requestBody"]["content"]
    ref = body["application/json"]["schema"]["$ref"]
    assert ref.endswith("/RunParams")
    schema = doc["components"]["schemas"]["RunParams"]
    expected = RunParams.model_json_schema(ref_template="#/components/schemas/{model}")
    expected.pop("$defs")
    assert schema == expected
    rings = schema["properties"]["rings"]["anyOf"][0]
    assert (rings["minimum"], rings["maximum"]) == (1, 6)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rings": 7}, "rings"),  # 1-6 was enforced only in geo, not by the API schema
        ({"resolution": True}, "resolution"),
        ({"half_life_days": 0}, "half_life_days"),
        ({"priority_weights": {"reports": True}}, "priority_weights.reports"),
    ],
)
def test_api_and_library_reject_the_same_input_naming_the_same_field(
    client, api_keys, services_loaded, body, field
):
    with pytest.raises(FieldError) as caught:
        RunParams.from_dict(body)
    assert caught.value.field == field
    resp = client.post("/api/v1/hotspot-runs", json=body, headers=api_keys.headers("planner"))
    assert resp.status_code == 422
    assert resp.get_json()["detail"].startswith(f"{field}:")
