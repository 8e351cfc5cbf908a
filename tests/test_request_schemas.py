"""Schemas at the door (issue 13, finding 3): every JSON body is checked by its declared
request model before the domain sees it. A wrong type, an unknown field or a missing one is
a 400 in the one error shape naming the field, and nothing is written; the OpenAPI document
takes its request bodies from the same models."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from helpers import token_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gazetteer.core.account_tables import audit_log
from webmap import schemas

UUID = str(uuid.uuid4())
PATH_VALUES = {
    "proposal_id": "1",
    "action": "submit",
    "place_id": "1",
    "inspection_id": UUID,
    "task_id": "1",
    "dispute_id": "1",
    "run_id": "1",
    "item_id": "1",
    "round_id": "1",
    "username": "door",
}
# A body of the right form for each model: only the field under test is wrong.
VALID = {
    schemas.ProposalNew: {
        "kind": "naming",
        "applicant": "天河区住建局",
        "reasons": "新建道路",
        "proposed": {"name": "云溪路", "feature_class": "交通运输设施", "division_code": "440106"},
    },
    schemas.ProposalAction: {"version": 1, "reason": "理由"},
    schemas.RulesCheck: {
        "name": "长乐路",
        "feature_class": "交通运输设施",
        "division_code": "440106",
    },
    schemas.PlaceGeometry: {"lon": 113.3, "lat": 23.1, "version": 1},
    schemas.ReverseBatch: {"points": [[113.3, 23.1]]},
    schemas.RoundPlan: {
        "line": "韶惠线",
        "round_no": 4,
        "plan": "逐桩检查",
        "planned_start": "2024-03-01",
        "planned_end": "2024-06-30",
        "teams": [{"side_code": "a", "members": ["x"]}, {"side_code": "b", "members": ["y"]}],
    },
    schemas.InspectionNew: {
        "id": UUID,
        "round_id": 1,
        "marker": "粤桂001C",
        "found_state": "intact",
    },
    schemas.SideSignOff: {"side_code": "440000"},
    schemas.TaskNew: {"marker_id": 1, "kind": "repaint"},
    schemas.TaskUpdate: {"status": "in_progress"},
    schemas.DisputeNew: {"line": "韶惠线", "title": "林地权属"},
    schemas.DisputeUpdate: {"status": "open"},
    schemas.DivisionChangeNew: {
        "code": "999999",
        "new_name": "某区",
        "approving_body": "国务院",
        "document_number": "国函（测试）",
        "approval_date": "2024-05-01",
        "reason": "测试",
    },
    schemas.ProtectionNew: {"reason": "测试", "source": "测试名录"},
    schemas.ImportCrsGuess: {"layer": "地名", "mapping": {"name": "标准名称"}},
    schemas.ImportConfigure: {"layer": "地名", "mapping": {"name": "标准名称"}, "crs": "CGCS2000"},
    schemas.ImportWrite: {"skip_errors": True, "skip_reason": "重复行"},
    schemas.CleanupBuild: {"division": "999999"},
    schemas.CleanupDecision: {"decision": "kept", "reason": "理由", "version": 1},
    schemas.InspectionAmendment: {
        "id": str(uuid.uuid4()),
        "found_state": "intact",
        "kind": "reinspection",
        "reason": "再次检查",
    },
    schemas.ConclusionSignOff: {"side_code": "440000", "conclusion": "界线清晰"},
    schemas.StaffProfile: {
        "full_name": "张伟",
        "organisation": "广东省民政厅",
        "side_code": "440000",
    },
}
# The seven endpoints and fields of the finding, with the wrong types that made them 500.
FINDING_3 = [
    ("/api/boundaries/inspections", schemas.InspectionNew, "round_id", {}),
    ("/api/boundaries/inspections", schemas.InspectionNew, "marker", {}),
    ("/api/boundaries/rounds", schemas.RoundPlan, "line", ["韶惠线"]),
    ("/api/boundaries/rounds", schemas.RoundPlan, "plan", {}),
    ("/api/boundaries/rounds", schemas.RoundPlan, "teams", {"a": 1}),
    ("/api/boundaries/tasks", schemas.TaskNew, "marker_id", {}),
    ("/api/boundaries/tasks/1", schemas.TaskUpdate, "new_lon", "东"),
    ("/api/boundaries/disputes", schemas.DisputeNew, "line", {}),
    ("/api/boundaries/disputes/1", schemas.DisputeUpdate, "status", []),
    ("/api/proposals", schemas.ProposalNew, "reasons", ["a"]),
    ("/api/rules/check", schemas.RulesCheck, "name", {}),
    ("/api/rules/check", schemas.RulesCheck, "division_code", 440106),
]
# The import API's bodies are checked the same way (officer; before the run is looked up).
IMPORT_BODIES = [
    ("/api/imports/1/write", schemas.ImportWrite, "skip_errors", "yes"),
    ("/api/imports/1/write", schemas.ImportWrite, "skip_reason", ["理由"]),
    ("/api/imports/1/configure", schemas.ImportConfigure, "mapping", "标准名称"),
    ("/api/imports/1/configure", schemas.ImportConfigure, "mapping", {"name": 5}),
    ("/api/imports/1/configure", schemas.ImportConfigure, "crs", {}),
    ("/api/imports/1/crs-guess", schemas.ImportCrsGuess, "layer", 5),
]


# The bodies that were read by hand before (issue 13 follow-up): unknown fields were let
# through, wrong types reached the domain.
FORMERLY_BY_HAND = [
    (f"/api/boundaries/inspections/{UUID}/amendments", schemas.InspectionAmendment, "kind", "x"),
    (f"/api/boundaries/inspections/{UUID}/amendments", schemas.InspectionAmendment, "owner", 1),
    ("/api/boundaries/rounds/1/conclusion", schemas.ConclusionSignOff, "conclusion", ["a"]),
    ("/api/boundaries/rounds/1/conclusion", schemas.ConclusionSignOff, "signed_by", "x"),
    ("/api/boundaries/staff/door", schemas.StaffProfile, "full_name", {}),
    ("/api/boundaries/staff/door", schemas.StaffProfile, "side", "440000"),
]


def url_of(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


def fields_of(model) -> list[tuple[str, ...]]:
    """Every body field: the top-level ones and the proposed record's."""
    fields = [(name,) for name in model.model_fields]
    if model is schemas.ProposalNew:
        fields += [("proposed", name) for name in schemas.ProposedRecord.model_fields]
    return fields


