"""Property-based and schema-driven fuzzing: no input makes the app answer 5xx.

- hypothesis: arbitrary JSON-like documents and coordinates through the shared GeoJSON
  check; arbitrary names through proposal creation; arbitrary queries through search.
- schemathesis: every operation of /api/openapi.json called with generated requests
  (as a user holding every workflow role, by API token), checked with
  ``not_a_server_error``; and, with a token of each role (or none) within a fixed budget,
  checked for conformance: status code, content type, headers and body as documented.
"""

from __future__ import annotations

import math
import uuid

import pytest
import schemathesis
from boundary_helpers import INSPECTOR_A, OFFICER, register_staff, round_plan
from helpers import login, naming_json, token_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.feedback import FeedbackSources
from test_idempotency import BODY as NAMING

from gazetteer.core.errors import InvalidInput, PayloadTooLarge
from gazetteer.core.geojson_input import ALLOWED_TYPES, parse_geometry

FIXTURE_OK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=40,
)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20)
positions = st.lists(numbers, min_size=0, max_size=4)


def nested(depth: int):
    strategy = positions
    for _ in range(depth - 1):
        strategy = st.lists(strategy, max_size=6)
    return strategy


geometries = st.one_of(
    *[
        st.fixed_dictionaries({"type": st.just(t), "coordinates": nested(d)})
        for t, d in (
            ("Point", 1),
            ("MultiPoint", 2),
            ("LineString", 2),
            ("MultiLineString", 3),
            ("Polygon", 3),
            ("MultiPolygon", 4),
        )
    ]
)


def check_geometry(value) -> None:
    try:
        geom = parse_geometry(value, max_vertices=50)
    except (InvalidInput, PayloadTooLarge) as exc:
        assert exc.message
        return
    assert geom.is_valid and not geom.is_empty and geom.geom_type in ALLOWED_TYPES
    minx, miny, maxx, maxy = geom.bounds
    assert (
        all(math.isfinite(v) for v in geom.bounds)
        and 73 <= minx <= maxx <= 136
        and 3 <= miny <= maxy <= 54
    )


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_document_is_a_geometry_or_a_clear_refusal(value):
    check_geometry(value)


@settings(max_examples=300, deadline=None)
@given(geometries)
def test_any_coordinates_are_a_geometry_or_a_clear_refusal(value):
    check_geometry(value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(109, 118), st.floats(20, 25.6)), min_size=3, max_size=12))
def test_rings_from_guangdong_points_are_valid_or_say_why(points):
    ring = [list(p) for p in points] + [list(points[0])]
    check_geometry({"type": "Polygon", "coordinates": [ring]})


names = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    [
        "长乐路",
        "長樂路",
        "长乐Road",
        "Сhangle路",
        "<b>路</b>",
        "'; DROP TABLE places; --",
        "=1+1",
        "\u202e路",
        "\x00路",
    ]
)


@FIXTURE_OK
@given(name=names)
def test_any_proposed_name_is_stored_or_refused_never_500(client, name):
    login(client, "fuzz_clerk", "clerk")
    body = naming_json(name, applicant="天河区住建局", reasons="新建道路")
    r = client.post("/api/proposals", json=body)
    assert r.status_code in (201, 400, 409, 422), (name, r.status_code, r.get_json())


@FIXTURE_OK
@given(q=st.text(max_size=40))
def test_any_search_query_answers_without_server_error(client, q):
    login(client, "fuzz_reader", "officer")  # signed in: the public rate limit does not apply
    for path in ("/api/places", "/api/search", "/api/suggest"):
        r = client.get(path, query_string={"q": q})
        assert r.status_code < 500 and r.status_code != 429, (path, q, r.status_code)


EXAMPLES_PER_OPERATION = 15  # per operation, on each store: CI runs both passes in 45 minutes


