"""Text at the door (issue 13, finding 1; control characters: tester report tdoor2 item 13):
lone surrogates and control characters are refused before any write,
text is stored in NFC, rows stored before the check are found and repaired by
``gdgis admin repair-text``, and one bad row never fails a whole list or page."""

from __future__ import annotations

import json
import unicodedata

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from helpers import login
from proposal_helpers import CLERK, TIANHE, propose

from gazetteer.core import audit
from gazetteer.core.account_tables import audit_log
from gazetteer.core.actors import Actor
from gazetteer.core.errors import InvalidInput
from gazetteer.registry_tables import proposals
from gazetteer.workflow import perform as workflow_perform
from webmap.cli import main

CLERK = Actor("li", frozenset({"clerk"}))


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


def raw_proposal(name_json: str) -> bytes:
    """A proposal body with the name written as raw JSON text (so escapes reach the parser)."""
    return (
        '{"kind": "naming", "applicant": "天河区住房和城乡建设局", "reasons": "新建道路", '
        f'"proposed": {{"name": {name_json}, "feature_class": "交通运输设施", '
        f'"division_code": "{TIANHE}"}}}}'
    ).encode()


def test_a_lone_surrogate_in_json_is_400_naming_the_field_and_writes_nothing(client, store):
    login(client, "li", "clerk")
    before = audit_size(store)
    r = client.post(
        "/api/proposals", data=raw_proposal('"\\ud800路"'), content_type="application/json"
    )
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == "proposed.name"
    assert audit_size(store) == before
    # The second action: the list still answers, and the corrected name goes through.
    assert client.get("/api/proposals").status_code == 200
    r = client.post(
        "/api/proposals", data=raw_proposal('"\\u4e91溪路"'), content_type="application/json"
    )
    assert r.status_code == 201 and r.get_json()["proposed"]["name"] == "云溪路"


