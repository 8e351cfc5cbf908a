"""The ``gdgis`` command line: set up the store, import and export data, serve the app.

gdgis db upgrade            create or upgrade the schema (Alembic migrations)
gdgis import-data           load the shipped Guangdong data (idempotent)
gdgis import-office FILE    bring an office's own place-name file in (see webmap/cli_import.py)
gdgis export LAYER -f gpkg  write a layer as GeoJSON, GeoPackage or CSV
gdgis serve                 upgrade, import if empty, and serve on 127.0.0.1:5000
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import click
import sqlalchemy as sa

from boundaries.schema import SCHEMA, marker_states_problem
from gazetteer import importer
from gazetteer.core import migrate
from gazetteer.core.errors import DomainError
from gazetteer.core.settings import (
    SettingsError,
    describe_settings,
    load_settings,
    undeclared_variables,
)
from gazetteer.core.store import Store
from gazetteer.layers import EXPORT_FORMATS, write_layer
from gazetteer.tables import places
from webmap.cli_output import FORCE_HELP, check_output, replacing
from webmap.cli_params import PORT, RECORD_ID, count


class Refused(click.ClickException):
    """A command refused before it changed anything: one line on stderr, exit 2 (e.g. the
    store named by the settings is not there: a mistyped --data-dir must not quietly
    create an empty store)."""

    exit_code = 2


def upgrade_schema(store: Store) -> None:
    """``migrate.upgrade`` to the code's heads, refusing in one line (``Refused``) when the
    store is at a revision this code has no file for, or a migration would leave a foreign
    key pointing nowhere (nothing changed either way)."""
    try:
        migrate.upgrade(store, SCHEMA)
    except migrate.SchemaMismatch as exc:
        raise Refused(str(exc)) from None


class Context:
    def __init__(self, overrides: dict):
        self.overrides = overrides
        self.settings = load_settings(overrides)
        self._store: Store | None = None
        self._set_up = False  # existing_store has seen the schema revision

    def _open(self) -> Store:
        if self._store is None:
            try:
                self._store = Store(
                    self.settings["DATABASE_URL"], read_url=self.settings["READ_DATABASE_URL"]
                )
            except ModuleNotFoundError as exc:  # a PostgreSQL URL without its driver
                raise Refused(
                    f"数据库驱动 {exc.name} 未安装：PostgreSQL 存储请安装 pip install -e '.[postgres]'"
                ) from None
            except OSError as exc:  # the SQLite file's directory cannot be made
                raise Refused(
                    f"无法创建存储目录 {exc.filename}：{exc.strerror}"
                    "（--data-dir / GDGIS_DATA_DIR 是否写错？）"
                ) from None
        return self._store

    def _sqlite_file(self) -> Path | None:
        url = sa.engine.make_url(self.settings["DATABASE_URL"])
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def existing_store(self, *, need_schema: bool = True) -> Store:
        """The configured store, which must already exist (and, with ``need_schema``, carry
        a schema revision); otherwise ``Refused`` naming the path, before any file or
        directory is created."""
        if self._store is None:
            file = self._sqlite_file()
            if file is not None and not file.is_file():
                raise Refused(
                    f"没有存储：{file} 不存在（--data-dir / GDGIS_DATA_DIR 是否写错？"
                    "新建存储请运行 gdgis db upgrade）"
                )
        store = self._open()
        if need_schema and not self._set_up:
            self._set_up = bool(migrate.current_revisions(store))
        if need_schema and not self._set_up:
            where = store.engine.url.render_as_string(hide_password=True)
            raise Refused(f"{where} 没有架构版本，不是已建好的存储（新建请运行 gdgis db upgrade）")
        return store

    @property
    def store(self) -> Store:
        """The store an operator command works on: it must exist and be set up."""
        return self.existing_store()

    def store_to_set_up(self) -> Store:
        """The store for the commands that create it (db upgrade, import-data, serve,
        admin create-user): opened, created if missing."""
        return self._open()

    def close(self) -> None:
        # Close pooled connections when the command ends (a PostgreSQL connection left to
        # the garbage collector warns; in-process callers such as tests run many commands).
        if self._store is not None:
            self._store.dispose()
            self._store = None
            self._set_up = False


def all_layers():
    from webmap.layers import LAYERS

    return LAYERS


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Overrides GDGIS_DATA_DIR.")
@click.option("--database-url", help="Overrides GDGIS_DATABASE_URL.")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, database_url: str | None) -> None:
    """广东省地名与行政区域界线 — command line."""
    for hint, value in (("--data-dir", data_dir), ("--database-url", database_url)):
        if value is not None and not value.strip():  # an empty variable in a script
            raise click.BadParameter("为空；不给此选项则使用设置中的存储", param_hint=hint)
    overrides = {k: v for k, v in {"DATA_DIR": data_dir, "DATABASE_URL": database_url}.items() if v}
    ctx.obj = Context(overrides)
    ctx.call_on_close(ctx.obj.close)
    for name, like in undeclared_variables():  # said, not refused: scripts may set others
        guess = f"（是否想写 {like}？）" if like else ""
        click.echo(f"警告：环境变量 {name} 不是本服务的设置，已忽略{guess}", err=True)


@main.group()
def db() -> None:
    """Schema: create, upgrade, show status."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Create or upgrade the schema to the newest revision."""
    store = obj.store_to_set_up()
    upgrade_schema(store)
    click.echo(f"schema at {', '.join(sorted(migrate.current_revisions(store)))} ({store.dialect})")