def with_value(body: dict, field: tuple[str, ...], value) -> dict:
    body = {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}
    target = body
    for part in field[:-1]:
        target = target.setdefault(part, {})
    target[field[-1]] = value
    return body


@pytest.fixture(scope="module")
def bnd_template(boundaries_template):
    return boundaries_template  # the shared session template (tests/conftest.py)


@pytest.fixture
def door(store_templates, bnd_template, tmp_path):
    from webmap import create_app

    with store_templates.copy(bnd_template, tmp_path) as store:
        app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
        headers = token_headers(store, "door", "clerk", "officer", "approver", "inspector")
        yield app.test_client(), headers, store


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


@pytest.mark.parametrize("path, model, field, value", FINDING_3 + IMPORT_BODIES + FORMERLY_BY_HAND)
def test_wrong_json_types_of_the_finding_are_400_naming_the_field(door, path, model, field, value):
    client, headers, store = door
    before = audit_size(store)
    r = client.post(path, json=with_value(VALID[model], (field,), value), headers=headers)
    assert r.status_code == 400, (path, field, r.status_code, r.get_data(as_text=True)[:300])
    error = r.get_json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"].startswith(field)
    assert field in error["message"]
    assert audit_size(store) - before <= 1  # at most the token's first use, never the write


def test_unknown_and_missing_fields_are_400_naming_them(door):
    client, headers, _store = door
    r = client.post("/api/boundaries/tasks", json={"marker_id": 1}, headers=headers)
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "kind"
    assert "缺少字段 类型（kind）" in r.get_json()["error"]["message"]
    r = client.post(
        "/api/boundaries/disputes", json={**VALID[schemas.DisputeNew], "owner": 1}, headers=headers
    )
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "owner"
    r = client.post(
        "/api/proposals", json={**VALID[schemas.ProposalNew], "version": True}, headers=headers
    )
    assert r.status_code == 400 and "version" in r.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/boundaries/staff?side=440000&sort=name", "sort"),
        ("/api/boundaries/staff?role=mayor", "role"),
        ("/api/boundaries/division-changes?kode=440106", "kode"),
        ("/api/imports/1/layer?layer=x", "layer"),
        ("/api/imports/1/sample", "crs"),
        ("/auth/login?nxt=/officer/", "nxt"),
    ],
)
def test_query_strings_are_checked_by_their_models_naming_the_parameter(door, url, field):
    client, headers, _store = door
    r = client.get(url, headers={**headers, "Accept": "application/json"})
    assert r.status_code == 400, (url, r.status_code)
    assert r.get_json()["error"]["details"]["field"] == field
    message = r.get_json()["error"]["message"]
    # an unknown name as sent; a known one by its Chinese title, then its key
    unknown = message.startswith("不认识的")
    named = field if unknown else f"{schemas.FIELD_TITLES_ZH[field]}（{field}）"
    assert f"参数 {named}" in message.replace("：", " "), message
    # Then the same query as the model declares it is answered.
    fixed = client.get(
        url.split("?")[0] + ("?crs=CGCS2000" if field == "crs" else ""), headers=headers
    )
    assert fixed.status_code in (200, 404), (url, fixed.status_code)  # run 1 does not exist


