"""OpenAPI paths of the public lookup additions: place pages as JSON, notices (公示) with
public opinions, announcements (公告), the registry change feed and historical divisions."""

from webmap.responses import error, json_content, operation

_OPINION = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["body"],
                "properties": {
                    "body": {"type": "string", "minLength": 5, "maxLength": 2000},
                    "author": {"type": "string", "maxLength": 50},
                },
            }
        }
    },
}

PATHS = {
    "/api/places/{place_id}/public": {
        "get": operation(
            "What the public place page shows: record, division links, map "
            "(own geometry or its division's), former names, changes with approving body",
            "Public place view",
        )
    },
    "/api/notices": {
        "get": operation(
            "Proposals on public notice (公示) with reasons, location and period",
            "{notices: [...]}",
        )
    },
    "/api/notices/{proposal_id}": {
        "get": operation(
            "One notice as its page shows it: open, upcoming, or closed with its outcome "
            "(outcome_zh, result_place_id)",
            "A notice",
            responses={"404": error("Never on notice")},
        )
    },
    "/api/notices/{proposal_id}/opinions": {
        "post": operation(
            "Leave a public opinion on a notice (anyone; CSRF token of the session; 5-2000 "
            "characters; at most 3 per address per notice, 10 per day)",
            json_content("The stored opinion"),
            status="201",
            body=_OPINION,
            responses={
                "400": error("Bad text or CSRF token"),
                "404": error("Not on notice"),
                "409": error("Notice period over, or an address limit reached"),
            },
        )
    },
    "/api/announcements": {
        "get": operation(
            "Announcements (公告) of approved names, newest first", "{announcements: [...]}"
        )
    },
    "/api/changes": {
        "get": operation(
            "Every change to the registry after `since` (a sequence number, or an ISO 8601 "
            "instant with zone), oldest first, for harvesters",
            "{changes: [...], next_since, more}",
        )
    },
    "/api/divisions/as-of": {
        "get": operation(
            "Guangdong's city- and county-level divisions on a past date (since 1979)",
            "{date, divisions: [{code, name, parent_code}]}",
        )
    },
}
