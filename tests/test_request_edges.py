"""Edges of requests (issue 13, findings 7, 10 and 11): an empty coordinate is missing, not
0; dates are ISO 8601 in every API; a refused request with a token writes nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from boundary_helpers import OFFICER, register_staff, round_plan
from helpers import token_headers

from gazetteer.core.account_tables import api_tokens, audit_log

HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4}")


@pytest.mark.parametrize(
    "query", ["lon=113&lat=", "lon=&lat=23", "lon=113", "lat=23", "lon=%20&lat=23"]
)
def test_reverse_with_an_empty_or_missing_coordinate_is_400_naming_it(client, query):
    r = client.get(f"/api/reverse?{query}")
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] in ("lon", "lat")
    assert client.get("/api/reverse?lon=113.26&lat=23.13").status_code == 200


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


def last_used(store):
    with store.read() as conn:
        return conn.execute(sa.select(api_tokens.c.last_used_at)).scalars().all()


def test_a_refused_token_request_writes_nothing_and_a_successful_one_is_noted(client, store):
    headers = token_headers(store, "zhao", "inspector")  # may not draft proposals
    before = audit_size(store)
    body = {
        "kind": "naming",
        "applicant": "天河区住建局",
        "reasons": "新建道路",
        "proposed": {"name": "云溪路", "feature_class": "交通运输设施", "division_code": "440106"},
    }
    r = client.post("/api/proposals", json=body, headers=headers)
    assert r.status_code == 403
    assert audit_size(store) == before and last_used(store) == [None]
    r = client.get("/api/proposals/999999", headers=headers)  # refused too: not found
    assert r.status_code == 404 and audit_size(store) == before
    assert client.get("/auth/me", headers=headers).status_code == 200
    assert last_used(store)[0] is not None and audit_size(store) == before + 1


@pytest.fixture(scope="module")
def bnd_template(boundaries_template):
    return boundaries_template  # the shared session template (tests/conftest.py)


def test_dates_are_iso_8601_in_the_boundary_api(store_templates, bnd_template, tmp_path):
    from webmap import create_app

    with store_templates.copy(bnd_template, tmp_path) as store:
        app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
        client = app.test_client()
        headers = token_headers(store, OFFICER.username, "officer")
        line = client.get("/api/boundaries/lines?kind=city").get_json()["lines"][0]
        register_staff(store, line)
        made = client.post("/api/boundaries/rounds", json=round_plan(line), headers=headers)
        assert made.status_code == 201
        assert made.get_json()["planned_end"] == "2024-06-30"
        texts = [
            client.get(url, headers=headers).get_data(as_text=True)
            for url in (
                "/api/boundaries/lines?kind=provincial",
                "/api/boundaries/markers",
                "/api/boundaries/markers/粤桂001C",
                "/api/boundaries/rounds",
                f"/api/boundaries/rounds/{made.get_json()['id']}",
            )
        ]
        assert not any(HTTP_DATE.search(t) for t in texts)
        assert re.search(r'"\d{4}-\d{2}-\d{2}"', "".join(texts))  # date-only values


def test_the_json_writer_gives_dates_and_instants_in_iso_8601(app):
    with app.app_context():
        text = app.json.dumps({"day": dt.date(2027, 6, 30), "at": dt.datetime(2027, 6, 30, 8)})
    assert text == '{"at": "2027-06-30T08:00:00+00:00", "day": "2027-06-30"}'


@pytest.mark.parametrize("value", ["nan", "-nan", "inf", "-inf"])
def test_non_finite_query_numbers_are_refused_in_words(client, value):
    body = client.get(f"/api/reverse?lon={value}&lat=23").get_json()
    assert body["error"]["code"] == "invalid_input"
    assert "None" not in body["error"]["message"] and "lon" in body["error"]["message"]


def test_a_405_says_which_methods_are_allowed(client):
    r = client.delete("/api/proposals")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "http_405"
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}


# Another script's digits (Arabic-Indic ٣, full-width ３, Devanagari ३), a sign, a space and
# leading zeros: Python's int() reads each as a number, so one record answered to many URLs.
def _other_spellings(number: int) -> list[str]:
    digits = str(number)
    return [
        "".join(chr(0x0660 + int(d)) for d in digits),
        "".join(chr(0xFF10 + int(d)) for d in digits),
        "".join(chr(0x0966 + int(d)) for d in digits),
        f"0{digits}",
        f"+{digits}",
    ]


def test_an_ogc_feature_has_one_url_with_ascii_digits(client):
    first = client.get("/ogc/collections/places/items?limit=1&f=json").get_json()["features"][0]
    feature_id = first["id"]
    assert client.get(f"/ogc/collections/places/items/{feature_id}?f=json").status_code == 200
    for spelling in _other_spellings(feature_id):
        r = client.get(f"/ogc/collections/places/items/{spelling}?f=json")
        assert r.status_code == 404, (spelling, r.get_json())
    beyond = client.get(f"/ogc/collections/places/items/{2**64}?f=json")
    assert beyond.status_code == 404, beyond.get_json()


def test_an_api_record_has_one_url_without_leading_zeros(client):
    place_id = client.get("/ogc/collections/places/items?limit=1&f=json").get_json()["features"][0][
        "id"
    ]
    assert client.get(f"/api/places/{place_id}").status_code == 200
    r = client.get(f"/api/places/000{place_id}")
    assert r.status_code == 404, r.get_json()
    assert r.get_json()["error"]["details"]["field"] == "place_id"


@pytest.mark.parametrize("since", ["١٢", "１２", "012", "+12"])
def test_the_change_feed_reads_only_ascii_sequence_numbers(client, since):
    r = client.get("/api/changes", query_string={"since": since})
    assert r.status_code == 400, r.get_json()
    assert client.get("/api/changes?since=12").get_json()["next_since"] >= 12


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/boundaries/markers/a%1Bb", "key"),
        ("/api/boundaries/photos/%1E", "sha256"),
        ("/ogc/collections/places/items?source=a%C2%85", "source"),
        ("/ogc/collections/places/items?name=%E2%80%AEx", "name"),
        ("/ogc/collections/places/tiles/WebMercatorQuad/0/0/0?parent_code=a%1B", "parent_code"),
        ("/api/search?q=a%1Bb", "q"),
    ],
)
def test_a_control_character_in_the_url_is_400_naming_its_parameter(bclient, url, field):
    """Left to the store's last check, these were refused naming a label ("文本") and
    saying "未保存" (not saved) on a read."""
    r = bclient.get(url)  # checked before who asks (photos are for staff)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    error = r.get_json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == field
    assert "未保存" not in error["message"] and "文本" not in error["message"]


@pytest.mark.parametrize("written", ["٥", "５", "+5", " 5", "5_0", "5.0", "05"])
def test_a_query_integer_is_read_only_in_ascii_digits(client, written):
    """Pydantic's lax mode read each of these as 5: one query, many spellings."""
    for path, query in (("/api/changes", {}), ("/api/search", {"q": "天河"})):
        r = client.get(path, query_string={**query, "limit": written})
        assert r.status_code == 400, (path, written, r.get_json())
        assert r.get_json()["error"]["details"]["field"] == "limit"
    assert client.get("/api/changes", query_string={"limit": "5"}).status_code == 200
