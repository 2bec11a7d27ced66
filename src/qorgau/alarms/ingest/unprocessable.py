"""A message that fails on its own by its own fault: tried once more, then dead-lettered as
"unprocessable", the whole message kept in a file, and acknowledged, so it does not hold a
broker's in-flight slot and come again forever. Any other failure leaves it unacknowledged."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from typing import Any

import msgspec
import numpy as np
import orjson

from qorgau.alarms.ingest.core import Processor, dead_letter
from qorgau.alarms.ingest.parse import Parsed
from qorgau.alarms.records import Superseded
from qorgau.core.db import get_sessionmaker

log = logging.getLogger("qorgau.alarms.ingest")


# a message's own fault (a path the checks at the edge missed), not the database's or the
# disk's: those are transient, and their messages must come again
INPUT_ERRORS = (ValueError, TypeError, LookupError, ArithmeticError, RecursionError)
SUPERSEDED_TRIES = 5


def handle_alone(proc: Processor, doc: Any, *, source: str, site_id: int | None) -> bool:
    """One message in its own transaction. True when it is done with: stored, or, when it
    fails twice with an input error (the second time on a rebuilt site runtime), dead-lettered
    as "unprocessable" with the error. Left unacknowledged, such a message held one of the
    broker's in-flight slots for good and came again at every reconnect (JetStream: at every
    redelivery), failing each time. False: not acknowledged, to come again (any other error,
    such as the database being down). An operator's action on one of its alarms that
    committed under it (`records.Superseded`) has it handled again at once, up to
    `SUPERSEDED_TRIES` times: it reads the new state."""
    err: Exception | None = None
    failed = superseded = 0
    while failed < 2:
        with get_sessionmaker()() as db:
            try:
                proc.handle_raw(db, doc, source=source, site_id=site_id)
                return True
            except Superseded as exc:
                log.info("%s message of site %s: %s; handled again", source, site_id, exc)
                db.rollback()
                superseded += 1
                if superseded >= SUPERSEDED_TRIES:
                    return False
            except INPUT_ERRORS as exc:
                log.exception("%s message of site %s failed", source, site_id)
                db.rollback()
                err, failed = exc, failed + 1
            except Exception:
                log.exception("%s message of site %s failed; not acknowledged", source, site_id)
                db.rollback()
                return False
    with get_sessionmaker()() as db:
        try:
            kept = keep_unprocessable(proc, doc, source=source, site_id=site_id, err=err)
            dead_letter(db, site_id=site_id, source=source, reason="unprocessable",
                        detail=f"kept in {kept}; {type(err).__name__}: {err}")
            db.commit()
        except Exception:
            log.exception("%s message of site %s: not dead-lettered either", source, site_id)
            db.rollback()
            return False
    return True


def _parsed(p: Parsed) -> dict[str, Any]:
    """A parsed message's fields, its device codes as names (a receiving process's numbers
    mean nothing without its table, and `asdict` would copy the whole table)."""
    return {f.name: list(p.d) if f.name == "d" else getattr(p, f.name)
            for f in dataclasses.fields(p)}


def keep_unprocessable(proc: Processor, doc: Any, *, source: str, site_id: int | None,
                       err: Exception | None) -> str:
    """The whole message, written and fsync'ed beside the segments before it is acknowledged
    (its readings may never have reached them): the dead letter's text holds 500 characters,
    and what failed through a fault of ours must be there to replay once it is mended.
    Returns the file's path relative to the store's parent directory."""
    folder = proc.store.unprocessable_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{source}-{site_id}-" \
           f"{uuid.uuid4().hex[:12]}.json"
    body = {"source": source, "site_id": site_id, "error": f"{type(err).__name__}: {err}",
            "message": _parsed(doc) if isinstance(doc, Parsed) else doc}
    try:
        raw = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
                           default=_plain)
    except TypeError:  # an int beyond 64 bits (json.loads keeps it), nesting past orjson's
        try:
            raw = json.dumps(body, default=_plain).encode()
        except (TypeError, ValueError, RecursionError):  # kept as text rather than not at all
            raw = orjson.dumps({**body, "message": repr(doc)})
    with open(folder / name, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    return f"unprocessable/{name}"


def _plain(obj: Any) -> Any:
    """What orjson cannot write itself, as the JSON it came from: a `Rows` batch (msgspec)."""
    if isinstance(obj, msgspec.Struct):
        return msgspec.to_builtins(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return repr(obj)
