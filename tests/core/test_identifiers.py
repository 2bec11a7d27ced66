from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qorgau.core.identifiers import bin_problem, check_digit, complete, iin_birth_date, iin_problem


def test_known_iin_is_valid() -> None:
    iin = complete("8504123" + "0456")
    assert iin is not None
    assert iin_problem(iin) is None
    assert iin_birth_date(iin) == date(1985, 4, 12)


def test_one_changed_digit_fails_the_check() -> None:
    iin = complete("8504123" + "0456")
    assert iin is not None
    broken = iin[:-1] + str((int(iin[-1]) + 1) % 10)
    assert iin_problem(broken) == "check digit does not match"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12345", "must be 12 digits"),
        ("85041230045a", "must be 12 digits"),
        ("851312300456", "first six digits are not a valid birth date"),
        ("850412900456", "7th digit (century and sex) must be 1–6"),
    ],
)
def test_iin_reasons(value: str, reason: str) -> None:
    assert iin_problem(value) == reason


def test_bin_structure() -> None:
    good = complete("10014000123")
    assert good is not None and bin_problem(good) is None
    assert bin_problem("101340001235") == "digits 3–4 must be the registration month"
    assert bin_problem("100190001235") == "5th digit (entity type) must be 4, 5 or 6"


def test_second_weighting_used_when_first_gives_ten() -> None:
    # Find a prefix whose first weighted sum is 10 mod 11 and check the fallback weights apply.
    for n in range(10_000):
        prefix = f"850412{n:05d}"
        first = sum(int(c) * w for c, w in zip(prefix, range(1, 12), strict=True)) % 11
        if first == 10:
            second = (
                sum(
                    int(c) * w
                    for c, w in zip(prefix, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)
                )
                % 11
            )
            assert check_digit(prefix) == (None if second == 10 else second)
            return
    pytest.fail("no prefix with a first sum of 10 found")


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_completed_numbers_always_pass_their_checksum(prefix: str) -> None:
    number = complete(prefix)
    if number is not None:
        assert check_digit(number[:11]) == int(number[11])
