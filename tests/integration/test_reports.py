"""Role-scoped XLSX / PDF reports in kk/ru/en and scheduled reports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest


def _cells(xlsx: bytes) -> list[str]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx)).active
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("kk", "Еңбекті қорғау бойынша жиынтық"),
        ("ru", "Сводка по охране труда"),
        ("en", "Labour-protection summary"),
    ],
)
def test_xlsx_in_each_language(client_as, lang, title):
    r = client_as("analyst").get(f"/api/v1/reports/summary.xlsx?lang={lang}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    cells = _cells(r.content)
    assert cells[0] == title


def test_regional_report_holds_only_its_region(client_as, world):
    cells = _cells(client_as("inspector_ala").get("/api/v1/reports/summary.xlsx?lang=en").content)
    assert "Region: KZ-75" in cells
    assert not any("Karaganda" in c or "Қарағанды" in c for c in cells)
    national = _cells(client_as("analyst").get("/api/v1/reports/summary.xlsx?lang=en").content)
    assert any("Karaganda" in c for c in national) and any("Almaty" in c for c in national)


def test_enterprise_report_and_pdf(client_as):
    r = client_as("osh_krg").get("/api/v1/reports/summary.pdf?lang=kk")
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    assert "attachment" in r.headers["content-disposition"]


def test_reports_refused_for_roles_without_reach(client_as):
    assert client_as("worker_krg").get("/api/v1/reports/summary.xlsx").status_code == 403
    assert client_as("analyst").get("/api/v1/reports/summary.doc").status_code == 404
    assert client_as("analyst").get("/api/v1/reports/summary.xlsx?lang=de").status_code == 422


def test_scheduled_report_runs_as_its_owner(db, world):
    from qorgau.accounts import service as accounts
    from qorgau.core.db import utcnow
    from qorgau.core.errors import RuleViolation
    from qorgau.integration import reports

    owner = accounts.get_user_actor(db, user_id=world.users["inspector_krg"])
    with pytest.raises(RuleViolation) as exc:
        reports.create_schedule(db=db, actor=owner, fmt="doc", language="kk", every="weekly")
    assert exc.value.field == "fmt"
    sched = reports.create_schedule(db=db, actor=owner, fmt="xlsx", language="kk", every="weekly")
    paths = reports.run_due_schedules(db=db, now=utcnow() + timedelta(seconds=1))
    mine = [p for p in paths if p.name.endswith(f"-{sched.id}.xlsx")]
    assert mine and "Өңір: KZ-35" in _cells(mine[0].read_bytes())
    db.refresh(sched)
    assert sched.next_run_at > utcnow() + timedelta(days=6)
    assert not [p for p in reports.run_due_schedules(db=db) if p.name.endswith(f"-{sched.id}.xlsx")]
