"""The delivery-wide IIN check agrees with the row-by-row one, and a bulk delivery still reports
every bad IIN with the same message as the single-record endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from qorgau.core.identifiers import complete, iin_problem
from qorgau.integration.bulk import valid_iins, validate_rows
from qorgau.integration.schemas import EmploymentDeltaRow

# 11 digits shaped like an IIN (any date, any century digit) completed with their check digit,
# plus arbitrary text: the fast check may refuse a valid IIN (it is then checked row by row)
# but must never accept an invalid one.
_shaped = st.builds(
    lambda y, m, d, c, s: complete(f"{y:02d}{m:02d}{d:02d}{c}{s:04d}") or f"{y:02d}{m:02d}",
    st.integers(0, 99),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 9),
    st.integers(0, 9999),
)
_values = st.lists(st.one_of(_shaped, st.text(max_size=14), st.none(), st.integers()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_fast_iin_check_matches_iin_problem(values):
    ok = valid_iins(values)
    for v, fast in zip(values, ok, strict=True):
        assert bool(fast) == (isinstance(v, str) and v.isascii() and iin_problem(v) is None), v


def test_leap_day_and_century_rules():
    leap = complete("00022950000") or ""  # 29 Feb 2000 (century digit 5: 2000s)
    not_leap = complete("00022930000")  # 29 Feb 1900 does not exist
    assert leap and iin_problem(leap) is None
    assert not_leap and iin_problem(not_leap) is not None
    assert valid_iins([leap, not_leap]).tolist() == [True, False]


def _hire(iin: str, n: int) -> dict[str, object]:
    return {
        "op": "hire",
        "contract_no": f"V-{n}",
        "enterprise_bin": "100140000005",
        "worker": {"iin": iin, "last_name": "A", "first_name": "B"},
        "occupation": "miner",
        "start_date": "2026-01-01",
        "changed_at": datetime.now(UTC).isoformat(),
    }


def test_every_bad_iin_reported_with_the_usual_message():
    good = complete("85041230001") or ""
    broken = good[:11] + str((int(good[11]) + 1) % 10)
    rows = [_hire(good, 0), _hire(broken, 1), _hire("12345", 2), _hire(f" {good} ", 3)]
    parsed, errors = validate_rows(EmploymentDeltaRow, rows)
    assert [e.row for e in errors] == [1, 2]
    assert all(e.field == "worker.iin" for e in errors)
    assert "check digit does not match" in errors[0].reason
    assert "must be 12 digits" in errors[1].reason
    assert [p.worker.iin for p in parsed] == [good, good]  # whitespace stripped as before


def test_applied_delivery_has_one_audit_entry_with_the_rows_digest(db, feed_client, mine_bin):
    import secrets

    from sqlalchemy import select

    from integration.integ_helpers import envelope, hire
    from qorgau.core.audit import AuditEntry
    from qorgau.integration.bulk import rows_digest

    tag = secrets.token_hex(3)
    body = envelope([hire(f"D-{tag}-{i}", mine_bin) for i in range(3)])
    r = feed_client("employment-contracts").post("/api/v1/feeds/employment-contracts", json=body)
    assert r.status_code == 200, r.text
    db.expire_all()
    entries = list(
        db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "feed.accept", AuditEntry.object_id == "employment-contracts"
            )
        )
    )
    mine = [e for e in entries if e.diff["after"]["delivery_id"] == body["delivery_id"]]
    assert len(mine) == 1
    assert mine[0].diff["after"]["rows_sha256"] == rows_digest(body["rows"])
    assert mine[0].diff["after"]["rows"] == 3
