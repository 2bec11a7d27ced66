"""Integration REST API: bulk feeds, import jobs, webhook subscriptions, deliveries, monitor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.errors import NotFound
from qorgau.core.openapi import ErrorOut, file_responses
from qorgau.integration import monitor, reports, service
from qorgau.integration.idempotency import IdempotencyDep, WithStatus
from qorgau.integration.models import ImportJob
from qorgau.integration.schemas import (
    BulkResultOut,
    DeliveryOut,
    FeedDeliveryIn,
    FeedHealthOut,
    ImportJobOut,
    ReplayIn,
    ReplayOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)

router = APIRouter(prefix="/api/v1", tags=["integration"])

FEED_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": BulkResultOut, "description": "Applied whole; outcome per row"},
    202: {"model": ImportJobOut, "description": "Queued as an import job (large delivery)"},
    403: {"description": "The API key is not scoped to this feed"},
    409: {"description": "Idempotency-Key reused with a different body"},
    413: {"description": "More rows than allowed in one delivery"},
    422: {
        "model": BulkResultOut | ErrorOut,
        "description": "Nothing applied: every bad row listed (`errors`), or the request itself"
        " is malformed (`detail`, as on every endpoint)",
    },
}


def _feed(
    feed: str, data: FeedDeliveryIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    def op() -> WithStatus:
        out = service.receive_feed(db=db, actor=actor, feed=feed, data=data)
        if isinstance(out, ImportJob):
            return WithStatus(ImportJobOut.model_validate(out), 202)
        return WithStatus(out, 200 if out.status == "applied" else 422)

    return idem.run(op)


@router.post("/feeds/employment-contracts", responses=FEED_RESPONSES, response_model=BulkResultOut)
def employment_contracts(
    data: FeedDeliveryIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    """Daily deltas from the unified employment-contract system: `hire`, `change`,
    `terminate`, keyed by `contract_no`. Applied whole or not at all; re-sending changes nothing."""
    return _feed("employment-contracts", data, db, actor, idem)


@router.post("/feeds/business-register", responses=FEED_RESPONSES, response_model=BulkResultOut)
def business_register(
    data: FeedDeliveryIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    """Enterprises from the state business register, keyed by BIN (create or revise)."""
    return _feed("business-register", data, db, actor, idem)


@router.post(
    "/feeds/{feed}",
    responses=FEED_RESPONSES,
    response_model=BulkResultOut,
)
def other_feed(
    feed: str, data: FeedDeliveryIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    """Connector feeds in our row shape: `trauma_visit`, `sick_leave`, `insurance-contracts`,
    `insurance_claim`, `hpf-register` (see docs/integration.md for each mapping)."""
    return _feed(feed, data, db, actor, idem)


@router.get("/import-jobs/{job_id}", response_model=ImportJobOut)
def import_job(job_id: int, db: DbDep, actor: ActorDep) -> ImportJobOut:
    return ImportJobOut.model_validate(service.get_job(db=db, actor=actor, job_id=job_id))


@router.post("/subscriptions", response_model=SubscriptionCreated, status_code=201)
def create_subscription(
    data: SubscriptionIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    """Subscribe the caller's organisation to events; the signing secret is shown once."""

    def op() -> SubscriptionCreated:
        sub, secret = service.create_subscription(db=db, actor=actor, data=data)
        return SubscriptionCreated(
            secret=secret, **SubscriptionOut.model_validate(sub).model_dump()
        )

    return idem.run(op, status_code=201)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(db: DbDep, actor: ActorDep) -> list[SubscriptionOut]:
    return [
        SubscriptionOut.model_validate(s) for s in service.list_subscriptions(db=db, actor=actor)
    ]


@router.post("/subscriptions/{subscription_id}/deactivate", response_model=SubscriptionOut)
def deactivate_subscription(
    subscription_id: int, db: DbDep, actor: ActorDep, idem: IdempotencyDep
) -> JSONResponse:
    return idem.run(
        lambda: SubscriptionOut.model_validate(
            service.deactivate_subscription(db=db, actor=actor, subscription_id=subscription_id)
        )
    )


@router.get("/deliveries", response_model=list[DeliveryOut])
def deliveries(
    db: DbDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
) -> list[DeliveryOut]:
    """Your organisation's webhook deliveries; `status=dead` is the dead-letter list."""
    return [
        DeliveryOut.model_validate(d)
        for d in service.list_deliveries(db=db, actor=actor, status=status)
    ]


@router.post("/deliveries/replay", response_model=ReplayOut)
def replay(data: ReplayIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep) -> JSONResponse:
    """Queue deliveries again (dead letters or any by id); they keep their event id."""
    return idem.run(
        lambda: ReplayOut(
            replayed=service.replay(
                db=db, actor=actor, delivery_ids=data.delivery_ids, all_dead=data.all_dead
            )
        )
    )


@router.get(
    "/reports/summary.{fmt}",
    response_class=Response,
    responses=file_responses(*reports.FORMATS.values(), description="The report"),
)
def summary_report(
    fmt: str, db: DbDep, actor: ActorDep, lang: Annotated[str, Query(pattern="^(kk|ru|en)$")] = "ru"
) -> Response:
    """The labour-protection summary of your scope (national / region / enterprise) as XLSX or
    PDF, in Kazakh, Russian or English."""
    if fmt not in reports.FORMATS:
        raise NotFound("no such report format")
    rep = reports.summary(db=db, actor=actor, language=lang)
    body = reports.render(rep, fmt)
    name = f"qorgau-summary-{lang}-{rep.generated:%Y%m%d}.{fmt}"
    return Response(
        body,
        media_type=reports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/exchange/feeds", response_model=list[FeedHealthOut])
def exchange_feeds(db: DbDep, actor: ActorDep) -> list[FeedHealthOut]:
    """Every feed's freshness, volumes, rejects and last error (admin and ministry)."""
    return monitor.feed_health(db=db, actor=actor)
