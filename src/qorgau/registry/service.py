"""Registry operations: enterprises, sites, workers, employment and headcount on any date."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, or_, select, text
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.identifiers import iin_birth_date, iin_sex
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.roles import (
    READ_REGISTRY,
    READ_SITE,
    READ_WORKERS,
    WRITE_REGISTRY,
    WRITE_SITES,
)
from qorgau.core.security import Actor, iin_hash, in_scope, mask_iin, scoped
from qorgau.registry import headcount as headcount_module
from qorgau.registry.exceptions import DuplicateBin, EnterpriseNotFound
from qorgau.registry.models import Activity, Employment, Enterprise, Region, Site, Worker
from qorgau.registry.schemas import EmploymentIn, EnterpriseIn, EnterprisePatch, SiteIn, WorkerIn

ENTERPRISE_FIELDS = [
    "bin",
    "name",
    "activity_code",
    "region_code",
    "address",
    "lon",
    "lat",
    "size_band",
    "hazardous",
    "revision",
]


def _activity(db: Session, code: str) -> Activity:
    activity = db.get(Activity, code)
    if activity is None:
        raise RuleViolation(f"unknown OKED activity code {code!r}", field="activity_code")
    return activity


def _region(db: Session, iso: str) -> Region:
    region = db.get(Region, iso)
    if region is None:
        raise RuleViolation(f"unknown region code {iso!r}", field="region_code")
    return region


def create_enterprise(*, db: Session, actor: Actor, data: EnterpriseIn) -> Enterprise:
    actor.require(WRITE_REGISTRY)
    activity = _activity(db, data.activity_code)
    _region(db, data.region_code)
    if db.scalar(select(Enterprise.id).where(Enterprise.bin == data.bin)):
        raise DuplicateBin(data.bin)
    ent = Enterprise(**data.model_dump(), section=activity.section, created_by=actor.label)
    db.add(ent)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="enterprise.create",
        object_type="enterprise",
        object_id=ent.id,
        after=audit.snapshot(ent, ENTERPRISE_FIELDS),
    )
    db.commit()
    return ent


def get_enterprise(*, db: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    actor.require(READ_REGISTRY)
    ent = db.get(Enterprise, enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise EnterpriseNotFound()
    return ent


def get_enterprise_by_bin(*, db: Session, actor: Actor, bin_: str) -> Enterprise:
    ent = db.scalar(scoped(select(Enterprise), Enterprise, actor).where(Enterprise.bin == bin_))
    if ent is None:
        raise EnterpriseNotFound()
    return ent


def enterprises_by_bin(*, db: Session, actor: Actor, bins: set[str]) -> dict[str, Enterprise]:
    """Bulk BIN lookup. State systems and administrators (WRITE_REGISTRY) feed national
    registers that name enterprises of every region, so they look up unscoped; anyone else
    finds only the enterprises in their scope."""
    base = select(Enterprise)
    if not actor.can(WRITE_REGISTRY):
        actor.require(READ_REGISTRY)
        base = scoped(base, Enterprise, actor)
    found: dict[str, Enterprise] = {}
    ordered = sorted(bins)
    for i in range(0, len(ordered), 500):
        found.update({e.bin: e for e in db.scalars(base.where(
            Enterprise.bin.in_(ordered[i : i + 500])))})
    return found


def update_enterprise(
    *, db: Session, actor: Actor, enterprise_id: int, data: EnterprisePatch
) -> Enterprise:
    """A change is a new revision with a reason; the audit entry keeps the before/after."""
    actor.require(WRITE_REGISTRY)
    ent = get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    before = audit.snapshot(ent, ENTERPRISE_FIELDS)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if "activity_code" in changes:
        ent.section = _activity(db, changes["activity_code"]).section
    for key, value in changes.items():
        setattr(ent, key, value)
    ent.revision += 1
    audit.record(
        db,
        actor=actor,
        action="enterprise.revise",
        object_type="enterprise",
        object_id=ent.id,
        before=before,
        after={**audit.snapshot(ent, ENTERPRISE_FIELDS), "reason": data.reason},
    )
    db.commit()
    return ent


def _search_clause(db: Session, q: str) -> Any:
    """BIN prefix, or a name fragment through the trigram (PG) / FTS5 trigram (SQLite) index."""
    q = q.strip()
    if q.isdigit():
        # A range, not LIKE 'q%': a plain B-tree serves it under any collation.
        return Enterprise.bin.between(q[:12].ljust(12, "0"), q[:12].ljust(12, "9"))
    if len(q) < 3:
        return Enterprise.name.ilike(f"{q}%")
    if db.get_bind().dialect.name == "sqlite":
        fts = '"' + q.replace('"', '""') + '"'
        ids = text("SELECT rowid FROM enterprise_fts WHERE enterprise_fts MATCH :fts")
        return Enterprise.id.in_(ids.bindparams(fts=fts))
    return Enterprise.name.ilike(f"%{q}%")


def enterprise_query(
    *,
    db: Session,
    actor: Actor,
    q: str | None = None,
    region: str | None = None,
    section: str | None = None,
    size_band: str | None = None,
    hazardous: bool | None = None,
) -> Select[Any]:
    actor.require(READ_REGISTRY)
    stmt = scoped(select(Enterprise), Enterprise, actor)
    if q:
        stmt = stmt.where(_search_clause(db, q))
    filters = {
        "region_code": region,
        "section": section,
        "size_band": size_band,
        "hazardous": hazardous,
    }
    for column, value in filters.items():
        if value is not None and value != "":
            stmt = stmt.where(getattr(Enterprise, column) == value)
    return stmt.order_by(Enterprise.name, Enterprise.id)


def list_enterprises(
    *, db: Session, actor: Actor, params: PageParams, **filters: Any
) -> tuple[list[Enterprise], int]:
    return paginate(db, enterprise_query(db=db, actor=actor, **filters), params)


_SIZE_RANK = case({"large": 0, "medium": 1, "small": 2, "micro": 3}, value=Enterprise.size_band,
                  else_=4)


def demo_host(db: Session, *, region: str, sections: tuple[str, ...] | None = None,
              activity: str | None = None) -> Enterprise | None:
    """The enterprise the demo gives its accounts and simulated sites (`qorgau demo`): one rule
    for every caller, so the demo mine's OSH officer and dispatcher are the mine's whose
    alarms are simulated (two rules had put them at different enterprises). Of the region's
    enterprises in the sections: the activity's first, hazardous first, larger first."""
    stmt = select(Enterprise).where(Enterprise.region_code == region)
    if sections is not None:
        stmt = stmt.where(Enterprise.section.in_(sections))
    first = () if activity is None else (Enterprise.activity_code != activity,)
    return db.scalars(stmt.order_by(*first, Enterprise.hazardous.desc(), _SIZE_RANK,
                                    Enterprise.id).limit(1)).first()


