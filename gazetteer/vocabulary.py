"""The registry's coded values, declared once in ``gazetteer/data/vocabularies.csv``.

The proposal kinds and states (stored in ``proposals``, labelled on every page) and the
kinds and urgencies of the officers' due list (``gazetteer.approval.due_items``; the
statuses in the table's order, most urgent first).
"""

from __future__ import annotations

from pathlib import Path

from gazetteer.core.vocabulary import read_table, read_terms

_VOCABULARIES = read_terms(
    read_table(Path(__file__).resolve().parent / "data" / "vocabularies.csv")
)
PROPOSAL_KIND_TERMS = _VOCABULARIES["proposal_kinds"]
PROPOSAL_STATE_TERMS = _VOCABULARIES["proposal_states"]
DUE_STATUS_TERMS = _VOCABULARIES["due_statuses"]
DUE_KIND_TERMS = _VOCABULARIES["due_kinds"]
