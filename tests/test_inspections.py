"""Joint inspections: displacement maths, state rules, exactly-once records, sign-off, tasks."""

from __future__ import annotations

import math
import re
import threading
import uuid

import pytest
from boundary_helpers import (
    INSPECTOR_A,
    INSPECTOR_B,
    OFFICER,
    OFFICER_B,
    register_staff,
    round_plan,
    start_round,
)
from helpers import make_app

from boundaries import inspections as inspection_service
from boundaries import tasks as task_service
from boundaries import vocabulary
from boundaries.inspections import assess, marker_displacement_m, tasks_for
from boundaries.lines import find_line
from boundaries.markers import get_marker, list_markers
from boundaries.schema import marker_states_problem
from boundaries.tables import inspections as inspections_table
from boundaries.tables import markers as markers_table
from gazetteer.core.actors import Actor
from gazetteer.core.errors import (
    ConfirmationRequired,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
)
from gazetteer.core.geodesy import destination, distance_m
from gazetteer.core.migrate import SchemaMismatch
from gazetteer.core.store import Store
from gazetteer.core.vocabulary import read_rows

CGCS2000_A, CGCS2000_F = 6378137.0, 1 / 298.257222101


def vincenty_inverse_m(lon1, lat1, lon2, lat2, a=CGCS2000_A, f=CGCS2000_F) -> float:
    """Vincenty (1975), Survey Review 23(176) 88-93, inverse formula: an implementation
    independent of pyproj, used as the reference."""
    b = a * (1 - f)
    u1, u2 = (
        math.atan((1 - f) * math.tan(math.radians(lat1))),
        math.atan((1 - f) * math.tan(math.radians(lat2))),
    )
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(
            math.cos(u2) * sin_lam,
            math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * cos_lam,
        )
        if sin_sigma == 0:
            return 0.0
        cos_sigma = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = math.cos(u1) * math.cos(u2) * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * math.sin(u1) * math.sin(u2) / cos2_alpha if cos2_alpha else 0.0
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        if abs(lam - previous) < 1e-13:
            break
    u_sq = cos2_alpha * (a**2 - b**2) / b**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return b * big_a * (sigma - delta_sigma)


# ---- displacement maths ------------------------------------------------------------------


def test_reference_vincenty_reproduces_his_published_test_line():
    # Vincenty (1975) test line (a), Bessel ellipsoid: 55°45'N -> 33°26'S, Δλ = 108°13',
    # s = 14,110,526.170 m.
    s = vincenty_inverse_m(
        0, 55.75, 108 + 13 / 60, -(33 + 26 / 60), a=6377397.155, f=1 / 299.1528128
    )
    assert s == pytest.approx(14_110_526.170, abs=0.01)


def test_one_degree_of_latitude_at_the_equator():
    # GRS80 / CGCS2000 meridian arc 0° -> 1°: 110,574.4 m.
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(110_574.4, abs=0.05)
    assert vincenty_inverse_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(110_574.4, abs=0.05)


@pytest.mark.parametrize("azimuth_deg, metres", [(0, 0.5), (45, 3.0), (137, 25.0), (270, 1000.0)])
def test_marker_displacement_matches_the_independent_reference(azimuth_deg, metres):
    lon0, lat0 = 112.0241, 24.7402  # near the 湘粤桂 tri-junction
    lon1, lat1 = destination(lon0, lat0, azimuth_deg, metres)
    displacement, bearing = marker_displacement_m(lon0, lat0, lon1, lat1)
    assert displacement == pytest.approx(metres, abs=1e-6)
    assert displacement == pytest.approx(vincenty_inverse_m(lon0, lat0, lon1, lat1), abs=1e-4)
    assert bearing == pytest.approx(azimuth_deg % 360, abs=1e-6)


# ---- state rules --------------------------------------------------------------------------


def test_moved_is_flagged_only_beyond_tolerance_plus_accuracy():
    assert assess("intact", 0.9, 1.0, 0.05) == ("intact", False)
    assert assess("intact", 1.2, 1.0, 0.05) == ("moved", True)
    assert assess("tilted", 4.0, 1.0, 5.0) == ("tilted", False)  # handheld GNSS cannot resolve 4 m
    assert assess("damaged", 2.0, 1.0, 0.05) == ("damaged", True)
    assert assess("moved", 1.5, 1.0, 0.05) == ("moved", True)


