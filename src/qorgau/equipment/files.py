"""Commissioning acts and photos: type sniffed from the bytes with `filetype`, stored by digest."""

from __future__ import annotations

import hashlib
from typing import Any

import filetype

from qorgau.core.config import get_settings
from qorgau.core.errors import RuleViolation


def store(content: bytes, filename: str, allowed: set[str], field: str) -> dict[str, Any]:
    limit = get_settings().max_upload_bytes
    if not content or len(content) > limit:
        raise RuleViolation(f"file must be 1..{limit} bytes", field=field)
    kind = filetype.guess(content)
    if kind is None or kind.mime not in allowed:
        found = kind.mime if kind else "unknown"
        raise RuleViolation(
            f"file type {found} is not accepted ({', '.join(sorted(allowed))})", field=field
        )
    digest = hashlib.sha256(content).hexdigest()
    target = get_settings().var_dir / "files" / "equipment" / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part")
        part.write_bytes(content)
        part.replace(target)
    return {"name": filename[:200], "mime": kind.mime, "size": len(content), "sha256": digest}