@db.command("status")
@click.pass_obj
def db_status(obj: Context) -> None:
    """Show the store's schema revisions, the code's heads and what to do."""
    store = obj.existing_store(need_schema=False)
    current, heads = migrate.current_revisions(store), SCHEMA.head_revisions()
    click.echo(f"store: {store.engine.url.render_as_string(hide_password=True)}")
    click.echo(
        f"current: {', '.join(sorted(current)) or '(empty)'}; heads: {', '.join(sorted(heads))}"
    )
    unknown = migrate.unknown_revisions(store, SCHEMA)
    if unknown:
        click.echo(f"refused: {migrate.unknown_revisions_message(unknown)}")
    elif current != heads:
        click.echo("needs: gdgis db upgrade")
    else:
        click.echo(
            f"refused: {problem}" if (problem := marker_states_problem(store)) else "up to date"
        )


def run_import(store: Store, force: bool = False) -> importer.ImportResult:
    total = importer.count_rows_to_import()
    with click.progressbar(length=total, label="导入 importing", file=sys.stderr) as bar:
        result = importer.import_shipped_data(store, progress=bar.update, force=force)
    return result


@main.command("import-data")
@click.option(
    "--force", is_flag=True, help="Compare row by row even if the data checksum is unchanged."
)
@click.pass_obj
def import_data(obj: Context, force: bool) -> None:
    """Import the shipped data in data/ (running it twice changes nothing)."""
    store = obj.store_to_set_up()
    upgrade_schema(store)
    result = run_import(store, force)
    click.echo(
        json.dumps(
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "superseded": result.superseded,
            },
            ensure_ascii=False,
        )
    )