def test_contradictory_findings_are_refused():
    with pytest.raises(InvalidInput):
        assess("lost", 0.3, 1.0, 0.05)  # a lost marker cannot be measured
    with pytest.raises(InvalidInput):
        assess("moved", None, 1.0, None)  # moved needs a measurement
    with pytest.raises(InvalidInput):
        assess("moved", 0.4, 1.0, 0.05)  # within tolerance
    with pytest.raises(InvalidInput):
        assess("vanished", None, 1.0, None)


def test_findings_open_the_right_tasks():
    assert tasks_for("intact", "intact", False) == []
    assert tasks_for("faded", "faded", False) == ["repaint"]
    assert tasks_for("moved", "tilted", True) == ["reset", "restore"]
    assert tasks_for("lost", "lost", False) == ["rebuild"]


# ---- marker states: how a finding behaves is declared with its state -------------------


def _vocabulary_with(monkeypatch, row: str) -> None:
    """The shipped marker_states.csv plus ``row``, as the vocabulary for this test."""
    text = (vocabulary.DATA / "marker_states.csv").read_text("utf-8") + row + "\n"
    states = vocabulary.read_marker_states(read_rows(text), vocabulary.TASK_KINDS)
    monkeypatch.setattr(vocabulary, "MARKER_STATE_TERMS", states)


def test_a_state_added_to_the_vocabulary_behaves_as_its_row_says(monkeypatch):
    with pytest.raises(InvalidInput, match="cracked") as refused:
        assess("cracked", None, 1.0, None)
    assert refused.value.details == {"field": "found_state"}
    _vocabulary_with(monkeypatch, "cracked,开裂,#795548,yes,yes,repair,yes")
    assert assess("cracked", None, 1.0, None) == ("cracked", False)
    assert assess("cracked", 0.5, 1.0, 0.05) == ("cracked", False)
    assert assess("cracked", 2.0, 1.0, 0.05) == ("moved", True)
    assert tasks_for("moved", "cracked", True) == ["repair", "restore"]
    assert vocabulary.marker_state("cracked").urgent
    # the same state declared to stay itself when displaced, with no task, not urgent
    _vocabulary_with(monkeypatch, "cracked,开裂,#795548,yes,,,")
    assert assess("cracked", 2.0, 1.0, 0.05) == ("cracked", True)
    assert tasks_for("cracked", "cracked", True) == ["restore"]
    assert not vocabulary.marker_state("cracked").urgent
    # a state not found in the field is refused like an unknown one
    _vocabulary_with(monkeypatch, "sealed,封存,#455a64,,,,")
    with pytest.raises(InvalidInput, match="检查状态不可识别"):
        assess("sealed", None, 1.0, None)


@pytest.mark.parametrize(
    "row",
    [
        "cracked,开裂,#795548,yes,yes,glue,",  # a task kind not declared
        "cracked,开裂,brown,yes,yes,,",  # a colour the maps cannot draw
    ],
)
def test_a_state_row_with_an_undeclared_value_is_refused_naming_the_state(monkeypatch, row):
    with pytest.raises(ValueError, match="cracked"):
        _vocabulary_with(monkeypatch, row)


