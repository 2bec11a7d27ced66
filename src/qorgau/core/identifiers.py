"""Kazakhstan's 12-digit IIN (persons) and BIN (legal entities): format and check digit."""

from __future__ import annotations

from datetime import date

_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first11: str) -> int | None:
    """The 12th digit for 11 digits, or None when both weightings give 10 (number unusable)."""
    digits = [int(c) for c in first11]
    for weights in (_W1, _W2):
        value = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if value != 10:
            return value
    return None


def _checksum_ok(number: str) -> bool:
    return len(number) == 12 and number.isdigit() and check_digit(number[:11]) == int(number[11])


def iin_problem(iin: str) -> str | None:
    """None when valid, else the reason (used verbatim in 422 messages)."""
    if len(iin) != 12 or not iin.isdigit():
        return "must be 12 digits"
    if iin[6] not in "123456":
        return "7th digit (century and sex) must be 1–6"
    if iin_birth_date(iin) is None:
        return "first six digits are not a valid birth date"
    if not _checksum_ok(iin):
        return "check digit does not match"
    return None


def iin_birth_date(iin: str) -> date | None:
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}.get(iin[6])
    if century is None:
        return None
    try:
        return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


def iin_sex(iin: str) -> str:
    return "M" if int(iin[6]) % 2 else "F"


def bin_problem(bin_: str) -> str | None:
    if len(bin_) != 12 or not bin_.isdigit():
        return "must be 12 digits"
    if not 1 <= int(bin_[2:4]) <= 12:
        return "digits 3–4 must be the registration month"
    if bin_[4] not in "456":
        return "5th digit (entity type) must be 4, 5 or 6"
    if bin_[5] not in "0123":
        return "6th digit (branch) must be 0–3"
    if not _checksum_ok(bin_):
        return "check digit does not match"
    return None


def complete(first11: str) -> str | None:
    """Append the check digit; None if this prefix has no valid number."""
    digit = check_digit(first11)
    return None if digit is None else first11 + str(digit)
