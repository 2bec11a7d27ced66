"""Who this process is, in a form another process on the same machine can check. A claim
(a notification being sent) names its process; a claim whose process is gone — killed, or
crashed — is taken at once by the next process instead of after the claim's lease, so a
life-safety notice caught by a `kill -9` between its claim and its result waits for the
restarted worker's first tick, not for minutes.

A name is host, boot id, PID namespace, PID and the process's start time (Linux `/proc`):
the boot id tells two machines of one host name apart (the root PID namespace has the same
number on every kernel), the start time a reused PID from the claimant. `gone` answers True
only when it is sure (same host, boot and namespace, and no such process, or another one
under its PID, or a zombie); a process on another machine, in another container, or where
there is no `/proc`, is taken to be alive, and its claims lapse with their lease as
before."""

from __future__ import annotations

import functools
import os
import socket

SEP = "/"


def me() -> str:
    """This process's name (computed per PID: a forked child is a process of its own)."""
    return _name(os.getpid())


@functools.cache
def _name(pid: int) -> str:
    try:
        stat = _stat(pid)
    except OSError:  # /proc unreadable: nothing can be told, so no start time
        stat = None
    start = stat[19] if stat else ""
    return SEP.join((socket.gethostname(), _boot_id(), _pid_namespace(), str(pid), start))


def gone(name: str | None) -> bool:
    """True when `name`'s process has certainly ended."""
    parts = (name or "").rsplit(SEP, 4)
    if len(parts) != 5 or not all(parts[1:]) or not parts[3].isdigit():
        return False
    host, boot, ns, pid, start = parts
    if (host, boot, ns) != (socket.gethostname(), _boot_id(), _pid_namespace()):
        return False
    try:
        stat = _stat(int(pid))
    except OSError:
        return False
    return stat is None or stat[19] != start or stat[0] == "Z"


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first, start time at
    index 19), None when there is no such process (or no /proc: then `_name` has no start
    time and `gone` is never sure); the name may hold spaces and ')'."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


@functools.cache
def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return ""


@functools.cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""
