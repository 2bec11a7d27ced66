"""Simulated evidence feeds with realistic noise: who shows up in which source, spellings
(Kazakh / Russian-keyboard / Latin), typos, missing and mistyped IINs, shifted dates, swapped
birth day/month, injuries outside work wrongly flagged, re-sent rows."""

from __future__ import annotations

import numpy as np
import polars as pl

from qorgau.simulator.twin import Twin


def _digits(a: np.ndarray) -> np.ndarray:
    """12-digit identifiers as zero-padded text (IINs of people born 2000–2009 start with 0)."""
    return np.char.zfill(np.asarray(a).astype(str), 12)


_RU_KEYBOARD = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
_LATIN = {
    "а": "a",
    "ә": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ғ": "gh",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "қ": "q",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "ng",
    "о": "o",
    "ө": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ұ": "u",
    "ү": "u",
    "ф": "f",
    "х": "kh",
    "һ": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sch",
    "ъ": "",
    "ы": "y",
    "і": "i",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}


# ---------------------------------------------------------------- noise


def _latin(name: str) -> str:
    out = "".join(_LATIN.get(ch, ch) for ch in name.lower())
    return out[:1].upper() + out[1:]


def _typo(rng: np.random.Generator, name: str) -> str:
    if len(name) < 4:
        return name
    i = int(rng.integers(1, len(name) - 1))
    op = rng.integers(0, 3)
    if op == 0:
        return name[:i] + name[i + 1 :]
    if op == 1:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i] + name[i:]


def _spell(rng: np.random.Generator, names: np.ndarray) -> list[str]:
    """Original Cyrillic 60 %, typed on a Russian keyboard 25 %, Latin 15 %; 5 % a typo."""
    u = rng.random(len(names))
    t = rng.random(len(names))
    out = []
    for name, a, b in zip(names, u, t, strict=True):
        s = str(name)
        s = s if a < 0.6 else s.translate(_RU_KEYBOARD) if a < 0.85 else _latin(s)
        out.append(_typo(rng, s) if b < 0.05 else s)
    return out


def _mistype_iin(rng: np.random.Generator, iins: np.ndarray) -> np.ndarray:
    pos = rng.integers(0, 12, len(iins))
    digit = rng.integers(1, 10, len(iins))
    power = 10 ** (11 - pos)
    old = (iins // power) % 10
    return iins + ((old + digit) % 10 - old) * power


# ---------------------------------------------------------------- feeds


FEEDS = {
    # source: (P(record | work injury), P(record | injury outside work), P(IIN given))
    "trauma_visit": (0.75, 0.85, 0.88),
    "sick_leave": (0.55, 0.40, 0.97),
    "insurance_claim": (0.30, 0.0, 0.97),
    "ambulance_call": (0.20, 0.10, 0.50),
}


def _records(rng: np.random.Generator, inj: pl.DataFrame, source: str) -> pl.DataFrame:
    p_work, p_other, _ = FEEDS.get(source, (1.0, 0.0, 0.99))
    work = inj["work"].to_numpy()
    conc = inj["concealed"].to_numpy()
    p = np.where(work, p_work, p_other)
    if source == "insurance_claim":
        p = np.where(conc, 0.08, p)
    if source == "fatality":
        p = inj["fatal"].to_numpy().astype(float)
    sel = inj.filter(pl.Series(rng.random(inj.height) < p))
    n = sel.height
    shift = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3], n)
    if source == "sick_leave":
        shift = shift + rng.integers(0, 2, n)
    w = sel["work"].to_numpy()
    c = sel["concealed"].to_numpy()
    flag_u = rng.random(n)
    # "At work" as recorded: concealing employers sometimes persuade the worker to say otherwise.
    p_true = np.where(w, np.where(c, 0.82, 0.9), 0.005)
    flag = np.where(flag_u < p_true, True, np.where(flag_u < p_true + 0.05, None, False))
    cause = np.where(flag == True, "02", np.where(w, "01", "04"))  # noqa: E712
    return sel.with_columns(
        pl.lit(source).alias("source"),
        (pl.col("day") + pl.Series(shift)).alias("event_day"),
        pl.Series("work_related", flag.tolist(), dtype=pl.Boolean),
        pl.Series("cause_code", cause)
        if source == "sick_leave"
        else pl.lit(None, pl.String).alias("cause_code"),
    )