@pytest.mark.parametrize(
    "url, field, fixed",
    [
        # An operation that takes no parameters refuses any (issue 13, tquery 21).
        ("/api/health?x=1", "x", "/api/health"),
        ("/api/boundaries/vocabulary?lang=en", "lang", "/api/boundaries/vocabulary"),
        # Empty or unknown enum values, out-of-range ids, empty numbers.
        ("/api/proposals?state=", "state", "/api/proposals?state=draft"),
        ("/api/boundaries/disputes?status=bogus", "status", "/api/boundaries/disputes"),
        ("/api/boundaries/tasks?status=bogus", "status", "/api/boundaries/tasks?status=open"),
        ("/api/boundaries/tasks?sort=id", "sort", "/api/boundaries/tasks"),
        ("/api/boundaries/inspections?round_id=-1", "round_id", "/api/boundaries/inspections"),
        ("/api/boundaries/markers?line_id=", "line_id", "/api/boundaries/markers?line_id=1"),
        ("/api/suggest?limit=&q=0", "limit", "/api/suggest?q=0"),
        ("/api/search?q=广州&limit=5&limit=6", "limit", "/api/search?q=广州&limit=5"),
        ("/api/search?q=广州&status=", "status", "/api/search?q=广州&status=in_force"),
        ("/api/reverse?lon=113.3&lat=", "lat", "/api/reverse?lon=113.3&lat=23.1"),
        ("/api/divisions.geojson?level=town", "level", "/api/divisions.geojson?level=county"),
        ("/api/changes?limit=0", "limit", "/api/changes?limit=1"),
        # OGC API: a value outside the document is refused; unknown names already were.
        ("/ogc/collections/divisions/items?crs=", "crs", "/ogc/collections/divisions/items"),
        (
            "/ogc/collections/divisions/items?skipGeometry=yes",
            "skipGeometry",
            "/ogc/collections/divisions/items?skipGeometry=true",
        ),
        (
            "/ogc/collections/divisions/items?filter-lang=",
            "filter-lang",
            "/ogc/collections/divisions/items?filter-lang=cql2-text",
        ),
        (
            "/ogc/collections/divisions/items?bbox-crs=EPSG:4326",
            "bbox-crs",
            "/ogc/collections/divisions/items?bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        ),
        (
            "/ogc/collections/divisions/items?limit=1&limit=2",
            "limit",
            "/ogc/collections/divisions/items?limit=20000",  # a larger limit is clamped
        ),
        (
            "/ogc/collections/places/tiles/WebMercatorQuad/8/208/110?status=",
            "status",
            "/ogc/collections/places/tiles/WebMercatorQuad/8/208/110?status=in_force",
        ),
    ],
)
def test_every_operation_refuses_what_its_document_forbids(door, url, field, fixed):
    """Found by schemathesis in negative mode (issue 13): each was answered as if valid.
    Now a 400 naming the parameter; then the request the document allows is answered."""
    client, headers, _store = door
    r = client.get(url, headers=headers)
    assert r.status_code == 400, (url, r.status_code)
    assert r.get_json()["error"]["details"]["field"] == field, r.get_json()
    assert field in r.get_json()["error"]["message"]
    assert client.get(fixed, headers=headers).status_code == 200, fixed


def test_unknown_and_repeated_parameters_are_named_as_such_in_chinese(door):
    """Two unknown parameters are both named (``details.unknown``, the first in
    ``details.field``); a repeated one is said to be repeated, not to be of the wrong type;
    every message a user reads is Chinese, pydantic's English never shows."""
    client, headers, _store = door
    error = client.get("/api/search?q=广州&bogus=1&other=2", headers=headers).get_json()["error"]
    assert error["message"] == "不认识的参数：bogus、other"
    assert error["details"]["field"] == "bogus" and error["details"]["unknown"] == [
        "bogus",
        "other",
    ]
    error = client.get("/api/search?q=广州&q=x", headers=headers).get_json()["error"]
    assert error["message"] == "参数 查询词（q） 有误：只能给一次（给了 2 次）", error
    assert error["details"]["errors"][0]["type"] == "repeated"
    error = client.get("/api/search?q=广州&status=bogus", headers=headers).get_json()["error"]
    assert (
        error["message"]
        == "参数 状态（status） 有误：应为以下之一：'in_force'、'historical'、'retired'"
    )
    error = client.get("/api/search?limit=1&limit=2&limit=3", headers=headers).get_json()["error"]
    assert error["details"]["field"] == "q" and "unknown" not in error["details"]
    assert "给了 3 次" in error["details"]["errors"][1]["message"]
    body = {**VALID[schemas.DisputeNew], "owner": 1, "colour": "red"}
    error = client.post("/api/boundaries/disputes", json=body, headers=headers).get_json()["error"]
    assert sorted(error["details"]["unknown"]) == ["colour", "owner"]
    assert error["message"] == "不认识的字段：" + "、".join(error["details"]["unknown"])
    for url in ("/api/search?q=广州&bogus=1&other=2", "/api/search?limit=1&limit=2&x=1"):
        for problem in client.get(url, headers=headers).get_json()["error"]["details"]["errors"]:
            assert re.search("[\u4e00-\u9fff]", problem["message"]), problem
    # Then the query as the model declares it is answered.
    assert client.get("/api/search?q=广州&limit=2", headers=headers).status_code == 200


def test_a_problem_pydantic_names_that_the_table_does_not_is_still_chinese():
    """A problem type missing from the table of Chinese messages (here a date pydantic
    cannot parse) is said in Chinese all the same; its type stays in ``details.errors``."""
    import datetime

    class Dated(schemas.QueryModel):
        on: datetime.date

    with pytest.raises(schemas.InvalidInput) as caught:
        schemas._validated(Dated, {"on": "yesterday"})
    assert caught.value.message == "参数 on 有误：" + schemas.UNLISTED_PROBLEM_ZH
    assert caught.value.details["errors"][0]["type"] == "date_from_datetime_parsing"


def test_every_checked_operation_is_a_route_the_check_sees(app):
    """The query check runs for each documented operation by its Flask rule: a document
    path the rules do not spell the same way would go unchecked."""
    from webmap.openapi import checked_operations

    routes = {
        (schemas.openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    assert checked_operations() - routes == set()
    assert set(schemas.QUERY_MODELS) - routes == set()


def test_each_operation_reads_one_query_model_and_a_subclass_only_its_own():
    """The models name their operations in their class lines: a second model naming an
    operation already read would leave one of the two unchecked, so declaring it fails; a
    model built on another reads none of its base's operations."""
    before = dict(schemas.QUERY_MODELS)
    with pytest.raises(ValueError, match="GET /api/search already reads SearchQuery"):

        class SearchAgain(schemas.QueryModel, operations=("GET /api/search",)):
            q: str

    class NarrowerSearch(schemas.SearchQuery):
        pass

    assert schemas.QUERY_MODELS == before
    assert schemas.QUERY_MODELS[("/search", "get")] is schemas.SearchPageQuery


def test_a_staff_query_takes_several_sides(door):
    client, headers, _store = door
    r = client.get("/api/boundaries/staff?side=440000&side=450000&role=officer", headers=headers)
    assert r.status_code == 200 and isinstance(r.get_json()["staff"], list)


wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)
cases = st.sampled_from(
    [
        (path, method, model, field)
        for (path, method), model in schemas.REQUEST_BODIES.items()
        for field in fields_of(model)
    ]
)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases, value=wrong_values)
def test_any_value_in_any_body_field_of_any_write_endpoint_is_never_a_5xx(door, case, value):
    client, headers, _store = door
    path, method, model, field = case
    body = with_value(VALID[model], field, value)
    r = client.open(url_of(path), method=method.upper(), json=body, headers=headers)
    assert r.status_code < 500, (path, field, value, r.get_data(as_text=True)[:300])
    try:
        model.model_validate(body)
    except ValidationError:
        assert r.status_code == 400, (path, field, value, r.status_code)
        error = r.get_json()["error"]
        if "errors" in error["details"]:  # the schema check; else the byte-level one
            named = [e["field"] for e in error["details"]["errors"]]  # (NUL, 64-bit integers)
            assert any(n.startswith(".".join(field)) for n in named), (field, named)
        else:
            assert error["code"] == "invalid_input" and error["message"]


def test_the_openapi_request_bodies_are_the_models(client):
    document = client.get("/api/openapi.json").get_json()
    components = document["components"]["schemas"]
    for (path, method), model in schemas.REQUEST_BODIES.items():
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        generated = components[model.__name__]
        assert set(generated["properties"]) == set(model.model_fields)
        assert generated["additionalProperties"] is False


def test_the_document_says_closing_a_task_needs_a_result(client):
    """The cross-field rule a client can read from the document: done or cancelled with a
    filled result (the server refuses the others naming ``result``)."""
    import jsonschema_rs

    document = client.get("/api/openapi.json").get_json()
    validator = jsonschema_rs.Draft4Validator(
        {**document["components"]["schemas"]["TaskUpdate"], "components": document["components"]}
    )
    assert validator.is_valid({"status": "in_progress"})
    assert validator.is_valid({"status": "done", "result": "已补漆"})
    assert not validator.is_valid({"status": "done"})
    assert not validator.is_valid({"status": "cancelled", "result": "  "})
    assert not validator.is_valid({"status": "cancelled", "result": None})


def test_the_document_refuses_what_the_server_refuses_in_steps_and_rounds(client):
    """A workflow step's names and applicant are one line, as a new proposal's are (the
    server refuses a line break there), and a round's section is marker 1 to 9999."""
    import jsonschema_rs

    document = client.get("/api/openapi.json").get_json()

    def validator(name):
        schema = {**document["components"]["schemas"][name], "components": document["components"]}
        return jsonschema_rs.Draft4Validator(schema)

    action = validator("ProposalAction")
    for field in ("name", "applicant", "map_name", "short_name"):
        assert action.is_valid({"version": 1, field: "云溪路"}), field
        assert not action.is_valid({"version": 1, field: "云溪\n路"}), field
    assert not action.is_valid({"version": 1, "aliases": ["云\r\n溪"]})
    assert action.is_valid({"version": 1, "meaning": "第一行\n第二行"})  # may span lines
    plan = document["components"]["schemas"]["RoundPlan"]["properties"]
    for field in ("section_from_seq", "section_to_seq"):
        assert (plan[field]["minimum"], plan[field]["maximum"]) == (1, 9999), field


def test_building_the_document_twice_gives_the_same_document(app):
    from webmap.openapi import openapi_document

    assert openapi_document("http://a") == openapi_document("http://a")


def test_every_workflow_step_parameter_is_a_field_of_the_action_schema():
    """The workflow's table of step parameters and the door's schema cannot drift apart."""
    from gazetteer.workflow import STEP_PARAMS
    from webmap.schemas import ProposalAction

    declared = set(ProposalAction.model_fields)
    missing = {p for params in STEP_PARAMS.values() for p in params} - declared
    assert not missing, f"step parameters the action schema refuses: {sorted(missing)}"


# Routes not yet in the document: none left, and it may only stay empty. A route added
# without its OpenAPI entry fails the test.
NOT_YET_DOCUMENTED: set[str] = set()


def test_every_api_route_is_in_the_openapi_document(app):
    """Every route under /api/ and /auth/ (each method) appears in /api/openapi.json, so the
    document the README promises is the whole API cannot fall behind the routes again."""
    from webmap.openapi import openapi_document

    document = openapi_document("http://localhost")
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/auth/")):
            continue
        path = schemas.openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert set(missing) - NOT_YET_DOCUMENTED == set(), "routes missing from the document"
    assert NOT_YET_DOCUMENTED - set(missing) == set(), "documented now: take them off the list"


REQUEST_MODELS = set(schemas.REQUEST_BODIES.values()) | set(schemas.QUERY_MODELS.values())


def untitled_fields(models) -> list[str]:
    """``Model.field`` for each field of ``models`` with no title of its own nor a shared one."""
    return sorted(
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if not field.title and name not in schemas.FIELD_TITLES_ZH
    )


def test_every_field_a_refusal_can_name_has_a_chinese_title():
    """A refusal names the field in Chinese first (字段 经度（lon） 有误：应为数字): every
    field and parameter of every request model has its own title or the shared one, so
    a user never reads a bare English name alone."""
    assert untitled_fields(REQUEST_MODELS) == []
    with pytest.raises(schemas.InvalidInput) as caught:
        schemas._validated(schemas.ReverseQuery, {"lon": "东经113", "lat": "23"})
    assert caught.value.message == "参数 经度（lon） 有误：应为数字"


def test_a_field_inside_a_list_is_named_by_the_way_to_it():
    """Every field of a model inside another (a round plan's teams) has a title too, and a
    refusal names the path in Chinese: which team, which member (a user test read
    字段 teams[0].members[0] 有误)."""
    inner = {
        model
        for outer in REQUEST_MODELS
        for field in outer.model_fields.values()
        for model in schemas._models_in(field.annotation)
    }
    assert schemas.Team in inner
    assert untitled_fields(inner) == []
    plan = {"line_id": 1, "round_no": 1, "plan": "巡查", "planned_end": "2026-03-02"}
    team = {"side_code": "440000", "members": ["inspector_a"]}
    cases = [
        (
            {"teams": [{**team, "members": [5]}, team], "planned_start": "2026-03-01"},
            "字段 联检队伍第 1 项 · 成员账号第 1 项（teams[0].members[0]） 有误：应为文字",
        ),
        (
            {"teams": [team, {"side_code": "450000"}], "planned_start": "2026-03-01"},
            "缺少字段 联检队伍第 2 项 · 成员账号（teams[1].members）",
        ),
        # a date in another format says which one is wanted
        (
            {"teams": [team, team], "planned_start": "2026-3-1"},
            "字段 计划开始日期（planned_start） 有误："
            "格式不对（应为日期，写作 YYYY-MM-DD，如 2026-03-01）",
        ),
    ]
    for body, message in cases:
        with pytest.raises(schemas.InvalidInput) as caught:
            schemas._validated(schemas.RoundPlan, {**plan, **body})
        assert caught.value.message == message
    # the second action: the body mended is taken
    assert schemas._validated(
        schemas.RoundPlan, {**plan, **cases[2][0], "planned_start": "2026-03-01"}
    )


@pytest.mark.parametrize(
    "model, query, choice",
    [
        (schemas.TasksQuery, {"status": "finished"}, "已完成（done）"),
        (schemas.MarkersQuery, {"state": "ok"}, "完好（intact）"),
        (schemas.DisputesQuery, {"status": "closed"}, "已化解（resolved）"),
        (schemas.ProposalsQuery, {"state": "approve"}, "（approved）"),
        (schemas.LinesQuery, {"kind": "national"}, "（provincial）"),
        (schemas.ProposalNew, {"kind": 1, "applicant": "李"}, "更名（renaming）"),
    ],
)
def test_a_coded_choice_is_offered_by_its_label_and_code(model, query, choice):
    """The choices a refusal lists are the vocabulary's labels with their codes, as the
    pages show them (a user test read 应为以下之一：'open'、'in_progress'…)."""
    with pytest.raises(schemas.InvalidInput) as caught:
        schemas._validated(model, query)
    assert choice in caught.value.message and "'" not in caught.value.message


def test_an_empty_box_sent_as_null_is_asked_to_be_filled(door):
    """A page sends an empty text box as null: the refusal asks for it to be filled, not
    for "text" (a user test of the round plan form read 应为文字)."""
    client, headers, _store = door
    r = client.post(
        "/api/boundaries/rounds",
        json={"line_id": 1, "round_no": 1, "plan": None, "teams": []},
        headers=headers,
    )
    error = r.get_json()["error"]
    assert r.status_code == 400 and error["details"]["field"] == "plan", error
    assert error["message"].startswith("字段 检查方案（plan） 有误：不能为空"), error
