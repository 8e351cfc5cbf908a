"""The whole application's schema: the gazetteer's plus the boundaries' tables and migrations.

The boundaries migrations come after the gazetteer's (they reference divisions and install
audit triggers on the gazetteer's audit log)."""

from pathlib import Path

import boundaries.tables  # noqa: F401  (declares lines, markers, inspections, …)
from gazetteer.core.migrate import Schema
from gazetteer.schema import SCHEMA as GAZETTEER_SCHEMA

SCHEMA = GAZETTEER_SCHEMA + Schema((Path(__file__).parent / "migrations",))
