"""Accident attachments and hazard photos: the shared upload rules (core.files) with this
domain's accepted types; a name's extension must agree with the content."""

from __future__ import annotations

from qorgau.core import files
from qorgau.incidents.constants import ALLOWED_MIME


def store(content: bytes, filename: str) -> files.StoredFile:
    return files.store(
        content, filename, folder="attachments", types=ALLOWED_MIME, match_extension=True
    )
