"""Naming-rules compliance checker (地名命名规则).

``check_name(name, feature_class, division_path, corpus)`` returns :class:`Finding` objects
(rule id, severity blocking/warning/note, Chinese message, source, conflicting records);
``NameCorpus`` indexes existing names by jurisdiction for the duplicate and homophone rules;
``survey`` runs the checker over a whole set of records. Rule data (lexicons, exemptions,
generic terms, jurisdictions, surnames, brands) lives in ``gazetteer/rules/data/``.
"""

from gazetteer.rules.checker import SEVERITIES, Finding, check_name
from gazetteer.rules.corpus import NameCorpus, jurisdiction_code, jurisdiction_rule
from gazetteer.rules.lexicons import load_rule_data, reload_rule_data
from gazetteer.rules.survey import survey, survey_markdown

__all__ = [
    "SEVERITIES",
    "Finding",
    "NameCorpus",
    "check_name",
    "jurisdiction_code",
    "jurisdiction_rule",
    "load_rule_data",
    "reload_rule_data",
    "survey",
    "survey_markdown",
]
