"""Catalogue maintenance: `python -m qorgau.core.i18n_tools update|check`.

`update <domain>` touches only that domain's catalogues. Strings are extracted per domain
(its Python package and templates/<domain>/) into
locale/<lang>/LC_MESSAGES/<domain>.po; existing translations are kept. `check` fails when a
kk or ru string is missing or a catalogue has a msgid the code no longer uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from qorgau.core.config import PACKAGE_DIR
from qorgau.core.i18n import LANGUAGES, LOCALE_DIR

# core_: base.html's own `_` (`core/web.py`: a parent template renders with its child's name)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "core_": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}


def _domain_files(domain: str) -> list[Path]:
    files = (
        sorted((PACKAGE_DIR / domain).rglob("*.py"))
        if domain != "core"
        else [*sorted((PACKAGE_DIR / "core").rglob("*.py")), PACKAGE_DIR / "app.py"]
    )
    templates = PACKAGE_DIR / "templates"
    if domain == "core":
        files += sorted(templates.glob("*.html"))
    files += sorted((templates / domain).rglob("*.html"))
    return files


def domains() -> list[str]:
    return sorted(
        p.name
        for p in PACKAGE_DIR.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "migrations"
    )


def extract(domain: str) -> Catalog:
    catalog = Catalog(project="qorgau", domain=domain)
    for path in _domain_files(domain):
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        options = JINJA_OPTIONS if path.suffix == ".html" else {}
        for lineno, message, comments, _ctx in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            msgid = message if isinstance(message, str) else tuple(message)
            catalog.add(
                msgid,
                locations=[(str(path.relative_to(PACKAGE_DIR)), lineno)],
                auto_comments=comments,
            )
    return catalog


def _po_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, lang: str) -> Catalog | None:
    if not path.exists():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def update(only: str | None = None) -> None:
    for domain in domains():
        if only and domain != only:
            continue
        template = extract(domain)
        for lang in LANGUAGES:
            path = _po_path(lang, domain)
            catalog = _read(path, lang) or Catalog(locale=lang, domain=domain)
            if not len(template) and not len(catalog):
                continue
            catalog.update(template, no_fuzzy_matching=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=100, omit_header=False, ignore_obsolete=True)


def problems() -> list[str]:
    found: list[str] = []
    for domain in domains():
        wanted = {m.id for m in extract(domain) if m.id}
        for lang in ("kk", "ru"):
            catalog = _read(_po_path(lang, domain), lang)
            have = {m.id: m.string for m in catalog if m.id} if catalog else {}
            for msgid in sorted(wanted, key=str):
                text = have.get(msgid)
                if not text or (isinstance(text, tuple) and not all(text)):
                    found.append(f"{lang}/{domain}: untranslated {msgid!r}")
    return found


def main() -> int:
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        update(sys.argv[2] if len(sys.argv) > 2 else None)
        return 0
    issues = problems()
    for line in issues:
        print(line)
    print(f"{len(issues)} untranslated strings")
    return 1 if issues else 0


if __name__ == "__main__":
    raise SystemExit(main())