def first_failure(
    operation,
    headers: dict,
    examples: int,
    checks=(not_a_server_error,),
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> BaseException | None:
    """Make ``examples`` generated calls of the schemathesis ``operation`` with ``headers``
    (requests the document allows, or with ``mode`` NEGATIVE requests it does not); the
    error of the first that fails one of ``checks`` (by default: answers 5xx), or None."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=mode is GenerationMode.NEGATIVE,  # the same requests in every run
        suppress_health_check=list(HealthCheck),
    )
    # No constants harvested from the app's source code (schemathesis' default): each would
    # be checked against a validator compiled from the whole bundle of the document's schemas
    # (~20 MB native memory each, cached process-wide: one run of this file reached 12 GB).
    # The document's own schemas, enums and examples drive generation.
    @given(case=operation.as_strategy(generation_mode=mode, feedback=FeedbackSources()))
    def call(case):
        case.call_and_validate(headers=headers, checks=list(checks))

    try:
        call()
    except (Exception, BaseExceptionGroup) as exc:
        return exc
    return None


def test_api_operations_never_answer_5xx(app, store):
    """Each documented operation with generated parameters and bodies. (Driven by hand
    rather than with schemathesis' pytest plugin, which does not support pytest 9 yet.)"""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = token_headers(store, "fuzz_all", "clerk", "officer", "approver", "inspector")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:  # collect every failing operation, report them all
        exc = first_failure(operation, headers, EXAMPLES_PER_OPERATION)
        if exc is not None:
            curl = [
                line.strip() for line in str(exc).splitlines() if line.strip().startswith("curl")
            ]
            failures.append(f"{operation.label}: {curl[0] if curl else str(exc)[:300]}")
    assert not failures, "\n".join(failures)


EXAMPLES_PER_OPERATION_AND_ROLE = 2  # the budget: operations x roles x 2 calls (~1-2 min)


def _describe(exc: BaseException) -> str:
    """Each distinct failure of a schemathesis run: its title, message and the request."""
    found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    lines = []
    for failure in found:
        title = getattr(failure, "title", type(failure).__name__)
        message = getattr(failure, "message", str(failure))
        lines.append(f"  {title}: {message[:600]}")
    # The answer and the request, as schemathesis reports them (the group's own text).
    report = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    lines += [
        f"    {line.strip()[:600]}"
        for line in report.splitlines()
        if line.strip().startswith(("`{", "curl"))
    ]
    return "\n".join(lines)


CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def field_app(bclient, bstore):
    """The app on the boundaries store with one of each field record (a round under way
    with an inspection, a dispute, a task) and a proposal, so that lists have rows to check."""
    client = bclient
    officer = token_headers(bstore, OFFICER.username, *OFFICER.roles)
    lines = client.get("/api/boundaries/lines?kind=city").get_json()["lines"]
    line = next(x for x in lines if x["name"] == "韶惠线")
    register_staff(bstore, line)
    plan = client.post("/api/boundaries/rounds", json=round_plan(line), headers=officer)
    round_id = plan.get_json()["id"]
    client.post(f"/api/boundaries/rounds/{round_id}/start", headers=officer)
    markers = client.get(f"/api/boundaries/markers?line_id={line['id']}", headers=officer)
    marker = markers.get_json()["features"][0]
    record = {
        "id": str(uuid.uuid4()),
        "round_id": round_id,
        "marker": marker["properties"]["number"],
        "found_state": "faded",
        "notes": "注记模糊",
    }
    inspector = token_headers(bstore, INSPECTOR_A.username, *INSPECTOR_A.roles)
    created = [
        client.post("/api/boundaries/inspections", json=record, headers=inspector),
        client.post(
            "/api/boundaries/disputes",
            json={"line": "韶惠线", "title": "林地权属"},
            headers=officer,
        ),
        client.post(
            "/api/boundaries/tasks",
            json={"marker_id": marker["id"], "kind": "repair"},
            headers=officer,
        ),
        client.post(
            "/api/proposals",
            json=NAMING,
            headers=token_headers(bstore, "conform_drafter", "clerk"),
        ),
    ]
    assert [r.status_code for r in created] == [201] * 4
    return bclient.application


@pytest.mark.parametrize(
    "role", ["anonymous", "clerk", "officer", "approver", "inspector", "admin"]
)
def test_every_answer_conforms_to_the_document(field_app, bstore, role):
    """Issue 13: every operation, with a token of each role (or none): the status code, the
    content type, the headers and the body of every answer are the ones the generated
    document declares."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", field_app)
    headers = {} if role == "anonymous" else token_headers(bstore, f"conform_{role}", role)
    # The WSGI transport hands over the bytes as sent: ask for them unencoded (a real HTTP
    # client decompresses gzip itself; tests/test_web_foundation.py covers compression).
    headers["Accept-Encoding"] = "identity"
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        exc = first_failure(
            operation, headers, EXAMPLES_PER_OPERATION_AND_ROLE, checks=CONFORMANCE_CHECKS
        )
        if exc is not None:
            failures[operation.label] = _describe(exc)
    assert not failures, "\n\n".join(f"{role} {k}: {v}" for k, v in failures.items())


# The budget: every operation x 3 roles in about 90 s. A JSON body gets fewer examples
# (generating requests that break a large body schema is slow, and every body field is
# fuzzed with every JSON type by tests/test_request_schemas.py); query strings get more.
NEGATIVE_EXAMPLES_PER_OPERATION = 6
NEGATIVE_EXAMPLES_WITH_A_BODY = 2
# A form field is text whatever it holds: a caption "-279" that negative mode means as a
# number is a valid caption. For a form body only "never a 5xx" can be checked.
FORM_MEDIA = ("multipart/form-data", "application/x-www-form-urlencoded")


@pytest.mark.parametrize("role", ["anonymous", "officer", "inspector"])
def test_requests_the_document_forbids_are_refused(field_app, bstore, role):
    """Negative data generation over EVERY operation: schemathesis makes requests that
    violate the document (a limit out of range, an empty enum, a CRS that is not one, a
    repeated or unknown parameter, a wrong type ...); each must be refused with a 4xx,
    never answered as if it were valid. An operation whose document allows anything it
    could send (no parameters, free text) has no such request: hypothesis reports that as
    unsatisfiable, which is not a failure."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", field_app)
    headers = {} if role == "anonymous" else token_headers(bstore, "negative_" + role, role)
    headers["Accept-Encoding"] = "identity"
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        form = any(body.media_type in FORM_MEDIA for body in operation.body)
        exc = first_failure(
            operation,
            headers,
            NEGATIVE_EXAMPLES_WITH_A_BODY if operation.body else NEGATIVE_EXAMPLES_PER_OPERATION,
            checks=[not_a_server_error] if form else [not_a_server_error, negative_data_rejection],
            mode=GenerationMode.NEGATIVE,
        )
        found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
        if exc is not None and not all(isinstance(f, Unsatisfiable) for f in found):
            failures[operation.label] = _describe(exc)
    assert not failures, "\n\n".join(f"{role} {k}: {v}" for k, v in failures.items())


# The operations whose documents declare every limit on form the server checks (issue:
# the control-character pattern on every text field, path and query parameter and OGC
# queryable; enums from the vocabularies; ranges; required fields). A positive request is
# one the document allows: schemathesis' default expected statuses for it are 2xx, 3xx,
# 401, 403, 404 (an id no record has), 409 (a state that refuses the step) and 429, so a
# 400 or 422 fails: the server refused as malformed what the document calls well formed.
# (Other operations still refuse some schema-valid requests for their meaning: a division
# code no division has, a file that is not one, a CQL2 filter that does not parse, a tile
# beyond its matrix, a task done without a witness of the other side; docs/known-limits.md
# lists them.)
DOCUMENTED_OPERATIONS = (
    "GET /api/boundaries/markers/{key}",
    "GET /api/boundaries/photos/{sha256}",
    "POST /api/boundaries/tasks",
    "POST /api/boundaries/inspections/{inspection_id}/sign",
    "GET /api/boundaries/inspections/{inspection_id}/amendments",
    "GET /api/divisions/as-of",
    "GET /api/changes",
    "POST /api/places/{place_id}/protection",
    "GET /ogc/collections/divisions/items/{featureId}",
    "GET /ogc/collections/boundary_markers/items/{featureId}",
)
POSITIVE_EXAMPLES_PER_OPERATION = 8


@pytest.mark.parametrize("role", ["anonymous", "officer"])
def test_requests_the_document_allows_are_not_refused_as_malformed(field_app, bstore, role):
    """Positive data generation, checked with ``positive_data_acceptance``: every limit the
    server enforces on form is declared in the document, so a client generated from the
    document never sends a request the server calls malformed."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", field_app)
    headers = {} if role == "anonymous" else token_headers(bstore, "positive_" + role, role)
    headers["Accept-Encoding"] = "identity"
    operations = {r.ok().label: r.ok() for r in schema.get_all_operations()}
    assert set(DOCUMENTED_OPERATIONS) <= set(operations)
    failures = {}
    for label in DOCUMENTED_OPERATIONS:
        exc = first_failure(
            operations[label],
            headers,
            POSITIVE_EXAMPLES_PER_OPERATION,
            checks=[not_a_server_error, positive_data_acceptance],
        )
        if exc is not None:
            failures[label] = _describe(exc)
    assert not failures, "\n\n".join(f"{role} {k}: {v}" for k, v in failures.items())


def test_a_logout_without_a_body_is_what_the_document_allows(app, store):
    """A bearer-token client logs out with no form (it has no CSRF token to send): the
    document said a form body was required, so schemathesis' negative mode called the
    server's 302 for such a request "schema-violating request accepted". The body is
    optional now; negative generation finds nothing the server wrongly accepts."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = schema["/auth/logout"]["POST"]
    assert operation.definition.raw["requestBody"]["required"] is False
    headers = {**token_headers(store, "logout_negative", "clerk"), "Accept-Encoding": "identity"}
    exc = first_failure(
        operation,
        headers,
        NEGATIVE_EXAMPLES_PER_OPERATION,
        checks=[not_a_server_error, negative_data_rejection],
        mode=GenerationMode.NEGATIVE,
    )
    found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    assert exc is None or all(isinstance(f, Unsatisfiable) for f in found), _describe(exc)
    # The second action: the token still works after its logout (a logout ends a browser
    # session; a token is revoked by its owner, not by a logout).
    client = app.test_client()
    assert client.post("/auth/logout", headers=headers).status_code == 302
    assert client.get("/auth/me", headers=headers).get_json()["username"] == "logout_negative"
