"""PostgreSQL + PostGIS specifics: spatial and search indexes, geometry round trips through
PostGIS, reverse lookup by ST_Contains, read-replica routing, race outcomes.

Run with ``GDGIS_TEST_DATABASE_URL`` set (``scripts/ci_postgres.sh``); skipped on SQLite.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from boundaries.schema import SCHEMA
from gazetteer.core import migrate
from gazetteer.core.store import Store
from gazetteer.reverse import DivisionLocator
from gazetteer.reverse_postgis import PostGISDivisionLocator, division_locator
from gazetteer.tables import divisions, meta, places

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(store_templates):
    if store_templates.dialect != "postgresql":
        pytest.skip("needs GDGIS_TEST_DATABASE_URL (a PostgreSQL + PostGIS server)")


def _indexes(store: Store) -> dict[str, str]:
    with store.read() as conn:
        return dict(
            conn.execute(
                sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            ).all()
        )


def test_spatial_columns_are_postgis_geometries_with_gist_indexes(empty_store):
    with empty_store.read() as conn:
        columns = dict(
            conn.execute(
                sa.text(
                    "SELECT f_table_name || '.' || f_geometry_column, srid FROM geometry_columns"
                )
            ).all()
        )
    for column in (
        "divisions.geom",
        "places.geom",
        "boundary_lines.geom",
        "markers.geom",
        "proposals.location",
    ):
        assert columns[column] == 4490, column
    indexes = _indexes(empty_store)
    for name in (
        "ix_divisions_geom",
        "ix_places_geom",
        "ix_boundary_lines_geom",
        "ix_markers_geom",
    ):
        assert "USING gist" in indexes[name], name


def test_migrations_are_idempotent_on_postgresql(empty_store):
    assert migrate.is_up_to_date(empty_store, SCHEMA)
    migrate.upgrade(empty_store, SCHEMA)
    assert migrate.current_revisions(empty_store) == SCHEMA.head_revisions()
    with empty_store.read() as conn:
        extensions = set(conn.exec_driver_sql("SELECT extname FROM pg_extension").scalars())
    assert {"postgis", "pg_trgm"} <= extensions


def test_search_indexes_from_migration_0005(empty_store):
    indexes = _indexes(empty_store)
    assert "gin_trgm_ops" in indexes["ix_places_name_trgm"]
    assert "text_pattern_ops" in indexes["ix_places_name_pattern"]
    assert "text_pattern_ops" in indexes["ix_divisions_path_pattern"]


def test_substring_search_can_use_the_trigram_index(store):
    with store.read() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # the table is small; force the choice
        plan = "\n".join(
            conn.execute(
                sa.text("EXPLAIN SELECT id FROM places WHERE name LIKE :q"), {"q": "%天河%"}
            ).scalars()
        )
    assert "ix_places_name_trgm" in plan


@pytest.mark.parametrize(
    "geom",
    [
        Point(113.3245, 23.1064),
        LineString([(113.0, 23.0), (113.5, 23.25), (114.0, 23.0)]),
        Polygon(
            [(113, 23), (114, 23), (114, 24), (113, 24)],
            [[(113.2, 23.2), (113.4, 23.2), (113.3, 23.4)]],
        ),
        MultiPolygon(
            [Polygon([(110, 20), (111, 20), (111, 21)]), Polygon([(112, 22), (113, 22), (113, 23)])]
        ),
    ],
)
def test_geometry_round_trips_through_postgis_with_srid_4490(empty_store, geom):
    with empty_store.write() as conn:
        place_id = conn.execute(
            places.insert().values(name="测试", feature_class="居民点", geom=geom)
        ).inserted_primary_key[0]
    with empty_store.read() as conn:
        back = conn.execute(sa.select(places.c.geom).where(places.c.id == place_id)).scalar()
        srid, kind = conn.execute(
            sa.select(sa.func.ST_SRID(places.c.geom), sa.func.GeometryType(places.c.geom)).where(
                places.c.id == place_id
            )
        ).one()
    assert back.equals_exact(geom, 0) and back.geom_type == geom.geom_type
    assert srid == 4490 and kind == geom.geom_type.upper()


def test_postgis_locator_agrees_with_the_in_memory_grid(store):
    grid = DivisionLocator.from_store(store)
    postgis = division_locator(store)
    assert isinstance(postgis, PostGISDivisionLocator)
    rng = np.random.default_rng(9)
    lons, lats = rng.uniform(109.5, 117.5, 400), rng.uniform(20.1, 25.6, 400)
    expected, got = grid.locate_levels(lons, lats), postgis.locate_levels(lons, lats)
    for level in ("province", "city", "county"):
        assert (expected[level] == got[level]).all(), level
    assert (grid.locate_many(lons, lats) == postgis.locate_many(lons, lats)).all()
    # 广州塔 in 海珠区; a point at sea in none.
    assert [d["name"] for d in postgis.locate(113.3245, 23.1064)] == ["广东省", "广州市", "海珠区"]
    assert postgis.locate(114.8, 20.5) == grid.locate(114.8, 20.5) == []


def test_reads_go_to_the_replica_and_read_after_write_to_the_primary(empty_store):
    # The "replica" is the same database through a second, read-only engine: enough to
    # see which engine served each read.
    replica_url = sa.engine.make_url(empty_store.url).update_query_dict(
        {"application_name": "replica"}
    )
    routed = Store(empty_store.url, read_url=replica_url.render_as_string(hide_password=False))
    try:

        def served_by(**kw):
            with routed.read(**kw) as conn:
                return conn.exec_driver_sql("SELECT current_setting('application_name')").scalar()

        assert served_by() == "replica"
        with routed.read() as conn:
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
            with pytest.raises(sa.exc.InternalError, match="read-only"):
                conn.execute(meta.insert().values(key="k", value="v"))
        assert served_by(primary=True) != "replica"
        with routed.write() as conn:
            conn.execute(meta.insert().values(key="k", value="v"))
            assert served_by() != "replica"  # reads inside a write see it: the primary
        # This thread just wrote: it reads its write on the primary until the replica has
        # replayed it (this stand-in is no replica: it never reports a replay position).
        assert routed.written_up_to() is not None
        assert served_by() != "replica"
        routed.see_writes_up_to(None)  # as once a real replica has replayed the write
        assert served_by() == "replica"
        with routed.read() as conn:
            assert conn.execute(sa.select(meta.c.value).where(meta.c.key == "k")).scalar() == "v"
    finally:
        routed.dispose()


def test_replica_url_needs_postgresql(tmp_path):
    with pytest.raises(ValueError, match="PostgreSQL"):
        Store(f"sqlite:///{tmp_path / 'a.sqlite'}", read_url=f"sqlite:///{tmp_path / 'b.sqlite'}")


def test_foreign_keys_are_enforced(empty_store):
    with pytest.raises(sa.exc.IntegrityError):
        with empty_store.write() as conn:
            conn.execute(
                divisions.insert().values(
                    code="449999",
                    name="无",
                    level="county",
                    parent_code="000000",
                    path="000000/449999",
                    in_guangdong=True,
                )
            )
