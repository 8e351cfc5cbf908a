"""Access to per-app objects from request handlers."""

from flask import current_app

from gazetteer.core.store import Store


def store() -> Store:
    return current_app.extensions["gdgis.store"]


def clock():
    """The current UTC instant: real time, or the clock tests put in
    ``app.extensions["gdgis.clock"]``."""
    from gazetteer.registry import utcnow

    return current_app.extensions.get("gdgis.clock", utcnow)()
