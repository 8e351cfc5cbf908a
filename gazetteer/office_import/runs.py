"""An import run, step by step: upload, configure (layer, columns, coordinate system),
preview, write. Only officers (审核人员) may import.

* ``create_run`` records an uploaded file and what it holds.
* ``configure`` sets the layer, the column mapping (saved per source for next time) and
  the coordinate system; ``coordinate_guess`` proposes one and ``sample_points`` shows a
  sample in CGCS2000 for the map.
* ``preview`` runs every row through the checks (``checks.RowChecker``), counts what
  would be inserted, updated, left alone and refused, and writes the per-row report
  (CSV) into ``work_dir``.
* ``write`` applies the accepted rows in ONE transaction: a failure or a killed process
  leaves nothing written. Rows with errors block the write unless the officer skips them
  by an explicit choice with a reason, which the run records with the skipped row numbers.
  The checks run again inside the transaction; if the registry changed since the preview
  (other counts) nothing is written and the officer previews again.

Running the same file again changes nothing: records are matched by their source key.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from gazetteer import changes, registry
from gazetteer.core.account_tables import users
from gazetteer.core.actors import Actor, require_role
from gazetteer.core.errors import Conflict, Forbidden, InvalidInput
from gazetteer.core.store import Store, bbox_columns, row_by_id
from gazetteer.office_import import coords
from gazetteer.office_import.checks import ACTIONS, ACTIONS_ZH, WRITTEN, RowChecker
from gazetteer.office_import.fields import FIELDS_BY_KEY, guess_mapping, validate_mapping
from gazetteer.office_import.readers import FORMATS_ZH, SourceFile
from gazetteer.office_import.tables import import_mappings, import_runs
from gazetteer.tables import places

IMPORT_ROLES = frozenset({"officer"})
CHUNK_ROWS = 5000
PREVIEW_SAMPLE_ROWS = 200
MAP_SAMPLE_POINTS = 500
INSERT_BATCH = 1000

# progress(phase, rows done, rows in total or None)
Progress = Callable[[str, int, int | None], None]


def _require(actor: Actor) -> None:
    require_role(actor, IMPORT_ROLES, "导入地名数据")


def _office_of(conn, username: str | None) -> str | None:
    return conn.execute(sa.select(users.c.office).where(users.c.username == username)).scalar()


def _owns(conn, actor: Actor, username: str | None) -> bool:
    """Whether ``actor`` may change what ``username`` (an officer) created: it is theirs, or
    both work in the same office (a user with no office owns only their own)."""
    if username == actor.username:
        return True
    return actor.office is not None and _office_of(conn, username) == actor.office


def _owned_run(conn, run_id: int, actor: Actor):
    """The run, if ``actor`` may change it: runs belong to the office of the officer who
    created them. Officers of another office get ``Forbidden`` (they may still read it)."""
    run = _run(conn, run_id)
    if not _owns(conn, actor, run.created_by):
        raise Forbidden(
            f"导入批次 {run_id} 属于其他单位（由 {run.created_by} 创建），不能修改或写入",
            details={"created_by": run.created_by},
        )
    return run


def require_owner(store: Store, run_id: int, actor: Actor) -> None:
    """Refuse (``NotFound``, ``Forbidden``) an officer who may not change run ``run_id``:
    checked before a background preview starts, so the refusal is answered at once."""
    _require(actor)
    with store.read(primary=True) as conn:
        _owned_run(conn, run_id, actor)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():  # an unzipped .gdb folder
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(member.name.encode())
            digest.update(member.read_bytes())
        return digest.hexdigest()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _text_arg(value, label: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"请填写{label}")
    value = value.strip()
    if len(value) > limit or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidInput(f"{label}过长或含有无效字符（最多 {limit} 字）")
    return value


# ---------------------------------------------------------------- the run record


def _run(conn, run_id: int):
    return row_by_id(conn, import_runs, run_id, f"没有编号为 {run_id} 的导入")


def _update_run(conn, run_id: int, **values) -> None:
    conn.execute(import_runs.update().where(import_runs.c.id == run_id).values(**values))


def run_dict(row) -> dict:
    out = {
        k: registry.jsonable(registry.as_utc(v) if isinstance(v, dt.datetime) else v)
        for k, v in row._asdict().items()
        if k not in ("file_path",)
    }
    out["file_format_zh"] = FORMATS_ZH.get(row.file_format, row.file_format)
    out["crs_label"] = coords.crs_label(row.crs) if row.crs else None
    if out.get("skipped_rows") is not None:
        out["skipped_count"] = len(out["skipped_rows"])
        out["skipped_rows"] = out["skipped_rows"][:1000]
    return out


def get_run(store: Store, run_id: int, actor: Actor) -> dict:
    _require(actor)
    with store.read(primary=True) as conn:
        return run_dict(_run(conn, run_id))


def list_runs(store: Store, actor: Actor, limit: int = 50) -> list[dict]:
    _require(actor)
    with store.read(primary=True) as conn:
        rows = conn.execute(
            sa.select(import_runs).order_by(import_runs.c.id.desc()).limit(limit)
        ).all()
    return [run_dict(r) for r in rows]


def _saved_row(conn, source_name: str, layer: str):
    return conn.execute(
        sa.select(import_mappings).where(
            import_mappings.c.source_name == source_name, import_mappings.c.layer == layer
        )
    ).first()


def saved_mapping(conn, source_name: str, layer: str, actor: Actor) -> dict | None:
    """The mapping saved for this source and layer by ``actor``'s office (another office's
    mapping is neither offered nor overwritten)."""
    row = _saved_row(conn, source_name, layer)
    if row is None or not _owns(conn, actor, row.updated_by):
        return None
    return {"mapping": row.mapping, "crs": row.crs}


def create_run(
    store: Store,
    actor: Actor,
    path: str | Path,
    *,
    source_name: str,
    office: str,
    file_name: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Record a file to import (already on the server at ``path``). Opens it to list its
    layers, so a broken file is refused here. Returns the run with ``layers``."""
    _require(actor)
    path = Path(path)
    source_name = _text_arg(source_name, "数据来源名称", 200)
    office = _text_arg(office, "登记单位", 200)
    source = SourceFile(path)
    layers = source.layers()
    if not layers:
        raise InvalidInput("文件中没有图层或工作表")
    first = source.info(layers[0])
    now = now or _now()
    with store.write(actor) as conn:
        saved = saved_mapping(conn, source_name, layers[0], actor)
        columns = first.columns
        mapping = (saved or {}).get("mapping") or guess_mapping(columns)
        mapping = {k: v for k, v in mapping.items() if v in columns}
        run_id = conn.execute(
            import_runs.insert().values(
                source_name=source_name,
                office=office,
                file_name=(file_name or path.name)[:255],
                file_path=str(path),
                file_sha256=file_sha256(path),
                file_format=source.format,
                layer=layers[0],
                mapping=mapping,
                crs=(saved or {}).get("crs") or first.stated_crs,
                state="uploaded",
                created_by=actor.username,
                created_at=now,
            )
        ).inserted_primary_key[0]
        run = run_dict(_run(conn, run_id))
    run["layers"] = layers
    run["layer_info"] = first.to_dict()
    return run


