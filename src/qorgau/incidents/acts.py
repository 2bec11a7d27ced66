"""Form N-1 accident act: PDF in Kazakh and Russian (WeasyPrint, DejaVu fonts), signed with a
detached CMS signature. Re-signing after a change adds a new revision; earlier acts stay."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.config import get_settings
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.security import Actor
from qorgau.core.web import ENV
from qorgau.incidents import coding, deadlines, signing
from qorgau.incidents.constants import KZ_TZ, REGISTER, SIGN
from qorgau.incidents.investigation import get_investigation, move
from qorgau.incidents.models import Accident, Act, Investigation
from qorgau.incidents.service import get_accident
from qorgau.registry import service as registry

ACT_LANGS = ("kk", "ru")
# Form N-1 headings. Kept here (not in the .po files) because the act's wording is fixed by the
# order that approves the form, whatever the interface language.
LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "АКТ о несчастном случае на производстве (форма Н-1)",
        "number": "Номер",
        "revision": "Редакция",
        "enterprise": "Работодатель",
        "bin": "БИН",
        "region": "Регион",
        "occurred": "Дата и время несчастного случая",
        "reported": "Сообщено",
        "severity": "Тяжесть",
        "victims": "Пострадавшие",
        "circumstances": "Обстоятельства несчастного случая",
        "esaw": "Кодирование (ESAW)",
        "causes": "Причины несчастного случая",
        "fault": "Степень вины: работодатель / работник, %",
        "commission": "Комиссия",
        "findings": "Заключение комиссии",
        "investigation": "Вид расследования",
        "special": "специальное",
        "standard": "обычное",
        "signed": "Подписано электронной цифровой подписью",
        "minor": "лёгкая",
        "severe": "тяжёлая",
        "fatal": "со смертельным исходом",
    },
    "kk": {
        "title": "Өндірістегі жазатайым оқиға туралы АКТ (Н-1 нысаны)",
        "number": "Нөмірі",
        "revision": "Редакция",
        "enterprise": "Жұмыс беруші",
        "bin": "БСН",
        "region": "Өңір",
        "occurred": "Жазатайым оқиғаның күні мен уақыты",
        "reported": "Хабарланды",
        "severity": "Ауырлығы",
        "victims": "Зардап шеккендер",
        "circumstances": "Жазатайым оқиғаның мән-жайы",
        "esaw": "Кодтау (ESAW)",
        "causes": "Жазатайым оқиғаның себептері",
        "fault": "Кінә дәрежесі: жұмыс беруші / қызметкер, %",
        "commission": "Комиссия",
        "findings": "Комиссияның қорытындысы",
        "investigation": "Тергеп-тексеру түрі",
        "special": "арнайы",
        "standard": "қарапайым",
        "signed": "Электрондық цифрлық қолтаңбамен қол қойылды",
        "minor": "жеңіл",
        "severe": "ауыр",
        "fatal": "өліммен аяқталған",
    },
}


def acts_dir() -> Path:
    return get_settings().var_dir / "acts"


def act_context(
    accident: Accident, inv: Investigation, ent: Any, lang: str, rev: int
) -> dict[str, Any]:
    esaw = {
        var: coding.esaw_code(var, code).label(lang)  # type: ignore[arg-type]
        for var, code in (
            ("deviation", accident.esaw_deviation),
            ("contact", accident.esaw_contact),
            ("injury_type", accident.esaw_injury_type),
            ("body_part", accident.esaw_body_part),
        )
        if code
    }
    return {
        "L": LABELS[lang],
        "lang": lang,
        "accident": accident,
        "inv": inv,
        "ent": ent,
        "revision": rev,
        "occurred": accident.occurred_at.astimezone(KZ_TZ).strftime("%d.%m.%Y %H:%M"),
        "reported": accident.reported_at.astimezone(KZ_TZ).strftime("%d.%m.%Y %H:%M"),
        "esaw": esaw,
        "causes": [coding.cause(c).label(lang) for c in inv.causes],  # type: ignore[arg-type]
    }


def render_pdf(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = ENV.get_template("incidents/act_n1.html").render(context)
    return HTML(string=html).write_pdf()


def _next_revision(db: Session, accident_id: int) -> int:
    last = db.scalar(select(func.max(Act.revision)).where(Act.accident_id == accident_id))
    return (last or 0) + 1


def _store_pdf(accident_id: int, rev: int, lang: str, pdf: bytes) -> Path:
    path = acts_dir() / str(accident_id) / f"N1-{accident_id}-r{rev}-{lang}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    return path


def sign_act(*, db: Session, actor: Actor, accident_id: int, reason: str) -> list[Act]:
    """Generate and sign the act in kk and ru. After a change, a new revision is signed."""
    actor.require(SIGN)
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    inv = get_investigation(db=db, actor=actor, accident_id=accident_id)
    if accident.state != "findings_recorded":
        raise RuleViolation("record (or revise) the findings before signing", field="state")
    ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=accident.enterprise_id)
    rev = _next_revision(db, accident.id)
    signer = signing.get_signer()
    now = utcnow()
    acts = []
    for lang in ACT_LANGS:
        pdf = render_pdf(act_context(accident, inv, ent, lang, rev))
        path = _store_pdf(accident.id, rev, lang, pdf)
        acts.append(
            Act(
                accident_id=accident.id,
                enterprise_id=accident.enterprise_id,
                region_code=accident.region_code,
                revision=rev,
                lang=lang,
                path=str(path),
                sha256=hashlib.sha256(pdf).hexdigest(),
                signature=signer.sign(pdf),
                signer=signer.subject(),
                signed_by=actor.label,
                signed_at=now,
                reason=reason,
            )
        )
    db.add_all(acts)
    move(accident, "act_signed")
    deadlines.meet(db, accident.id, "act", now)
    deadlines.set_deadline(
        db,
        accident,
        "register",
        deadlines.register_due(now),
        db.scalar(select(Investigation.inspector_id).where(Investigation.id == inv.id)),
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="act.sign",
        object_type="accident",
        object_id=accident.id,
        after={"revision": rev, "acts": [(a.lang, a.sha256) for a in acts], "reason": reason},
    )
    events.emit(
        db,
        type="accident.act_signed",
        object_type="accident",
        object_id=accident.id,
        payload={"revision": rev, "sha256": {a.lang: a.sha256 for a in acts}},
        region_code=accident.region_code,
        enterprise_id=accident.enterprise_id,
    )
    db.commit()
    return acts


def list_acts(*, db: Session, actor: Actor, accident_id: int) -> list[Act]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    stmt = select(Act).where(Act.accident_id == accident_id).order_by(Act.revision, Act.lang)
    return list(db.scalars(stmt))


def get_act(*, db: Session, actor: Actor, act_id: int) -> Act:
    act = db.get(Act, act_id)
    if act is None:
        raise NotFound("act not found")
    get_accident(db=db, actor=actor, accident_id=act.accident_id)
    return act


def act_pdf(*, db: Session, actor: Actor, act_id: int) -> tuple[Act, bytes]:
    act = get_act(db=db, actor=actor, act_id=act_id)
    return act, Path(act.path).read_bytes()


def verify_act(*, db: Session, actor: Actor, act_id: int) -> signing.Verification:
    """Verify the stored PDF as it is on disk now against its stored signature."""
    act, pdf = act_pdf(db=db, actor=actor, act_id=act_id)
    return signing.verify(pdf, act.signature)


def register_act(*, db: Session, actor: Actor, accident_id: int) -> Accident:
    """The inspectorate enters the latest signed act in the register (2 working days)."""
    actor.require(REGISTER)
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    move(accident, "registered")
    now = utcnow()
    rev = _next_revision(db, accident.id) - 1
    for act in db.scalars(select(Act).where(Act.accident_id == accident.id, Act.revision == rev)):
        act.registered_at = now
    deadlines.meet(db, accident.id, "register", now)
    audit.record(
        db,
        actor=actor,
        action="act.register",
        object_type="accident",
        object_id=accident.id,
        after={"revision": rev},
    )
    events.emit(
        db,
        type="accident.act_registered",
        object_type="accident",
        object_id=accident.id,
        payload={"revision": rev},
        region_code=accident.region_code,
        enterprise_id=accident.enterprise_id,
    )
    db.commit()
    return accident
