"""The gazetteer's schema: its table modules (imported here, so that the shared metadata
declares them) and its migration folder. ``boundaries.schema`` adds the boundaries'."""

from pathlib import Path

import gazetteer.core.account_tables  # noqa: F401  (declares users, api_tokens, audit_log)
import gazetteer.core.idempotency  # noqa: F401  (declares idempotency_keys)
import gazetteer.core.ratelimit  # noqa: F401  (declares rate_limit_buckets)
import gazetteer.core.store_identity  # noqa: F401  (declares store_identity)
import gazetteer.law_tables  # noqa: F401  (declares division_changes)
import gazetteer.office_import.tables  # noqa: F401  (declares import_runs, import_mappings)
import gazetteer.registry_tables  # noqa: F401  (declares proposals, place_versions, …)
import gazetteer.search_keys  # noqa: F401  (declares place_search_keys)
import gazetteer.tables  # noqa: F401  (declares divisions, places, meta)
from gazetteer.core.migrate import Schema

SCHEMA = Schema((Path(__file__).parent / "migrations",))
