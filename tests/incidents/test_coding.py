"""ESAW code lists, cause categories and ICD-10 injury validation."""

from __future__ import annotations

import pytest

from qorgau.incidents import coding
from qorgau.incidents.coding import ESAW_VARIABLES, CodingError


@pytest.mark.parametrize("variable", ESAW_VARIABLES)
def test_lists_are_complete_and_translated(variable: coding.EsawVariable) -> None:
    codes = coding.esaw_list(variable)
    values = [c.code for c in codes]
    assert values == sorted(values) and len(set(values)) == len(values)
    width = 3 if variable == "injury_type" else 2
    for code in codes:
        assert len(code.code) == width and code.code.isdigit()
        assert code.en and code.ru and code.kk
        assert code.group in values  # every sub-code has its heading
        assert coding.esaw_code(variable, code.group).is_group


def test_known_codes() -> None:
    assert coding.deviation("51").en == "Fall of person – to a lower level"
    assert coding.deviation("51").group == "50"
    assert coding.contact("12").label("ru").startswith("Прямой контакт с электричеством")
    assert coding.injury_type("010").en == "Wounds and superficial injuries"
    assert coding.injury_type("120").en == "Multiple injuries"
    assert coding.injury_type("021").group == "020"
    assert coding.body_part("10").en.startswith("Head")
    assert coding.body_part("78").en == "Multiple sites of the body affected"
    assert coding.body_part("54").label("kk") == "Қол саусағы (саусақтары)"


def test_group_headings_per_variable() -> None:
    groups = {c.code for c in coding.esaw_list("deviation") if c.is_group}
    assert groups == {"00", "10", "20", "30", "40", "50", "60", "70", "80", "99"}
    groups = {c.code for c in coding.esaw_list("injury_type") if c.is_group}
    assert {"000", "010", "040", "120", "999"} <= groups


def test_invalid_esaw_codes() -> None:
    assert coding.is_valid_esaw("deviation", "13")
    for bad in ("15", "5", "100", "", "ab"):
        assert not coding.is_valid_esaw("deviation", bad)
    assert not coding.is_valid_esaw("injury_type", "10")  # 3 digits required
    with pytest.raises(CodingError):
        coding.body_part("16")
    with pytest.raises(CodingError):
        coding.esaw_list("agent")  # type: ignore[arg-type]


def test_causes_top_two_match_ministry_shares() -> None:
    items = coding.causes()
    assert len({c.code for c in items}) == len(items)
    top = sorted((c for c in items if c.share_2024_pct), key=lambda c: -c.share_2024_pct)
    assert [c.code for c in top[:2]] == ["C01", "C02"]
    assert top[0].share_2024_pct == pytest.approx(35.5)
    assert top[1].share_2024_pct == pytest.approx(31.0)
    assert sum(c.share_2024_pct or 0 for c in items) < 100
    assert coding.cause("c03").en == "Violation of traffic rules"
    with pytest.raises(CodingError):
        coding.cause("C50")


@pytest.mark.parametrize("code", ["S00", "S62.3", "s06.0", " T98 ", "T20.1", "S99.9", "T79"])
def test_injury_icd10_accepts(code: str) -> None:
    assert coding.is_injury_icd10(code)


@pytest.mark.parametrize(
    "code", ["", "S6", "S623", "S62.34", "S62.", "T99", "T89", "R55", "J18.9", "X00", "62.3", "SS2"]
)
def test_injury_icd10_rejects(code: str) -> None:
    assert not coding.is_injury_icd10(code)


def test_icd10_blocks_cover_s00_t98_without_gaps() -> None:
    blocks = coding.icd10_injury_blocks()
    keys = [(b.first, b.last) for b in blocks]
    assert keys[0][0] == "S00" and keys[-1][1] == "T98"
    # WHO ICD-10 has no T89 category (T80–T88 is followed by T90–T98).
    categories = [f"S{i:02d}" for i in range(100)] + [f"T{i:02d}" for i in range(99) if i != 89]
    for category in categories:
        assert sum(b.contains(category) for b in blocks) == 1, category
    assert coding.icd10_block("S62.3").en == "Injuries to the wrist and hand"
    assert coding.icd10_block("T58").work_injury  # carbon monoxide
    assert not coding.icd10_block("T81.4").work_injury
    with pytest.raises(CodingError):
        coding.icd10_block("T99")
