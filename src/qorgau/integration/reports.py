"""Role-scoped reports (XLSX / PDF) in kk / ru / en, and scheduled reports.

A report is a list of titled tables built from other domains' service functions within the
caller's scope (national, regional or enterprise), then rendered by openpyxl or weasyprint.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.core import audit, i18n
from qorgau.core.config import get_settings
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.i18n import _
from qorgau.core.roles import Reach
from qorgau.core.security import Actor
from qorgau.integration.constants import READ_REPORTS
from qorgau.integration.models import ReportSchedule
from qorgau.registry import service as registry

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
EVERY = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=30)}


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    title: str
    scope: str
    generated: datetime
    language: str
    tables: list[Table] = field(default_factory=list)


def _scope_label(actor: Actor) -> str:
    if actor.reach is Reach.NATIONAL:
        return _("National")
    if actor.reach is Reach.REGION:
        return f"{_('Region')}: {actor.region}"
    return f"{_('Enterprise')}: {actor.extra.get('org_name', actor.enterprise_id)}"


def summary(*, db: Session, actor: Actor, language: str) -> Report:
    """The labour-protection summary of the caller's slice, in `language`."""
    actor.require(READ_REPORTS)
    if language not in i18n.LANGUAGES:
        raise RuleViolation("language must be kk, ru or en", field="lang")
    previous = i18n.get_language()
    i18n.set_language(language)
    try:
        return _build(db, actor, language)
    finally:
        i18n.set_language(previous)


def _build(db: Session, actor: Actor, language: str) -> Report:
    today = date.today()
    rep = Report(_("Labour-protection summary"), _scope_label(actor), utcnow(), language)
    facts = registry.home_summary(db=db, actor=actor)
    rep.tables.append(
        Table(
            _("Enterprises"),
            [_("Indicator"), _("Value")],
            [
                [_("Enterprises"), facts.get("enterprises", 0)],
                [_("Hazardous enterprises"), facts.get("hazardous", 0)],
                [_("Sites"), facts.get("sites", 0)],
                [_("Employees"), facts.get("employed", 0)],
            ],
        )
    )
    injuries = _injuries(db, actor)
    if injuries:
        rep.tables.append(injuries)
    regions = {r.iso: i18n.localized_name(r, language) for r in registry.regions(db=db)}
    by_region = registry.headcount(db=db, actor=actor, on=today, group_by="region")
    rep.tables.append(
        Table(
            _("Employees under contract by region"),
            [_("Region"), _("Employees")],
            [[regions.get(k, k), n] for k, n in by_region]
            + [[_("Total"), sum(n for _k, n in by_region)]],
        )
    )
    by_section = registry.headcount(db=db, actor=actor, on=today, group_by="section")
    rep.tables.append(
        Table(
            _("Employees under contract by economic activity"),
            [_("Economic activity (OKED section)"), _("Employees")],
            [[k, n] for k, n in by_section],
        )
    )
    return rep


def _injuries(db: Session, actor: Actor) -> Table | None:
    """Injury totals from the indicators domain, when the role may read them."""
    from qorgau.indicators import service as indicators
    from qorgau.indicators.constants import READ

    if not actor.can(READ):
        return None
    t = indicators.totals(db=db, actor=actor, f=indicators.default_filters())
    return Table(
        _("Workplace injuries"),
        [_("Indicator"), _("Value")],
        [
            [_("Accidents"), t.get("accidents", 0)],
            [_("Injured"), t.get("injured", 0)],
            [_("Fatal"), t.get("fatal", 0)],
        ],
    )


def to_xlsx(rep: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "qorgau"
    ws.append([rep.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([rep.scope])
    ws.append([f"{_generated(rep)}"])
    for table in rep.tables:
        ws.append([])
        ws.append([table.title])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.append(table.headers)
        for row in table.rows:
            ws.append(row)
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _generated(rep: Report) -> str:
    return f"{_('Generated')}: {rep.generated:%Y-%m-%d %H:%M} UTC"


def to_pdf(rep: Report) -> bytes:
    from weasyprint import HTML

    from qorgau.core.web import ENV

    html = ENV.get_template("integration/report_pdf.html").render(
        rep=rep, generated=_generated(rep), lang=rep.language
    )
    return HTML(string=html).write_pdf()


def render(rep: Report, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise RuleViolation("format must be xlsx or pdf", field="fmt")
    previous = i18n.get_language()
    i18n.set_language(rep.language)
    try:
        return to_xlsx(rep) if fmt == "xlsx" else to_pdf(rep)
    finally:
        i18n.set_language(previous)


# --- schedules ----------------------------------------------------------------------------


def create_schedule(
    *, db: Session, actor: Actor, fmt: str, language: str, every: str
) -> ReportSchedule:
    actor.require(READ_REPORTS)
    if fmt not in FORMATS:
        raise RuleViolation("format must be xlsx or pdf", field="fmt")
    if every not in EVERY:
        raise RuleViolation("every must be daily, weekly or monthly", field="every")
    if language not in i18n.LANGUAGES:
        raise RuleViolation("language must be kk, ru or en", field="language")
    if actor.kind != "user" or actor.organisation_id is None:
        raise RuleViolation("only a user can own a report schedule", field="owner")
    row = ReportSchedule(
        organisation_id=actor.organisation_id,
        owner_user_id=actor.id,
        report="summary",
        fmt=fmt,
        language=language,
        every=every,
        next_run_at=utcnow(),
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="report_schedule.create",
        object_type="report_schedule",
        object_id=row.id,
        after={"fmt": fmt, "language": language, "every": every},
    )
    db.commit()
    return row


def list_schedules(*, db: Session, actor: Actor) -> list[ReportSchedule]:
    actor.require(READ_REPORTS)
    stmt = select(ReportSchedule).where(ReportSchedule.owner_user_id == actor.id)
    return list(db.scalars(stmt.order_by(ReportSchedule.id)))


def report_dir() -> Path:
    return get_settings().var_dir / "reports"


def run_due_schedules(*, db: Session, now: datetime | None = None) -> list[Path]:
    """Produce every due report as its owner (same scope as if they downloaded it); commits."""
    now = now or utcnow()
    written: list[Path] = []
    due = db.scalars(select(ReportSchedule).where(ReportSchedule.next_run_at <= now))
    for sched in list(due):
        owner = accounts.get_user_actor(db, user_id=sched.owner_user_id)
        if owner is None:
            raise NotFound("schedule owner not found")
        rep = summary(db=db, actor=owner, language=sched.language)
        folder = report_dir() / str(sched.organisation_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"summary-{now:%Y%m%d-%H%M}-{sched.id}.{sched.fmt}"
        path.write_bytes(render(rep, sched.fmt))
        sched.last_run_at, sched.last_file = now, str(path)
        sched.next_run_at = now + EVERY[sched.every]
        written.append(path)
    db.commit()
    return written
