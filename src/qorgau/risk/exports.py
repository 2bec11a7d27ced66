"""Register export to XLSX and PDF (WeasyPrint, DejaVu fonts by name) in kk/ru/en."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core import i18n
from qorgau.core.errors import RuleViolation
from qorgau.core.labels import N_
from qorgau.core.security import Actor
from qorgau.core.web import ENV
from qorgau.risk.constants import ControlLevel, HazardType, RiskBand, label

COLUMNS = [
    N_("No."),
    N_("Hazard type"),
    N_("Hazard"),
    N_("Workplace"),
    N_("Method"),
    N_("Initial risk"),
    N_("Residual risk"),
    N_("Band"),
    N_("Controls"),
    N_("Flags"),
    N_("Status"),
    N_("Review due"),
]


def _lang(lang: str) -> str:
    if lang not in i18n.LANGUAGES:
        raise RuleViolation("language must be kk, ru or en", field="lang")
    return lang


def _rows(db: Session, actor: Actor, enterprise_id: int, lang: str) -> list[list[Any]]:
    out = []
    for n, a in enumerate(svc.current_assessments(db, actor, [enterprise_id]), start=1):
        controls = "\n".join(f"{label(ControlLevel(c.level), lang)}: {c.text}" for c in a.controls)
        out.append(
            [
                n,
                label(HazardType(a.hazard.hazard_type), lang),
                a.hazard.description,
                a.hazard.workplace,
                a.method,
                f"{a.initial_score:g}",
                "" if a.residual_score is None else f"{a.residual_score:g}",
                label(RiskBand(a.current_band), lang),
                controls,
                ", ".join(a.flags),
                a.status,
                a.review_due.isoformat() if a.review_due else "",
            ]
        )
    return out


def _header(lang: str) -> list[str]:
    with _Lang(lang):
        return [i18n.gettext(c) for c in COLUMNS]


class _Lang:
    def __init__(self, lang: str) -> None:
        self.lang, self.old = lang, i18n.get_language()

    def __enter__(self) -> None:
        i18n.set_language(self.lang)

    def __exit__(self, *exc: object) -> None:
        i18n.set_language(self.old)


def register_xlsx(*, db: Session, actor: Actor, enterprise_id: int, lang: str) -> bytes:
    ent = svc.enterprise_for_read(db, actor, enterprise_id)
    lang = _lang(lang)
    wb = Workbook()
    ws = wb.active
    ws.title = "register"
    ws.append([ent.name, ent.bin, date.today().isoformat()])
    ws.append(_header(lang))
    for row in _rows(db, actor, ent.id, lang):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def register_pdf(*, db: Session, actor: Actor, enterprise_id: int, lang: str) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    ent = svc.enterprise_for_read(db, actor, enterprise_id)
    lang = _lang(lang)
    with _Lang(lang):
        html = ENV.get_template("risk/export.html").render(
            ent=ent,
            header=_header(lang),
            rows=_rows(db, actor, ent.id, lang),
            today=date.today(),
            lang=lang,
        )
    return HTML(string=html).write_pdf()
