"""Uploaded files: size-limited, type read from the bytes (`filetype`), stored once by SHA-256.

Every domain that accepts files (accident attachments, hazard photos, action evidence,
equipment acts and photos, inspection photos) goes through `check` and `store`, so the limits,
the sniffing and the durable write are the same everywhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype

from qorgau.core.config import get_settings
from qorgau.core.errors import RuleViolation

# The extensions a name may carry for each sniffed type (what `filetype` reports is only one).
EXTENSIONS: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({"pdf"}),
    "image/jpeg": frozenset({"jpg", "jpeg"}),
    "image/png": frozenset({"png"}),
    "image/webp": frozenset({"webp"}),
    "image/heic": frozenset({"heic", "heif"}),
}
_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
}
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class StoredFile:
    name: str
    mime: str
    size: int
    sha256: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON kept on a record that lists its files (the path follows from the digest)."""
        return {"name": self.name, "mime": self.mime, "size": self.size, "sha256": self.sha256}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def safe_name(filename: str) -> str:
    """The name without directories or characters a download header or file system dislikes."""
    return _SAFE_NAME.sub("_", Path(filename).name)[:200] or "file"


def _accepted(types: Collection[str]) -> str:
    return ", ".join(sorted(_LABELS.get(m, m) for m in types))


def check(
    content: bytes,
    filename: str,
    *,
    types: Collection[str],
    field: str = "file",
    max_bytes: int | None = None,
    match_extension: bool = False,
) -> str:
    """The content's MIME type, or RuleViolation naming `field`.

    `match_extension`: a name with an extension must agree with the bytes (a disguised
    executable named .pdf is refused even if its bytes happen to be an accepted type).
    """
    limit = get_settings().max_upload_bytes if max_bytes is None else max_bytes
    if not content:
        raise RuleViolation("the file is empty", field=field)
    if len(content) > limit:
        raise RuleViolation(f"the file is larger than {limit} bytes", field=field)
    kind = filetype.guess(content)
    if kind is None or kind.mime not in types:
        found = kind.mime if kind else "unknown"
        raise RuleViolation(f"file type {found} is not accepted ({_accepted(types)})", field=field)
    ext = Path(filename).suffix.lower().lstrip(".")
    if match_extension and ext and ext not in EXTENSIONS.get(kind.mime, {kind.extension}):
        raise RuleViolation(f"the file is named .{ext} but its content is {kind.mime}", field=field)
    return kind.mime


def write_once(content: bytes, target: Path) -> None:
    """Write `content` to `target` unless it is there, durably: a unique temporary file in the
    same folder is fsynced, renamed over the target, and the folder fsynced, so a crash leaves
    either no file or the whole file, and concurrent writers of the same bytes never mix."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def store(
    content: bytes,
    filename: str,
    *,
    folder: str,
    types: Collection[str],
    field: str = "file",
    max_bytes: int | None = None,
    match_extension: bool = False,
) -> StoredFile:
    """Check, then keep under `<var_dir>/<folder>/<aa>/<sha256>` (the same bytes once)."""
    mime = check(
        content,
        filename,
        types=types,
        field=field,
        max_bytes=max_bytes,
        match_extension=match_extension,
    )
    digest = sha256(content)
    target = get_settings().var_dir / folder / digest[:2] / digest
    write_once(content, target)
    return StoredFile(safe_name(filename), mime, len(content), digest, str(target))
