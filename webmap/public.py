"""Public pages: the map of Guangdong's divisions."""

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render_template("index.html")