def demo_mine(db: Session) -> Enterprise | None:
    """The demo's Karaganda coal mine: its accounts (osh.mine, dispatcher.mine, worker.mine)
    and the simulated methane site (alarms/simulate.py)."""
    return demo_host(db, region="KZ-35", sections=("B",), activity="05")


def create_site(*, db: Session, actor: Actor, data: SiteIn) -> Site:
    actor.require(WRITE_SITES)
    ent = db.get(Enterprise, data.enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise RuleViolation("unknown enterprise", field="enterprise_id")
    site = Site(**data.model_dump(), region_code=ent.region_code, created_by=actor.label)
    db.add(site)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="site.create",
        object_type="site",
        object_id=site.id,
        after=data.model_dump(),
    )
    db.commit()
    return site


def list_sites(
    *, db: Session, actor: Actor, enterprise_id: int | None, params: PageParams
) -> tuple[list[Site], int]:
    actor.require(READ_REGISTRY)
    stmt = scoped(select(Site), Site, actor).order_by(Site.id)
    if enterprise_id is not None:
        stmt = stmt.where(Site.enterprise_id == enterprise_id)
    return paginate(db, stmt, params)


def get_site(*, db: Session, actor: Actor, site_id: int) -> Site:
    actor.require(READ_SITE)
    site = db.get(Site, site_id)
    if site is None or not in_scope(site, actor):
        raise NotFound("site not found")
    return site


def find_worker(*, db: Session, iin: str) -> Worker | None:
    return db.scalar(select(Worker).where(Worker.iin_hash == iin_hash(iin)))


def _upsert_worker(db: Session, data: WorkerIn) -> Worker:
    worker = find_worker(db=db, iin=data.iin)
    if worker is None:
        birth = iin_birth_date(data.iin)
        assert birth is not None  # validated by WorkerIn
        worker = Worker(
            iin_hash=iin_hash(data.iin),
            iin_masked=mask_iin(data.iin),
            last_name=data.last_name,
            first_name=data.first_name,
            patronymic=data.patronymic,
            birth_date=birth,
            sex=iin_sex(data.iin),
        )
        db.add(worker)
        db.flush()
    return worker


