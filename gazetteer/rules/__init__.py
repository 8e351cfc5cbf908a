"""Naming-rules compliance checker (地名命名规则): see ``gazetteer.rules.checker``."""

from gazetteer.rules.lexicons import load_rule_data, reload_rule_data

__all__ = ["load_rule_data", "reload_rule_data"]