def test_a_state_withdrawn_from_field_use_is_refused_to_inspectors_and_kept_by_records(
    bstore, started_round, monkeypatch, tmp_path
):
    first, second = list_markers(bstore, line_id=started_round["line_id"])[:2]
    held, _ = _record(bstore, started_round, first, "faded")
    shipped = (vocabulary.DATA / "marker_states.csv").read_text("utf-8")
    row = next(line for line in shipped.splitlines() if line.startswith("faded,"))
    withdrawn = row.replace(",yes,", ",withdrawn,", 1)
    states = vocabulary.read_marker_states(
        read_rows(shipped.replace(row, withdrawn)), vocabulary.TASK_KINDS
    )
    monkeypatch.setattr(vocabulary, "MARKER_STATE_TERMS", states)
    faded = next(s for s in states if s.code == "faded")
    assert faded.withdrawn and not faded.found_in_field and faded.zh == "字迹模糊"
    with pytest.raises(InvalidInput, match="检查状态不可识别"):
        _record(bstore, started_round, second, "faded")
    # the store still allows it (nothing to migrate), and the record keeps it
    assert marker_states_problem(bstore) is None
    stored, created = _record(bstore, started_round, first, "faded", record_id=held["id"])
    assert not created and stored["found_state"] == "faded"
    with pytest.raises(ValueError, match="faded: found_in_field 'no'"):
        vocabulary.read_marker_states(
            read_rows(shipped.replace(row, row.replace(",yes,", ",no,", 1))), vocabulary.TASK_KINDS
        )
    # what the store refuses instead: a state its records hold emptied or removed
    for edited, says in (
        (row.replace(",yes,", ",,", 1), "faded 见于检查记录.*found_in_field 为空.*withdrawn"),
        ("", "faded 仍见于存储中的记录.*没有该行.*不能删除"),
    ):
        states = vocabulary.read_marker_states(
            read_rows(shipped.replace(row + "\n", edited + "\n" if edited else "")),
            vocabulary.TASK_KINDS,
        )
        monkeypatch.setattr(vocabulary, "MARKER_STATE_TERMS", states)
        assert re.search(says, marker_states_problem(bstore))
        with pytest.raises(SchemaMismatch, match=says):
            make_app(bstore, tmp_path)


def test_a_state_code_longer_than_its_column_is_refused_naming_code_and_limit(monkeypatch):
    limit = vocabulary.STATE_CODE_MAX_CHARS
    for column in (
        markers_table.c.state,
        inspections_table.c.found_state,
        inspections_table.c.assessed_state,
    ):
        assert column.type.length == limit
    code = "partially_submerged"
    assert len(code) > limit
    with pytest.raises(ValueError, match=f"{code}: code is {len(code)} characters.* {limit}$"):
        _vocabulary_with(monkeypatch, f"{code},部分淹没,#0277bd,yes,,,")
    _vocabulary_with(monkeypatch, f"{code[:limit]},部分淹没,#0277bd,yes,,,")  # the limit fits
    assert vocabulary.marker_state(code[:limit]).zh == "部分淹没"


@pytest.mark.parametrize(
    "state",
    [s for s in vocabulary.MARKER_STATE_TERMS if s.found_in_field and s.code != "moved"],
    ids=lambda s: s.code,
)
def test_a_recorded_finding_opens_the_task_its_state_declares(bstore, started_round, state):
    marker = list_markers(bstore, line_id=started_round["line_id"])[3]
    record, _ = _record(bstore, started_round, marker, state.code)
    assert record["assessed_state"] == state.code
    tasks = task_service.list_tasks(bstore, round_id=started_round["id"])
    assert [t["kind"] for t in tasks] == ([state.task_kind] if state.task_kind else [])
    assert all((t["report_due_at"] is not None) == state.urgent for t in tasks)


# ---- records in a store --------------------------------------------------------------------


@pytest.fixture
def started_round(bstore):
    return start_round(bstore)


def _record(
    store,
    rnd,
    marker,
    state="intact",
    metres=None,
    method="rtk",
    record_id=None,
    actor=INSPECTOR_A,
    confirmed=None,
):
    data = {
        "id": record_id or str(uuid.uuid4()),
        "round_id": rnd["id"],
        "marker": marker["number"],
        "found_state": state,
    }
    if confirmed is not None:
        data["moved_confirmed"] = confirmed
    if metres is not None:
        lon, lat = destination(marker["lon"], marker["lat"], 60.0, metres)
        data.update(measured_lon=lon, measured_lat=lat, measurement_method=method)
    return inspection_service.record_inspection(store, data, actor)


