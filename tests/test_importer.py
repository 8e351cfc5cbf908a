"""Importing the shipped data: counts, classes, pinyin, geometry marks, idempotence."""

import sqlalchemy as sa

from gazetteer import importer
from gazetteer.tables import divisions, places


def count(conn, table, *where):
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_import_loads_every_name_with_its_division(store):
    with store.read() as conn:
        assert count(conn, divisions, divisions.c.level == "city", divisions.c.in_guangdong) == 21
        assert count(conn, divisions, divisions.c.level == "county") == 122
        assert count(conn, divisions, divisions.c.level == "township") == 1757
        assert count(conn, divisions, divisions.c.level == "village") == 26842
        assert count(conn, divisions, divisions.c.in_guangdong.is_(False)) == 7
        # every division is also a place-name record; the rest are the historical divisions
        # (data/division_changes.csv: one record per former name)
        nbs = places.c.source_key.like("nbs:%")
        assert count(conn, places, nbs) == count(conn, divisions)
        assert count(conn, places, ~nbs) == count(conn, places, places.c.status == "historical")
        panyu = conn.execute(sa.select(places).where(places.c.name == "番禺区")).one()
        assert panyu.feature_class == "行政区域" and panyu.feature_type == "市辖区"
        assert panyu.pinyin_key == "pan yu qu"
        assert panyu.division_code == "440100" and panyu.own_division_code == "440113"
        assert panyu.geom is not None and panyu.geom.geom_type == "Point"
        path = conn.execute(
            sa.select(divisions.c.path).where(divisions.c.code == "440113")
        ).scalar()
        assert path == "440000/440100/440113"


def test_names_without_geometry_are_kept_and_marked(store):
    with store.read() as conn:
        village = conn.execute(
            sa.select(places).where(places.c.source_key == "nbs:440103001101")
        ).one()
        assert village.name == "翠洲社区居民委员会"
        assert village.feature_class == "群众自治组织" and village.feature_type == "居民委员会"
        assert village.geom is None and village.status == "in_force"
        no_geom = count(conn, places, places.c.geom.is_(None), places.c.source_key.like("nbs:%"))
        assert no_geom == 1757 + 26842


def test_import_twice_changes_nothing(store):
    with store.read() as conn:
        before = [
            tuple(r)
            for r in conn.execute(
                sa.select(places.c.id, places.c.version, places.c.name).order_by(places.c.id)
            )
        ]
    again = importer.import_shipped_data(store, force=True)
    assert not again.changed
    with store.read() as conn:
        shipped = count(conn, places, places.c.source_key.like("nbs:%"))
    assert again.unchanged["places"] == shipped
    assert again.history == {"changes": 0, "records": 0, "links": 0}
    quick = importer.import_shipped_data(store)
    assert not quick.changed
    with store.read() as conn:
        after = [
            tuple(r)
            for r in conn.execute(
                sa.select(places.c.id, places.c.version, places.c.name).order_by(places.c.id)
            )
        ]
    assert after == before


def test_reimport_repairs_a_changed_row_and_keeps_its_id(store):
    with store.write() as conn:
        conn.execute(places.update().where(places.c.source_key == "nbs:440113").values(name="错名"))
        pid = conn.execute(
            sa.select(places.c.id).where(places.c.source_key == "nbs:440113")
        ).scalar()
    result = importer.import_shipped_data(store, force=True)
    assert result.updated["places"] == 1
    with store.read() as conn:
        row = conn.execute(sa.select(places).where(places.c.id == pid)).one()
    assert row.name == "番禺区" and row.version == 2