@main.command("export")
@click.argument("layer")
@click.option("-f", "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="geojson")
@click.option("-o", "--output", help="Default: <layer>.<format>")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.pass_obj
def export(obj: Context, layer: str, fmt: str, output: str | None, force: bool) -> None:
    """Write a layer (see `gdgis layers`) as GeoJSON, GeoPackage or CSV (UTF-8 with BOM)."""
    layers = {layer_.id: layer_ for layer_ in all_layers()}
    if layer not in layers:
        raise click.BadParameter(f"unknown layer {layer!r}; known: {', '.join(layers)}")
    path = check_output(f"{layer}.{fmt}" if output is None else output, force, obj.store)
    frame = layers[layer].frame(obj.store)
    with replacing(path) as scratch:
        write_layer(frame, fmt, scratch, layer)
    click.echo(f"{len(frame)} features -> {path}")


@main.command("layers")
def list_layers() -> None:
    """List the layers that can be exported."""
    for layer in all_layers():
        flag = "  [演示数据 demonstration data]" if layer.demonstration else ""
        click.echo(f"{layer.id:20} {layer.geometry_type:16} {layer.title}{flag}")


@main.command("settings")
@click.pass_obj
def settings(obj: Context) -> None:
    """Show every setting: its environment variable, the value in effect and where it came
    from (option, environment or default), the default and the help."""
    for s in describe_settings(obj.overrides):
        value = s["value"]
        shown = str(value) if isinstance(value, Path) else repr(value)
        if s["secret"] and s["source"] != "default":
            shown = "(secret)"  # set, and never printed
        click.echo(
            f"{s['name']:32} = {shown}  [{s['source']}; default={s['default']!r}]\n    {s['help']}"
        )


def ensure_ready(store: Store) -> None:
    """Upgrade the schema; import the shipped data, derive the boundary lines and create the
    demonstration marker inventory if the store has none of them."""
    from boundaries.demo import generate_demo_markers
    from boundaries.tables import markers

    upgrade_schema(store)
    if problem := marker_states_problem(store):
        raise Refused(problem)
    with store.read() as conn:
        place_count = conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
        marker_count = conn.execute(sa.select(sa.func.count()).select_from(markers)).scalar()
    if place_count == 0:
        click.echo("store is empty: importing the shipped Guangdong data ...")
        run_import(store)
    if marker_count == 0:
        click.echo("deriving boundary lines and the demonstration marker inventory (演示数据) ...")
        generate_demo_markers(store)


@main.group("boundaries")
def boundaries_group() -> None:
    """Boundary lines, markers and inspection rounds."""


@boundaries_group.command("rebuild-lines")
@click.pass_obj
def rebuild_lines_cmd(obj: Context) -> None:
    """Derive lines and tri-junctions from the division polygons (idempotent)."""
    from boundaries.lines import rebuild_lines

    click.echo(json.dumps(rebuild_lines(obj.store), ensure_ascii=False))


@boundaries_group.command("demo-markers")
@click.option("--seed", default=2020, show_default=True, type=count(0, 2**63 - 1))
@click.pass_obj
def demo_markers_cmd(obj: Context, seed: int) -> None:
    """Create the demonstration marker inventory on the real lines (labelled 演示数据)."""
    from boundaries.demo import generate_demo_markers

    click.echo(json.dumps(generate_demo_markers(obj.store, seed=seed), ensure_ascii=False))


@boundaries_group.command("staff")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, e.g. 张伟")
@click.option("--organisation", required=True, help="e.g. 韶关市民政局")
@click.option("--side", "side_code", required=True, help="Division code the account works for")
@click.option("--title", "job_title", default=None, help="Job title, e.g. 区划地名科科长")
@click.pass_obj
def staff_cmd(obj: Context, username: str, full_name, organisation, side_code, job_title) -> None:
    """Register which side (division) an account works for, with the person's name and
    organisation: round teams, approvals and witnesses are checked against it."""
    from boundaries.staff import set_profile
    from gazetteer.core.actors import Actor

    admin = Actor("system:cli", frozenset({"admin"}))
    data = {
        "full_name": full_name,
        "organisation": organisation,
        "side_code": side_code,
        "job_title": job_title,
    }
    click.echo(json.dumps(set_profile(obj.store, username, data, admin), ensure_ascii=False))


@boundaries_group.command("export-round")
@click.argument("round_id", type=RECORD_ID)
@click.option("-o", "--output", required=True)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.pass_obj
def export_round_cmd(obj: Context, round_id: int, output: str, force: bool) -> None:
    """Write an inspection round (line, markers, inspections) as a GeoPackage."""
    from boundaries.report import export_round

    path = check_output(output, force, obj.store)
    with replacing(path) as scratch:
        export_round(obj.store, round_id, scratch)
    click.echo(f"-> {path}")


def check_port_free(host: str, port: int) -> None:
    """Refuse (one line, exit 2) when ``host:port`` cannot be bound, e.g. another
    ``gdgis serve`` listens there, rather than let gunicorn retry and fail after saying it
    serves. SO_REUSEADDR as gunicorn binds: a port left in TIME_WAIT is free."""
    import socket

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise Refused(f"无法解析 --host {host}：{exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise Refused(
                f"{host}:{port} 无法监听（{exc.strerror}）：另一个 gdgis serve 或其他程序"
                "正在使用此端口；请换 --port 或先停止它"
            ) from None


RESTORE_WAIT_S = 600.0  # how long `gdgis serve` waits for a running restore to finish


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=PORT)
@click.option(
    "--workers",
    default=None,
    type=count(1, 64),
    help="gunicorn worker processes  [default: one per CPU core]",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=count(1, 256),
    help="threads per worker.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """Set up the store if needed and serve the app with gunicorn: one worker process per
    core by default. The lookup indexes are built once here, before the workers start:
    on a SQLite store file into shared index files each worker maps, otherwise in memory
    (the workers inherit them); each worker then keeps them current from the change log."""
    from gunicorn.app.base import BaseApplication

    from gazetteer.core import serving
    from webmap import create_app, gunicorn_conf
    from webmap.context import lookup

    check_port_free(host, port)  # before "serving on …" and before any slow setup
    store = obj.store_to_set_up()
    workers = workers or os.cpu_count() or 1
    # Before the store is touched: a restore running now holds it (and the schema upgrade
    # would wait on SQLite's lock without a word); wait for it, saying why.
    serving_lock = serving.hold_while_serving(
        store, wait_s=RESTORE_WAIT_S, on_wait=lambda m: click.echo(m, err=True)
    )
    ensure_ready(store)
    app = create_app(obj.overrides, store=store)
    gunicorn_conf.log_lookup_events()
    with app.app_context():
        click.echo(
            "building the lookup indexes ..."
            if store.dialect != "postgresql"
            # The database searches: a worker keeps only the chain lexicon (divisions).
            else "reading the division names for chains of names ..."
        )
        lookup().warm()
        # With index files (SQLite) the base is now built once; each worker maps it when it
        # starts (gunicorn_conf.post_worker_init), and the master holds none.
        lookup().release_shared_files()
    # No connection may cross gunicorn's fork into the worker: the worker opens its own.
    store.dispose()

    class Server(BaseApplication):
        def load_config(self):
            gunicorn_conf.apply_to(self.cfg)
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "accesslog": "-",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    click.echo(f"serving on http://{host}:{port}/ with {workers} worker(s) × {threads} threads")
    # What the master made (the app, pypinyin's dictionaries, the lookup indexes) is
    # inherited by every worker: frozen before the fork, no worker's collector writes to
    # those objects, so their pages stay shared instead of being copied into each worker.
    gc.collect()
    gc.freeze()
    try:
        Server().run()
    finally:
        if serving_lock is not None:
            serving_lock.release()


from webmap.cli_admin import admin  # noqa: E402  (accounts, backup, audit: webmap/cli_admin.py)
from webmap.cli_import import import_office  # noqa: E402  (office files: webmap/cli_import.py)

main.add_command(admin)
main.add_command(import_office)


def run() -> None:
    try:
        main(standalone_mode=True)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except SettingsError as exc:  # a bad GDGIS_ variable: one line naming it, no traceback
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except sa.exc.DatabaseError as exc:
        if "file is not a database" not in str(exc.orig):
            raise
        # A store URL or data dir that names some other file (a copy of README.md, a backup
        # manifest): SQLite finds out at the first read. The file is left as it was.
        click.echo(
            "error: 存储文件不是 SQLite 数据库（file is not a database）："
            "请检查 GDGIS_DATABASE_URL / --database-url / --data-dir",
            err=True,
        )
        sys.exit(2)


@main.command("cleanup-build")
@click.option("--division", default=None, help="Only the names of this division code and below.")
@click.pass_obj
def cleanup_build(obj: Context, division: str | None) -> None:
    """Check the names in force with the naming rules and put the 大洋怪重 ones on the
    clean-up worklist (民发〔2018〕146号; docs/campaigns.md). Prints the counts as JSON."""
    from gazetteer import cleanup
    from gazetteer.core.actors import Actor
    from gazetteer.rules import NameCorpus

    if division is not None and not division.strip():
        raise click.BadParameter("为空；全省请不给 --division", param_hint="--division")
    actor = Actor("system:cli", frozenset({"officer"}))
    result = cleanup.build_worklist(
        obj.store, actor, lambda: NameCorpus.from_store(obj.store), division=division
    )
    click.echo(json.dumps(result, ensure_ascii=False))


@main.command("correct-readings")
@click.option("--apply", "apply_", is_flag=True, help="Write the corrections (default: list them).")
@click.pass_obj
def correct_readings(obj: Context, apply_: bool) -> None:
    """Romanizations that the reviewed place readings (place_readings.csv) give differently:
    list them as JSON lines, or with --apply rewrite them, each a recorded change
    (place_versions 'corrected', the old form kept)."""
    from gazetteer import readings
    from gazetteer.core.actors import Actor

    if not apply_:
        for c in readings.reading_corrections(obj.store):
            click.echo(json.dumps(c, ensure_ascii=False))
        return
    actor = Actor("system:cli", frozenset({"officer"}))
    click.echo(json.dumps(readings.apply_reading_corrections(obj.store, actor), ensure_ascii=False))


if __name__ == "__main__":
    run()
