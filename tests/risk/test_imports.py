"""XLSX import: the template round-trips; a bad row rejects the whole file and names the row."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from qorgau.risk.imports import columns
from qorgau.risk.models import Hazard


def _book(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(columns("matrix_5x5"))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [
    "noise",
    "Compressor room noise",
    "Compressor room",
    "operator",
    "operators",
    4,
    4,
    3,
    2,
    3,
    "",
    "engineering: Acoustic enclosure\nppe: Ear defenders",
    "yes",
]


def test_template_downloads_and_imports(client_as, world):
    c = client_as("osh_ala")
    c.put(f"/api/v1/risk/settings/{world.enterprises['build_ala']}", json={"method": "matrix_5x5"})
    r = c.get("/api/v1/risk/import-template.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [c_.value for c_ in ws[1]] == columns("matrix_5x5")
    r = c.post(
        f"/api/v1/risk/import/{world.enterprises['build_ala']}",
        files={"file": ("a.xlsx", r.content)},
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1


def test_bad_row_changes_nothing_and_is_reported(client_as, world, db):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    c.put(f"/api/v1/risk/settings/{ent}", json={"method": "matrix_5x5"})
    before = db.query(Hazard).filter(Hazard.enterprise_id == ent).count()
    bad_score = list(GOOD)
    bad_score[7] = 7  # severity 7 is off the 5×5 scale
    bad_type = list(GOOD)
    bad_type[0] = "gravity"
    content = _book([GOOD, bad_score, GOOD, bad_type])
    r = c.post(f"/api/v1/risk/import/{ent}", files={"file": ("a.xlsx", content)})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [(d["row"], d["column"]) for d in detail] == [(3, "severity"), (5, "hazard_type")]
    db.expire_all()
    assert db.query(Hazard).filter(Hazard.enterprise_id == ent).count() == before


def test_not_a_workbook_and_other_enterprise(client_as, world):
    c = client_as("osh_ala")
    r = c.post(
        f"/api/v1/risk/import/{world.enterprises['build_ala']}",
        files={"file": ("a.xlsx", b"%PDF-1.4 nope")},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = c.post(
        f"/api/v1/risk/import/{world.enterprises['mine_krg']}",
        files={"file": ("a.xlsx", _book([GOOD]))},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enterprise_id"]


def test_exports_in_kk_and_ru(client_as, world):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    for lang in ("kk", "ru"):
        r = c.get(f"/api/v1/risk/export/{ent}.xlsx?lang={lang}")
        assert r.status_code == 200
        assert load_workbook(io.BytesIO(r.content)).active.max_row >= 2
    r = c.get(f"/api/v1/risk/export/{ent}.pdf?lang=kk")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert client_as("osh_krg").get(f"/api/v1/risk/export/{ent}.pdf").status_code == 404