def test_same_client_id_twice_is_stored_once(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    record_id = str(uuid.uuid4())
    first, created = _record(bstore, started_round, marker, "faded", 0.2, record_id=record_id)
    again, created_again = _record(bstore, started_round, marker, "faded", 0.2, record_id=record_id)
    assert created and not created_again
    assert again == first and again["found_state"] == "faded"
    # The same id with other content is not silently answered with the stored record
    # (issue 13): the client learns its new content was not kept, and gets the stored one.
    with pytest.raises(Conflict) as refused:
        _record(bstore, started_round, marker, "lost", record_id=record_id)
    assert refused.value.details["stored"]["found_state"] == "faded"
    assert len(inspection_service.list_inspections(bstore, round_id=started_round["id"])) == 1
    assert len(task_service.list_tasks(bstore, round_id=started_round["id"])) == 1
    with pytest.raises(Conflict):  # a second, different record for the same marker
        _record(bstore, started_round, marker, "intact")


def test_another_inspectors_client_id_is_a_conflict_not_their_record(bstore, started_round):
    """A client id is unique for everyone, but a replay answers only its maker: inspector B
    sending A's exact record under A's id was told 200 with A's record, and believed its
    own was kept. B's client is told to make a new id, without A's record."""
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    record_id = str(uuid.uuid4())
    mine, created = _record(bstore, started_round, marker, "faded", record_id=record_id)
    assert created and mine["inspected_by"] == INSPECTOR_A.username
    for state in ("faded", "lost"):  # the same content, then other content
        with pytest.raises(Conflict) as refused:
            _record(bstore, started_round, marker, state, record_id=record_id, actor=INSPECTOR_B)
        assert refused.value.details == {"field": "id", "reason": "id_taken"}
        assert INSPECTOR_A.username not in refused.value.message
    # The second action: A's own replay is still answered with A's record.
    again, created_again = _record(bstore, started_round, marker, "faded", record_id=record_id)
    assert not created_again and again == mine
    assert len(inspection_service.list_inspections(bstore, round_id=started_round["id"])) == 1


def test_an_invalid_body_is_400_before_the_markers_clash_409(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    _record(bstore, started_round, marker)
    second = {
        "id": str(uuid.uuid4()),
        "round_id": started_round["id"],
        "marker": marker["number"],
        "found_state": "intact",
        "measured_lon": 1,  # and no latitude
    }
    with pytest.raises(InvalidInput) as refused:
        inspection_service.record_inspection(bstore, second, INSPECTOR_A)
    assert refused.value.details["field"] == "measured_lat"
    # Corrected, the same request meets the clash: a second record for the marker. The
    # refusal says whose record is there and what they found, to decide on.
    del second["measured_lon"]
    with pytest.raises(Conflict) as clash:
        inspection_service.record_inspection(bstore, second, INSPECTOR_A)
    assert "（王强：完好）" in clash.value.message
    assert clash.value.details["found_state"] == "intact"


@pytest.mark.parametrize("named", [{}, {"marker_id": None}, {"marker": None}, {"marker": ""}])
def test_a_record_naming_no_marker_is_400_naming_marker_id(bstore, started_round, named):
    data = {"id": str(uuid.uuid4()), "round_id": started_round["id"], "found_state": "intact"}
    with pytest.raises(InvalidInput) as refused:
        inspection_service.record_inspection(bstore, {**data, **named}, INSPECTOR_A)
    assert refused.value.details == {"field": "marker_id"}
    assert "None" not in refused.value.message


@pytest.mark.parametrize("when", ["2026-11-29", "20261129", "2026-11-29T", "2026-11-29T09"])
def test_an_inspection_time_without_a_time_of_day_is_refused(bstore, started_round, when):
    """A day alone was read as midnight Beijing time and stored as an instant nobody recorded."""
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    data = {
        "id": str(uuid.uuid4()),
        "round_id": started_round["id"],
        "marker": marker["number"],
        "found_state": "intact",
        "inspected_at": when,
    }
    with pytest.raises(InvalidInput) as refused:
        inspection_service.record_inspection(bstore, data, INSPECTOR_A)
    assert refused.value.details == {"field": "inspected_at"}
    assert inspection_service.list_inspections(bstore, round_id=started_round["id"]) == []
    # The second action: the same day with a time (and an offset) is kept as sent.
    record, _ = inspection_service.record_inspection(
        bstore, {**data, "inspected_at": "2026-01-05T09:30:00+08:00"}, INSPECTOR_A
    )
    assert record["inspected_at"].isoformat().startswith("2026-01-05T01:30:00")


def test_same_client_id_uploaded_concurrently_is_stored_once(bstore, started_round):
    # Offline devices retry: the same record may arrive on several workers at once. Each
    # thread has its own engine, so the requests really overlap (on PostgreSQL both may pass
    # the existence check before either inserts).
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    record_id = str(uuid.uuid4())
    stores = [Store(bstore.url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    outcomes: list = [None] * len(stores)

    def upload(i):
        barrier.wait()
        try:
            outcomes[i] = _record(stores[i], started_round, marker, "faded", record_id=record_id)
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            outcomes[i] = exc

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(stores))]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    [s.dispose() for s in stores]
    assert all(isinstance(o, tuple) for o in outcomes), [
        o for o in outcomes if not isinstance(o, tuple)
    ]
    assert sorted(created for _record_, created in outcomes) == [False, False, False, True]
    assert len({record_["id"] for record_, _created in outcomes}) == 1
    assert len(inspection_service.list_inspections(bstore, round_id=started_round["id"])) == 1


def test_measured_move_is_flagged_and_opens_a_restore_task(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[1]
    with pytest.raises(ConfirmationRequired) as refused:
        _record(bstore, started_round, marker, "intact", 2.5)
    assert refused.value.details["distance_m"] == pytest.approx(2.5, abs=0.05)
    assert inspection_service.list_inspections(bstore, round_id=started_round["id"]) == []
    record, _ = _record(bstore, started_round, marker, "intact", 2.5, confirmed=True)
    assert record["displacement_m"] == pytest.approx(2.5, abs=1e-3) and record["moved_confirmed"]
    assert record["flagged_moved"] and record["assessed_state"] == "moved"
    assert get_marker(bstore, marker["id"])["state"] == "moved"
    assert [t["kind"] for t in task_service.list_tasks(bstore, round_id=started_round["id"])] == [
        "restore"
    ]


def test_gcj02_sized_offsets_are_refused(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[2]
    with pytest.raises(InvalidInput, match="GCJ-02"):
        _record(bstore, started_round, marker, "intact", 550.0)
    assert inspection_service.list_inspections(bstore, round_id=started_round["id"]) == []


def test_only_team_inspectors_record_and_only_in_progress_rounds(bstore):
    line = find_line(bstore, "韶惠线")
    register_staff(bstore, line)
    rnd = inspection_service.create_round(bstore, round_plan(line), OFFICER)
    marker = list_markers(bstore, line_id=line["id"])[0]
    with pytest.raises(IllegalTransition):
        _record(bstore, rnd, marker)
    inspection_service.start_round(bstore, rnd["id"], OFFICER)
    with pytest.raises(Forbidden):
        _record(bstore, rnd, marker, actor=OFFICER)
    with pytest.raises(Forbidden):
        _record(bstore, rnd, marker, actor=Actor("stranger", frozenset({"inspector"})))
    other_line_marker = list_markers(bstore, line_id=find_line(bstore, "粤桂线")["id"])[0]
    with pytest.raises(InvalidInput):
        _record(bstore, rnd, other_line_marker)


def test_both_sides_sign_and_each_only_once(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[0]
    record, _ = _record(bstore, started_round, marker)
    side_a, side_b = started_round["side_a_code"], started_round["side_b_code"]
    with pytest.raises(Forbidden):
        inspection_service.sign_inspection(
            bstore, record["id"], side_b, INSPECTOR_A
        )  # not on B's team
    signed = inspection_service.sign_inspection(bstore, record["id"], side_a, INSPECTOR_A)
    assert signed["signed_a_by"] == INSPECTOR_A.username and signed["signed_b_by"] is None
    with pytest.raises(IllegalTransition):
        inspection_service.sign_inspection(bstore, record["id"], side_a, INSPECTOR_A)
    signed = inspection_service.sign_inspection(bstore, record["id"], side_b, INSPECTOR_B)
    assert inspection_service.is_signed_by_both(signed)


def test_round_completes_only_when_every_marker_is_inspected_and_signed(bstore, started_round):
    markers = list_markers(bstore, line_id=started_round["line_id"])
    records = [_record(bstore, started_round, m)[0] for m in markers[:-1]]
    with pytest.raises(IllegalTransition, match="1 颗界桩未检查"):
        inspection_service.complete_round(bstore, started_round["id"], OFFICER)
    records.append(_record(bstore, started_round, markers[-1], "lost")[0])
    for record in records:
        inspection_service.sign_inspection(
            bstore, record["id"], started_round["side_a_code"], INSPECTOR_A
        )
    with pytest.raises(IllegalTransition, match="未经双方签认"):
        inspection_service.complete_round(bstore, started_round["id"], OFFICER)
    for record in records:
        inspection_service.sign_inspection(
            bstore, record["id"], started_round["side_b_code"], INSPECTOR_B
        )
    with pytest.raises(IllegalTransition, match="结论"):
        inspection_service.complete_round(bstore, started_round["id"], OFFICER)
    conclusion = {"conclusion": "界线清晰，界桩完好率高；丢失界桩按期重建。"}
    inspection_service.sign_conclusion(
        bstore,
        started_round["id"],
        {**conclusion, "side_code": started_round["side_a_code"]},
        OFFICER,
    )
    with pytest.raises(Forbidden):  # side A's officer cannot sign for side B
        inspection_service.sign_conclusion(
            bstore,
            started_round["id"],
            {**conclusion, "side_code": started_round["side_b_code"]},
            OFFICER,
        )
    inspection_service.sign_conclusion(
        bstore,
        started_round["id"],
        {**conclusion, "side_code": started_round["side_b_code"]},
        OFFICER_B,
    )
    assert (
        inspection_service.complete_round(bstore, started_round["id"], OFFICER)["status"]
        == "completed"
    )
    with pytest.raises(IllegalTransition):
        _record(bstore, started_round, markers[0])


def test_tasks_are_tracked_to_done_with_the_other_side_present(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[3]
    _record(bstore, started_round, marker, "damaged", 0.1)
    [task] = task_service.list_tasks(bstore, round_id=started_round["id"])
    assert (
        task["kind"] == "repair" and task["status"] == "open" and task["report_due_at"] is not None
    )
    task_service.update_task(bstore, task["id"], "in_progress", INSPECTOR_A)
    with pytest.raises(InvalidInput, match="相邻方"):
        task_service.update_task(bstore, task["id"], "done", INSPECTOR_A, result="已修复")
    with pytest.raises(InvalidInput, match="登记的人员"):  # free text is not a witness
        task_service.update_task(
            bstore, task["id"], "done", INSPECTOR_A, result="已修复桩体", witness_other_side="张三"
        )
    with pytest.raises(InvalidInput, match="相邻方"):  # nor is someone of the same side
        task_service.update_task(
            bstore,
            task["id"],
            "done",
            INSPECTOR_A,
            result="已修复桩体",
            witness_other_side=OFFICER.username,
        )
    with pytest.raises(InvalidInput, match="单位"):
        task_service.update_task(
            bstore, task["id"], "done", INSPECTOR_A, result="已修复桩体", witness={"name": "张三"}
        )
    done = task_service.update_task(
        bstore,
        task["id"],
        "done",
        INSPECTOR_A,
        result="已修复桩体",
        witness_other_side=INSPECTOR_B.username,
    )
    assert done["status"] == "done" and done["closed_by"] == INSPECTOR_A.username
    assert get_marker(bstore, marker["id"])["state"] == "intact"
    with pytest.raises(IllegalTransition):
        task_service.update_task(bstore, task["id"], "in_progress", INSPECTOR_A)


def test_retirement_needs_both_sides_approval(bstore, started_round):
    marker = list_markers(bstore, line_id=started_round["line_id"])[4]
    task = task_service.create_task(
        bstore,
        {"marker_id": marker["id"], "kind": "retire", "note": "河道改道，双方商定撤销"},
        OFFICER,
    )
    witness = {"name": "黄海", "organisation": "乙方某镇人民政府", "role": "镇界线管理员"}
    with pytest.raises(IllegalTransition):
        task_service.update_task(
            bstore, task["id"], "done", OFFICER, result="撤销", witness=witness
        )
    task_service.approve_task(bstore, task["id"], started_round["side_a_code"], OFFICER)
    with pytest.raises(Forbidden):  # one officer cannot approve for both sides
        task_service.approve_task(bstore, task["id"], started_round["side_b_code"], OFFICER)
    task_service.approve_task(bstore, task["id"], started_round["side_b_code"], OFFICER_B)
    done = task_service.update_task(
        bstore, task["id"], "done", OFFICER, result="撤销", witness=witness
    )
    assert done["witness_name"] == "黄海" and done["witness_role"] == "镇界线管理员"
    assert get_marker(bstore, marker["id"])["state"] == "retired"
