"""Access to per-app objects from request handlers."""

from flask import current_app

from gazetteer.core.store import Store


def store() -> Store:
    return current_app.extensions["gdgis.store"]
