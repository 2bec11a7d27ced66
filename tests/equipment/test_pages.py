"""Equipment pages: compliance for the industry ministry, employer's sites, catalogue edit."""

from __future__ import annotations

import secrets

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def test_compliance_page(page_as) -> None:
    c, _ = page_as("industry")
    r = c.get("/equipment")
    assert r.status_code == 200 and "KZ-35" not in r.text  # regions shown by name
    assert "%" in r.text


def test_employer_registers_with_act(page_as, world) -> None:
    c, csrf = page_as("osh_krg")
    serial = f"CH4-{secrets.token_hex(3)}"
    r = c.post(
        "/equipment/installations",
        data={
            "csrf_token": csrf,
            "site_id": world.sites["mine_krg"],
            "requirement_code": "mine.positioning",
            "serial_no": serial,
            "commissioned_on": "2026-02-01",
        },
        files={"act": ("act.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert serial in c.get("/equipment").text
    bad = c.post(
        "/equipment/installations",
        data={
            "csrf_token": csrf,
            "site_id": world.sites["mine_krg"],
            "requirement_code": "mine.positioning",
            "serial_no": serial + "x",
            "commissioned_on": "2026-02-01",
        },
        files={"act": ("act.pdf", b"not a pdf", "text/plain")},
    )
    assert bad.status_code == 422 and serial + "x" not in bad.text


def test_catalogue_edit(page_as) -> None:
    c, csrf = page_as("industry")
    code = f"w.{secrets.token_hex(3)}"
    r = c.post(
        "/equipment/catalogue",
        data={
            "csrf_token": csrf,
            "code": code,
            "site_kind": "warehouse",
            "name_kk": "Қойма талабы",
            "name_ru": "Требование склада",
            "name_en": "Warehouse item",
            "deadline": "2026-12-31",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert code in c.get("/equipment/catalogue").text
    o, ocsrf = page_as("osh_krg")
    r = o.post(
        "/equipment/catalogue",
        data={
            "csrf_token": ocsrf,
            "code": code + "z",
            "site_kind": "warehouse",
            "name_kk": "Қойма",
            "name_ru": "Склад",
            "name_en": "Warehouse",
            "deadline": "2026-12-31",
        },
    )
    assert r.status_code == 403
