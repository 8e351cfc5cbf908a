"""Public pages: the map of Guangdong's divisions (Chinese, or English chrome with ?lang=en)."""

from flask import Blueprint, render_template, request

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render_template("index.html", lang="en" if request.args.get("lang") == "en" else "zh")
