"""Public notices (公示) with opinions, announcements (公告), their Atom feeds and the JSON
change feed of the registry: thin over ``gazetteer.notices``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ET

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from gazetteer import notices
from gazetteer.core.errors import Conflict, InvalidInput
from webmap.context import clock, store
from webmap.errors import page_message
from webmap.schemas import query_args

bp = Blueprint("notices", __name__)
ATOM = "http://www.w3.org/2005/Atom"


def source_digest() -> str:
    """A keyed digest of the client's address: counts opinions per address without storing
    the address (nor anything that can be turned back into it without the app's secret)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, (request.remote_addr or "-").encode(), hashlib.sha256).hexdigest()


def atom_feed(title: str, self_url: str, page_url: str, entries: list[dict]) -> Response:
    """An Atom 1.0 document (RFC 4287). ``entries``: dicts with id, title, updated (RFC
    3339), link and summary."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = self_url
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=page_url)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "广东省地名与行政区域界线"
    # Atom requires <updated>; a feed with no entries was last updated when it was built.
    built = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    updated = max((e["updated"] for e in entries), default=built)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = e["id"]
        ET.SubElement(entry, f"{{{ATOM}}}title").text = e["title"]
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = e["updated"]
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=e["link"])
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = e["summary"]
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n' + body,
        mimetype="application/atom+xml",
    )


def _feed_entry(
    record: dict, label: str, url: str, day: str | None, summary: str, link: str | None = None
) -> dict:
    """A notice's or an announcement's entry (``label`` 公示 or 公告) for ``atom_feed``: ``url``
    is its id and, unless ``link`` is given, its link; ``day`` (YYYY-MM-DD, Beijing time) is
    when it was updated."""
    updated = f"{day}T00:00:00+08:00" if day else "1970-01-01T00:00:00Z"
    title = f"{record['kind_zh']}{label}：{record['name'] or ''}"
    return {"id": url, "title": title, "updated": updated, "link": link or url, "summary": summary}


@bp.get("/notices")
def notices_page():
    return render_template("notices/list.html", items=notices.list_notices(store(), clock=clock))


def _notice_page(proposal_id: int, *, error: str | None = None, form=None) -> str:
    return render_template(
        "notices/notice.html",
        n=notices.get_notice(store(), proposal_id, clock=clock),
        limits={
            "min": notices.OPINION_MIN_CHARS,
            "max": notices.OPINION_MAX_CHARS,
            "author": notices.AUTHOR_MAX_CHARS,
        },
        error=error,
        form=form or {},
    )


def _submit_opinion(proposal_id: int, data) -> dict:
    return notices.submit_public_opinion(
        store(),
        proposal_id,
        body=data.get("body"),
        author=data.get("author"),
        honeypot=data.get("website"),
        source_digest=source_digest(),
        clock=clock,
    )


@bp.get("/notices/<int:proposal_id>")
def notice_page(proposal_id: int):
    return _notice_page(proposal_id)


@bp.post("/notices/<int:proposal_id>/opinions")
def add_opinion(proposal_id: int):
    """The page's form (works without JavaScript): success redirects back to the notice
    with a message; a refusal gets the page again with the message and the text kept."""
    try:
        _submit_opinion(proposal_id, request.form)
    except (InvalidInput, Conflict) as exc:
        status = 400 if isinstance(exc, InvalidInput) else 409
        return _notice_page(proposal_id, error=page_message(exc), form=request.form), status
    flash("意见已提交，审核人员将在审批时看到。谢谢！")
    return redirect(url_for("notices.notice_page", proposal_id=proposal_id, sent=1) + "#opinion")


@bp.post("/api/notices/<int:proposal_id>/opinions")
def add_opinion_json(proposal_id: int):
    """The same for clients: JSON {"body", "author"} → 201 with the opinion; errors in the
    JSON error shape. Needs the session's CSRF token (X-CSRFToken) like the form."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput('请求体应为 JSON 对象：{"body": "…", "author": "…"}')
    return jsonify(_submit_opinion(proposal_id, data)), 201


@bp.get("/notices.atom")
def notices_feed():
    entries = []
    for n in notices.list_notices(store(), clock=clock):
        url = url_for("notices.notice_page", proposal_id=n["id"], _external=True)
        summary = f"公示期 {n['notice_start']} 至 {n['notice_end']}。理由：{n['reasons']}"
        entries.append(_feed_entry(n, "公示", url, n["notice_start"], summary))
    feed_url = url_for("notices.notices_feed", _external=True)
    return atom_feed("地名公示", feed_url, url_for("notices.notices_page", _external=True), entries)


@bp.get("/announcements")
def announcements_page():
    return render_template("notices/announcements.html", items=notices.list_announcements(store()))


@bp.get("/announcements.atom")
def announcements_feed():
    """Each announcement links to its place's page; one without a place, to its own line of
    the announcements page."""
    page = url_for("notices.announcements_page", _external=True)
    entries = []
    for a in notices.list_announcements(store()):
        anchor = f"{page}#a{a['id']}"
        place = a["place_id"]
        link = url_for("lookup.place_page", place_id=place, _external=True) if place else None
        entries.append(_feed_entry(a, "公告", anchor, a["announced_on"], a["text"] or "", link))
    return atom_feed(
        "地名公告", url_for("notices.announcements_feed", _external=True), page, entries
    )


@bp.get("/api/notices")
def notices_json():
    return jsonify({"notices": notices.list_notices(store(), clock=clock)})


@bp.get("/api/notices/<int:proposal_id>")
def notice_json(proposal_id: int):
    """One notice as its page shows it, open or closed with its outcome; 404 when the
    proposal never was on notice."""
    return jsonify(notices.get_notice(store(), proposal_id, clock=clock))


@bp.get("/api/announcements")
def announcements_json():
    return jsonify({"announcements": notices.list_announcements(store())})


@bp.get("/api/changes")
def changes_json():
    """?since=<sequence number>|<ISO 8601 instant with zone>&limit=1..1000"""
    return jsonify(
        notices.registry_changes(store(), query_args()["since"], limit=query_args()["limit"])
    )
