"""Rebuild holidays.csv: Kazakhstan's public holidays and transferred days off, 2018–2030.

Run from the repository root:  .venv/bin/python src/qorgau/registry/data/build_holidays.py
Edit the tables below (new decree, confirmed Kurban Ait date, law change), then rebuild.
Rules encoded:
* holidays that are days off, per the Law «On holidays in the RK» (No. 267-II, 13 Dec 2001);
* a non-religious holiday on a Saturday/Sunday moves to the next working day (Labour Code 2015);
  religious holidays (Orthodox Christmas, Kurban Ait) do not move;
* the Government's yearly decrees moving a day off to another date (bridges).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "holidays.csv"
YEARS = range(2018, 2031)

LAW = "Law «On holidays in the RK» No. 267-II of 13.12.2001 (adilet Z010000267_)"
LAW_2026 = (
    "Law «On holidays in the RK» as amended in 2026 (adilet Z010000267_ history, as recorded by "
    "python-holidays 0.109); not independently verified"
)
CARRY = "Labour Code of the RK No. 414-V of 23.11.2015: holiday on a day off moves to next workday"
KURBAN = "First day of Kurban Ait as announced for that year (egov.kz / DUMK)"
KURBAN_EST = "ESTIMATED from the astronomical Islamic calendar; replace when announced"


@dataclass(frozen=True)
class Name:
    kk: str
    ru: str
    en: str


NEW_YEAR = Name("Жаңа жыл", "Новый год", "New Year")
CHRISTMAS = Name("Православиелік Рождество", "Православное Рождество", "Orthodox Christmas")
WOMEN = Name("Халықаралық әйелдер күні", "Международный женский день",
             "International Women's Day")
NAURYZ = Name("Наурыз мейрамы", "Праздник Наурыз", "Nauryz Meirami")
UNITY = Name("Қазақстан халқының бірлігі мерекесі", "Праздник единства народа Казахстана",
             "Kazakhstan People's Unity Day")
DEFENDER = Name("Отан Қорғаушы күні", "День защитника Отечества", "Defender of the Fatherland Day")
VICTORY = Name("Жеңіс күні", "День Победы", "Victory Day")
CAPITAL = Name("Астана күні", "День Столицы", "Capital Day")
CONSTITUTION = Name("Қазақстан Республикасының Конституциясы күні",
                    "День Конституции Республики Казахстан", "Constitution Day")
REPUBLIC = Name("Республика күні", "День Республики", "Republic Day")
FIRST_PRESIDENT = Name("Қазақстан Республикасының Тұңғыш Президенті күні",
                       "День Первого Президента Республики Казахстан", "First President Day")
INDEPENDENCE = Name("Тәуелсіздік күні", "День Независимости", "Independence Day")
KURBAN_AIT = Name("Құрбан айттың бірінші күні", "Первый день Курбан айта",
                  "Kurban Ait (first day)")
DAY_OFF = Name("Ауыстырылған демалыс күні", "Перенесённый выходной день", "Transferred day off")
WORKDAY = Name("Жұмыс күні (демалыс ауыстырылды)", "Рабочий день (перенос выходного)",
               "Working day (day off transferred)")

# First day of Kurban Ait: (month, day, confirmed?)
KURBAN_AIT_DATES: dict[int, tuple[int, int, bool]] = {
    2018: (8, 21, True), 2019: (8, 11, True), 2020: (7, 31, True), 2021: (7, 20, True),
    2022: (7, 9, True), 2023: (6, 28, True), 2024: (6, 16, True), 2025: (6, 6, True),
    2026: (5, 27, False), 2027: (5, 16, False), 2028: (5, 5, False), 2029: (4, 24, False),
    2030: (4, 13, False),
}  # fmt: skip

# Government decrees: (day off, date it was moved from, decree).  A "from" date on a weekend
# becomes a working day; a "from" date on a weekday cancels the carry-over that fell there.
DECREES: list[tuple[date, date, str]] = [
    (date(2018, 3, 9), date(2018, 3, 3), "Government decree, adilet P1700000864"),
    (date(2018, 4, 30), date(2018, 4, 28), "Government decree, adilet P1700000864"),
    (date(2018, 5, 8), date(2018, 5, 5), "Government decree, adilet P1700000864"),
    (date(2018, 8, 31), date(2018, 8, 25), "Government decree, adilet P1700000864"),
    (date(2018, 12, 31), date(2018, 12, 29), "Government decree, adilet P1700000864"),
    (date(2019, 5, 10), date(2019, 5, 4), "Government decree, adilet P1800000888"),
    (date(2020, 1, 3), date(2020, 1, 5), "Government decree, adilet P1900000820"),
    (date(2020, 5, 8), date(2020, 5, 11), "Government decree of 2020 (Victory Day carry-over)"),
    (date(2020, 12, 18), date(2020, 12, 20), "Government decree, adilet P1900000820"),
    (date(2021, 7, 5), date(2021, 7, 3), "Government decree, adilet P2000000930"),
    (date(2022, 3, 7), date(2022, 3, 5), "Government decree of 2022 (adilet P2200000796 et al.)"),
    (date(2022, 8, 29), date(2022, 8, 27), "Government decree of 2022 (adilet P2200000796 et al.)"),
    (date(2022, 10, 24), date(2022, 10, 22), "Government decree, adilet P2200000796"),
    (date(2023, 7, 7), date(2023, 7, 1), "Government decree, adilet P2300000326"),
    (date(2024, 5, 8), date(2024, 5, 4), "Government decree, adilet G24G0000109"),
    (date(2025, 1, 3), date(2025, 1, 5), "Government decree, adilet G24G0000436"),
]

FIELDS = ["date", "kind", "name_kk", "name_ru", "name_en", "status", "source"]


def fixed_holidays(year: int) -> list[tuple[date, Name, str, str]]:
    """(date, name, status, source) of the non-religious holidays in force that year."""
    days: list[tuple[int, int, Name]] = [
        (1, 1, NEW_YEAR), (1, 2, NEW_YEAR), (3, 8, WOMEN),
        (3, 21, NAURYZ), (3, 22, NAURYZ), (3, 23, NAURYZ),
        (5, 1, UNITY), (5, 7, DEFENDER), (5, 9, VICTORY), (7, 6, CAPITAL), (12, 16, INDEPENDENCE),
    ]  # fmt: skip
    out = [(date(year, m, d), n, "confirmed", LAW) for m, d, n in days]
    if year <= 2025:
        out.append((date(year, 8, 30), CONSTITUTION, "confirmed", LAW))
    elif year >= 2027:
        out.append((date(year, 3, 15), CONSTITUTION, "unverified", LAW_2026))
    if year >= 2022:
        out.append((date(year, 10, 25), REPUBLIC, "confirmed", LAW))
    else:
        out.append((date(year, 12, 1), FIRST_PRESIDENT, "confirmed", LAW))
        out.append((date(year, 12, 17), INDEPENDENCE, "confirmed", LAW))
    return sorted(out, key=lambda row: row[0])


def religious_holidays(year: int) -> list[tuple[date, Name, str, str]]:
    month, day, confirmed = KURBAN_AIT_DATES[year]
    kurban = (date(year, month, day), KURBAN_AIT,
              "confirmed" if confirmed else "estimated", KURBAN if confirmed else KURBAN_EST)
    return [(date(year, 1, 7), CHRISTMAS, "confirmed", LAW), kurban]


def carry_overs(fixed: list[tuple[date, Name, str, str]], taken: set[date]) -> list[date]:
    """Days off owed for fixed holidays that fell on a weekend, in the order they are owed."""
    owed: list[date] = []
    for day, *_ in fixed:
        if day.weekday() < 5:
            continue
        nxt = day + timedelta(days=1)
        while nxt.weekday() >= 5 or nxt in taken or nxt in owed:
            nxt += timedelta(days=1)
        owed.append(nxt)
    return owed


def year_rows(year: int) -> list[dict[str, str]]:
    fixed = fixed_holidays(year)
    holidays = fixed + religious_holidays(year)
    taken = {row[0] for row in holidays}
    decrees = [d for d in DECREES if d[0].year == year]
    moved_from = {src for _, src, _ in decrees}
    rows = [_row(d, "holiday", n, status, src) for d, n, status, src in holidays]
    rows += [_row(d, "transfer_day_off", DAY_OFF, "confirmed", CARRY)
             for d in carry_overs(fixed, taken) if d not in moved_from]
    for off, src_day, decree in decrees:
        rows.append(_row(off, "transfer_day_off", DAY_OFF, "confirmed", decree))
        if src_day.weekday() >= 5:
            kind = "working_saturday" if src_day.weekday() == 5 else "working_sunday"
            rows.append(_row(src_day, kind, WORKDAY, "confirmed", decree))
    return sorted(rows, key=lambda r: (r["date"], r["kind"]))


def _row(day: date, kind: str, name: Name, status: str, source: str) -> dict[str, str]:
    return {"date": day.isoformat(), "kind": kind, "name_kk": name.kk, "name_ru": name.ru,
            "name_en": name.en, "status": status, "source": source}


def main() -> None:
    rows = [row for year in YEARS for row in year_rows(year)]
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
