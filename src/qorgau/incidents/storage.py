"""Attachments: type sniffed from the content (not the name), size-limited, stored by SHA-256."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import filetype

from qorgau.core.config import get_settings
from qorgau.core.errors import RuleViolation
from qorgau.incidents.constants import ALLOWED_MIME

_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class StoredFile:
    filename: str
    mime: str
    size: int
    sha256: str
    path: str


def attachments_dir() -> Path:
    return get_settings().var_dir / "attachments"


def sniff(content: bytes, filename: str) -> str:
    """The content's real type; a file whose bytes disagree with its extension is rejected."""
    kind = filetype.guess(content)
    if kind is None or kind.mime not in ALLOWED_MIME:
        found = kind.mime if kind else "unknown"
        raise RuleViolation(
            f"file type {found} is not accepted (photos JPEG/PNG/WebP/HEIC or PDF)", field="file"
        )
    ext = Path(filename).suffix.lower().lstrip(".")
    same = {ext, "jpeg" if ext == "jpg" else ext}
    if ext and kind.extension not in same:
        raise RuleViolation(
            f"file named .{ext} but its content is {kind.mime} (disguised type)", field="file"
        )
    return kind.mime


def check_size(content: bytes) -> None:
    limit = get_settings().max_upload_bytes
    if len(content) > limit:
        raise RuleViolation(f"file is larger than {limit} bytes", field="file")
    if not content:
        raise RuleViolation("file is empty", field="file")


def store(content: bytes, filename: str) -> StoredFile:
    """Validate and write once under its digest (the same bytes are kept once)."""
    check_size(content)
    mime = sniff(content, filename)
    digest = hashlib.sha256(content).hexdigest()
    target = attachments_dir() / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(target)
    safe = _SAFE_NAME.sub("_", Path(filename).name)[:200] or "file"
    return StoredFile(safe, mime, len(content), digest, str(target))
