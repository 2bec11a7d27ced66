"""ASGI middleware: request ids and JSON logs, language, security headers, body size limit."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qorgau.core import i18n, metrics
from qorgau.core.config import get_settings

log = logging.getLogger("qorgau.http")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors {frames}"
)


def pick_language(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in i18n.LANGUAGES:
            return candidate
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in i18n.LANGUAGES:
            return code
    return get_settings().default_language


class ShellMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        i18n.set_language(pick_language(request))
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        elapsed_ms = elapsed * 1000
        route = request.scope.get("route")
        # The route template, not the raw path, so label values stay bounded.
        metrics.observe_request(request.method, getattr(route, "path", "unmatched"),
                                response.status_code, elapsed)
        _security_headers(response, embed=request.url.path.startswith("/embed/"))
        response.headers["x-request-id"] = request_id
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round(elapsed_ms, 1),
            },
        )
        return response


def _security_headers(response: Response, *, embed: bool) -> None:
    tiles = get_settings().tile_url
    tile_origin = " " + "/".join(tiles.split("/")[:3]) if tiles else ""
    headers = response.headers
    headers["content-security-policy"] = CSP.format(
        tiles=tile_origin, frames="*" if embed else "'none'"
    )
    headers["x-content-type-options"] = "nosniff"
    headers["referrer-policy"] = "same-origin"
    headers["permissions-policy"] = "camera=(self), geolocation=(self), microphone=()"
    if not embed:
        headers["x-frame-options"] = "DENY"


class BodyLimitMiddleware:
    """Reject bodies over the limit before they reach the parser (413, nothing read further)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = get_settings()
        path: str = scope.get("path", "")
        limit = s.max_upload_bytes if "upload" in path or "attachment" in path else s.max_json_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


class ConcurrencyLimitMiddleware:
    """Admit at most `max_concurrent_requests` requests at a time; the rest wait here, on the
    event loop, holding neither a worker thread nor a database connection.

    Why: a request keeps its database session from its first query to its end, across hops
    between worker threads. Without a bound, requests that wait for a pooled connection occupy
    every worker thread while the requests holding connections wait for a thread to finish: the
    process stalls until the pool times out. With the bound below the pool's capacity and the
    thread limit (core/db.py, app start-up) every admitted request can always proceed. Event
    streams and static files hold no session for their lifetime and are not counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.wait_s = settings.queue_wait_seconds
        self.slots = asyncio.Semaphore(settings.max_concurrent_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/static/") or path.endswith("/stream"):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self.slots.acquire(), self.wait_s)
        except TimeoutError:
            await _busy()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


def _busy() -> JSONResponse:
    msg = "the server is busy; retry shortly"
    body = {"detail": [{"loc": [], "msg": msg, "type": "busy"}]}
    return JSONResponse(body, 503, headers={"Retry-After": "5"})


def _too_large(limit: int) -> JSONResponse:
    msg = f"request body larger than {limit} bytes"
    return JSONResponse({"detail": [{"loc": ["body"], "msg": msg, "type": "too_large"}]}, 413)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message  # type: ignore[return-value]

    return wrapped


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit
