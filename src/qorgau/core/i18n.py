"""Kazakh, Russian and English: Babel catalogues per domain, merged; the language per request.

Catalogues live in qorgau/locale/<lang>/LC_MESSAGES/<domain>.po (one file per domain so domains
can be translated independently). They are compiled in memory at start-up, so no .mo files are
kept in the repository.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from gettext import NullTranslations

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from qorgau.core.config import PACKAGE_DIR

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALE_DIR = PACKAGE_DIR / "locale"

_current: ContextVar[str] = ContextVar("qorgau_language", default="ru")


@cache
def translations(lang: str) -> NullTranslations:
    merged: Translations | None = None
    for po_path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(buf)
        merged = part if merged is None else merged.merge(part)
    return merged or NullTranslations()


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else "ru")


def get_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(get_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_language()).ngettext(singular, plural, n)


_ = gettext

OPENING_QUOTES = "«„“\"'"


def quoted(name: str, lang: str | None = None) -> str:
    """A proper name set in a Kazakh or Russian sentence: in «guillemets», unless it starts
    with quotes of its own (a name like «Шахтинская» ДП was shown ««Шахтинская» ДП»). English
    sentences take the name as it is."""
    if (lang or get_language()) == "en" or name[:1] in OPENING_QUOTES:
        return name
    return f"«{name}»"


def localized_name(obj: object, lang: str | None = None) -> str:
    """Pick name_kk / name_ru / name_en from a reference-data row."""
    lang = lang or get_language()
    return str(getattr(obj, f"name_{lang}", None) or getattr(obj, "name_en", ""))
