"""The FastAPI application factory: one app, every domain's REST router and pages plugged in."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from qorgau import __version__
from qorgau.core.config import PACKAGE_DIR
from qorgau.core.errors import DomainError
from qorgau.core.logs import configure_logging
from qorgau.core.middleware import (
    BodyLimitMiddleware,
    BodyTooLarge,
    ConcurrencyLimitMiddleware,
    ShellMiddleware,
)
from qorgau.core.web import LoginRequired

log = logging.getLogger("qorgau")

# SQLAlchemy's error code for "Can't reconnect until invalid transaction is rolled back".
DISCONNECTED = "8s2b"

# Order matters only for navigation; each domain that has a router.py / pages.py is mounted.
DOMAINS = [
    "core",
    "accounts",
    "registry",
    "incidents",
    "indicators",
    "concealment",
    "risk",
    "insurance",
    "equipment",
    "inspections",
    "alarms",
    "geo",
    "integration",
]


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if _wants_html(request):
        from qorgau.core.pages import error_page

        return error_page(request, status, body)
    return JSONResponse(jsonable_encoder(body), status_code=status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error_response(request, exc.status_code, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        return _error_response(request, 422, {"detail": detail})

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # Races past the service's own checks (e.g. two inserts of one BIN) end here as 409.
        log.warning("integrity error: %s", exc.orig)
        body = {
            "detail": [{"loc": [], "msg": "conflicts with an existing record", "type": "conflict"}]
        }
        return _error_response(request, 409, body)

    async def db_unavailable(request: Request, exc: Exception) -> Response:
        # The database went away (restart, failover, terminated backend, pool exhausted): the
        # transaction is rolled back, never half-written; a retry (with the same
        # Idempotency-Key where the endpoint takes one) is safe.
        log.error("database unavailable: %s", getattr(exc, "orig", None) or exc)
        msg = "the database is unavailable; retry in a few seconds"
        body = {"detail": [{"loc": [], "msg": msg, "type": "unavailable"}]}
        response = _error_response(request, 503, body)
        response.headers["Retry-After"] = "5"
        return response

    for exc_class in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc_class, db_unavailable)

    @app.exception_handler(PendingRollbackError)
    async def connection_lost_earlier(request: Request, exc: PendingRollbackError) -> Response:
        # Code 8s2b: the request's connection was invalidated (lost to a database restart) and
        # some code caught that error and went on; the request sees the same outage. Any
        # other pending rollback is a swallowed error of another kind: a bug, left a 500.
        if exc.code == DISCONNECTED:
            return await db_unavailable(request, exc)
        raise exc

    async def out_of_range(request: Request, exc: Exception) -> Response:
        # A number past what the column holds (SQLite: OverflowError, PostgreSQL: DataError),
        # or a NUL in text (PostgreSQL: DataError), is the client's input, not a server fault.
        log.info("value out of range: %s", exc)
        msg = "a text in the request holds a NUL (0x00) character, which cannot be stored" \
            if "NUL" in str(exc) else "a number in the request is out of range"
        return _error_response(request, 422, {"detail": [{"loc": [], "msg": msg,
                                                          "type": "out_of_range"}]})

    for exc_class in (OverflowError, DataError):
        app.add_exception_handler(exc_class, out_of_range)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        body = {"detail": [{"loc": ["body"], "msg": str(exc), "type": "too_large"}]}
        return JSONResponse(body, status_code=413)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


def _mount_domains(app: FastAPI) -> None:
    for domain in DOMAINS:
        for module_name in ("router", "pages"):
            full = f"qorgau.{domain}.{module_name}"
            if importlib.util.find_spec(full) is None:
                continue
            module = importlib.import_module(full)
            router = getattr(module, "router", None)
            if router is not None:
                app.include_router(router)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background jobs of every domain run in the serving process (core/jobs.py)."""
    import anyio.to_thread

    from qorgau.core import jobs
    from qorgau.core.config import get_settings

    # worker threads ≥ admitted requests, so a request that holds a connection gets a thread
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, get_settings().max_concurrent_requests + 8)
    jobs.start_background()
    bridge = _danger_bridge(get_settings().danger_bridge_url)
    commands = _device_commands()
    sending = _send_beside()
    beats = _ingest_health() if jobs.background_enabled() else None
    if os.environ.get("QORGAU_SETTLE_HEAP") == "1":  # set by `qorgau serve`, not by tests
        from qorgau.alarms.worker import settle_heap

        settle_heap()  # a full collection over start-up's objects would hold an SSE push
    yield
    if beats is not None:
        beats.close()
    if sending is not None:
        sending()
    if commands is not None:
        commands.close()
    if bridge is not None:
        bridge.close()
    jobs.stop_background()
    from qorgau.alarms.ingest import core as ingest

    if ingest.PROCESSOR is not None:  # this process's sites' roll-ups written, leases back
        ingest.PROCESSOR.close()


def _send_beside() -> Callable[[], None] | None:
    """The life-safety rows of an HTTP batch are sent on this process's pool after its
    commit, and the alarm tick's backlog on a thread of its own (alarms/sender.py), as in a
    worker: a hanging channel holds neither the gateway's request nor the tick. The rows
    are committed before the batch is answered and claimed in this process's name, so a
    crash loses none (the next process sends them). Returns the shutdown step."""
    from qorgau.alarms import sender
    from qorgau.alarms.ingest.core import processor

    return sender.attach(processor())


def _danger_bridge(url: str) -> Any:
    """Danger signals of a sentinel process onto this process's live consoles (optional)."""
    if not url:
        return None
    from qorgau.alarms.ingest.mqtt import DangerBridge

    return DangerBridge(url)


def _ingest_health() -> Any:
    """This process's health row for its HTTP ingest (queue depth, lag, shed batches), written
    every 2 s once it has taken a batch, so its console shows the load and a dead web process
    shows as silent (alarms/ingest/admission.py)."""
    from qorgau.alarms.ingest.admission import Beats

    return Beats().start()


def _device_commands() -> Any:
    """Withdraw orders this process delivers (the console's button, its tick's outbox) go to
    the wearables over the MQTT broker when the ingest uses one (`QORGAU_QUEUE=mqtt`,
    `QORGAU_MQTT_URL` with the ingest account's credentials in it). Without one the device
    channel only logs and records the command as not delivered (docs/alarms.md)."""
    from qorgau.core.config import get_settings

    s = get_settings()
    if s.queue != "mqtt":
        return None
    from qorgau.alarms.ingest.mqtt import CommandPublisher

    return CommandPublisher(s.mqtt_url)


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="qorgau API",
        version=__version__,
        description=(
            "Kazakhstan's integrated digital ecosystem for labour protection. Authenticate with "
            "`POST /api/v1/auth/token` (bearer) or an `X-API-Key` for system accounts. Every "
            "list is scoped to the caller's organisation and region."
        ),
        openapi_url="/api/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    _install_handlers(app)
    app.add_middleware(ShellMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ConcurrencyLimitMiddleware)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    _mount_domains(app)
    return app
