"""Insurer portal: CSV and XLSX upload, row errors shown, gap list per scope."""

from __future__ import annotations

import io

from openpyxl import Workbook

from qorgau.insurance.upload import COLUMNS


def _csv(rows: list[dict[str, object]]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(str(r[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines).encode()


def test_upload_csv_then_listed(page_as, make_employer, crow) -> None:
    _, bin_ = make_employer([150_000])
    row = crow(bin_, start="2025-01-01", end="2025-12-31", headcount=1, payroll="1800000")
    c, csrf = page_as("insurer")
    r = c.post(
        "/insurance/upload",
        data={"csrf_token": csrf},
        files={"file": ("c.csv", _csv([row]), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert row["policy_no"] in r.text


def test_upload_xlsx_bad_rows_show_errors(page_as, make_employer, crow) -> None:
    _, bin_ = make_employer([150_000])
    good = crow(bin_, start="2025-01-01", end="2025-12-31", headcount=1, payroll="1800000")
    bad = {**crow(bin_, start="2026-01-01", end="2026-12-31"), "payroll": -10}
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    for row in (good, bad):
        ws.append([row[c] for c in COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    c, csrf = page_as("insurer")
    r = c.post(
        "/insurance/upload",
        data={"csrf_token": csrf},
        files={"file": ("c.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 422
    assert "payroll" in r.text and good["policy_no"] not in r.text


def test_upload_needs_csrf(page_as) -> None:
    c, _ = page_as("insurer")
    r = c.post(
        "/insurance/upload",
        data={"csrf_token": "wrong"},
        files={"file": ("c.csv", b"x", "text/csv")},
    )
    assert r.status_code == 403


def test_gap_page_scoped(page_as, client_as) -> None:
    client_as("admin").post("/api/v1/insurance/gaps/recompute", params={"on": "2025-04-02"})
    c, _ = page_as("inspector_ala")
    r = c.get("/insurance/gaps")
    assert r.status_code == 200 and "KZ-75" in r.text and "KZ-35" not in r.text
    c, _ = page_as("worker_krg")
    assert c.get("/insurance/gaps").status_code == 403
