"""Kazakh, Russian and English: Babel catalogues per domain, merged; the language per request.

Catalogues live in qorgau/locale/<lang>/LC_MESSAGES/<domain>.po (one file per domain so domains
can be translated independently). They are compiled in memory at start-up, so no .mo files are
kept in the repository.
"""

from __future__ import annotations

import io
from collections.abc import Callable
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
def _compiled(lang: str, domain: str) -> bytes:
    """One domain's catalogue of a language, compiled (.mo bytes)."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


@cache
def translations(lang: str, domain: str | None = None) -> NullTranslations:
    """Every domain's catalogue merged, `domain`'s own last so its translations win: the
    domains share one namespace of msgids, and the same English word can mean different
    things in two of them ("From": a transition's former state in alarms, a period's start
    in indicators; "Name": a contact's name, an organisation's). Without `domain`, the
    alphabetically later domain's translation wins."""
    domains = sorted(p.stem for p in (LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))
    if domain in domains:
        domains = [d for d in domains if d != domain] + [domain]
    merged: Translations | None = None
    for d in domains:
        part = Translations(io.BytesIO(_compiled(lang, d)))
        merged = part if merged is None else merged.merge(part)
    return merged or NullTranslations()


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else "ru")


def get_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(get_language()).gettext(message)


def domain_gettext(domain: str) -> Callable[[str], str]:
    """A domain's `gettext` (its own translation of a msgid that other domains also have)."""
    return lambda message: translations(get_language(), domain).gettext(message)


def template_domain(name: str | None) -> str:
    """The domain of a template ("alarms/console.html": alarms; base.html: core)."""
    return name.split("/", 1)[0] if name and "/" in name else "core"


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