def test_a_surrogate_pair_is_one_valid_character_and_is_kept(client, store):
    login(client, "li", "clerk")
    r = client.post(
        "/api/proposals", data=raw_proposal('"\\ud842\\udfb7溪路"'), content_type="application/json"
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["proposed"]["name"] == "\U00020bb7溪路"  # 𠮷, outside the BMP


def test_reverse_batch_with_a_surrogate_is_400(client):
    r = client.post(
        "/api/reverse/batch",
        data=b'{"points": [{"id": "\\udc00", "lon": 113.3, "lat": 23.1}]}',
        content_type="application/json",
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"


def test_text_is_stored_in_nfc(client, store):
    login(client, "li", "clerk")
    body = json.loads(raw_proposal('"云溪路"'))
    body["applicant"] = "Cafe\u0301 天河"  # e + combining acute: NFD
    r = client.post("/api/proposals", json=body)
    assert r.status_code == 201
    assert r.get_json()["applicant"] == "Café 天河"
    assert unicodedata.is_normalized("NFC", r.get_json()["applicant"])


def test_the_domain_refuses_a_surrogate_whatever_the_caller(store):
    before = audit_size(store)
    with pytest.raises(InvalidInput):
        propose(
            store,
            "naming",
            "天河区\udfff",
            "新建道路",
            proposed={"name": "云溪路", "feature_class": "交通运输设施", "division_code": TIANHE},
        )
    with pytest.raises(InvalidInput):  # a JSON column: checked before it is serialised
        with store.write(actor="system:test") as conn:
            conn.execute(proposals.update().values(proposed={"name": "\ud800"}))
    with pytest.raises(InvalidInput):  # nested, beside a valid character above U+FFFF
        with store.write(actor="system:test") as conn:
            conn.execute(proposals.update().values(proposed={"name": "𠮷路", "k": ["\udc01"]}))
    with pytest.raises(InvalidInput):  # a text column, by any path
        with store.write(actor="system:test") as conn:
            conn.execute(proposals.update().values(applicant="\udc00"))
    assert audit_size(store) == before
    from gazetteer.core.text import clean_text

    assert clean_text("Cafe\u0301", "x") == "Café"


def test_form_fields_take_text_or_numbers_and_refuse_other_types(store):
    """Every domain form field passes ``form_text``: a number is taken as its digits, a
    list, an object or a boolean is refused naming the field, a blank required field is
    asked for, and a refused draft writes nothing."""
    road = {"name": "云溪路", "feature_class": "交通运输设施", "division_code": TIANHE}
    before = audit_size(store)
    for meaning in (["雅意"], True):
        with pytest.raises(InvalidInput, match="应为文字") as refused:
            propose(store, "naming", "天河区", "新建道路", proposed={**road, "meaning": meaning})
        assert refused.value.details["field"] == "proposed.meaning"  # its path in the body
    with pytest.raises(InvalidInput, match="请填写申请理由") as refused:
        propose(store, "naming", "天河区", "   ", proposed=road)
    assert refused.value.details["field"] == "reasons"  # the key; the label is in the message
    with pytest.raises(InvalidInput, match=r"申请人（applicant）过长") as refused:
        propose(store, "naming", "天" * 201, "新建道路", proposed=road)
    assert refused.value.details["field"] == "applicant"
    assert audit_size(store) == before
    drafted = propose(store, "naming", "天河区", "新建道路", proposed={**road, "meaning": 0})
    assert drafted["proposed"]["meaning"] == "0"


def _store_bad_row_as_before_the_fix(store, client) -> int:
    """A proposal whose JSON column holds a ``\\ud800`` escape, as the unchecked API stored it."""
    if store.dialect == "postgresql":
        pytest.skip("PostgreSQL's json type refuses a lone-surrogate escape itself: no such row")
    login(client, "li", "clerk")
    r = client.post(
        "/api/proposals", data=raw_proposal('"坏名路"'), content_type="application/json"
    )
    pid = r.get_json()["id"]
    with store.write(actor="system:test") as conn:
        conn.execute(
            sa.text("UPDATE proposals SET proposed = :p WHERE id = :id"),
            {"p": '{"name": "\\ud800路", "feature_class": "交通运输设施"}', "id": pid},
        )
    return pid


def test_one_bad_row_does_not_fail_the_list_or_the_dashboard(client, store):
    pid = _store_bad_row_as_before_the_fix(store, client)
    login(client, "wang", "officer")
    r = client.get("/api/proposals")
    assert r.status_code == 200
    names = {p["id"]: p["name"] for p in r.get_json()["items"]}
    assert names[pid] == "\ufffd路"
    assert client.get(f"/api/proposals/{pid}").status_code == 200
    assert client.get("/officer/").status_code == 200
    assert client.get(f"/officer/proposals/{pid}").status_code == 200


def test_repair_text_lists_then_repairs_bad_rows_with_an_audited_write(client, store):
    pid = _store_bad_row_as_before_the_fix(store, client)
    base = ["--database-url", store.url, "admin", "repair-text"]
    listed = CliRunner().invoke(main, base)
    assert listed.exit_code == 1
    assert f"proposals[{pid}].proposed: surrogate" in listed.output
    repaired = CliRunner().invoke(main, [*base, "--apply"])
    assert repaired.exit_code == 0 and "repaired 1 value(s)" in repaired.output
    with store.read() as conn:
        proposed = conn.execute(
            sa.select(proposals.c.proposed).where(proposals.c.id == pid)
        ).scalar()
    assert proposed["name"] == "\ufffd路"
    again = CliRunner().invoke(main, base)
    assert again.exit_code == 0 and "0 value(s)" in again.output
    assert audit.verify(store).ok


# C0 controls (an ANSI colour), DEL, C1 (NEL), the bidi override and isolate controls.
REFUSED = ["\x01", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u2066"]


@pytest.mark.parametrize("bad", REFUSED)
def test_control_characters_are_400_naming_the_field_in_any_text(client, store, bad):
    login(client, "li", "clerk")
    before = audit_size(store)
    for field in ("name", "reasons"):
        body = json.loads(raw_proposal('"云溪路"'))
        if field == "name":
            body["proposed"]["name"] = f"云溪{bad}路"
        else:
            body["reasons"] = f"新建{bad}道路"
        r = client.post("/api/proposals", json=body)
        assert r.status_code == 400, (field, r.get_json())
        error = r.get_json()["error"]
        assert error["details"]["field"] in (field, f"proposed.{field}")
        assert f"U+{ord(bad[0]):04X}" in error["message"]
    assert audit_size(store) == before
    with pytest.raises(InvalidInput):  # by any path: the store's last line refuses it too
        with store.write(actor="system:test") as conn:
            conn.execute(proposals.update().values(applicant=f"天河{bad}"))
    with pytest.raises(InvalidInput):  # and in a JSON column
        with store.write(actor="system:test") as conn:
            conn.execute(proposals.update().values(proposed={"name": [f"a{bad}"]}))


def test_line_breaks_only_where_text_may_span_lines(client, store):
    """Reasons and notes may span lines (tab, LF, CRLF from a textarea); a name, the
    applicant, an office or a title may not."""
    login(client, "li", "clerk")
    body = json.loads(raw_proposal('"云溪路"'))
    body["reasons"] = "新建道路。\r\n\t理由二"
    r = client.post("/api/proposals", json=body)
    assert r.status_code == 201 and r.get_json()["reasons"] == "新建道路。\r\n\t理由二"
    for field, value in (("name", "云溪路\nFAKE"), ("applicant", "天河区\t住建局")):
        bad = json.loads(raw_proposal('"云溪路"'))
        if field == "name":
            bad["proposed"]["name"] = value
        else:
            bad[field] = value
        r = client.post("/api/proposals", json=bad)
        assert r.status_code == 400, r.get_json()
        assert "换行或制表符" in r.get_json()["error"]["message"]


def _store_office_as_before_the_fix(store, username: str) -> None:
    """An office holding a line break and an escape sequence, written with SQL functions
    (as an unchecked version stored it; the store now refuses such a parameter)."""
    char = "char" if store.dialect == "sqlite" else "chr"
    with store.write(actor="system:test") as conn:
        conn.execute(
            sa.text(
                f"UPDATE users SET office = 'Office' || {char}(10) || 'FAKE-ROW  active  admin'"
                f" || {char}(27) || '[31m' WHERE username = :u"
            ),
            {"u": username},
        )


def test_cli_text_is_one_line_and_list_users_cannot_be_forged(tmp_path):
    from gazetteer.core import accounts
    from gazetteer.core.store import Store

    url = f"sqlite:///{tmp_path / 'users.db'}"
    base = ["--database-url", url, "admin"]
    made = CliRunner().invoke(
        main,
        [*base, "create-user", "clerk3", "--role", "clerk", "--password-stdin"],
        input="correct horse battery staple\n",
    )
    assert made.exit_code == 0, made.output
    refused = CliRunner().invoke(
        main, [*base, "set-office", "clerk3", "Office\nFAKE-ROW  active admin"]
    )
    assert isinstance(refused.exception, InvalidInput), refused.output
    assert "office" in refused.exception.message and "U+000A" in refused.exception.message
    for bad in ("Office\x1b[31m", "Office\u202eevil"):
        refused = CliRunner().invoke(main, [*base, "set-office", "clerk3", bad])
        assert isinstance(refused.exception, InvalidInput), bad
    refused = CliRunner().invoke(main, [*base, "create-token", "clerk3", "--name", "a\nb"])
    assert isinstance(refused.exception, InvalidInput)
    listed = CliRunner().invoke(main, [*base, "list-users"])
    assert listed.output.count("\n") == 1 and listed.output.rstrip().endswith("-")
    # A value stored before the check is shown escaped: still one line per user.
    store = Store(url)
    try:
        _store_office_as_before_the_fix(store, "clerk3")
        assert "\n" in accounts.list_users(store)[0]["office"]
    finally:
        store.dispose()
    listed = CliRunner().invoke(main, [*base, "list-users"])
    assert listed.output.count("\n") == 1, listed.output
    assert "\x1b" not in listed.output and "Office\\nFAKE-ROW" in listed.output
    # The second action: the repair command finds the row and repairs it.
    found = CliRunner().invoke(main, [*base, "repair-text"])
    assert found.exit_code == 1 and "users[" in found.output and ".office: control" in found.output
    fixed = CliRunner().invoke(main, [*base, "repair-text", "--apply"])
    assert fixed.exit_code == 0 and "repaired 1 value(s)" in fixed.output
    listed = CliRunner().invoke(main, [*base, "list-users"])
    assert "Office\\nFAKE-ROW  active  admin\ufffd[31m" in listed.output
    assert CliRunner().invoke(main, [*base, "repair-text"]).exit_code == 0


def test_staff_profile_names_are_single_line(bstore):
    from boundaries.staff import set_profile

    admin = Actor("system:cli", frozenset({"admin"}))
    with pytest.raises(InvalidInput) as refused:
        set_profile(
            bstore,
            "nobody",
            {"full_name": "张\n伟", "organisation": "甲方", "side_code": "440000"},
            admin,
        )
    assert "姓名" in refused.value.message and "U+000A" in refused.value.message


# ---- bytes that are not text, planted below the app (tester report ops13 item 1) ----


def _plant(store, statements: list[tuple[str, tuple]]) -> None:
    """Run ``statements`` with the ``sqlite3`` module, as an operator's manual edit or an old
    import did (the store's own connections refuse nothing here: SQLite never checks that
    TEXT is UTF-8). The audit triggers need the two functions the store registers."""
    import sqlite3

    raw = sqlite3.connect(sa.engine.make_url(store.url).database)
    try:
        raw.create_function("gdgis_actor", 0, lambda: "sqlite3-edit")
        raw.create_function("gdgis_tx", 0, lambda: None)
        for sql, args in statements:
            raw.execute(sql, args)
        raw.commit()
    finally:
        raw.close()


def test_undecodable_bytes_in_text_columns_never_fail_a_list_and_are_repaired(bstore, tmp_path):
    """Invalid UTF-8 (``CAST(x'e8bf' AS TEXT)``) and BLOBs in text columns of places,
    proposals, boundary lines and markers: every list answers 200 with the other rows, the
    damaged value read with U+FFFD; ``repair-text`` lists each one, ``--apply`` stores the
    text as it reads, and a second run finds nothing."""
    from helpers import make_app
    from proposal_helpers import draft_road

    if bstore.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses invalid UTF-8 itself (test_postgres_refuses_invalid_utf8)")
    first, second = draft_road(bstore), draft_road(bstore, "云溪路")
    with bstore.read() as conn:
        low, high = conn.execute(sa.text("SELECT min(id), max(id) FROM places")).one()
        line = conn.execute(sa.text("SELECT min(id) FROM boundary_lines")).scalar()
        marker = conn.execute(sa.text("SELECT min(id) FROM markers")).scalar()
        places_count = conn.execute(sa.text("SELECT count(*) FROM places")).scalar()
    _plant(
        bstore,
        [
            ("UPDATE places SET name = CAST(x'e8bf' AS TEXT) WHERE id = ?", (low,)),
            ("UPDATE places SET name = x'e4ba91' WHERE id = ?", (high,)),  # a BLOB: 云
            ("UPDATE proposals SET applicant = CAST(x'e8bf' AS TEXT) WHERE id = ?", (first["id"],)),
            ("UPDATE proposals SET reasons = x'ff00' WHERE id = ?", (second["id"],)),
            ("UPDATE boundary_lines SET name = CAST(x'e8bf' AS TEXT) WHERE id = ?", (line,)),
            ("UPDATE markers SET material = x'e8bf' WHERE id = ?", (marker,)),
        ],
    )
    client = make_app(bstore, tmp_path).test_client()
    login(client, "wang", "officer", "inspector")
    names = {}
    for offset in (0, places_count - 50):  # the first page and the last
        page = client.get(f"/api/places?limit=50&offset={offset}")
        assert page.status_code == 200 and len(page.get_json()["items"]) == 50
        names.update({p["id"]: p["name"] for p in page.get_json()["items"]})
    assert names[low] == "\ufffd" and names[high] == "云"
    listed = client.get("/api/proposals")
    assert listed.status_code == 200 and len(listed.get_json()["items"]) == 2
    assert client.get(f"/api/proposals/{first['id']}").get_json()["applicant"] == "\ufffd"
    # The NUL of x'ff00' is a control: written as U+FFFD too (webmap.output; tops F8).
    assert client.get(f"/api/proposals/{second['id']}").get_json()["reasons"] == "\ufffd\ufffd"
    assert client.get("/officer/").status_code == 200
    lines = client.get("/api/boundaries/lines")
    assert lines.status_code == 200
    assert {ln["id"]: ln["name"] for ln in lines.get_json()["lines"]}[line] == "\ufffd"
    markers = client.get("/api/boundaries/markers")
    assert markers.status_code == 200
    materials = {f["id"]: f["properties"]["material"] for f in markers.get_json()["features"]}
    assert materials[marker] == "\ufffd" and len(materials) > 1

    base = ["--database-url", bstore.url, "admin", "repair-text"]
    dry = CliRunner().invoke(main, base)
    assert dry.exit_code == 1, dry.output
    for expected in (
        f"places[{low}].name: not_utf8",
        f"places[{high}].name: binary",
        f"proposals[{first['id']}].applicant: not_utf8",
        f"proposals[{second['id']}].reasons: binary",
        f"boundary_lines[{line}].name: not_utf8",
        f"markers[{marker}].material: binary",
    ):
        assert expected in dry.output
    assert "6 value(s) with invalid text" in dry.output and "Traceback" not in dry.output
    fixed = CliRunner().invoke(main, [*base, "--apply"])
    assert fixed.exit_code == 0 and "repaired 6 value(s)" in fixed.output, fixed.output
    with bstore.read() as conn:
        stored = conn.execute(
            sa.text("SELECT typeof(name), hex(name) FROM places WHERE id IN (:a, :b) ORDER BY id"),
            {"a": low, "b": high},
        ).all()
    # U+FFFD and 云 as real UTF-8 text; the NUL of x'ff00' (a control) became U+FFFD too.
    assert stored == [("text", "EFBFBD"), ("text", "E4BA91")]
    assert client.get(f"/api/proposals/{second['id']}").get_json()["reasons"] == "\ufffd\ufffd"
    again = CliRunner().invoke(main, base)
    assert again.exit_code == 0 and "0 value(s) with invalid text" in again.output
    assert audit.verify(bstore).ok  # the repair is one audited write


def test_postgres_refuses_invalid_utf8(store):
    """On PostgreSQL a UTF8 database never holds invalid UTF-8: the planting itself fails,
    so there is nothing for reads or ``repair-text`` to meet."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores such bytes (see the test above)")
    with pytest.raises(sa.exc.DataError, match="UTF8"):
        with store.write(actor="system:test") as conn:
            conn.execute(
                sa.text(
                    "UPDATE places SET name = convert_from('\\xe8bf'::bytea, 'UTF8') "
                    "WHERE id = (SELECT min(id) FROM places)"
                )
            )


def test_a_json_column_that_does_not_parse_never_fails_a_list_and_is_left_for_a_person(
    client, store
):
    """A hand-edited JSON column (``{broken``) is read as null: the list answers 200 with
    the other rows; ``repair-text`` lists it as not_json and, since no repair can guess
    what it held, leaves it and exits 1 even with --apply."""
    from proposal_helpers import draft_road

    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL's json type refuses text that does not parse")
    kept, broken = draft_road(store), draft_road(store, "云溪路")
    _plant(store, [("UPDATE proposals SET proposed = '{broken' WHERE id = ?", (broken["id"],))])
    login(client, "wang", "officer")
    r = client.get("/api/proposals")
    assert r.status_code == 200
    names = {p["id"]: p["name"] for p in r.get_json()["items"]}
    assert names == {kept["id"]: "长乐路", broken["id"]: None}
    assert client.get("/officer/").status_code == 200
    base = ["--database-url", store.url, "admin", "repair-text"]
    for args in ([], ["--apply"]):
        result = CliRunner().invoke(main, [*base, *args])
        assert result.exit_code == 1, result.output
        assert f"proposals[{broken['id']}].proposed: not_json" in result.output
    assert "left as stored" in result.output
    with store.read() as conn:
        read = sa.select(proposals.c.proposed).where(proposals.c.id == broken["id"])
        assert conn.execute(read).scalar() is None  # read as null
        stored = sa.text("SELECT proposed FROM proposals WHERE id = :id")
        assert conn.execute(stored, {"id": broken["id"]}).scalar() == "{broken"  # unchanged


def test_a_blob_in_a_text_column_reaches_every_reader_as_text(store, tmp_path):
    """A BLOB in ``places.name`` (a manual ``sqlite3`` edit: ``x'e79fb3…'`` is 石牌街道, and
    ``x'ff41'`` does not decode) and in a proposal's JSON: the compliance check, the rules
    check, search (its index built from the store), the OGC items and an export all answer
    with text (U+FFFD for the undecodable byte), never 500 (tester report tops F3); then
    ``repair-text --apply`` stores the values as text."""
    from helpers import make_app
    from proposal_helpers import CLERK as drafter
    from proposal_helpers import draft_road

    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL's text types never hold bytes")
    drafted = draft_road(store)
    submitted = workflow_perform(
        store, drafted["id"], "submit", drafter, version=drafted["version"]
    )
    with store.read() as conn:
        shipai = conn.execute(sa.text("SELECT id FROM places WHERE name = '石牌街道'")).scalar()
        other = conn.execute(
            sa.text("SELECT id FROM places WHERE id != :id ORDER BY id LIMIT 1"), {"id": shipai}
        ).scalar()
    proposed = json.dumps(drafted["proposed"] | {"meaning": "长久安乐"}, ensure_ascii=False)
    _plant(
        store,
        [
            ("UPDATE places SET name = x'e79fb3e7898ce8a197e98193' WHERE id = ?", (shipai,)),
            ("UPDATE places SET name = x'ff41' WHERE id = ?", (other,)),
            (
                "UPDATE proposals SET proposed = CAST(? AS BLOB) WHERE id = ?",
                (proposed.encode(), drafted["id"]),
            ),
        ],
    )
    with store.read() as conn:
        kinds = conn.execute(
            sa.text("SELECT typeof(name) FROM places WHERE id = :id"), {"id": shipai}
        )
        assert kinds.scalar() == "blob"  # planted as the tester did
    client = make_app(store, tmp_path).test_client()
    login(client, "wang", "officer")
    checked = client.post(
        f"/api/proposals/{drafted['id']}/actions/check", json={"version": submitted["version"]}
    )
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["proposed"]["meaning"] == "长久安乐"
    rules = client.post(
        "/api/rules/check",
        json={"name": "石牌街道", "division_code": "440106", "feature_class": "行政区域"},
    )
    assert rules.status_code == 200, rules.get_json()
    assert "石牌街道" in json.dumps(
        rules.get_json()["findings"], ensure_ascii=False
    )  # the BLOB's name
    found = client.get("/api/search?q=石牌街道")
    assert found.status_code == 200
    assert "石牌街道" in json.dumps(found.get_json(), ensure_ascii=False)
    for pid, name in ((shipai, "石牌街道"), (other, "\ufffdA")):
        item = client.get(f"/ogc/collections/places/items/{pid}?f=json")
        assert item.status_code == 200 and item.get_json()["properties"]["name"] == name
    exported = tmp_path / "places.csv"
    run = CliRunner().invoke(
        main, ["--database-url", store.url, "export", "places", "-f", "csv", "-o", str(exported)]
    )
    assert run.exit_code == 0, run.output
    assert "石牌街道" in exported.read_text("utf-8-sig") and "\ufffdA" in exported.read_text(
        "utf-8-sig"
    )

    fixed = CliRunner().invoke(
        main, ["--database-url", store.url, "admin", "repair-text", "--apply"]
    )
    assert fixed.exit_code == 0, fixed.output
    with store.read() as conn:
        stored = conn.execute(
            sa.text("SELECT typeof(name), name FROM places WHERE id IN (:a, :b) ORDER BY id"),
            {"a": shipai, "b": other},
        ).all()
        typeof_proposed = conn.execute(
            sa.text("SELECT typeof(proposed) FROM proposals WHERE id = :id"), {"id": drafted["id"]}
        ).scalar()
    assert sorted(stored) == [("text", "石牌街道"), ("text", "\ufffdA")]
    assert typeof_proposed == "text"


def test_a_proposal_whose_json_does_not_parse_is_shown_damaged_and_refuses_every_step(
    client, store
):
    """``proposed`` planted as ``{"name": broken`` (tester report tops F4): the API and the
    officer page say the record is damaged (no empty title, no 「已确认」), offer no step,
    and taking one is a 409 naming the proposal and repair-text that changes nothing; the
    intact proposal beside it is still checked, and once a person rewrites the JSON the
    steps come back."""
    from proposal_helpers import CLERK as drafter
    from proposal_helpers import draft_road, event_count

    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL's json type refuses text that does not parse")
    intact, damaged = (
        workflow_perform(store, p["id"], "submit", drafter, version=p["version"])
        for p in (draft_road(store), draft_road(store, "云溪路"))
    )
    _plant(
        store,
        [("UPDATE proposals SET proposed = '{\"name\": broken' WHERE id = ?", (damaged["id"],))],
    )
    login(client, "wang", "officer")
    shown = client.get(f"/api/proposals/{damaged['id']}").get_json()
    assert shown["damaged_fields"] == ["proposed"] and shown["allowed_actions"] == []
    events = event_count(store, damaged["id"])
    for action in ("check", "return", "withdraw"):
        refused = client.post(
            f"/api/proposals/{damaged['id']}/actions/{action}",
            json={"version": damaged["version"], "reason": "核对"},
        )
        assert refused.status_code == 409, (action, refused.get_json())
        error = refused.get_json()["error"]
        assert error["code"] == "damaged_record"
        assert f"申请 {damaged['id']}" in error["message"] and "repair-text" in error["message"]
        assert error["details"]["damaged_fields"] == ["proposed"]
    assert event_count(store, damaged["id"]) == events  # nothing changed
    assert client.get(f"/api/proposals/{damaged['id']}").get_json()["version"] == damaged["version"]
    page = client.get(f"/officer/proposals/{damaged['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "记录已损坏，请管理员修复" in html
    assert "已确认" not in html and 'name="version"' not in html  # no step offered
    checked = client.post(
        f"/api/proposals/{intact['id']}/actions/check", json={"version": intact["version"]}
    )
    assert checked.status_code == 200, checked.get_json()

    fixed = json.dumps({"name": "云溪路", "feature_class": "交通运输设施", "division_code": TIANHE})
    _plant(store, [("UPDATE proposals SET proposed = ? WHERE id = ?", (fixed, damaged["id"]))])
    again = client.get(f"/api/proposals/{damaged['id']}").get_json()
    assert again["damaged_fields"] == [] and "check" in again["allowed_actions"]
    checked = client.post(
        f"/api/proposals/{damaged['id']}/actions/check", json={"version": damaged["version"]}
    )
    assert checked.status_code == 200, checked.get_json()


def test_control_characters_already_stored_are_written_as_replacement_characters(client, store):
    """ESC, BEL and NUL stored below the app (tester report tops F8) reach no answer: the
    places list, the OGC item (orjson), a proposal and the officer page carry U+FFFD in
    their place, as docs/security.md promises; tab and line breaks in multi-line text stay,
    and text that merely shows a backslash and "u001b" is left as it is."""
    from proposal_helpers import draft_road

    if store.dialect != "sqlite":
        pytest.skip("planted with the sqlite3 module")
    drafted = draft_road(store)
    with store.read() as conn:
        pid = conn.execute(sa.text("SELECT min(id) FROM places")).scalar()
    _plant(
        store,
        [
            (
                "UPDATE places SET name = ?, meaning = x'00ff10' WHERE id = ?",
                ("车陂\x1b[31m街道\x07", pid),
            ),
            (
                "UPDATE proposals SET reasons = ? WHERE id = ?",
                ("第一行\n\t第二行\x1b[2J\x00 \\u001b \u202e", drafted["id"]),
            ),
        ],
    )
    login(client, "wang", "officer")
    place = client.get(f"/api/places/{pid}")
    item = client.get(f"/ogc/collections/places/items/{pid}?f=json")
    for answer in (place, item):
        assert answer.status_code == 200
        body = answer.get_data(as_text=True)
        assert not any(code in body for code in ("\\u001b", "\\u0007", "\\u0000", "\\u0010"))
    props = item.get_json()["properties"]
    assert props["name"] == "车陂\ufffd[31m街道\ufffd"
    shown = place.get_json()
    assert shown["name"] == "车陂\ufffd[31m街道\ufffd" and shown["meaning"] == "\ufffd" * 3
    reasons = client.get(f"/api/proposals/{drafted['id']}").get_json()["reasons"]
    assert reasons == "第一行\n\t第二行\ufffd[2J\ufffd \\u001b \ufffd"
    page = client.get(f"/officer/places/{pid}").get_data(as_text=True)
    assert "\x1b" not in page and "\x07" not in page and "车陂\ufffd[31m街道\ufffd" in page


def test_reading_json_columns_warns_of_nothing_to_repair(store, caplog):
    """PostgreSQL's driver hands JSON documents over as bytes; they were taken for BLOBs a
    manual SQLite edit left (a warning per value: 29,201 of them during one repair-text run
    that found nothing to repair, a user test). Reading the shipped places' JSON columns
    logs nothing on either store."""
    import logging

    from gazetteer.tables import places

    caplog.set_level(logging.WARNING)
    with store.read() as conn:
        rows = conn.execute(
            sa.select(places.c.heteronyms).where(places.c.heteronyms.is_not(None)).limit(50)
        ).all()
    assert any(isinstance(r.heteronyms, list) for r in rows)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_json_answer_is_written_as_flask_would_write_it(app):
    """``jsonify`` answers are written by orjson (``webmap.output.json_bytes``): keys in
    Flask's sorted order, dates and instants in ISO 8601 (a naive instant is UTC), stored
    control characters (raw or escaped) and lone surrogates as U+FFFD; what orjson cannot
    write (an integer beyond 64 bits) still answers, through the standard writer."""
    import datetime as dt
    import json

    from flask import jsonify

    with app.test_request_context():
        answer = jsonify(
            {
                "b": 1,
                "a": {"d": dt.date(2026, 11, 29), "t": dt.datetime(2026, 11, 29, 8, 30)},
                "names": ["甲\x1b乙", "丙\ud800", "a\\u001bb"],
            }
        )
        text = answer.get_data(as_text=True)
        assert text.index('"a"') < text.index('"b"') and text.endswith("}\n")
        document = json.loads(text)
        assert document["a"] == {"d": "2026-11-29", "t": "2026-11-29T08:30:00+00:00"}
        assert document["names"] == ["甲\ufffd乙", "丙\ufffd", "a\\u001bb"]
        escaped = jsonify({"name": "\x07"}).get_data(as_text=True)  # written as \u0007
        assert json.loads(escaped) == {"name": "\ufffd"}
        assert json.loads(jsonify({"n": 2**70}).get_data()) == {"n": 2**70}


def test_a_control_character_in_a_json_body_is_named_by_the_fields_label(client, store):
    """A control character pasted into a form that sends JSON is refused naming the field
    as the page labels it, before its key (a user test read “plan 含有不允许的控制字符”)."""
    from helpers import token_headers

    headers = token_headers(store, "planner", "officer")
    r = client.post("/api/boundaries/rounds", json={"plan": "逐桩检查\x1b[31m"}, headers=headers)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["message"].startswith("检查方案（plan） 含有不允许的控制字符（U+001B）")
    assert error["details"]["field"] == "plan"
    # a key the table does not know is named as sent
    r = client.post("/api/boundaries/rounds", json={"remark": "a\x1b"}, headers=headers)
    assert r.get_json()["error"]["message"].startswith("remark 含有不允许的控制字符")
    # a field inside another, by its own name's label (a user test read "proposed.name 含有…")
    r = client.post(
        "/api/proposals",
        json={"kind": "naming", "proposed": {"name": "凤鸣路\x1b"}},
        headers=token_headers(store, "clerk_c", "clerk"),
    )
    error = r.get_json()["error"]
    assert error["message"].startswith("名称（proposed.name） 含有不允许的控制字符（U+001B）")
    assert error["details"]["field"] == "proposed.name"
