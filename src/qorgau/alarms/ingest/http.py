"""HTTP batch ingest: POST /api/v1/alarms/ingest (JSON, optionally gzip).

Authenticated by a gateway credential (X-Gateway + X-Gateway-Key, bound to one site) or by a
system account / admin with `alarms.ingest`; a system account writes only the sites of its
organisation's enterprise, else of its region (a national organisation's, any site). The
response comes after the commit, so a 200 means every accepted reading is durable; a retry
of the same batch is answered with duplicates instead of accepted (idempotent on device +
sequence). Past the bound of work in progress (`admission.py`) a batch is answered 503 +
Retry-After before anything of it is stored, and counted as shed: overload shows as latency
or a counted 503, never as a silent drop.

The handler is async (it reads the raw body), so every database call goes through the
threadpool: a blocking call on the event loop that waits for a pooled connection would stall
the whole process once the pool is exhausted (connections are returned by dependency clean-up,
which itself needs the loop)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from qorgau.alarms import constants as C
from qorgau.alarms import gateways
from qorgau.alarms.ingest import sentinel
from qorgau.alarms.ingest.admission import ADMISSION, RETRY_AFTER_S, extent
from qorgau.alarms.ingest.core import dead_letter, processor
from qorgau.alarms.ingest.ledger import LostOwnership
from qorgau.alarms.ingest.parse import BadPayload, decode, site_of
from qorgau.alarms.ingest.unprocessable import SUPERSEDED_TRIES
from qorgau.alarms.records import Superseded
from qorgau.alarms.schemas import IngestResult
from qorgau.core.deps import DbDep, OptionalActorDep
from qorgau.core.errors import Forbidden, Unauthenticated, Unavailable
from qorgau.core.roles import Reach
from qorgau.core.security import Actor
from qorgau.registry.models import Site

router = APIRouter(tags=["alarms"])  # included by alarms.router under /api/v1/alarms


def _dead_letter(db, reason: str, detail: str, site_id: int | None) -> None:
    dead_letter(db, site_id=site_id, source="http", reason=reason, detail=detail)
    db.commit()


async def _reject(db, status: int, reason: str, detail: str, site_id: int | None) -> JSONResponse:
    await run_in_threadpool(_dead_letter, db, reason, detail, site_id)
    return JSONResponse({"detail": [{"loc": ["body"], "msg": detail, "type": reason}]},
                        status_code=status)


async def _process(db, doc: object, site_id: int | None) -> object:
    """The batch, again while the site's ledger went to another process (then as a guest) or
    an operator acted on one of its alarms (reading the new state) meanwhile: nothing of it
    committed. Still so after `SUPERSEDED_TRIES`: a 503, to be sent again."""
    for _try in range(SUPERSEDED_TRIES):
        try:
            return await run_in_threadpool(processor().handle_raw, db, doc, source="http",
                                           site_id=site_id)
        except (LostOwnership, Superseded):
            await run_in_threadpool(db.rollback)
    raise Unavailable("the site's alarms kept changing under the batch: send it again")


def _refusal(db, actor: Actor, site: object) -> tuple[str, str] | None:
    """Why the caller may not write the site, or None. An API key must be issued for the
    telemetry feed; then it, or a person with `alarms.ingest`, writes the sites of its
    organisation's enterprise, or — a state system (keys and the people of a `state_system`
    organisation) — of its region, any site when national; national roles (administrators)
    any. Before, any key with `alarms.ingest` — an insurer's contracts feed, an
    inspectorate's — could send readings to any mine and raise its alarms and withdrawals.
    A site that does not exist is left to the processor (dead-lettered as unknown)."""
    if actor.kind == "system" and actor.feed != C.TELEMETRY_FEED:
        return "wrong_feed", f"{actor.label[:80]} is a key for the {str(actor.feed)[:40]!r} " \
            f"feed, not {C.TELEMETRY_FEED!r}"
    if actor.reach is Reach.NATIONAL:
        return None
    row = db.get(Site, site) if isinstance(site, int) and not isinstance(site, bool) else None
    if row is None:
        return None
    if actor.enterprise_id is not None:
        ok = row.enterprise_id == actor.enterprise_id
    else:  # a person with the permission and no enterprise has the system role: a state system
        state = actor.kind != "system" or actor.extra.get("org_kind") == "state_system"
        ok = state and actor.region in (None, row.region_code)
    return None if ok else ("wrong_site", f"{actor.label[:80]} may not write site {row.id}")


def _shed(n: int) -> JSONResponse:
    msg = f"ingest is over its bound of work in progress; {n} readings not taken, send again"
    return JSONResponse({"detail": [{"loc": [], "msg": msg, "type": "shed"}]}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_S)})


def _int(x: object) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


@router.post("/ingest", response_model=IngestResult,
             responses={401: {}, 413: {}, 422: {}, 503: {}})
async def ingest(request: Request, db: DbDep, actor: OptionalActorDep) -> object:
    gw_name = request.headers.get("x-gateway")
    site_id = None
    if gw_name:
        gw = await run_in_threadpool(gateways.gateway_for, db, name=gw_name,
                                     key=request.headers.get("x-gateway-key", ""))
        if gw is None:
            return await _reject(db, 401, "bad_credentials", f"gateway {gw_name[:40]!r}", None)
        site_id = gw.site_id
    elif actor is None:
        raise Unauthenticated("gateway credentials or a system account required")
    elif not actor.can(C.INGEST):
        raise Forbidden("may not ingest telemetry")
    raw = await request.body()
    try:
        doc = decode(raw, gzip=request.headers.get("content-encoding") == "gzip")
    except BadPayload as exc:
        status = 413 if exc.reason == "oversized" else 422
        return await _reject(db, status, exc.reason, exc.detail, site_id)
    if site_id is not None and site_of(doc) not in (None, site_id):
        return await _reject(db, 403, "wrong_site", "gateway is bound to another site", site_id)
    refused = None if site_id is not None else await run_in_threadpool(
        _refusal, db, actor, site_of(doc))
    if refused is not None:
        return await _reject(db, 403, *refused, None)
    # the console hears of a danger reading first, also from a batch shed below (the latch
    # keeps its retry from announcing it twice)
    await run_in_threadpool(sentinel.screen, site_id, doc)
    n, oldest = extent(doc)
    load_site = site_id if site_id is not None else _int(site_of(doc))
    token = ADMISSION.enter(load_site, n, oldest)
    if token is None:  # over the bound: nothing stored, the gateway sends it again
        await run_in_threadpool(ADMISSION.beat)
        return _shed(n)
    try:
        res = await _process(db, doc, site_id)
    finally:
        ADMISSION.leave(token)
    await run_in_threadpool(ADMISSION.beat)
    body = IngestResult(accepted=res.accepted, duplicates=res.duplicates,
                        rejected=res.rejected, alarms=res.alarms)
    status = 422 if res.accepted == 0 and res.duplicates == 0 and res.rejected else 200
    return JSONResponse(body.model_dump(), status_code=status)