def describe_layer(store: Store, run_id: int, actor: Actor, layer: str | None = None) -> dict:
    """Columns, size, stated coordinate system and the guessed (or saved) mapping of a layer."""
    _require(actor)
    with store.read(primary=True) as conn:
        run = _run(conn, run_id)
        source = SourceFile(run.file_path)
        info = source.info(layer or run.layer)
        saved = saved_mapping(conn, run.source_name, info.name, actor)
    out = info.to_dict()
    out["layers"] = source.layers()
    out["saved"] = saved
    out["fields"] = [
        {"key": f.key, "label": f.label_zh, "help": f.help_zh} for f in FIELDS_BY_KEY.values()
    ]
    return out


def configure(
    store: Store,
    run_id: int,
    actor: Actor,
    *,
    layer: str,
    mapping: dict,
    crs_tag: str | None,
    now: dt.datetime | None = None,
) -> dict:
    """Set the layer, column mapping and coordinate system; the mapping (and CRS) is saved
    for this source and layer. Any earlier preview no longer stands."""
    _require(actor)
    now = now or _now()
    with store.write(actor) as conn:
        run = _owned_run(conn, run_id, actor)
        if run.state == "written":
            raise Conflict("此次导入已写入，不能再修改；如需再次导入请重新上传")
        info = SourceFile(run.file_path).info(layer)
        clean = validate_mapping(mapping, info.columns)
        needs_crs = "x" in clean or "wkt" in clean or info.geometry_type not in (None, "Unknown")
        tag = None
        if crs_tag:
            tag = coords.crs.normalise_tag(str(crs_tag))
        elif needs_crs:
            raise InvalidInput("请确认坐标系", details={"field": "crs"})
        if (run.layer, run.mapping, run.crs) != (info.name, clean, tag):
            _update_run(
                conn,
                run_id,
                layer=info.name,
                mapping=clean,
                crs=tag,
                state="uploaded",
                counts=None,
                preview=None,
                previewed_at=None,
            )
        key = {"source_name": run.source_name, "layer": info.name}
        values = {"mapping": clean, "crs": tag, "updated_by": actor.username, "updated_at": now}
        saved = _saved_row(conn, run.source_name, info.name)
        if saved is None:
            conn.execute(import_mappings.insert().values(**key, **values))
        elif _owns(conn, actor, saved.updated_by):
            conn.execute(
                import_mappings.update()
                .where(
                    import_mappings.c.source_name == run.source_name,
                    import_mappings.c.layer == info.name,
                )
                .values(**values)
            )
        return run_dict(_run(conn, run_id))


