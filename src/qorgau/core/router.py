"""Health endpoints (no authentication; they reveal nothing about the data)."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from qorgau.core import metrics
from qorgau.core.config import get_settings
from qorgau.core.db import get_sessionmaker

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _tcp_ok(url: str) -> str:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 1.0):
            return "ok"
    except OSError as exc:
        return f"error: {exc.strerror or type(exc).__name__}"


def _broker_checks() -> dict[str, str]:
    """Brokers are checked only when this node is configured to use them."""
    s = get_settings()
    if s.queue == "mqtt":
        return {"mqtt": _tcp_ok(s.mqtt_url)}
    if s.queue == "nats":
        return {"nats": _tcp_ok(s.nats_url)}
    return {}


@router.get("/readyz")
def readyz() -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with get_sessionmaker()() as db:
            db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason is shown to operators
        checks["database"] = f"error: {type(exc).__name__}"
    checks.update(_broker_checks())
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Prometheus exposition; bind the app to a private interface or filter /metrics at the
    reverse proxy in production (docs/operations.md)."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
