"""A process's name tells whether it has ended (`core.liveness`): sure only on this machine."""

from __future__ import annotations

import subprocess
import sys
import time

from qorgau.core import liveness

CHILD = "from qorgau.core import liveness; print(liveness.me(), flush=True)"


def test_a_running_process_is_not_gone_and_an_ended_one_is() -> None:
    assert not liveness.gone(liveness.me())
    child = subprocess.Popen([sys.executable, "-c", CHILD + "; input()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    name = child.stdout.readline().strip()
    assert name.split(liveness.SEP)[-2] == str(child.pid)
    assert not liveness.gone(name)  # it waits for its input
    child.communicate("\n", timeout=30)
    assert liveness.gone(name)  # ended and reaped


def test_an_unreaped_child_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    name = child.stdout.readline().strip()
    child.stdout.read()  # its output ended: it is exiting; not waited for, it stays a zombie
    try:
        end = time.monotonic() + 10
        while not liveness.gone(name) and time.monotonic() < end:
            time.sleep(0.01)
        assert liveness.gone(name)
    finally:
        child.wait()


def test_a_reused_pid_is_not_the_claimant() -> None:
    host, boot, ns, pid, start = liveness.me().split(liveness.SEP)
    assert start and boot  # Linux: the start time and the boot are known
    assert liveness.gone(liveness.SEP.join((host, boot, ns, pid, str(int(start) - 1))))


def test_what_cannot_be_told_is_taken_to_be_alive() -> None:
    host, boot, ns, pid, _ = liveness.me().split(liveness.SEP)
    for name in (None, "", "junk", liveness.SEP.join(("another-host", boot, ns, "1", "0")),
                 # the same host name on another machine (or after a reboot)
                 liveness.SEP.join((host, "another-boot", ns, pid, "0")),
                 liveness.SEP.join((host, boot, "1", pid, "0")),  # another PID namespace
                 liveness.SEP.join((host, boot, ns, pid, ""))):  # a process with no start time
        assert not liveness.gone(name), name
