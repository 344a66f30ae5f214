"""Rate limits over real Redis; with Redis down, submissions still succeed (service.limits)."""

from __future__ import annotations

import dataclasses
import random
import uuid

from redis import Redis

from service import create_app
from tests.private_services import PrivateRedis


def _app(settings, **limits):
    """An app with the limits on (the suite's own app has them off)."""
    values = {"rate_limits_enabled": True, **limits}
    return create_app({"TESTING": True, "ACCESS_LOG": False},
                      settings=dataclasses.replace(settings, **values))


def _report(device: str | None = None) -> dict:
    body = {"service_code": "pothole", "lat": round(random.uniform(-30, 30), 5),
            "long": round(random.uniform(-150, 150), 5), "client_id": str(uuid.uuid4())}
    if device:
        body["device_id"] = device
    return body


def _assert_429(resp, surface: str = "api") -> None:
    assert resp.status_code == 429, resp.get_data(as_text=True)[:300]
    assert int(resp.headers["Retry-After"]) >= 1
    if surface == "api":
        assert resp.mimetype == "application/problem+json"
        assert resp.get_json()["type"].endswith("rate-limited")
    else:
        assert resp.get_json()[0]["code"] == 429


def test_posts_are_limited_per_device(settings, api_keys, services_loaded):
    app = _app(settings, rate_limit_storage_url=settings.redis_url,
               rate_limit_writes_per_device="3/minute")
    client = app.test_client()
    device = f"dev-{uuid.uuid4()}"
    headers = api_keys.headers("app")
    for _ in range(3):
        assert client.post("/api/v1/reports", json=_report(device), headers=headers
                           ).status_code == 201
    _assert_429(client.post("/api/v1/reports", json=_report(device), headers=headers))
    # Another phone behind the same address is not held up by the first one.
    other = client.post("/api/v1/reports", json=_report(f"dev-{uuid.uuid4()}"), headers=headers)
    assert other.status_code == 201


def test_posts_are_limited_per_key_and_per_address(settings, api_keys, services_loaded):
    app = _app(settings, rate_limit_writes_per_key="4/minute",
               rate_limit_writes_per_ip="1000/minute")
    client = app.test_client()
    for _ in range(4):
        assert client.post("/api/v1/reports", json=_report(),
                           headers=api_keys.headers("app2")).status_code == 201
    _assert_429(client.post("/api/v1/reports", json=_report(), headers=api_keys.headers("app2")))
    # The same address with another key still gets through: the key was the limit.
    assert client.post("/api/v1/reports", json=_report(),
                       headers=api_keys.headers("planner")).status_code == 201

    by_ip = _app(settings, rate_limit_writes_per_ip="2/minute").test_client()
    env = {"REMOTE_ADDR": f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.7"}
    for role in ("app", "planner"):
        assert by_ip.post("/api/v1/reports", json=_report(), headers=api_keys.headers(role),
                          environ_base=env).status_code == 201
    _assert_429(by_ip.post("/api/v1/reports", json=_report(), headers=api_keys.headers("admin"),
                           environ_base=env))


def test_open311_posts_count_too_and_answer_in_open311_shape(settings, api_keys,
                                                             services_loaded):
    client = _app(settings, rate_limit_writes_per_device="1/minute").test_client()
    device = f"dev-{uuid.uuid4()}"
    form = {"service_code": "pothole", "lat": "12.5", "long": "-40.25", "device_id": device,
            "api_key": api_keys["app"]}
    assert client.post("/open311/v2/requests.json", data=form).status_code in (200, 201)
    _assert_429(client.post("/open311/v2/requests.json", data=form), surface="open311")


def test_nearby_lookups_are_limited_per_address(settings, api_keys, services_loaded):
    client = _app(settings, rate_limit_nearby="2/minute").test_client()
    env = {"REMOTE_ADDR": f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.8"}
    url = "/api/v1/reports/nearby?service_code=lead_paint&lat=1&long=1"
    for _ in range(2):
        assert client.get(url, headers=api_keys.headers("app"), environ_base=env
                          ).status_code == 200
    _assert_429(client.get(url, headers=api_keys.headers("app2"), environ_base=env))


def test_exports_are_limited_per_key(settings, api_keys, services_loaded):
    client = _app(settings, rate_limit_exports="1/hour").test_client()
    body = {"area": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0],
                                                         [0, 0]]]},
            "services": ["pothole"], "since": "2024-01-01", "until": "2024-02-01"}
    headers = api_keys.headers("grant_writer")
    first = client.post("/api/v1/exports", json=body, headers=headers)
    # Every request counts, accepted or refused (which run exists depends on other tests).
    assert first.status_code in (202, 409, 422), first.get_data(as_text=True)[:300]
    _assert_429(client.post("/api/v1/exports", json=body, headers=headers))


def test_limits_are_shared_by_every_process_through_redis(settings, api_keys, services_loaded):
    device = f"dev-{uuid.uuid4()}"
    one = _app(settings, rate_limit_writes_per_device="2/minute").test_client()
    two = _app(settings, rate_limit_writes_per_device="2/minute").test_client()
    headers = api_keys.headers("app")
    assert one.post("/api/v1/reports", json=_report(device), headers=headers).status_code == 201
    assert two.post("/api/v1/reports", json=_report(device), headers=headers).status_code == 201
    _assert_429(one.post("/api/v1/reports", json=_report(device), headers=headers))
    keys = Redis.from_url(settings.redis_url).keys("*civicpulse:limits*")
    assert keys, "the counters live in Redis"


def test_with_redis_down_submissions_succeed_and_are_limited_per_process(
        settings, api_keys, services_loaded):
    with PrivateRedis() as rd:
        app = _app(settings, rate_limit_storage_url=rd.url,
                   rate_limit_writes_per_device="3/minute")
        client = app.test_client()
        headers = api_keys.headers("app")
        assert client.post("/api/v1/reports", json=_report(), headers=headers).status_code == 201
        rd.stop()
        device = f"dev-{uuid.uuid4()}"
        for _ in range(3):
            resp = client.post("/api/v1/reports", json=_report(device), headers=headers)
            assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
        # The in-memory fallback still counts this process's requests.
        _assert_429(client.post("/api/v1/reports", json=_report(device), headers=headers))


def test_a_redis_url_that_is_down_from_the_start_does_not_stop_submissions(
        settings, api_keys, services_loaded):
    from service.devstack import free_port

    app = _app(settings, rate_limit_storage_url=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    for _ in range(3):
        resp = client.post("/api/v1/reports", json=_report(), headers=api_keys.headers("app"))
        assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
