"""Accident coding: ESAW Phase III code lists, Kazakhstan cause categories, ICD-10 injuries.

Pure lookups and validators over ``incidents/data/esaw.json`` (loaded once, cached).
ESAW variables coded here: deviation, contact – mode of injury (2-digit), type of injury
(3-digit) and part of body injured (2-digit). Every list has group headings (x0 / x00) and
sub-codes; a sub-code's ``group`` is its heading.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

EsawVariable = Literal["deviation", "contact", "injury_type", "body_part"]
ESAW_VARIABLES: tuple[EsawVariable, ...] = ("deviation", "contact", "injury_type", "body_part")
Lang = Literal["en", "ru", "kk"]

_ICD10 = re.compile(r"^([ST])(\d{2})(?:\.(\d))?$")


class CodingError(LookupError):
    """A code is malformed or absent from its code list."""


@dataclass(frozen=True)
class Code:
    code: str
    group: str
    en: str
    ru: str
    kk: str

    @property
    def is_group(self) -> bool:
        return self.code == self.group

    def label(self, lang: Lang = "en") -> str:
        return str(getattr(self, lang))


@dataclass(frozen=True)
class Cause:
    code: str
    en: str
    ru: str
    kk: str
    share_2024_pct: float | None  # share of injured, MLSP; None = not published
    share_9m_2025_pct: float | None
    status: str  # "reported" (share published) or "category"

    def label(self, lang: Lang = "en") -> str:
        return str(getattr(self, lang))


@dataclass(frozen=True)
class IcdBlock:
    first: str  # e.g. "S00"
    last: str  # e.g. "S09"
    en: str
    ru: str
    kk: str
    work_injury: bool  # False: rarely an occupational injury (drug poisoning, care, sequelae)

    def contains(self, category: str) -> bool:
        return _icd_key(self.first) <= _icd_key(category) <= _icd_key(self.last)


@cache
def _raw() -> dict[str, Any]:
    text = files("qorgau.incidents").joinpath("data/esaw.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def esaw_list(variable: EsawVariable) -> tuple[Code, ...]:
    """All codes of one ESAW variable, in code order."""
    if variable not in ESAW_VARIABLES:
        raise CodingError(f"unknown ESAW variable {variable!r}")
    return tuple(Code(**row) for row in _raw()[variable])


@cache
def _index(variable: EsawVariable) -> dict[str, Code]:
    return {c.code: c for c in esaw_list(variable)}


def esaw_code(variable: EsawVariable, code: str) -> Code:
    try:
        return _index(variable)[code.strip()]
    except KeyError:
        raise CodingError(f"{code!r} is not an ESAW {variable} code") from None


def is_valid_esaw(variable: EsawVariable, code: str) -> bool:
    return code.strip() in _index(variable)


def deviation(code: str) -> Code:
    return esaw_code("deviation", code)


def contact(code: str) -> Code:
    return esaw_code("contact", code)


def injury_type(code: str) -> Code:
    return esaw_code("injury_type", code)


def body_part(code: str) -> Code:
    return esaw_code("body_part", code)


@cache
def causes() -> tuple[Cause, ...]:
    return tuple(Cause(**row) for row in _raw()["causes"])


def cause(code: str) -> Cause:
    for item in causes():
        if item.code == code.strip().upper():
            return item
    raise CodingError(f"{code!r} is not a cause code")


@cache
def icd10_injury_blocks() -> tuple[IcdBlock, ...]:
    return tuple(IcdBlock(**row) for row in _raw()["icd10_injury_blocks"])


def normalize_icd10(code: str) -> str:
    """Upper-case and strip; 'S62.3' stays, 's62' → 'S62'. Raises on a malformed code."""
    norm = code.strip().upper()
    if not _ICD10.match(norm):
        raise CodingError(f"malformed ICD-10 injury code {code!r} (expected e.g. S62 or S62.3)")
    return norm


def is_injury_icd10(code: str) -> bool:
    """True for a well-formed ICD-10 code (letter + 2 digits, optional .digit) in S00–T98."""
    try:
        return icd10_block(code) is not None
    except CodingError:
        return False


def icd10_block(code: str) -> IcdBlock:
    """The Chapter XIX block holding ``code``; CodingError if malformed or outside S00–T98."""
    category = normalize_icd10(code)[:3]
    for block in icd10_injury_blocks():
        if block.contains(category):
            return block
    raise CodingError(f"{code!r} is outside ICD-10 chapter XIX (S00–T98)")


def _icd_key(category: str) -> tuple[str, int]:
    return category[0], int(category[1:3])