def _sample(run, layer: str, mapping: dict, limit: int):
    """The first ``limit`` rows' (x, y) in file units and their stated division texts."""
    source = SourceFile(run.file_path)
    xs, ys, names, rows, division_texts = [], [], [], [], []
    for chunk in source.chunks(layer, chunk_size=limit):
        for row, values, geom in zip(chunk.rows, chunk.values, chunk.geoms, strict=True):
            x = y = None
            try:
                if geom is not None and not geom.is_empty:
                    gx, gy = coords.representative_xy([geom])
                    x, y = float(gx[0]), float(gy[0])
                elif "wkt" in mapping and values.get(mapping["wkt"]):
                    g = coords.shapely.from_wkt(str(values[mapping["wkt"]]))
                    gx, gy = coords.representative_xy([g])
                    x, y = float(gx[0]), float(gy[0])
                elif "x" in mapping:
                    x = coords.parse_number(values.get(mapping["x"]))
                    y = coords.parse_number(values.get(mapping["y"]))
            except (ValueError, coords.shapely.errors.ShapelyError):
                x = y = None
            if x is None or y is None:
                continue
            xs.append(x)
            ys.append(y)
            rows.append(row)
            names.append(values.get(mapping.get("name"), ""))
            division_texts.append(
                (values.get(mapping["division"]) if "division" in mapping else None)
                or (values.get(mapping["division_code"]) if "division_code" in mapping else None)
            )
        break
    return xs, ys, rows, names, division_texts


def coordinate_guess(
    store: Store, run_id: int, actor: Actor, *, mapping: dict, locator, layer: str | None = None
) -> dict:
    """The coordinate system the file states, or the best guess from a sample of its
    coordinates (see ``coords.guess_crs``), for the officer to confirm. ``layer``: None
    (or empty) for the file's first layer."""
    _require(actor)
    with store.read(primary=True) as conn:
        run = _run(conn, run_id)
        source = SourceFile(run.file_path)
        info = source.info(layer)
        clean = validate_mapping(mapping, info.columns)
        from gazetteer.office_import.checks import DivisionNames

        names = DivisionNames(conn)
    if info.stated_crs:
        return {
            "tag": info.stated_crs,
            "stated": True,
            "reason_zh": f"文件注明坐标系：{info.stated_crs_name}",
            "candidates": [{"tag": info.stated_crs, "label": coords.crs_label(info.stated_crs)}],
        }
    xs, ys, _rows, _names, texts = _sample(run, info.name, clean, 2000)
    stated = []
    for text in texts:
        if text is None:
            stated.append(None)
            continue
        text = str(text).split(".")[0]
        codes = {text} if text in names.paths else set(names.resolve(text, set())[0])
        stated.append(codes or None)
    guess = coords.guess_crs(xs, ys, locator=locator, stated_divisions=stated)
    guess["stated"] = False
    return guess


def sample_points(store: Store, run_id: int, actor: Actor, *, crs_tag: str, locator) -> dict:
    """Up to ``MAP_SAMPLE_POINTS`` rows as GeoJSON points in CGCS2000 lon/lat under
    ``crs_tag``, each with its row, name and the county it falls in, for the map."""
    _require(actor)
    with store.read(primary=True) as conn:
        run = _run(conn, run_id)
    if not run.mapping:
        raise InvalidInput("请先设置字段对应关系")
    tag = coords.crs.normalise_tag(crs_tag)
    xs, ys, rows, names, _texts = _sample(run, run.layer, run.mapping, MAP_SAMPLE_POINTS)
    lon, lat = coords.to_cgcs2000_xy(xs, ys, tag) if xs else ([], [])
    features, inside = [], 0
    import numpy as np

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    good = np.isfinite(lon)
    counties = (
        locator.locate_many(np.where(good, lon, 0.0), np.where(good, lat, 0.0)) if len(lon) else []
    )
    for i in range(len(lon)):
        if not good[i]:
            continue
        code = str(counties[i])
        feature = locator.by_code.get(code)
        in_gd = code.startswith("44")
        inside += in_gd
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon[i], 7), round(lat[i], 7)]},
                "properties": {
                    "row": rows[i],
                    "name": str(names[i] or ""),
                    "division": feature.name if feature else None,
                    "inside_guangdong": in_gd,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "crs_tag": tag,
        "crs_label": coords.crs_label(tag),
        "features": features,
        "inside_guangdong": inside,
        "sampled": len(xs),
    }


