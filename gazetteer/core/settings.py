"""Every setting of the system, declared once: name, default, help and validator.

Values come from (highest first) explicit overrides (tests, the app factory's
``test_config``), environment variables ``GDGIS_<NAME>``, then the defaults below.
``load_settings`` validates all of them at start-up, so a bad value stops the app
with a clear message instead of failing later. Secrets are read only from the
environment.
"""

from __future__ import annotations

import difflib
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "GDGIS_"


def _path(value: Any) -> Path:
    return Path(value).expanduser().resolve()


def _directory(value: Any) -> Path:
    """A directory that exists or can be made: not empty (which would mean the working
    directory, ``/`` under a service manager), and neither it nor the nearest existing
    folder above it a file. Nothing is created here."""
    text = str(value).strip()
    if not text:
        raise ValueError("must be a directory path (it is empty)")
    path = _path(text)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a directory")
    return path


def _at_least(convert: type[int] | type[float], *, zero_allowed: bool, message: str):
    """A validator that converts with ``convert`` and refuses negative numbers, and 0
    unless ``zero_allowed``, with ``message``."""

    def validate(value: Any):
        try:
            number = convert(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(message) from None
        # nan compares false with everything, so it would pass the range check below.
        if not math.isfinite(number) or number < 0 or (number == 0 and not zero_allowed):
            raise ValueError(message)
        return number

    return validate


_positive_int = _at_least(int, zero_allowed=False, message="must be a positive integer")
_non_negative_int = _at_least(int, zero_allowed=True, message="must be 0 or a positive integer")
_positive_float = _at_least(float, zero_allowed=False, message="must be a positive number")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    # An empty value is refused rather than read as false: `GDGIS_PIN_WORKERS=` in an
    # environment file more likely lost its value than meant "off".
    raise ValueError("must be true or false")


def _str(value: Any) -> str:
    return str(value)


def _optional_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _key_list(value: Any) -> list[str] | None:
    keys = [key.strip() for key in str(value).split(",") if key.strip()]
    return keys or None


def _database_url(*backends: str):
    """A validator of an optional SQLAlchemy URL whose backend is one of ``backends``: a
    mistyped URL is refused at start-up, naming the variable, not at the first query."""
    examples = {
        "sqlite": "sqlite:///path/to/gdgis.sqlite",
        "postgresql": "postgresql+psycopg://user@host/db",
    }
    expected = " or ".join(examples[b] for b in backends)

    def validate(value: Any) -> str | None:
        if value in (None, ""):
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(str(value))
        except (ArgumentError, ValueError):
            raise ValueError(f"not a database URL: expected {expected}") from None
        backend = url.get_backend_name()
        if backend not in backends:
            raise ValueError(f"database {backend!r} is not supported: expected {expected}")
        if backend == "sqlite" and (
            url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        ):
            raise ValueError(f"an in-memory database keeps nothing: expected {expected}")
        return str(value)

    return validate


def _metres_by_method(value: Any) -> dict[str, float]:
    """``rtk=1,total_station=1,gnss_handheld=10`` (or a dict): metres per survey method."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = [part.split("=", 1) for part in str(value).split(",") if part.strip()]
    result = {}
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError("must be method=metres pairs separated by commas")
        method, metres = str(pair[0]).strip(), float(pair[1])
        if not method or not 0 < metres <= 1000:
            raise ValueError(f"{method}: metres must be in (0, 1000]")
        result[method] = metres
    return result


BASEMAPS = ("none", "tianditu_vector", "tianditu_imagery", "custom", "offline")


# How a serving worker gets a new index base (gazetteer.lookup.LookupService ``rebuild``):
# "isolated" is the product's; the others are the earlier behaviours, kept as the
# baselines of benchmarks/bench_workers.py.
LOOKUP_REBUILDS = ("isolated", "child-no-trim", "in-worker")


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return validate


_basemap = _one_of(BASEMAPS)


def _optional_file(value: Any) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(value).expanduser().resolve()
    if path.suffix.lower() != ".mbtiles":
        raise ValueError("must be an .mbtiles file")
    return path


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    validate: Callable[[Any], Any] = _str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATA_DIR",
        "./var",
        "Directory holding the embedded SQLite store, uploads and backups.",
        _directory,
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the store. Empty: sqlite:///<DATA_DIR>/gdgis.sqlite. "
        "postgresql+psycopg://... selects PostgreSQL + PostGIS.",
        _database_url("sqlite", "postgresql"),
    ),
    Setting(
        "READ_DATABASE_URL",
        None,
        "Optional SQLAlchemy URL of a PostgreSQL streaming replica for reads. Writes, and a "
        "user's reads until the replica has replayed that user's last write, stay on "
        "DATABASE_URL.",
        _database_url("postgresql"),
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Flask session and CSRF signing key (environment only).",
        _optional_str,
        secret=True,
    ),
    Setting(
        "SECRET_KEY_FALLBACKS",
        None,
        "Former SECRET_KEYs, comma-separated, still accepted for signed-in sessions while "
        "a changed key rolls out (environment only; sessions signed with them stay valid, "
        "forms opened before the change ask to be sent again). Remove them after a day.",
        _key_list,
        secret=True,
    ),
    Setting(
        "MAX_UPLOAD_MB",
        20,
        "Largest accepted request body (uploads, GeoJSON), in MiB.",
        _positive_int,
    ),
    Setting(
        "IMPORT_MAX_UPLOAD_MB",
        1024,
        "Largest office file accepted by the import page (Shapefile zip, GeoPackage, CSV, "
        "Excel), in MiB; larger files go through `gdgis import-office`.",
        _positive_int,
    ),
    Setting(
        "MAX_GEOJSON_VERTICES",
        200_000,
        "Largest accepted number of vertices in one uploaded geometry.",
        _positive_int,
    ),
    Setting(
        "TILE_URL",
        None,
        "Optional XYZ base-map tile template, e.g. a 天地图 URL with its key. "
        "Empty: no base map (the map works without one).",
        _optional_str,
    ),
    Setting("TILE_ATTRIBUTION", "", "Attribution text shown for TILE_URL.", _str),
    Setting(
        "MARKER_MOVED_TOLERANCE_M",
        1.0,
        "Displacement (metres, geodesic) beyond which an inspected boundary marker counts as moved.",
        _positive_float,
    ),
    Setting(
        "MARKER_DISTANCE_GUARD_M",
        "rtk=1,total_station=1,gnss_handheld=10",
        "Distance guard by survey method (method=metres, comma-separated): an inspection "
        "position further than this from the registered marker position is saved only with "
        "the inspector's explicit 'the marker has moved' confirmation.",
        _metres_by_method,
    ),
    Setting(
        "BASEMAP",
        "none",
        "Base map under the map pages: none, tianditu_vector or tianditu_imagery (天地图, "
        "needs TIANDITU_KEY), custom (TILE_URL) or offline (the OFFLINE_BASEMAP package).",
        _basemap,
    ),
    Setting(
        "TIANDITU_KEY",
        None,
        "天地图 API key (tk) for the tianditu_* base maps. Secret: environment only.",
        _optional_str,
        secret=True,
    ),
    Setting(
        "OFFLINE_BASEMAP",
        None,
        "An MBTiles (.mbtiles) raster tile package the operator supplies; the app serves its "
        "tiles at /basemap/tiles/{z}/{x}/{y} for BASEMAP=offline and for saving on devices.",
        _optional_file,
    ),
    Setting(
        "OFFLINE_TILES_MAX_MB",
        50,
        "Most megabytes of base-map tiles /inspect saves on a device for one round.",
        _positive_int,
    ),
    Setting(
        "LOOKUP_INDEX_FILES",
        True,
        "On a SQLite store file: build the search and nearest-place indexes once per data "
        "version into files beside the store (<store>.index/) that every worker maps, "
        "instead of one copy in each worker's memory (docs/lookup.md).",
        _bool,
    ),
    Setting(
        "PIN_WORKERS",
        True,
        "On Linux, with no more gunicorn workers than CPU cores: keep each worker on a core "
        "of its own (a search then finds its data still in that core's caches; "
        "docs/deployment.md). false: let the kernel move workers between cores.",
        _bool,
    ),
    Setting(
        "LOOKUP_REBUILD",
        "isolated",
        "How a worker gets a new index base after a division change (docs/lookup.md): "
        "isolated = built in a short-lived child process, the worker's freed memory handed "
        "back after the swap; child-no-trim and in-worker are the earlier behaviours, kept "
        "as benchmark baselines (the worker's memory grows by every rebuild).",
        _one_of(LOOKUP_REBUILDS),
    ),
    Setting(
        "RATE_LIMIT_PER_MINUTE",
        600,
        "Public requests allowed per client address per minute.",
        _positive_int,
    ),
    Setting(
        "PAGING_RATE_LIMIT_PER_MINUTE",
        6000,
        "Follow-on pages (offset > 0) of OGC API items a client may read per minute: a budget "
        "apart from RATE_LIMIT_PER_MINUTE so that GDAL/QGIS can page through a whole layer "
        "with their default page size (GDAL 3.6: 10 features a page).",
        _positive_int,
    ),
    Setting(
        "TOKEN_RATE_LIMIT_PER_MINUTE",
        1200,
        "Requests allowed per account per minute to scripts using API tokens "
        "(counted per account, whatever the number of tokens or addresses).",
        _positive_int,
    ),
    Setting(
        "PROXY_HOPS",
        0,
        "Number of trusted reverse proxies (nginx: 1) whose X-Forwarded-For/-Proto/-Host "
        "headers give the client address and scheme. 0: use the connection's address.",
        _non_negative_int,
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        False,
        "Send the session cookie over HTTPS only (set true behind TLS).",
        _bool,
    ),
    Setting(
        "MIN_NOTICE_DAYS",
        30,
        "Shortest public notice (公示) of a naming proposal, in calendar days counting the first "
        "and last day. A WORKING DEFAULT: no Guangdong rule fixing the length was read for this "
        "project (docs/registry.md, 'Notice period'); 30 days is chosen as the conservative "
        "figure. Set it to the provincial or municipal rule's number once sourced.",
        _positive_int,
    ),
    Setting(
        "TRAINING_INSTANCE",
        False,
        "Mark this instance as a training/demonstration server (培训演示环境): every page shows "
        "a banner saying so. Required for TRAINING_CLOCK_OFFSET_DAYS. Never on a live server.",
        _bool,
    ),
    Setting(
        "TRAINING_CLOCK_OFFSET_DAYS",
        0,
        "Training only: days added to the service clock, so a trainee can walk a 30-day "
        "notice to in force in one session (docs/training.md). The app refuses to start "
        "with a non-zero value unless TRAINING_INSTANCE is true.",
        _non_negative_int,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    pass


SETTING_DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve and validate every declared setting; raise ``SettingsError`` on a bad value
    or an unknown override name."""
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    unknown = [k for k in overrides if k not in _BY_NAME]
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    resolved: dict[str, Any] = {}
    for setting in SETTINGS:
        where = f"setting {setting.name}"
        if setting.name in overrides:
            raw = overrides[setting.name]
        elif ENV_PREFIX + setting.name in environ:
            raw = environ[ENV_PREFIX + setting.name]
            where = ENV_PREFIX + setting.name  # what the operator set, to find and mend
        else:
            raw = setting.default
        try:
            resolved[setting.name] = None if raw is None else setting.validate(raw)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{where}={raw!r}: {exc}") from exc
    if resolved["TRAINING_CLOCK_OFFSET_DAYS"] and not resolved["TRAINING_INSTANCE"]:
        raise SettingsError(
            "TRAINING_CLOCK_OFFSET_DAYS is for training instances only: set "
            "GDGIS_TRAINING_INSTANCE=true on a training server, or remove the offset "
            "(a live registry's dates must be real)"
        )
    if not resolved["DATABASE_URL"]:
        resolved["DATABASE_URL"] = f"sqlite:///{resolved['DATA_DIR'] / 'gdgis.sqlite'}"
    if resolved["READ_DATABASE_URL"] and not resolved["DATABASE_URL"].startswith("postgresql"):
        raise SettingsError(
            "READ_DATABASE_URL names a PostgreSQL streaming replica: it needs a PostgreSQL "
            "DATABASE_URL (the store is SQLite); unset GDGIS_READ_DATABASE_URL"
        )
    if not resolved["SECRET_KEY"]:
        # Development default: a fresh random key per process; sessions end on restart.
        resolved["SECRET_KEY"] = secrets.token_hex(32)
        resolved["SECRET_KEY_GENERATED"] = True
    return resolved


def describe_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The settings table for documentation and ``gdgis settings``: each setting's
    variable, default and help, with the value in effect (``load_settings``; a secret's
    shown as None) and where it came from: ``option``, ``environment`` or ``default``."""
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    resolved = load_settings(overrides, environ)
    rows = []
    for s in SETTINGS:
        source = (
            "option"
            if s.name in overrides
            else "environment"
            if ENV_PREFIX + s.name in environ
            else "default"
        )
        rows.append(
            {
                "name": ENV_PREFIX + s.name,
                "default": None if s.secret else s.default,
                "value": None if s.secret else resolved[s.name],
                "source": source,
                "secret": s.secret,
                "help": s.help,
            }
        )
    return rows


# GDGIS_ variables that the project's scripts and tests read (CI's PostgreSQL, the browser
# tests) or the deployment guide sets (pg_dump's URL): not settings of the service, so not
# reported as misspelt.
OTHER_VARIABLES = frozenset(
    {
        "GDGIS_CHROMIUM",
        "GDGIS_CI_STORES",
        "GDGIS_DATABASE_URL_LIBPQ",
        "GDGIS_PG_DB",
        "GDGIS_PG_DIR",
        "GDGIS_PG_PORT",
        "GDGIS_PG_REPLICA_PORT",
        "GDGIS_PG_VERSION",
        "GDGIS_SCREENSHOT_DIR",
        "GDGIS_TEST_DATABASE_URL",
        "GDGIS_TEST_REPLICA_URL",
    }
)


def undeclared_variables(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """(name, the declared variable it is most like, or None) for each ``GDGIS_`` variable
    in ``environ`` that no setting declares, sorted by name: a misspelt name (PIN_WORKERS
    without its S) would otherwise be ignored without a word."""
    environ = os.environ if environ is None else environ
    declared = [ENV_PREFIX + s.name for s in SETTINGS]
    return [
        (name, next(iter(difflib.get_close_matches(name, declared, n=1, cutoff=0.8)), None))
        for name in sorted(environ)
        if name.startswith(ENV_PREFIX) and name not in declared and name not in OTHER_VARIABLES
    ]
