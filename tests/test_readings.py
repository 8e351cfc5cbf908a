"""Place readings (《地名管理条例》 Art. 15): stored romanizations corrected to the reviewed
reading table as recorded changes; heteronyms the table settles need no confirmation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import login, logout

from gazetteer import readings, registry, romanize
from gazetteer.core.actors import Actor
from gazetteer.core.errors import Forbidden
from gazetteer.registry_tables import place_versions
from gazetteer.tables import places

OFFICER = Actor("officer_wang", frozenset({"officer"}))
CLERK = Actor("clerk_li", frozenset({"clerk"}))


def record(store, code):
    with store.read() as conn:
        return conn.execute(sa.select(places).where(places.c.source_key == f"nbs:{code}")).first()


def test_the_table_settles_some_heteronyms_and_leaves_others_to_the_officer():
    machong = romanize.romanize("麻涌镇", "行政区域")
    assert machong.toned == "Máchōng Zhèn" and all(h["reviewed"] for h in machong.heteronyms)
    changle = romanize.romanize("长乐路", "交通运输设施")
    assert {h["char"]: h["reviewed"] for h in changle.heteronyms} == {"长": True, "乐": False}
    # 涌泉 is a dictionary word: everyday yǒng, so an officer confirms it.
    spring = romanize.romanize("涌泉村", "居民点")
    assert spring.toned.startswith("Yǒng") and not spring.heteronyms[0]["reviewed"]


OLD_FORMS = {  # as a store imported before the reviewed table holds them
    "441900126": ("Mayong Zhen", "Máyǒng Zhèn"),  # 麻涌镇
    "440112010": ("Zhangzhou Jiedao", "Zhǎngzhōu Jiēdào"),  # 长洲街道
    "441226101": ("Xinwei Zhen", "Xīnwéi Zhèn"),  # 新圩镇
}


def as_before_the_table(store):
    with store.write(actor="test:old-store") as conn:
        for code, (plain, toned) in OLD_FORMS.items():
            conn.execute(
                places.update()
                .where(places.c.source_key == f"nbs:{code}")
                .values(romanized=plain, romanized_toned=toned)
            )


def test_stored_romanizations_are_corrected_as_recorded_changes(store):
    assert readings.reading_corrections(store) == []  # a fresh import reads with the table
    as_before_the_table(store)
    listed = {c["name"]: c for c in readings.reading_corrections(store)}
    assert set(listed) == {"麻涌镇", "长洲街道", "新圩镇"}
    assert listed["麻涌镇"]["old_toned"] == "Máyǒng Zhèn"
    assert listed["麻涌镇"]["new_toned"] == "Máchōng Zhèn"
    assert listed["长洲街道"]["new"] == "Changzhou Jiedao"
    # A reading an officer confirmed is listed but kept.
    kept = record(store, "440112010")  # 长洲街道
    with store.write(actor="test") as conn:
        conn.execute(
            places.update().where(places.c.id == kept.id).values(heteronyms_confirmed=True)
        )
    with pytest.raises(Forbidden):
        readings.apply_reading_corrections(store, CLERK)
    result = readings.apply_reading_corrections(store, OFFICER)
    assert result["corrected"] == len(listed) - 1 and result["kept_confirmed"] == 1
    place = registry.get_place(store, listed["麻涌镇"]["id"])
    assert place["romanized"] == "Machong Zhen" and place["heteronyms_confirmed"] is True
    history = registry.place_history(store, listed["麻涌镇"]["id"])
    versions = history["versions"]
    with store.read() as conn:  # the version before the correction keeps the old form
        snapshots = conn.execute(
            sa.select(place_versions.c.change, place_versions.c.record)
            .where(place_versions.c.place_id == listed["麻涌镇"]["id"])
            .order_by(place_versions.c.id)
        ).all()
    assert [c for c, _ in snapshots] == ["baseline", "corrected"]
    assert snapshots[0].record["romanized_toned"] == "Máyǒng Zhèn"
    assert snapshots[1].record["romanized_toned"] == "Máchōng Zhèn"
    assert (
        versions[-1]["change"] == "corrected"
        and "Máyǒng Zhèn → Máchōng Zhèn" in (versions[-1]["change_reason"])
    )
    assert registry.get_place(store, kept.id)["romanized"] == kept.romanized
    # Running it again changes nothing.
    assert readings.apply_reading_corrections(store, OFFICER) == {
        "corrected": 0,
        "kept_confirmed": 1,
    }


def test_reading_corrections_through_the_api(client, store):
    as_before_the_table(store)
    assert client.get("/api/places/reading-corrections").status_code == 401  # not signed in
    login(client, "li", "clerk")
    listed = client.get("/api/places/reading-corrections").get_json()
    assert listed["total"] == 3 and any(c["name"] == "麻涌镇" for c in listed["items"])
    assert client.post("/api/places/reading-corrections", json={}).status_code == 403
    login(client, "wang", "officer")
    done = client.post("/api/places/reading-corrections", json={}).get_json()
    assert done["corrected"] == listed["total"]
    assert client.get("/api/places/reading-corrections").get_json()["total"] == 0
    logout(client)
