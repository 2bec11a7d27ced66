"""Webhook signatures: `X-Qorgau-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 over `t.body`
(the scheme Stripe uses), shared by integration webhooks and alarm notifications. Receivers
verify with `verify()` or the snippet in docs/integration.md."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Qorgau-Signature"
TOLERANCE_SECONDS = 300


def mac(secret: str, body: bytes, timestamp: int) -> str:
    """HMAC-SHA256 hex over "timestamp.body" — the one signature every outbound webhook uses."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={mac(secret, body, t)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: int | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when one v1 signature matches and the timestamp is fresh (replay protection)."""
    try:
        parts = [p.split("=", 1) for p in header.split(",")]
        t = int(next(v for k, v in parts if k == "t"))
        sigs = [v for k, v in parts if k == "v1"]
    except (ValueError, StopIteration):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - t) > tolerance:
        return False
    expected = mac(secret, body, t)
    return any(hmac.compare_digest(expected, s) for s in sigs)
