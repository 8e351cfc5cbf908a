"""Drafting a proposal and taking a workflow step from a request: the one call path of the
JSON API and the officer pages, so both call ``gazetteer.workflow`` with the same
dependencies — the app's store and clock, the current actor, and the lookup service's
naming-rules corpus for ``check`` (kept current, instead of rebuilt for each check)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app

from gazetteer import workflow
from webmap.context import clock, current_actor, lookup, store


def take_step(
    proposal_id: int, action: str, *, version: int, reason: str | None, params: Mapping
) -> dict:
    """Perform ``action`` on the proposal as the current actor; returns the proposal as it
    now stands. Raises the workflow's typed errors (``InvalidInput`` for parameters the
    step does not take, ``Forbidden``, ``Conflict`` ...)."""
    workflow.check_step_params(action, params)
    corpus = lookup().name_corpus() if action == "check" else None
    return workflow.perform(
        store(),
        proposal_id,
        action,
        current_actor(),
        version=version,
        reason=reason,
        clock=clock,
        corpus=corpus,
        min_notice_days=current_app.config["MIN_NOTICE_DAYS"],
        **params,
    )


def draft_proposal(fields: Mapping, *, idempotency_key: str | None = None) -> dict:
    """Draft a proposal as the current actor. ``fields``: kind, applicant, reasons, and
    optionally proposed (the record values), place_id and location (CGCS2000 lon/lat) —
    the API's checked body or the values the page read from its form."""
    draft = workflow.ProposalDraft(**fields)  # no ``proposed`` is refused naming it
    return workflow.create_proposal(
        store(), current_actor(), draft, clock=clock, idempotency_key=idempotency_key
    )
