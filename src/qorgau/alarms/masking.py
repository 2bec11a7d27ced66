"""Contact addresses as a reader without `alarms.contacts.read` (mine rescue) sees them on an
alarm's notification list: a phone, an e-mail address or a webhook masked, enough to tell the
rows apart and see which channel failed, not to call or write to the person. A wearable's code
and the in-app address are no contact's and stay as they are. Shown values only: the rows
themselves are never changed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

MASKED_CHANNELS = frozenset({"sms", "email", "webhook"})
DOTS = "•••"
MIN_EXACT = 6  # shorter known targets are not replaced inside texts

# the safety net for text that names an address no contact has any more (a removed contact
# in an old NOTIFY_FAILED subject); known addresses are replaced exactly first
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.!#$%&*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.])\+?\d{10,15}(?![\w])")


def phone(value: str) -> str:
    """"+77010010102" → "+7701•••0102": the operator code and the last digits."""
    v = value.strip()
    if len(v) >= 11:
        return f"{v[:5]}{DOTS}{v[-4:]}"
    return f"{v[:2]}{DOTS}{v[-2:]}" if len(v) >= 7 else DOTS


def email(value: str) -> str:
    """"dispatch@example.kz" → "d•••@example.kz": the mailbox hidden, the domain shown."""
    local, at, domain = value.strip().rpartition("@")
    return f"{local[0]}{DOTS}@{domain}" if at and local and domain else DOTS


def host(value: str) -> str:
    """A webhook URL → its host only: a path, query or user part may carry a secret."""
    try:
        name = urlsplit(value.strip()).hostname
    except ValueError:
        name = None
    return name or DOTS


_BY_CHANNEL = {"sms": phone, "email": email, "webhook": host}


def target(channel: str, value: str) -> str:
    mask = _BY_CHANNEL.get(channel)
    return mask(value) if mask else value


class Masker:
    """Masks targets and the texts that may name them (a failed e-mail's SMTP error names
    the mailbox; a NOTIFY_FAILED subject names the failed address)."""

    def __init__(self, known: Iterable[tuple[str, str]]) -> None:
        # a short code ("112") is nobody's address, and replacing it would garble numbers
        pairs = {(v, target(ch, v)) for ch, v in known
                 if ch in MASKED_CHANNELS and len(v) >= MIN_EXACT}
        self._known = sorted(pairs, key=lambda p: -len(p[0]))  # a longer one first

    def target(self, channel: str, value: str) -> str:
        return target(channel, value)

    def text(self, value: str | None) -> str | None:
        if not value:
            return value
        for raw, shown in self._known:
            value = value.replace(raw, shown)
        value = _URL.sub(_url_host, value)
        value = _EMAIL.sub(lambda m: email(m.group()), value)
        return _PHONE.sub(lambda m: phone(m.group()), value)


def _url_host(m: re.Match[str]) -> str:
    """A URL in a text → its host; punctuation after it ("…/hook; next") stays."""
    raw = m.group()
    url = raw.rstrip(".,;:!?)]}")
    return host(url) + raw[len(url):]


def site_addresses(db: Session, site_id: int) -> list[tuple[str, str]]:
    """(channel, target) of the site's contacts on masked channels: the addresses a row's
    text may name besides its own."""
    from qorgau.alarms.models import Contact

    return list(db.execute(select(Contact.channel, Contact.target).where(
        Contact.site_id == site_id, Contact.channel.in_(MASKED_CHANNELS))).tuples())


def named_in(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The failed address a NOTIFY_FAILED record's detail names, if any."""
    if isinstance(detail, dict) and isinstance(detail.get("target"), str):
        return [(str(detail.get("channel", "")), detail["target"])]
    return []