def make_evidence(twin: Twin, rng: np.random.Generator, inj: pl.DataFrame) -> pl.DataFrame:
    parts = [_records(rng, inj, s) for s in (*FEEDS, "fatality")]
    conc = inj.filter(pl.col("concealed") & (pl.Series(rng.random(inj.height)) < 0.05))
    parts.append(
        conc.with_columns(
            pl.lit("complaint").alias("source"),
            (pl.col("day") + 10).alias("event_day"),
            pl.lit(True).alias("work_related"),
            pl.lit(None, pl.String).alias("cause_code"),
        )
    )
    ev = pl.concat(parts, how="vertical_relaxed")
    return _identify(twin, rng, ev)


def _identify(twin: Twin, rng: np.random.Generator, ev: pl.DataFrame) -> pl.DataFrame:
    w, ent = twin.workers, twin.enterprises
    wi = ev["worker_id"].to_numpy() - 1
    n = ev.height
    src = ev["source"].to_numpy()
    p_iin = np.array([FEEDS.get(s, (0, 0, 0.99))[2] for s in src])
    p_iin = np.where(src == "complaint", 0.4, p_iin)
    iin = w["iin"][wi].copy()
    typo = rng.random(n) < 0.04
    iin[typo] = _mistype_iin(rng, iin[typo])
    has_iin = rng.random(n) < p_iin
    birth = w["birth_days"][wi].copy()
    swap = rng.random(n) < 0.01
    bd = pl.Series(birth).cast(pl.Date)
    swapped = pl.date(bd.dt.year(), bd.dt.day().clip(1, 12), bd.dt.month())
    has_bin = np.isin(src, ["sick_leave", "insurance_claim", "complaint"]) & (rng.random(n) < 0.95)
    ent_idx = ev["enterprise_id"].to_numpy() - 1
    out = ev.with_columns(
        pl.Series("iin", np.where(has_iin, _digits(iin), None)),
        pl.Series("last_name", _spell(rng, w["last_name"][wi])),
        pl.Series("first_name", _spell(rng, w["first_name"][wi])),
        pl.Series("birth_date", bd),
        pl.Series("employer_bin", np.where(has_bin, _digits(ent["bin"][ent_idx]), None)),
        pl.Series("fatal", ev["fatal"].to_numpy() & np.isin(src, ["fatality", "trauma_visit"])),
        pl.from_epoch("event_day", time_unit="d").alias("event_date"),
        pl.Series("icd10", _icd(rng, n, src)),
    ).with_columns(
        pl.when(pl.Series(swap)).then(swapped).otherwise(pl.col("birth_date")).alias("birth_date")
    )
    # Re-sent rows: 2 % with the same source reference (idempotent), 1 % with a new one.
    out = out.with_row_index("seq").with_columns(
        (pl.col("source") + "-" + pl.col("seq").cast(pl.String)).alias("source_ref")
    )
    again = out.filter(pl.Series(rng.random(n) < 0.01)).with_columns(
        (pl.col("source_ref") + "-r").alias("source_ref")
    )
    return pl.concat([out, again]).drop("seq")


def _icd(rng: np.random.Generator, n: int, src: np.ndarray) -> list[str | None]:
    codes = np.array(["S52.5", "S62.3", "S82.2", "S06.0", "S93.4", "T23.2", "S42.0", "S61.0"])
    pick = codes[rng.integers(0, len(codes), n)]
    has = np.isin(src, ["trauma_visit", "sick_leave", "insurance_claim", "fatality"])
    return [str(c) if h else None for c, h in zip(pick, has, strict=True)]
