"""``gdgis import-office``: bring an office's own place-name file in from the command line.

    gdgis import-office FILE --source 天河区地名普查 --office 天河区民政局 --as wang \\
        [--layer 图层] [--map name=标准名称 ...] [--crs EPSG:4547] [--preview-only] \\
        [--skip-errors --reason 理由] [--report errors.csv]

The same steps as the import page (``gazetteer.office_import.runs``), in the name of an
existing user with the officer role. When the file does not state its coordinate system
the command prints its guess and stops until ``--crs`` confirms one.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from gazetteer.core import accounts
from gazetteer.core.errors import DomainError
from gazetteer.office_import import runs
from gazetteer.reverse_postgis import division_locator
from gazetteer.rules import NameCorpus
from webmap.cli_output import FORCE_HELP, check_output, replacing


def _progress(label: str):
    bars: dict = {}

    def update(phase: str, done: int, total: int | None) -> None:
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = click.progressbar(
                length=total or 0, label=f"{label} {phase}", file=sys.stderr
            )
            bar.__enter__()
            bar.done = 0
        bar.update(done - bar.done)
        bar.done = done
        if total and done >= total:
            bar.__exit__(None, None, None)

    return update


@click.command("import-office")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--source",
    "source_name",
    required=True,
    help="数据来源名称（同一来源再次导入时对应同一批记录）",
)
@click.option("--office", required=True, help="登记单位")
@click.option(
    "--as", "username", required=True, help="以哪位审核人员的名义导入（须有 officer 角色）"
)
@click.option("--layer", help="图层或工作表（默认第一个）")
@click.option("--map", "maps", multiple=True, help="字段=列名，如 name=标准名称（覆盖自动识别）")
@click.option("--crs", "crs_tag", help="坐标系：CGCS2000、GCJ02、BD09 或 EPSG:代码")
@click.option("--preview-only", is_flag=True, help="只预览，不写入")
@click.option("--skip-errors", is_flag=True, help="跳过有错误的行（须同时给出 --reason）")
@click.option("--reason", help="跳过错误行的理由（记录在导入批次中）")
@click.option("--report", help="逐行错误报告（CSV）另存到此处")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.pass_obj
def import_office(
    obj,
    file,
    source_name,
    office,
    username,
    layer,
    maps,
    crs_tag,
    preview_only,
    skip_errors,
    reason,
    report,
    force,
) -> None:
    """导入办公室自有的地名数据库（Shapefile zip、GeoPackage、File Geodatabase、CSV、Excel）。"""
    store = obj.store
    report = None if report is None else check_output(report, force, store, hint="--report")
    from webmap.cli import upgrade_schema  # cli imports this module at its end

    upgrade_schema(store)
    work_dir = Path(obj.settings["DATA_DIR"]) / "imports"
    try:
        actor = accounts.active_actor(store, username)
        run = runs.create_run(store, actor, file.resolve(), source_name=source_name, office=office)
        info = runs.describe_layer(store, run["id"], actor, layer)
        mapping = dict(
            run["mapping"] if not layer or layer == run["layer"] else info["guessed_mapping"]
        )
        if info.get("saved") and layer and layer != run["layer"]:
            mapping = info["saved"]["mapping"]
        for item in maps:
            key, _, column = item.partition("=")
            mapping[key.strip()] = column.strip()
        locator = division_locator(store)
        if not crs_tag:
            guess = runs.coordinate_guess(
                store, run["id"], actor, layer=info["name"], mapping=mapping, locator=locator
            )
            if guess.get("stated") or (info.get("saved") or {}).get("crs"):
                crs_tag = guess["tag"] if guess.get("stated") else info["saved"]["crs"]
            elif guess["tag"] is not None:
                click.echo(json.dumps({"run": run["id"], "crs_guess": guess}, ensure_ascii=False))
                raise click.ClickException(
                    f"文件未注明坐标系。推测为 {guess['tag']}（{guess['reason_zh']}）："
                    "请用 --crs 确认后再运行"
                )
        runs.configure(
            store, run["id"], actor, layer=info["name"], mapping=mapping, crs_tag=crs_tag
        )

        def run_step(step, **options):
            """``runs.preview`` or ``runs.write`` on this run, with a progress bar."""
            return step(
                store, run["id"], actor, locator=locator, progress=_progress("导入"), **options
            )

        corpus = NameCorpus.from_store(store)
        result = run_step(runs.preview, corpus=corpus, work_dir=work_dir)
        report_file = runs.report_path(work_dir, run["id"])
        if report:
            with replacing(report) as scratch:
                shutil.copyfile(report_file, scratch)
        click.echo(
            json.dumps(
                {
                    "run": run["id"],
                    "preview": result["counts"],
                    "report": str(report or report_file),
                },
                ensure_ascii=False,
            )
        )
        if preview_only:
            return
        result = run_step(runs.write, skip_errors=skip_errors, skip_reason=reason)
        click.echo(
            json.dumps(
                {
                    "run": run["id"],
                    "state": result["state"],
                    "written": {k: result["counts"][k] for k in ("insert", "update", "unchanged")},
                    "skipped": result.get("skipped_count", 0),
                },
                ensure_ascii=False,
            )
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
