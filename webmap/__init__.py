"""The Flask web application: pages, JSON API and OGC API over the domain packages.

``create_app`` is the application factory (Flask tutorial style). Routes stay thin: they
parse HTTP, call a domain function and render its result; typed domain errors become
HTTP responses in one place (``webmap.errors``).
"""

from __future__ import annotations

import inspect
import logging
import types
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

import boundaries.inspections
import boundaries.schema  # every table of the app on the shared metadata
from gazetteer import registry
from gazetteer.core import serving
from gazetteer.core.migrate import SchemaMismatch
from gazetteer.core.settings import SettingsError, load_settings
from gazetteer.core.store import Store
from gazetteer.lookup import LookupService
from webmap import context
from webmap.compression import GzipResponses
from webmap.import_jobs import ImportJobs

log = logging.getLogger(__name__)

BLUEPRINT_MODULES = (
    "webmap.public",
    "webmap.api",
    "webmap.ogc",
    "webmap.search_api",
    "webmap.notices",
    "webmap.registry_api",
    "webmap.officer",
    "webmap.boundaries_api",
    "webmap.boundaries_pages",
    "webmap.auth",
    "webmap.fieldwork",
    "webmap.basemap",
    "webmap.imports",
    "webmap.campaigns",
)


class GazetteerApp(Flask):
    """Flask, asking once per function whether a view or hook is a coroutine function.

    Flask asks on every request, for the view and each hook (``ensure_sync``: nine times
    for an anonymous search, a tenth of Flask's own time on it), and the answer cannot
    change for a function. Held weakly: a function made for one request (a closure given
    to ``after_this_request``) is not kept. Other callables are asked as Flask does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def ensure_sync(self, func: Callable) -> Callable:
        if type(func) is types.FunctionType:
            plain = self._plain_functions.get(func)
            if plain is None:
                plain = self._plain_functions[func] = not inspect.iscoroutinefunction(func)
            if plain:
                return func
        return super().ensure_sync(func)


def create_app(
    test_config: Mapping[str, Any] | None = None, *, store: Store | None = None
) -> GazetteerApp:
    """Build the app. ``test_config`` overrides settings (see ``gazetteer.core.settings``);
    ``store`` lets tests hand in an already migrated store."""
    settings = load_settings(test_config)
    try:  # the settings module cannot know the survey methods (boundaries' vocabulary)
        settings["MARKER_DISTANCE_GUARD_M"] = boundaries.inspections.distance_guards(
            settings["MARKER_DISTANCE_GUARD_M"]
        )
    except ValueError as exc:
        raise SettingsError(f"GDGIS_MARKER_DISTANCE_GUARD_M: {exc}") from None
    app = GazetteerApp(__name__)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_MB"] * 1024 * 1024
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings["SESSION_COOKIE_SECURE"]
    from webmap.output import GazetteerJSONProvider, GazetteerResponse

    app.response_class = GazetteerResponse
    # ISO 8601 dates, text that encodes; request bodies with a repeated key refused
    # (webmap.output)
    app.json = GazetteerJSONProvider(app)
    if settings["PROXY_HOPS"]:
        # Behind nginx: take the client address and scheme from X-Forwarded-* (set by that
        # many trusted proxies), or every client would share the proxy's rate-limit bucket.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if settings.get("SECRET_KEY_GENERATED"):
        log.warning(
            "GDGIS_SECRET_KEY is not set: using a random key, sessions end when the app restarts"
        )

    # App-wide services, built once here and reached through webmap.context.
    store = store or Store(settings["DATABASE_URL"], read_url=settings["READ_DATABASE_URL"])
    # marker_states.csv and the store must agree (a state shipped without its migration, a
    # state records hold removed): refuse to start, in one line, rather than fail when a
    # record in that state is written or read.
    problem = boundaries.schema.marker_states_problem(store)
    if problem:
        raise SchemaMismatch(problem)
    # While this app lives, `gdgis admin restore` refuses to replace its store.
    serving_lock = serving.hold_while_serving(store)
    if serving_lock is not None:
        weakref.finalize(app, serving_lock.release)
    app.extensions[context.STORE] = store
    app.extensions[context.LOOKUP] = lookup_service = LookupService(
        store, index_files=settings["LOOKUP_INDEX_FILES"], rebuild=settings["LOOKUP_REBUILD"]
    )
    lookup_service.prepare_store()
    # A training instance may run its registry clock ahead (docs/training.md); load_settings
    # refuses an offset anywhere else.
    training = settings["TRAINING_INSTANCE"]
    offset_days = settings["TRAINING_CLOCK_OFFSET_DAYS"]
    app.extensions[context.CLOCK] = (
        registry.offset_clock(offset_days) if training and offset_days else registry.utcnow
    )
    app.extensions[context.IMPORT_JOBS] = ImportJobs()

    from webmap import errors

    errors.register(app)
    from webmap import openapi, read_your_writes, security, server_timing

    read_your_writes.init_app(app, store)  # first: the sign-in check reads, too

    security.init_app(app)
    server_timing.init_app(app)
    openapi.init_app(app)  # after the sign-in and rate checks: a 401 before a 400
    import importlib

    for module_name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module_name).bp)
    GzipResponses().init_app(app)  # after the blueprints: it sees their final responses

    from boundaries import vocabulary

    # Codes and their labels/colours are declared once (boundaries.vocabulary): templates
    # label codes with zh(vocabulary, code), and base.html hands the table to the scripts.
    app.jinja_env.globals["zh"] = vocabulary.label
    from gazetteer.core.dates import date_as_known, format_local_date, format_local_time

    app.jinja_env.filters["local_date"] = format_local_date  # YYYY-MM-DD, Asia/Shanghai
    app.jinja_env.filters["local_time"] = format_local_time  # YYYY-MM-DD HH:MM, Beijing
    app.jinja_env.filters["as_known"] = date_as_known  # 1992 -> 1992年: the source's precision
    boundary_vocabulary = vocabulary.vocabulary_document()
    from webmap.tile_sources import tile_sources

    basemap = tile_sources(app.config)

    @app.context_processor
    def _template_globals():
        return {
            "training": {
                "offset_days": offset_days,
                "today": registry.civil_date(app.extensions[context.CLOCK]()),
            }
            if training
            else None,
            "tile_url": app.config["TILE_URL"],
            "tile_attribution": app.config["TILE_ATTRIBUTION"],
            "boundary_vocabulary": boundary_vocabulary,
            "basemap": basemap,
        }

    if training:

        @app.after_request
        def _mark_training(response):
            # Scripts see it too: answers from a training instance are not the registry's.
            response.headers["X-GDGIS-Training"] = f"offset-days={offset_days}"
            return response

    return app
