"""Name normalisation for Kazakh, Russian and Latin spellings of the same person.

The same worker appears as "Жақсылықов" in the employment register, "Жаксылыков" in a hospital
record typed on a Russian keyboard and "Zhaksylykov" / "Jaksylykov" in a passport or the 2021
Kazakh Latin alphabet. Linkage compares *canonical* forms so that these agree exactly, and blocks
on a coarser *phonetic key* so that typos still land in the same block.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Kazakh-specific letters first: they have no Russian equivalent and would otherwise be lost.
_KAZAKH = {"ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i"}

# One canonical (passport-like, BGN/PCGN-flavoured) Russian transliteration.
_RUSSIAN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

# Letters of the 2021 Kazakh Latin alphabet (and Turkish-style spellings) that NFKD cannot strip.
_LATIN_SPECIAL = {"ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "ł": "l"}

_TABLE = str.maketrans({**_KAZAKH, **_RUSSIAN, **_LATIN_SPECIAL})

# Variant spellings collapsed to one form, applied in order on the Latin string.
_VARIANTS: tuple[tuple[str, str], ...] = (
    (r"dzh|dj", "j"),
    (r"zh", "j"),
    (r"kh", "h"),
    (r"tch", "ch"),
    (r"tz|tc|c(?=[eiy])", "ts"),
    (r"ph", "f"),
    (r"w", "v"),
    (r"x", "ks"),
    (r"q", "k"),
    (r"ck", "k"),
    (r"iu", "yu"),
    (r"ia", "ya"),
    (r"iya", "ya"),  # Юлия (yuliya) / Yulia / Iuliia
    (r"^ye", "e"),  # Yerlan / Erlan (Ерлан)
    (r"(?<=[aeiou])y(?![aeiouy])", "i"),  # Aygul / Aigul (Айгүл)
)
_DOUBLE = re.compile(r"([a-z])\1+")  # Kassymov / Kasymov
_VARIANT_RES = tuple((re.compile(p), r) for p, r in _VARIANTS)

# Patronymic / surname endings, longest first: -ova -> -ov, -uli/-ulu -> -uly, -qyzy -> -kyzy.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("kizi", "kyzy"), ("gyzy", "kyzy"), ("kyzy", "kyzy"),
    ("ovna", "ovna"), ("evna", "evna"),
    ("uly", "uly"), ("uli", "uly"), ("ulu", "uly"),
    ("skaya", "skii"), ("skiy", "skii"), ("skii", "skii"), ("sky", "skii"),
    ("ova", "ov"), ("eva", "ev"), ("ina", "in"),
)  # fmt: skip

# Endings dropped by the phonetic key, so that Kasymov, Kasymova and Kasym share a block.
_KEY_ENDINGS = ("kyzy", "uly", "ovna", "evna", "ovich", "evich", "ov", "ev", "in", "ii")

# Consonant classes for the phonetic key (voiced/voiceless pairs and common confusions).
_KEY_CLASSES = str.maketrans(
    {"b": "p", "d": "t", "g": "k", "v": "f", "z": "s", "j": "s", "h": "", "y": "", "w": "f"}
)
_VOWELS = re.compile(r"[aeiou]")
_NON_ALPHA = re.compile(r"[^a-z]+")


def to_latin(text: str) -> str:
    """Casefold and transliterate Kazakh/Russian Cyrillic and accented Latin to plain a-z."""
    s = text.casefold().strip().translate(_TABLE)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return _NON_ALPHA.sub(" ", s).strip()


def _collapse_word(word: str) -> str:
    for pattern, repl in _VARIANT_RES:
        word = pattern.sub(repl, word)
    stem, ending = word, ""
    for suffix, canonical in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem, ending = word[: -len(suffix)], canonical
            break
    # Collapse doubled letters in the stem only, so "Serikkyzy" keeps the stem's final k.
    return _DOUBLE.sub(r"\1", stem) + ending


def normalize_name(text: str | None) -> str:
    """Canonical Latin form of a name: equal for ordinary spelling variants of one name.

    >>> normalize_name("Жақсылықов") == normalize_name("Jaksylykov") == "jaksylykov"
    True
    """
    if not text:
        return ""
    return " ".join(_collapse_word(w) for w in to_latin(text).split())


def phonetic_key(text: str | None, length: int = 5) -> str:
    """Coarse blocking key: first letter + consonant skeleton of the canonical name.

    Used only to put candidate records in the same block; the comparison itself uses
    Jaro–Winkler on `normalize_name`, so a loose key costs comparisons, not precision.
    """
    name = normalize_name(text).replace(" ", "")
    if not name:
        return ""
    for ending in _KEY_ENDINGS:
        if name.endswith(ending) and len(name) > len(ending) + 2:
            name = name[: -len(ending)]
            break
    head, tail = name[0], name[1:]
    head = "a" if head in "aeiouy" else head.translate(_KEY_CLASSES) or head
    tail = _VOWELS.sub("", tail).translate(_KEY_CLASSES)
    tail = re.sub(r"(.)\1+", r"\1", tail)
    return (head + tail)[:length]


def normalize_many(values: Iterable[str | None]) -> list[str]:
    """`normalize_name` over a column, caching repeats (names repeat heavily in registers)."""
    cache: dict[str | None, str] = {}
    out = []
    for v in values:
        if v not in cache:
            cache[v] = normalize_name(v)
        out.append(cache[v])
    return out


def phonetic_many(values: Iterable[str | None], length: int = 5) -> list[str]:
    """`phonetic_key` over a column, with the same caching."""
    cache: dict[str | None, str] = {}
    out = []
    for v in values:
        if v not in cache:
            cache[v] = phonetic_key(v, length)
        out.append(cache[v])
    return out
