"""Real receivers for the alarm notification channels: a minimal SMTP server and a webhook
endpoint that checks signatures the way a receiving system does (its own HMAC code, not
qorgau's), each on a thread of the test process, on a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port() -> int:
    """A port nothing listens on (bound, then released): connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    sender: str
    rcpt: list[str]
    msg: Message


class SmtpReceiver(socketserver.ThreadingTCPServer):
    """EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT: enough for smtplib."""

    daemon_threads = allow_reuse_address = True

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.mails: list[Mail] = []
        self.refuse = refuse  # mailboxes answered 550 at RCPT, as a real server does
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def to(self, rcpt: str) -> list[Mail]:
        return [m for m in list(self.mails) if rcpt in m.rcpt]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpReceiver

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 qorgau-test ESMTP")
        sender, rcpt = "", []
        while line := self.rfile.readline():
            cmd = line.decode("utf-8", "replace").strip()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.reply("250-qorgau-test")
                self.reply("250 8BITMIME")
            elif verb in ("HELO", "NOOP"):
                self.reply("250 OK")
            elif verb == "MAIL":
                sender, rcpt = _address(cmd), []
                self.reply("250 OK")
            elif verb == "RCPT" and _address(cmd) in self.server.refuse:
                self.reply(f"550 5.1.1 <{_address(cmd)}>: Recipient address rejected")
            elif verb == "RCPT":
                rcpt.append(_address(cmd))
                self.reply("250 OK")
            elif verb == "DATA" and sender and rcpt:
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.mails.append(Mail(sender, rcpt, self._data()))
                self.reply("250 OK queued")
            elif verb == "RSET":
                sender, rcpt = "", []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("503 bad sequence of commands")

    def _data(self) -> Message:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        return message_from_bytes(b"".join(lines), policy=policy.default)


def _address(cmd: str) -> str:
    return cmd.split(":", 1)[1].strip().split(" ", 1)[0].strip("<>")


def signature_ok(secret: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """`X-Qorgau-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 over "t.body" (docs/integration.md),
    checked as a receiver would: the MAC and a fresh timestamp."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t, got = int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        return False
    want = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - t) <= tolerance_s and hmac.compare_digest(want, got)


@dataclass
class WebhookReceiver:
    """Answers 200 to a correctly signed POST and 401 to anything else (so a bad signature
    fails the delivery); records every request as (signature valid, JSON body). Without a
    secret it takes every POST (contacts without one)."""

    secret: str | None = None
    hits: list[tuple[bool, dict[str, Any]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [b for _ok, b in list(self.hits)]

    def subjects(self) -> list[str]:
        return [b["subject"] for b in self.bodies]

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/alarms"

    def verified(self, alarm_id: int) -> list[dict[str, Any]]:
        return [b for ok, b in list(self.hits) if ok and b.get("alarm_id") == alarm_id]

    def start(self) -> WebhookReceiver:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                ok = rec.secret is None or signature_ok(
                    rec.secret, raw, self.headers.get("X-Qorgau-Signature", ""))
                rec.hits.append((ok, json.loads(raw)))
                self.send_response(200 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