# ---------------------------------------------------------------- preview and write


def report_path(work_dir: Path, run_id: int) -> Path:
    return Path(work_dir) / f"import-{run_id}-report.csv"


REPORT_HEADER = ("行号", "处理", "标准名称", "地名类别", "行政区划代码", "错误", "规则提示")


def _checker(conn, run, locator, corpus, today) -> RowChecker:
    return RowChecker(
        conn,
        source_name=run.source_name,
        office=run.office,
        layer=run.layer,
        file_name=run.file_name,
        mapping=run.mapping,
        crs_tag=run.crs or "CGCS2000",
        locator=locator,
        corpus=corpus,
        today=today,
    )


def _ready(run) -> None:
    if not run.mapping:
        raise InvalidInput("请先设置字段对应关系与坐标系")
    if file_sha256(Path(run.file_path)) != run.file_sha256:
        raise Conflict("服务器上的文件已改变，请重新上传")


def preview(
    store: Store,
    run_id: int,
    actor: Actor,
    *,
    locator,
    corpus,
    work_dir: Path,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Check every row; store the counts and a sample; write the per-row report (rows with
    errors or naming-rule findings) to ``report_path(work_dir, run_id)``. Writes nothing
    to the registry."""
    _require(actor)
    now = now or _now()
    with store.read(primary=True) as conn:
        run = _owned_run(conn, run_id, actor)
        if run.state == "written":
            raise Conflict("此次导入已写入")
        _ready(run)
        source = SourceFile(run.file_path)
        total = source.info(run.layer).feature_count
        checker = _checker(conn, run, locator, corpus, registry.civil_date(now))
        counts: Counter = Counter()
        sample: list[dict] = []
        error_sample: list[dict] = []
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        path = report_path(work_dir, run_id)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(REPORT_HEADER)
            done = 0
            for chunk in source.chunks(run.layer, CHUNK_ROWS):
                for plan in checker.check(chunk):
                    counts[plan.action] += 1
                    counts["findings"] += bool(plan.findings)
                    if len(sample) < PREVIEW_SAMPLE_ROWS:
                        sample.append(plan.summary())
                    if plan.action == "error" and len(error_sample) < PREVIEW_SAMPLE_ROWS:
                        error_sample.append(plan.summary())
                    if plan.errors or plan.findings:
                        writer.writerow(_report_row(plan))
                done += len(chunk.rows)
                if progress:
                    progress("preview", done, total)
        partial.replace(path)
    counts = {a: counts.get(a, 0) for a in (*ACTIONS, "findings")}
    counts["rows"] = sum(counts[a] for a in ACTIONS)
    with store.write(actor) as conn:
        current = _run(conn, run_id)
        if current.state == "written" or current.mapping != run.mapping or current.crs != run.crs:
            raise Conflict("导入设置在预览期间被修改，请重新预览")
        _update_run(
            conn,
            run_id,
            state="previewed",
            counts=counts,
            preview={"rows": sample, "errors": error_sample},
            previewed_at=now,
        )
        return run_dict(_run(conn, run_id))


def _report_row(plan) -> list:
    v = plan.values
    return [
        plan.row,
        ACTIONS_ZH[plan.action],
        v.get("name", ""),
        v.get("feature_class", ""),
        v.get("division_code", "") or "",
        "；".join(plan.errors),
        "；".join(f"[{f['severity']}] {f['rule_id']}：{f['message']}" for f in plan.findings),
    ]


def writable(
    store: Store, run_id: int, actor: Actor, *, skip_errors, skip_reason
) -> tuple[object, bool, str | None]:
    """Everything a write refuses before it touches the registry, checked at once (the
    page and the API call this before starting a background write, so a refusal is a 400
    there and then, not a failed job later). Returns the run, the skip choice (False when
    no row has errors) and the checked reason. Raises InvalidInput: not previewed yet
    (or the preview still running), rows with errors and no skip chosen, a skip without a
    reason; Conflict: already written, or the file changed on the server."""
    _require(actor)
    if not isinstance(skip_errors, bool):
        raise InvalidInput("skip_errors 应为 true 或 false")
    if skip_reason is not None and not isinstance(skip_reason, str):
        raise InvalidInput("skip_reason 应为文字")
    with store.read(primary=True) as conn:
        run = _owned_run(conn, run_id, actor)
    if run.state == "written":
        raise Conflict("此次导入已写入（重复写入不会有任何改变）")
    if run.state != "previewed":
        raise InvalidInput(
            "此次导入尚未预览（或预览尚未完成）：请先预览，核对结果后再写入",
            details={"state": run.state},
        )
    _ready(run)
    errors = run.counts["error"]
    if errors and not skip_errors:
        raise InvalidInput(
            f"有 {errors} 行存在错误：请修正文件后重新上传预览，或明确选择跳过这些行并说明理由",
            details={"errors": errors},
        )
    if not errors:
        return run, False, None
    if skip_errors:
        skip_reason = _text_arg(skip_reason, "跳过错误行的理由", 1000)
    return run, skip_errors, skip_reason


def write(
    store: Store,
    run_id: int,
    actor: Actor,
    *,
    locator,
    skip_errors: bool = False,
    skip_reason: str | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Write the previewed run in one transaction (see the module docstring). Raises
    InvalidInput when rows have errors and no skip was chosen, Conflict when the file or
    the registry changed since the preview."""
    now = now or _now()
    today = registry.civil_date(now)
    run, skip_errors, skip_reason = writable(
        store, run_id, actor, skip_errors=skip_errors, skip_reason=skip_reason
    )
    source = SourceFile(run.file_path)
    total = run.counts["rows"]
    reason = f"导入：{run.source_name}（批次 {run_id}，{run.file_name}，图层 {run.layer}）"
    counts: Counter = Counter()
    skipped: list[int] = []
    with store.write(actor) as conn:
        # The naming rules were listed at the preview and never block: not run again here.
        checker = _checker(conn, run, locator, None, today)
        done = 0
        for chunk in source.chunks(run.layer, CHUNK_ROWS):
            plans = checker.check(chunk)
            inserts = []
            for plan in plans:
                counts[plan.action] += 1
                if plan.action == "error":
                    skipped.append(plan.row)
                elif plan.action == "insert":
                    inserts.append(plan)
                elif plan.action == "update":
                    registry.update_imported(
                        conn,
                        plan.place_id,
                        plan.place_version,
                        {**{k: plan.values[k] for k in WRITTEN}, "geom": plan.geom},
                        effective_date=today,
                        reason=f"{reason}，第 {plan.row} 行",
                        actor=actor,
                        now=now,
                    )
            _insert(conn, inserts, reason=reason, actor=actor, now=now)
            done += len(chunk.rows)
            if progress:
                progress("write", done, total)
        if counts["insert"] or counts["update"]:
            changes.places_changed(conn)  # the lookup indexes follow once this commits
        seen = {a: counts.get(a, 0) for a in ACTIONS}
        expected = {a: run.counts[a] for a in ACTIONS}
        if seen != expected:
            raise Conflict(
                "登记册在预览之后已有变化，本次没有写入任何内容：请重新预览后再写入",
                details={"preview": expected, "now": seen},
            )
        _update_run(
            conn,
            run_id,
            state="written",
            skip_errors=skip_errors,
            skip_reason=skip_reason if skip_errors else None,
            skipped_rows=skipped if skip_errors else None,
            written_by=actor.username,
            written_at=now,
        )
        return run_dict(_run(conn, run_id))


def _insert(conn, plans, *, reason: str, actor: Actor, now: dt.datetime) -> None:
    """Insert new records in batches and give each its ``imported`` version."""
    changes.places_changed(conn)
    for start in range(0, len(plans), INSERT_BATCH):
        batch = plans[start : start + INSERT_BATCH]
        conn.execute(
            places.insert(),
            [
                {
                    **{k: p.values[k] for k in WRITTEN},
                    "source_key": p.source_key,
                    "geom": p.geom,
                    **bbox_columns(p.geom),
                    "registered_by": actor.username,
                    "registered_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for p in batch
            ],
        )
        rows = {p.source_key: p.row for p in batch}
        ids = dict(
            conn.execute(
                sa.select(places.c.source_key, places.c.id).where(
                    places.c.source_key.in_(list(rows))
                )
            ).all()
        )
        registry.record_imported(
            conn,
            list(ids.values()),
            reasons={ids[k]: f"{reason}，第 {r} 行" for k, r in rows.items()},
            actor=actor,
            now=now,
        )
