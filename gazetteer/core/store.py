"""The store: one SQLAlchemy engine behind a small interface, SQLite or PostgreSQL + PostGIS.

Every table is declared on ``metadata`` (see ``gazetteer.tables`` and the domain table
modules); the schema is created and upgraded only by the Alembic migrations in
``gazetteer/migrations``. Geometries are CGCS2000 longitude/latitude (EPSG:4490, x=lon,
y=lat). On SQLite they are stored as WKB with bounding-box columns for index filtering;
on PostgreSQL as PostGIS ``geometry(…, 4490)`` with GiST indexes. Callers only ever see
shapely geometries.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import geoalchemy2  # noqa: F401  (see below)
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine

from gazetteer.core.errors import DomainError, NotFound
from gazetteer.core.text import (
    check_document_text,
    forbidden_character,
    has_lone_surrogate,
    stored_bytes_as_text,
)

# geoalchemy2 registers table DDL listeners when first imported. Importing it here, not
# lazily inside ``Geometry``, keeps that from happening between a table's before_create
# and after_create events (its after_create then fails with KeyError '_saved_columns').

log = logging.getLogger(__name__)

SRID = 4490  # CGCS2000 geographic, longitude/latitude order in storage (always_xy)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Geometry(sa.types.TypeDecorator):
    """A shapely geometry column: WKB bytes on SQLite, PostGIS geometry(GEOMETRY, 4490)
    on PostgreSQL."""

    impl = sa.LargeBinary
    cache_ok = True
    # Read by geoalchemy2's DDL hooks: the migrations create the GiST indexes themselves.
    spatial_index = False

    def load_dialect_impl(self, dialect):
        # geoalchemy2's DDL hooks probe TypeDecorators with dialect=None.
        if dialect is None:
            return sa.LargeBinary()
        if dialect.name == "postgresql":
            from geoalchemy2 import Geometry as PostGISGeometry

            return dialect.type_descriptor(
                PostGISGeometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False)
            )
        return dialect.type_descriptor(sa.LargeBinary())

    def bind_expression(self, bindvalue):
        return bindvalue

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, BaseGeometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            from geoalchemy2.shape import from_shape

            return from_shape(value, srid=SRID)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            from geoalchemy2.shape import to_shape

            return to_shape(value)
        return shapely.from_wkb(bytes(value))


def bbox_column_defs(table_name: str) -> list[sa.SchemaItem]:
    """The bounding-box columns (minx, miny, maxx, maxy; degrees, CGCS2000 lon/lat) that
    every geometry table carries, and their B-tree index for bbox filtering on SQLite."""
    return [
        *(sa.Column(n, sa.Float) for n in ("minx", "miny", "maxx", "maxy")),
        sa.Index(f"ix_{table_name}_bbox", "minx", "maxx", "miny", "maxy"),
    ]


def bbox_columns(geom: BaseGeometry | None) -> dict[str, float | None]:
    """The ``minx/miny/maxx/maxy`` column values (degrees) for a geometry or None."""
    if geom is None or geom.is_empty:
        return {"minx": None, "miny": None, "maxx": None, "maxy": None}
    minx, miny, maxx, maxy = geom.bounds
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def first_or_not_found(conn: Connection, query, missing: str, *, field: str | None = None):
    """The first row ``query`` returns on ``conn``; raises ``NotFound(missing)`` when none,
    naming ``field`` (the input that named the record: a path parameter or a body key)."""
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(missing, details={"field": field} if field else None)
    return row


def row_by_id(conn: Connection, table, record_id, missing: str, *, field: str | None = None):
    """The row of ``table`` whose ``id`` is ``record_id``; ``NotFound(missing)`` naming
    ``field`` when there is none (see ``first_or_not_found``)."""
    return first_or_not_found(
        conn, sa.select(table).where(table.c.id == record_id), missing, field=field
    )


def read_one(store: Store, query, missing: str, *, field: str | None = None) -> dict:
    """The first row of ``query`` as a dict, read in its own read transaction; raises
    ``NotFound(missing)`` naming ``field`` when there is none."""
    with store.read() as conn:
        return first_or_not_found(conn, query, missing, field=field)._asdict()


def read_by_id(
    store: Store, table, record_id, missing: str, *, field: str | None = None, query=None
) -> dict:
    """The row of ``table`` whose ``id`` is ``record_id`` as a dict, read in its own read
    transaction: the columns of ``query`` (a select over ``table`` and what it joins;
    ``table``'s own columns when None). Raises ``NotFound(missing)`` naming ``field`` when
    there is none."""
    query = sa.select(table) if query is None else query
    return read_one(store, query.where(table.c.id == record_id), missing, field=field)


def read_all(store: Store, query, *order_by, where: dict | None = None) -> list[dict]:
    """The rows of ``query`` as dicts in ``order_by`` order, read in one read transaction.
    ``where`` maps a column to the value it must equal; a filter the caller left out (None
    or an empty string, e.g. an absent query parameter) does not narrow the query."""
    for column, value in (where or {}).items():
        if value is not None and value != "":
            query = query.where(column == value)
    with store.read() as conn:
        return [r._asdict() for r in conn.execute(query.order_by(*order_by))]


def is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    """Whether ``exc`` is a clash with a unique key or primary key (what two concurrent
    writers of the same record hit), not a CHECK, foreign-key or NOT NULL failure."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg: the SQLSTATE class 23 code
    if sqlstate is not None:
        return sqlstate == "23505"  # unique_violation
    # Python's sqlite3 names the extended result code (3.11+)
    return getattr(orig, "sqlite_errorname", "") in (
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    )


# How long a SQLite writer waits for another's write lock before "database is locked" (ms).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_store_busy(exc: sa.exc.OperationalError) -> bool:
    """Whether ``exc`` says another writer held the store too long (SQLite's lock after
    ``busy_timeout``; PostgreSQL's lock timeout or a deadlock): the transaction was rolled
    back whole, and the same request may succeed when tried again."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in ("55P03", "40P01")  # lock_not_available, deadlock_detected
    return getattr(orig, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; busy_timeout: a second writer waits instead of failing.
    # synchronous=FULL: names and boundaries are legal records. In WAL mode NORMAL syncs only
    # at checkpoints, so a power loss can drop the last commits the app has acknowledged;
    # FULL syncs the WAL at every commit (one fsync per write transaction, docs/security.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _refuse_invalid_text(conn, cursor, statement, parameters, context, executemany):
    # The last line of the text check (``gazetteer.core.text``): whatever path a value took
    # (API, import, command line), a lone surrogate or a control character never reaches a
    # row. Tab and line breaks pass here (notes are multi-line); single-line fields refuse
    # them in the domain (``clean_text(single_line=True)``).
    rows = parameters if executemany else [parameters]
    for row in rows or ():
        values = row.values() if isinstance(row, dict) else row
        for value in values or ():
            if isinstance(value, str) and (has_lone_surrogate(value) or forbidden_character(value)):
                check_document_text(value, "文本")


# A serialised JSON document holds a refused character only as one of these escapes (a
# surrogate half, a control, a bidi control; json.dumps writes \b and \f for two controls).
_ESCAPED_REFUSED = re.compile(r"\\(u(d[89a-f]|00[01]|007f|008|009|202[a-e]|206[6-9])|[bf])")


def _json_serializer(document) -> str:
    # JSON columns are written with ASCII escapes, so a surrogate or a control would pass
    # the check above as "\\ud800" or "\\u001b"; check the document itself. Only a document
    # whose text has such an escape is walked: the walk is slow, and bulk writes (an office
    # import) serialise hundreds of thousands of documents.
    text = json.dumps(document)
    if _ESCAPED_REFUSED.search(text):
        check_document_text(document, "JSON")
    return text


def _json_deserializer(text: str | bytes):
    # A BLOB in a JSON column (a manual edit) is read as the text it holds, as for text
    # columns (``StoredText``).
    if isinstance(text, bytes):
        text = stored_bytes_as_text(text, binary=True)
    # A JSON column holds what the store wrote, unless someone wrote it by hand (a manual
    # ``sqlite3`` edit): a document that does not parse is read as null (unknown) rather
    # than failing every list that includes its row; ``repair-text`` lists it (not_json).
    try:
        return json.loads(text)
    except ValueError:
        log.warning("a JSON column held text that is not JSON (read as null); see repair-text")
        return None


class StoredText(sa.String):
    """How SQLite hands back every text column (``sa.String`` and its kinds: Text, Unicode,
    VARCHAR): as ``str``, always. SQLite lets a text column hold a BLOB (a manual ``sqlite3``
    edit: ``UPDATE places SET name = x'e79fb3…'``) and the driver returns it as bytes, which
    then failed whatever read it as text (the naming rules' corpus, search, exports) with a
    500. Read here once, with U+FFFD for undecodable bytes (``stored_bytes_as_text``), so no
    reader of stored text sees bytes; ``gdgis admin repair-text`` rewrites the value."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        def process(value):
            if isinstance(value, bytes):
                return stored_bytes_as_text(value, binary=True)
            return value

        return process


def _read_text_columns_as_text(engine: Engine) -> None:
    # The dialect adapts each column type through ``colspecs`` (most specific class first):
    # every String kind becomes ``StoredText``; Enum keeps its own (it is checked on write).
    engine.dialect.colspecs = {
        **engine.dialect.colspecs,
        sa.String: StoredText,
        sa.Enum: sa.Enum,
    }


def _sqlite_driver_autocommit(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


def _sqlite_text_decoding(dbapi_connection, _record):
    # SQLite does not check that TEXT is UTF-8; the driver's own decoding fails the whole
    # query on one bad value (``stored_bytes_as_text`` reads it with U+FFFD instead).
    dbapi_connection.text_factory = stored_bytes_as_text


def _sqlite_audit_functions(dbapi_connection, record):
    # The audit triggers (gazetteer.core.audit) call these to learn who writes; Store.write sets
    # the values for its transaction. Kept per connection in the pool entry's ``info``.
    context = record.info.setdefault("gdgis.audit", {"actor": None, "tx": None})
    dbapi_connection.create_function("gdgis_actor", 0, lambda: context["actor"])
    dbapi_connection.create_function("gdgis_tx", 0, lambda: context["tx"])


def _sqlite_spatial_functions(dbapi_connection, _record):
    from gazetteer.core.spatial import register_sqlite_functions  # spatial imports store

    register_sqlite_functions(dbapi_connection)


def _sqlite_begin(conn):
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


_AFTER_COMMIT = "gdgis.after_commit"
_BEFORE_COMMIT = "gdgis.before_commit"
_TX = "gdgis.tx"
# After a failed connection to the read replica, reads go to the primary this long (s).
REPLICA_RETRY_S = 5.0


def after_commit(conn: Connection, callback: Callable[[Store], None]) -> None:
    """Call ``callback(store)`` once the ``Store.write()`` transaction of ``conn`` has
    committed; never when it rolls back. The same callback is called once however often it
    is registered. Raises ``RuntimeError`` for a connection that is not in a write."""
    pending = conn.info.get(_AFTER_COMMIT)
    if pending is None:
        raise RuntimeError("after_commit needs the connection of a Store.write() transaction")
    if callback not in pending:
        pending.append(callback)


def before_commit(conn: Connection, callback: Callable[[Connection], None]) -> None:
    """Call ``callback(conn)`` at the end of the ``Store.write()`` transaction of ``conn``,
    still inside it, after the caller's own writes: what the callback writes commits with
    them, and an exception from it rolls the whole transaction back. The same callback is
    called once however often it is registered. Raises ``RuntimeError`` for a connection
    that is not in a write."""
    pending = conn.info.get(_BEFORE_COMMIT)
    if pending is None:
        raise RuntimeError("before_commit needs the connection of a Store.write() transaction")
    if callback not in pending:
        pending.append(callback)


def transaction_id(conn: Connection) -> str | None:
    """The id of the ``Store.write()`` transaction of ``conn`` (``audit_log.tx`` of the rows
    it writes), or None outside a write."""
    return conn.info.get(_TX)


class Store:
    """The one way code reaches the database.

    ``store.read()`` yields a connection for reads, ``store.write()`` a connection inside a
    transaction that commits on success and rolls back on any exception, so no write is
    ever half-applied. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that
    two writers serialise at the start instead of failing at commit.

    ``read_url`` (PostgreSQL only) names a streaming replica: ``read()`` then uses it,
    except ``read(primary=True)`` and a thread's reads that must see writes the replica has
    not replayed yet. Each thread keeps a floor, a position in the primary's WAL: a write
    raises it to the end of what it committed (``written_up_to()``), and a read goes to the
    replica only once the replica has replayed up to it (``pg_last_wal_replay_lsn()``), so
    the thread sees its own writes whatever the replication lag, without waiting for the
    replica. A web request starts from the floor its session carries
    (``see_writes_up_to()``), so a user reads their writes back in their next requests
    too, whichever worker serves them. Replica connections are read-only. When the
    replica cannot be reached, reads go to the primary for ``REPLICA_RETRY_S`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        read_url: str | None = None,
    ):
        self.url = url
        kwargs: dict = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            database = sa.engine.make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["json_deserializer"] = _json_deserializer
        else:
            kwargs["pool_pre_ping"] = True
            # PostgreSQL checks JSON and UTF-8 on write, and psycopg hands the document over
            # as bytes: parsed as they are (the SQLite reader would log every one as a
            # BLOB to repair).
            kwargs["json_deserializer"] = json.loads
        kwargs["json_serializer"] = _json_serializer
        self.engine: Engine = sa.create_engine(url, **kwargs)
        sa.event.listen(self.engine, "before_cursor_execute", _refuse_invalid_text)
        if self.dialect == "sqlite":
            _read_text_columns_as_text(self.engine)
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling defers BEGIN and cannot do IMMEDIATE;
            # switch it off and emit BEGIN ourselves (the SQLAlchemy documented recipe).
            sa.event.listen(self.engine, "connect", _sqlite_driver_autocommit)
            sa.event.listen(self.engine, "connect", _sqlite_text_decoding)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
            sa.event.listen(self.engine, "connect", _sqlite_audit_functions)
            sa.event.listen(self.engine, "connect", _sqlite_spatial_functions)
        self.read_url = read_url if read_url and read_url != url else None
        self.read_engine: Engine | None = None
        if self.read_url:
            if self.dialect != "postgresql":
                raise ValueError("a read replica URL needs a PostgreSQL primary")
            self.read_engine = sa.create_engine(
                self.read_url,
                echo=echo,
                pool_pre_ping=True,
                execution_options={"postgresql_readonly": True},
            )
        self._replica_down_until = 0.0
        self._floor = threading.local()  # .lsn: str | None, .writing: int (see the docstring)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def written_up_to(self) -> str | None:
        """The WAL position (``pg_lsn`` text) this thread's reads must see: the end of its
        last write that the replica may not have replayed yet; None when there is none (or
        no replica)."""
        return getattr(self._floor, "lsn", None)

    def see_writes_up_to(self, lsn: str | None) -> None:
        """Make this thread's reads see the primary's WAL up to ``lsn`` (from
        ``written_up_to()``, perhaps in another process); None forgets the floor."""
        self._floor.lsn = lsn

    def _replica_connection(self) -> Connection | None:
        """A connection to the replica when this thread's reads may use it, else None."""
        if self.read_engine is None or getattr(self._floor, "writing", 0):
            return None
        if time.monotonic() < self._replica_down_until:
            return None
        floor = self.written_up_to()
        conn = None
        try:
            conn = self.read_engine.connect()
            if floor is None:
                return conn
            # NULL when the replica is not replaying (promoted): it is not following any more.
            caught_up = conn.execute(
                sa.text(
                    "SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:floor AS pg_lsn), false)"
                ),
                {"floor": floor},
            ).scalar()
            conn.rollback()  # the check's transaction; the caller starts its own
        except sa.exc.OperationalError:
            # The replica is down or unreachable: keep answering from the primary, and
            # try the replica again after a while rather than on every read.
            log.warning(
                "read replica unavailable: reading from the primary for %.0f s", REPLICA_RETRY_S
            )
            self._replica_down_until = time.monotonic() + REPLICA_RETRY_S
            if conn is not None:
                conn.close()
            return None
        if caught_up:
            self.see_writes_up_to(None)  # everything this thread wrote is on the replica
            return conn
        conn.close()
        return None

    @contextlib.contextmanager
    def read(self, *, primary: bool = False) -> Iterator[Connection]:
        """A connection for reads: the replica when configured (see the class docstring),
        else the primary. ``primary=True`` when the read must see every committed write."""
        conn = None if primary else self._replica_connection()
        with conn if conn is not None else self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self, actor=None, *, read_back: bool = True) -> Iterator[Connection]:
        """A write transaction. ``actor`` (an ``Actor``, a name such as ``system:import``, or
        None) is recorded with every row the transaction writes (``gazetteer.core.audit``).
        ``read_back=False`` for bookkeeping this thread's later reads need not see (rate-limit
        buckets): its commit leaves their routing to a replica as it was."""
        name = getattr(actor, "username", actor)
        tx = uuid.uuid4().hex
        # This thread's reads during the transaction go to the primary, too.
        self._floor.writing = getattr(self._floor, "writing", 0) + 1
        try:
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_immediate=True)
                conn.info[_AFTER_COMMIT] = []
                conn.info[_BEFORE_COMMIT] = []
                conn.info[_TX] = tx
                with conn.begin():
                    if self.dialect == "sqlite":
                        context = conn.connection.info.setdefault(
                            "gdgis.audit", {"actor": None, "tx": None}
                        )
                        context.update(actor=name, tx=tx)
                    else:  # transaction-local settings, read by the plpgsql audit trigger
                        conn.execute(
                            sa.text(
                                "SELECT set_config('gdgis.actor', :actor, true), "
                                "set_config('gdgis.tx', :tx, true)"
                            ),
                            {"actor": name or "", "tx": tx},
                        )
                    try:
                        yield conn
                        for callback in conn.info.get(_BEFORE_COMMIT, []):
                            callback(conn)
                    except sa.exc.StatementError as exc:
                        # A typed error raised while binding a value (the JSON text check):
                        # callers see the domain error, not the driver's wrapper.
                        if isinstance(exc.orig, DomainError):
                            raise exc.orig from None
                        raise
                    finally:
                        if self.dialect == "sqlite":
                            context.update(actor=None, tx=None)
                        callbacks = conn.info.pop(_AFTER_COMMIT, [])
                        conn.info.pop(_BEFORE_COMMIT, None)
                        conn.info.pop(_TX, None)
                if self.read_engine is not None and read_back:
                    # The insert position after the commit is at or past its commit record:
                    # once the replica has replayed that far, it holds this write.
                    self.see_writes_up_to(
                        conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar()
                    )
                    conn.rollback()
        finally:
            self._floor.writing -= 1
        for callback in callbacks:
            try:
                callback(self)
            except Exception:  # the write has committed: a listener's failure must not undo it
                log.exception("after-commit callback %r failed", callback)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()
