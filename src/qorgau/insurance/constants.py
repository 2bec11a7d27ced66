"""Insurance permissions and the tolerances used when checking contracts against the register."""

from __future__ import annotations

from decimal import Decimal

from qorgau.core.labels import N_
from qorgau.core.roles import Role, grant

WRITE_CONTRACTS = grant("insurance.contracts.write", {Role.INSURER, Role.SYSTEM})
READ_CONTRACTS = grant(
    "insurance.contracts.read",
    {
        Role.INSURER,
        Role.SYSTEM,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.LABOUR_INSPECTOR,
        Role.EMPLOYER_OSH,
        Role.AKIMAT,
    },
)
READ_GAPS = grant(
    "insurance.gaps.read",
    {
        Role.INSURER,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.LABOUR_INSPECTOR,
        Role.EMPLOYER_OSH,
        Role.AKIMAT,
    },
)
RECOMPUTE_GAPS = grant("insurance.gaps.recompute", {Role.ADMIN})
WRITE_CLAIMS = grant("insurance.claims.write", {Role.INSURER, Role.SYSTEM})

# A declared premium may differ from tariff × insurable payroll by rounding only.
PREMIUM_TOLERANCE_KZT = Decimal("1.00")
# Payroll counts as under-covered when the insured payroll is below the register's by more.
PAYROLL_TOLERANCE = Decimal("0.05")
MAX_BATCH_ROWS = 10_000

GAP_KINDS = {
    "no_contract": N_("No contract while employing"),
    "lapsed": N_("Contract lapsed"),
    "headcount": N_("Headcount under-covered"),
    "payroll": N_("Payroll under-covered"),
}
CLAIM_STATES = ("filed", "accepted", "paid", "rejected")
