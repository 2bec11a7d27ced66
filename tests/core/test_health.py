from __future__ import annotations

import os

from fastapi.testclient import TestClient

from qorgau.core.config import get_settings


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    client.get("/api/v1/enterprises")
    text = client.get("/metrics").text
    sample = 'qorgau_http_requests_total{method="GET",route="/api/v1/enterprises",status="401"}'
    assert sample in text


def test_readyz_reports_an_unreachable_broker(client: TestClient) -> None:
    os.environ["QORGAU_QUEUE"] = "mqtt"
    os.environ["QORGAU_MQTT_URL"] = "mqtt://127.0.0.1:1"
    get_settings.cache_clear()
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["mqtt"].startswith("error")
    finally:
        del os.environ["QORGAU_QUEUE"], os.environ["QORGAU_MQTT_URL"]
        get_settings.cache_clear()


def test_responses_carry_request_id_and_security_headers(client: TestClient) -> None:
    r = client.get("/healthz", headers={"x-request-id": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
