"""The load generator's JSON rows batches, written into a byte template instead of serialised
row by row: the gateways the benchmarks stand for are other machines, and on this 2-core
machine every microsecond the generator spends is one the pipeline under test does not get
(building 500 row dicts and `orjson.dumps` took ~0.7 µs a reading, a quarter of the CPU at
max throughput, 2026-11-29).

The bytes are the compact JSON `orjson.dumps` writes for the same body, except the time,
which is written with six decimals (the value is rounded to the microsecond first, so it
reads back as the same float). `RowsBatches.check` compares a message with that body."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from numba import njit

T_DECIMALS = 6


class RowsBatches:
    """`{"site_id": S, "readings": [{"d": …, "s": …, "t": …, "v": V}, …]}` for runs of
    consecutive devices (in ring order), each row's sequence number its own, one time for the
    message. Templates are kept per digit count of the sequence numbers; a message whose
    numbers have mixed digit counts, or more rows than devices, is left to the caller."""

    def __init__(self, site_id: int, codes: list[str], value: float = 3.0) -> None:
        self.site_id, self.codes, self.value = site_id, codes, value
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
            starts = np.zeros(len(rows) + 1, np.int64)
            np.cumsum([len(r) for r in rows], out=starts[1:])
            self._templates[key] = (b"".join(rows), starts, starts[:-1] + s_at,
                                    starts[:-1] + t_at)
        return self._templates[key]

    def message(self, start: int, seqs: np.ndarray, now: float) -> bytes | None:
        """The batch of devices start, start + 1, … (mod the device count), or None when this
        template cannot write it."""
        n = len(seqs)
        if n == 0 or n > len(self.codes) or seqs.min() < 0:
            return None
        digits = len(str(int(seqs.max())))
        if len(str(int(seqs.min()))) != digits:
            return None
        t_text = b"%.*f" % (T_DECIMALS, round(now, T_DECIMALS))
        ring, starts, s_at, t_at = self._template(digits, len(t_text))
        lo, hi = starts[start], starts[start + n]
        out = bytearray(self.head) + ring[lo:hi]
        out[-1:] = b"]}"  # the last row's comma
        _fill(np.frombuffer(out, np.uint8), s_at[start:start + n], t_at[start:start + n],
              len(self.head) - lo, seqs.astype(np.int64), digits,
              np.frombuffer(t_text, np.uint8))
        return bytes(out)

    def body(self, start: int, seqs: np.ndarray, now: float) -> dict[str, Any]:
        """The same batch as a document (what `orjson.dumps` used to be given)."""
        m, t = len(self.codes), round(now, T_DECIMALS)
        return {"site_id": self.site_id, "readings": [
            {"d": self.codes[(start + k) % m], "s": int(q), "t": t, "v": self.value}
            for k, q in enumerate(seqs.tolist())]}

    def check(self, start: int, seqs: np.ndarray, now: float) -> None:
        """The template writes this batch and it reads back as the document (raises if not)."""
        got = self.message(start, seqs, now)
        if got is None:
            raise ValueError("the rows template cannot write this batch")
        if orjson.loads(got) != self.body(start, seqs, now):
            raise AssertionError("the rows template writes another batch than its document")


@njit(cache=True, nogil=True)
def _fill(buf: np.ndarray, s_at: np.ndarray, t_at: np.ndarray, shift: int, seqs: np.ndarray,
          digits: int, t_text: np.ndarray) -> None:
    """Each row's sequence number in decimal and the message's time, in place (numpy's
    fancy indexing took ~130 µs a 500-row message on this VM, this ~10)."""
    for k in range(len(seqs)):
        q, end = seqs[k], s_at[k] + shift + digits - 1
        for j in range(digits):
            buf[end - j] = 48 + q % 10
            q //= 10
        at = t_at[k] + shift
        for j in range(len(t_text)):
            buf[at + j] = t_text[j]
