"""Import every table module so ``gazetteer.store.metadata`` knows the whole schema.

Domain packages that add tables register their module in ``TABLE_MODULES``; imports are
by name so that the bottom layer does not import the upper ones at module level.
"""

import importlib

TABLE_MODULES = (
    "gazetteer.tables",
    "boundaries.tables",
    "gazetteer.registry_tables",
    "gazetteer.account_tables",
)

for _name in TABLE_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # pragma: no cover - a missing module is a packaging bug
        raise RuntimeError(f"table module {_name} is missing") from exc