def register_employment(*, db: Session, actor: Actor, data: EmploymentIn) -> Employment:
    actor.require(WRITE_REGISTRY)
    ent = db.scalar(select(Enterprise).where(Enterprise.bin == data.enterprise_bin))
    if ent is None:
        raise RuleViolation("unknown enterprise BIN", field="enterprise_bin")
    if db.scalar(select(Employment.id).where(Employment.contract_no == data.contract_no)):
        raise RuleViolation("contract number already registered", field="contract_no")
    worker = _upsert_worker(db, data.worker)
    row = Employment(
        contract_no=data.contract_no,
        worker_id=worker.id,
        enterprise_id=ent.id,
        region_code=ent.region_code,
        section=ent.section,
        occupation=data.occupation,
        start_date=data.start_date,
        end_date=data.end_date,
        monthly_wage=data.monthly_wage,
        created_by=actor.label,
    )
    db.add(row)
    if data.end_date is None or data.end_date >= date.today():
        worker.enterprise_id, worker.region_code = ent.id, ent.region_code
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="employment.register",
        object_type="employment",
        object_id=row.id,
        after={
            "contract_no": row.contract_no,
            "worker": worker.id,
            "enterprise": ent.id,
            "start": row.start_date,
            "end": row.end_date,
        },
    )
    db.commit()
    return row


def list_workers(
    *, db: Session, actor: Actor, enterprise_id: int | None, q: str | None, params: PageParams
) -> tuple[list[Worker], int]:
    actor.require(READ_WORKERS)
    stmt = scoped(select(Worker), Worker, actor).order_by(Worker.last_name, Worker.id)
    if enterprise_id is not None:
        stmt = stmt.where(Worker.enterprise_id == enterprise_id)
    if q:
        if q.isdigit() and len(q) == 12:
            stmt = stmt.where(Worker.iin_hash == iin_hash(q))
        else:
            stmt = stmt.where(
                or_(Worker.last_name.ilike(f"{q}%"), Worker.first_name.ilike(f"{q}%"))
            )
    return paginate(db, stmt, params)


GROUPS = headcount_module.GROUPS
active_on = headcount_module.active_on
headcount_in_force = headcount_module.in_force  # indicators' denominators (no permission check)


def headcount(*, db: Session, actor: Actor, on: date, group_by: str) -> list[tuple[Any, int]]:
    """Contracts in force on a date, grouped in SQL, within the caller's scope."""
    actor.require(READ_REGISTRY)
    if group_by not in GROUPS:
        raise RuleViolation(f"group_by must be one of {sorted(GROUPS)}", field="group_by")
    groups, _ = headcount_module.in_force(db=db, actor=actor, on=on, group_by=group_by)
    return sorted(groups.items())


def enterprise_headcount(*, db: Session, enterprise_id: int, on: date) -> int:
    stmt = (
        select(func.count())
        .select_from(Employment)
        .where(Employment.enterprise_id == enterprise_id, active_on(on))
    )
    return db.scalar(stmt) or 0


def regions(*, db: Session) -> list[Region]:
    return list(db.scalars(select(Region).order_by(Region.iso)))


def activities(*, db: Session, level: str | None = None) -> list[Activity]:
    stmt = select(Activity).order_by(Activity.code)
    if level:
        stmt = stmt.where(Activity.level == level)
    return list(db.scalars(stmt))


def home_summary(*, db: Session, actor: Actor) -> dict[str, Any]:
    """Figures for the home page, within the caller's slice (empty for roles without reach)."""
    if not actor.can(READ_REGISTRY):
        return {}
    today = date.today()
    enterprises = db.scalar(scoped(select(func.count()).select_from(Enterprise), Enterprise, actor))
    hazardous = db.scalar(
        scoped(select(func.count()).select_from(Enterprise), Enterprise, actor).where(
            Enterprise.hazardous
        )
    )
    employed = db.scalar(
        scoped(select(func.count()).select_from(Employment), Employment, actor).where(
            active_on(today)
        )
    )
    sites = db.scalar(scoped(select(func.count()).select_from(Site), Site, actor))
    return {
        "enterprises": enterprises or 0,
        "hazardous": hazardous or 0,
        "employed": employed or 0,
        "sites": sites or 0,
        "on": today,
    }


# Set-based feed operations (used by the integration domain; they do not commit).
from qorgau.registry.bulk import (  # noqa: E402, F401
    BulkOutcome,
    EmploymentDelta,
    apply_employment_deltas,
    upsert_enterprises,
)
