"""The load generator's JSON batches (rows or columns), written into byte templates instead of
serialised value by value: the gateways the benchmarks stand for are other machines, and on
this 2-core machine every microsecond the generator spends is one the pipeline under test does
not get. Measured 2026-11-29, a message of 500 readings in isolation: 500 row dicts refilled and
`orjson.dumps` ~250 µs, this template ~40; the columns lists and their `orjson.dumps` ~55 µs,
the template ~23. Running at ~600 K readings/s, the rows publisher had taken ~0.45 of a core.

The bytes are the compact JSON `orjson.dumps` writes for the same body, except the time,
which is written with six decimals (the value is rounded to the microsecond first, so it
reads back as the same float). `check` compares a message with that body."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from numba import njit

T_DECIMALS = 6


class _Batches:
    """A batch of devices start, start + 1, … (mod the device count, in ring order), each
    reading's sequence number its own, one time and one value for the message. A batch whose
    numbers have mixed digit counts, or more readings than devices, is left to the caller
    (`message` gives None)."""

    def __init__(self, site_id: int, codes: list[str], value: float = 3.0) -> None:
        self.site_id, self.codes, self.value = site_id, codes, value

    def message(self, start: int, seqs: np.ndarray, now: float) -> bytes | None:
        n = len(seqs)
        if n == 0 or n > len(self.codes) or seqs.min() < 0:
            return None
        digits = len(str(int(seqs.max())))
        if len(str(int(seqs.min()))) != digits:
            return None
        t_text = b"%.*f" % (T_DECIMALS, round(now, T_DECIMALS))
        return self._write(start, seqs.astype(np.int64), digits, t_text)

    def _write(self, start: int, seqs: np.ndarray, digits: int, t_text: bytes) -> bytes:
        raise NotImplementedError

    def body(self, start: int, seqs: np.ndarray, now: float) -> dict[str, Any]:
        """The same batch as a document (what `orjson.dumps` used to be given)."""
        raise NotImplementedError

    def _run(self, start: int, n: int) -> list[str]:
        return [self.codes[(start + k) % len(self.codes)] for k in range(n)]

    def check(self, start: int, seqs: np.ndarray, now: float) -> None:
        """The template writes this batch and it reads back as the document (raises if not)."""
        got = self.message(start, seqs, now)
        if got is None:
            raise ValueError("the template cannot write this batch")
        if orjson.loads(got) != self.body(start, seqs, now):
            raise AssertionError("the template writes another batch than its document")


class RowsBatches(_Batches):
    """`{"site_id": S, "readings": [{"d": …, "s": …, "t": …, "v": V}, …]}`; a template per
    digit count of the sequence numbers and width of the time."""

    def __init__(self, site_id: int, codes: list[str], value: float = 3.0) -> None:
        super().__init__(site_id, codes, value)
        self.head = b'{"site_id":%d,"readings":[' % site_id
        self._templates: dict[tuple[int, int], tuple[bytes, np.ndarray, np.ndarray,
                                                        np.ndarray]] = {}

    def _template(self, digits: int, t_width: int) -> tuple[bytes, np.ndarray, np.ndarray,
                                                            np.ndarray]:
        """The ring of every device's row twice over (so any run is one slice): its bytes, each
        row's start, and where its sequence number and time go."""
        key = (digits, t_width)
        if key not in self._templates:
            v = orjson.dumps(self.value)
            rows, s_at, t_at = [], [], []
            for code in self.codes * 2:
                pre = b'{"d":' + orjson.dumps(code) + b',"s":'
                s_at.append(len(pre))
                t_at.append(len(pre) + digits + len(b',"t":'))
                rows.append(pre + b"0" * digits + b',"t":' + b"0" * t_width + b',"v":' + v
                            + b"},")
            starts = _starts(rows)
            self._templates[key] = (b"".join(rows), starts, starts[:-1] + s_at,
                                    starts[:-1] + t_at)
        return self._templates[key]

    def _write(self, start: int, seqs: np.ndarray, digits: int, t_text: bytes) -> bytes:
        n = len(seqs)
        ring, starts, s_at, t_at = self._template(digits, len(t_text))
        lo, hi = starts[start], starts[start + n]
        out = bytearray(self.head) + ring[lo:hi]
        out[-1:] = b"]}"  # the last row's comma
        _fill(np.frombuffer(out, np.uint8), s_at[start:start + n], t_at[start:start + n],
              len(self.head) - lo, seqs, digits, np.frombuffer(t_text, np.uint8))
        return bytes(out)

    def body(self, start: int, seqs: np.ndarray, now: float) -> dict[str, Any]:
        t = round(now, T_DECIMALS)
        return {"site_id": self.site_id, "readings": [
            {"d": d, "s": q, "t": t, "v": self.value}
            for d, q in zip(self._run(start, len(seqs)), seqs.tolist(), strict=True)]}


class ColumnsBatches(_Batches):
    """`{"site_id": S, "d": […], "s": […], "t": […], "v": […]}`: the codes a slice of the
    ring, the time and value columns one piece repeated, the numbers written in place."""

    def __init__(self, site_id: int, codes: list[str], value: float = 3.0) -> None:
        super().__init__(site_id, codes, value)
        pieces = [orjson.dumps(c) + b"," for c in codes * 2]
        self.ring, self.starts = b"".join(pieces), _starts(pieces)
        self.head = b'{"site_id":%d,"d":[' % site_id
        self.v = orjson.dumps(value) + b","

    def _write(self, start: int, seqs: np.ndarray, digits: int, t_text: bytes) -> bytes:
        n = len(seqs)
        s = bytearray(b"0" * digits + b",") * n
        at = np.arange(n, dtype=np.int64) * (digits + 1)
        _fill(np.frombuffer(s, np.uint8), at, at, 0, seqs, digits, np.empty(0, np.uint8))
        return b"".join((self.head, self.ring[self.starts[start]:self.starts[start + n] - 1],
                         b'],"s":[', s[:-1], b'],"t":[', ((t_text + b",") * n)[:-1],
                         b'],"v":[', (self.v * n)[:-1], b"]}"))

    def body(self, start: int, seqs: np.ndarray, now: float) -> dict[str, Any]:
        n = len(seqs)
        return {"site_id": self.site_id, "d": self._run(start, n), "s": seqs.tolist(),
                "t": [round(now, T_DECIMALS)] * n, "v": [self.value] * n}


def _starts(pieces: list[bytes]) -> np.ndarray:
    """Where each piece starts in their concatenation, and the end."""
    starts = np.zeros(len(pieces) + 1, np.int64)
    np.cumsum([len(p) for p in pieces], out=starts[1:])
    return starts


@njit(cache=True, nogil=True)
def _fill(buf: np.ndarray, s_at: np.ndarray, t_at: np.ndarray, shift: int, seqs: np.ndarray,
          digits: int, t_text: np.ndarray) -> None:
    """Each reading's sequence number in decimal and the message's time, in place (numpy's
    fancy indexing took ~130 µs a 500-row message on this VM, this ~25)."""
    for k in range(len(seqs)):
        q, end = seqs[k], s_at[k] + shift + digits - 1
        for j in range(digits):
            buf[end - j] = 48 + q % 10
            q //= 10
        at = t_at[k] + shift
        for j in range(len(t_text)):
            buf[at + j] = t_text[j]
