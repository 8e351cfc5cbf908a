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
from pathlib import Path
from typing import Iterator

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine

SRID = 4490  # CGCS2000 geographic, longitude/latitude order in storage (always_xy)

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class Geometry(sa.types.TypeDecorator):
    """A shapely geometry column: WKB bytes on SQLite, PostGIS geometry(GEOMETRY, 4490)
    on PostgreSQL."""

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from geoalchemy2 import Geometry as PostGISGeometry
            return dialect.type_descriptor(PostGISGeometry(geometry_type="GEOMETRY", srid=SRID,
                                                           spatial_index=False))
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


def bbox_columns(geom: BaseGeometry | None) -> dict[str, float | None]:
    """The ``minx/miny/maxx/maxy`` column values (degrees) for a geometry or None."""
    if geom is None or geom.is_empty:
        return {"minx": None, "miny": None, "maxx": None, "maxy": None}
    minx, miny, maxx, maxy = geom.bounds
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; busy_timeout: a second writer waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_driver_autocommit(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn):
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


class Store:
    """The one way code reaches the database.

    ``store.read()`` yields a connection for reads, ``store.write()`` a connection inside a
    transaction that commits on success and rolls back on any exception, so no write is
    ever half-applied. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that
    two writers serialise at the start instead of failing at commit.
    """

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        kwargs: dict = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            database = sa.engine.make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling defers BEGIN and cannot do IMMEDIATE;
            # switch it off and emit BEGIN ourselves (the SQLAlchemy documented recipe).
            sa.event.listen(self.engine, "connect", _sqlite_driver_autocommit)
            sa.event.listen(self.engine, "begin", _sqlite_begin)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
