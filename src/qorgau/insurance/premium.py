"""Premium arithmetic (pure): tariff of the risk class × insurable payroll, capped per person.

Payroll here is the annual payroll of the insured employees; the salary counted per person is
capped at `salary_cap_min_wages` × the minimum wage of the contract's start year per month.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from qorgau.registry.refdata import load_insurance_params

CENT = Decimal("0.01")


def min_wage_or_latest(year: int) -> int:
    """The year's minimum wage, or the latest recorded before it (gap checks run every day)."""
    table = load_insurance_params().min_wage_kzt
    known = [y for y in table if y <= year] or [min(table)]
    return table[max(known)]


def monthly_cap(year: int) -> int:
    return load_insurance_params().salary_cap_min_wages * min_wage_or_latest(year)


def insurable_payroll(payroll: Decimal, headcount: int, year: int) -> Decimal:
    """The payroll the tariff applies to: at most headcount × cap × contract months."""
    months = load_insurance_params().contract_months
    ceiling = Decimal(headcount * monthly_cap(year) * months)
    return min(Decimal(payroll), ceiling)


def expected_premium(payroll: Decimal, headcount: int, year: int, tariff_pct: Decimal) -> Decimal:
    params = load_insurance_params()
    raw = insurable_payroll(payroll, headcount, year) * Decimal(tariff_pct) / Decimal(100)
    floor = Decimal(params.min_premium_min_wages * params.min_wage(year))
    return max(raw, floor).quantize(CENT, rounding=ROUND_HALF_UP)


def register_payroll(monthly_wages: list[int], year: int) -> Decimal:
    """Annual payroll of the register's employees with each wage capped (for gap checks)."""
    cap = monthly_cap(year)
    months = load_insurance_params().contract_months
    return Decimal(sum(min(w, cap) for w in monthly_wages) * months)
