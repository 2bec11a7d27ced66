"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    insert,
    make_url,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from qorgau.core.config import get_settings

# The database is unreachable or the connection dropped: a 503, never a part quietly left out.
DB_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# Stable constraint names so Alembic migrations are reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def insert_flushed(db: Session, objs: list[Any]) -> None:
    """New objects of one mapped class (not added to the session) INSERTed as one Core
    statement that returns their ids, then attached to the session as if a flush had written
    them: persistent, in the identity map, later changes tracked as UPDATEs. Column defaults
    are applied here, as the flush would. The ORM's unit of work took about five times the
    statement's own cost for two rows, on the life-safety record's path."""
    stmt, cols = _columns(type(objs[0]))
    rows = [{c.key: _value(o, c, attr) for c, attr in cols} for o in objs]
    ids = db.connection().execute(stmt, rows).scalars().all()
    txn = db.get_nested_transaction() or db.get_transaction()
    kept = db.info.setdefault(_INSERTED, [])
    for o, id_ in zip(objs, ids, strict=True):
        o.id = id_
        make_transient_to_detached(o)
        db.add(o)
        kept.append((txn, o))


def is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def serialize(db: Session, a: int, b: int) -> None:
    """Hold the lock named (a, b) to the end of the transaction, for a read that decides a
    write (is one active? then insert): PostgreSQL's advisory transaction lock; on SQLite the
    database's write lock, taken now instead of at the first write (an UPDATE that matches
    nothing takes it), so what the caller reads next is read under it."""
    if is_postgresql(db):
        db.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": a, "b": b})
    else:
        db.execute(text("UPDATE job_lease SET name = name WHERE 0"))


def lock_name(name: str) -> int:
    """A stable 32-bit signed key for `serialize` (PostgreSQL's advisory locks take int4)."""
    return int.from_bytes(zlib.crc32(name.encode()).to_bytes(4, "big"), "big", signed=True)


def in_list(n: int) -> str:
    """An IN list of `n` placeholders for a `fetch_raw` template: `IN ({in_list(3)})`."""
    return ", ".join(["{p}"] * n)


def fetch_raw(db: Session, template: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a read on the session's DBAPI cursor (`{p}`: the driver's placeholder), in the
    session's transaction. For the reads of every ingest batch: through SQLAlchemy's statement
    handling a one-row read took 0.3–0.9 ms on a slow boot of the VM, on the cursor ~0.03.
    Values come as the driver gives them (SQLite: JSON and times as text, booleans as 0/1)."""
    with raw_cursor(db) as cur:
        cur.execute(template.format(p="%s" if is_postgresql(db) else "?"), params)
        return cur.fetchall()


def execute_raw(db: Session, template: str, params: tuple[Any, ...]) -> int:
    """A write on the session's DBAPI cursor (as `fetch_raw`); the rows it matched."""
    with raw_cursor(db) as cur:
        cur.execute(template.format(p="%s" if is_postgresql(db) else "?"), params)
        return cur.rowcount


@contextmanager
def raw_cursor(db: Session) -> Iterator[Any]:
    """The session's DBAPI cursor, in its transaction. A driver error comes out as
    SQLAlchemy's (so `DB_UNAVAILABLE` and the callers' handlers see it), and a lost connection
    is invalidated as SQLAlchemy's own statements do: left to the driver, the caller's
    rollback raised again ("connection is lost") and took the ingest worker down instead of
    leaving the message for redelivery."""
    conn = db.connection()
    fairy = conn.connection
    cur = fairy.cursor()
    dialect = conn.dialect
    try:
        yield cur
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, fairy.dbapi_connection, cur)
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=gone, dialect=dialect) from exc
    finally:
        with suppress(Exception):  # a cursor of a connection gone
            cur.close()


def attach_loaded(db: Session, cls: type, values: dict[str, Any]) -> Any:
    """A row read past the ORM (a DBAPI cursor) as a persistent object, as if the session had
    loaded it: in the identity map with no pending change; the columns not given load from
    the database on first access. The caller holds it (the identity map is weak)."""
    obj = cls(**values)
    make_transient_to_detached(obj)
    db.add(obj)
    return obj


def lock_and_refresh(db: Session, obj: Any) -> Any:
    """Lock a loaded row for the rest of the transaction and read it again under the lock:
    a write that changes nothing takes the row's lock on PostgreSQL and the database's write
    lock on SQLite. For a read-modify-write (an operator action, a JSON list of people) that
    another writer may have changed since the read."""
    table = sa_inspect(type(obj)).local_table
    db.execute(update(table).where(table.c.id == obj.id).values(id=table.c.id))
    db.refresh(obj)
    return obj


# (transaction, object) of what `insert_flushed` attached since the last commit
_INSERTED = "qorgau.insert_flushed"


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: Any) -> None:
    """Objects `insert_flushed` attached in a transaction that rolled back leave the session,
    as the ORM expunges flushed new objects: kept as persistent, one whose id the database
    hands out again could not be attached later ("another instance with key … is already
    present"), and a retry of the batch in the same session failed."""
    kept = session.info.get(_INSERTED)
    if not kept:
        return
    stay = []
    for txn, obj in kept:
        if within(txn, previous):
            if obj in session:
                session.expunge(obj)
        else:
            stay.append((txn, obj))
    session.info[_INSERTED] = stay


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    """Committed at the root: nothing to forget any more (a savepoint's objects stay listed
    until then: its parent's rollback takes them too)."""
    if not session.in_nested_transaction():
        session.info.pop(_INSERTED, None)


def within(txn: Any, outer: Any) -> bool:
    """Whether session transaction `txn` is `outer` or nested inside it."""
    while txn is not None:
        if txn is outer:
            return True
        txn = txn.parent
    return False


@cache
def _columns(cls: type) -> tuple[Any, list[tuple[Any, str]]]:
    """A mapped class's INSERT … RETURNING id (built once: building and keying it per call
    cost about as much as running it) and its non-key columns with their attribute names."""
    mapper = sa_inspect(cls)
    table = mapper.local_table
    return (insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [(c, mapper.get_property_by_column(c).key) for c in table.columns
             if not c.primary_key])


def _value(obj: Any, col: Any, attr: str) -> Any:
    """The object's value for a column; its Python-side default if never set (and set)."""
    default = col.default
    if attr in obj.__dict__ or default is None:
        return getattr(obj, attr)
    if not (default.is_scalar or default.is_callable):  # a sequence, a SQL expression
        raise TypeError(f"{col}: a default insert_flushed cannot apply")
    value = default.arg(None) if default.is_callable else default.arg
    setattr(obj, attr, value)
    return value


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(default="system")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed (acknowledged) write survives power loss, not only a crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def pool_capacity() -> tuple[int, int]:
    """(pool_size, max_overflow): room for every admitted request plus the background jobs and
    event streams, so an admitted request never waits for a connection (core/middleware)."""
    return 10, get_settings().max_concurrent_requests + 10


def make_engine(url: str) -> Engine:
    size, overflow = pool_capacity()
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=size, max_overflow=overflow)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=overflow)


@cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url)


@cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine() -> None:
    """Forget the cached engine (tests and CLI switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def session_scope() -> Iterator[Session]:
    with get_sessionmaker()() as db:
        yield db
