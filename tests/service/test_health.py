"""Health, readiness, metrics and the API document."""


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_request_id_is_echoed(client):
    resp = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"


def test_metrics_exposes_requests_and_queues(client, api_keys):
    client.get("/healthz")
    resp = client.get("/metrics", headers=api_keys.headers("admin"))
    body = resp.get_data(as_text=True)
    # Prometheus' exposition type, its charset said once.
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    assert resp.headers["Content-Type"].count("charset") == 1
    assert "civicpulse_http_requests_total" in body
    assert 'civicpulse_queue_depth{queue="analysis"}' in body
    assert "civicpulse_outbox_pending" in body


def test_openapi_document_is_generated(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "Problem" in doc["components"]["schemas"]
