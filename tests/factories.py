"""Valid identifiers for test data."""

from __future__ import annotations

import secrets
from datetime import date

_BIN_SERIAL = iter(range(10_000, 99_999))


def make_bin() -> str:
    from qorgau.core.identifiers import complete

    while True:
        number = complete(f"100140{next(_BIN_SERIAL):05d}")
        if number:
            return number


def make_iin(birth: date = date(1985, 4, 12), sex_digit: str = "3") -> str:
    from qorgau.core.identifiers import complete

    while True:
        serial = secrets.randbelow(10_000)
        number = complete(f"{birth:%y%m%d}{sex_digit}{serial:04d}")
        if number:
            return number
