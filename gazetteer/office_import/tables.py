"""Tables of the office import: the runs (one per uploaded file and layer) and the column
mapping saved per source.

Declared on ``gazetteer.core.store.metadata``; created only by migration 0006. A run is
never deleted: it is the record of what was imported, from which file, by whom, and which
rows were skipped by choice.
"""

import sqlalchemy as sa

from gazetteer.core.columns import INSTANT, SHA256_HEX, act_columns, check_one_of, serial_table
from gazetteer.core.store import metadata
from gazetteer.tables import ORGANISATION

RUN_STATES = ("uploaded", "previewed", "written")

import_runs = serial_table(
    "import_runs",
    sa.Column("source_name", sa.String(200), nullable=False, index=True, comment="数据来源名称"),
    sa.Column("office", ORGANISATION, nullable=False, comment="登记单位"),
    sa.Column("file_name", sa.String(255), nullable=False, comment="name as uploaded"),
    sa.Column("file_path", sa.Text, nullable=False, comment="where the server keeps the file"),
    sa.Column("file_sha256", SHA256_HEX, nullable=False),
    sa.Column("file_format", sa.String(16), nullable=False),
    sa.Column("layer", sa.String(200)),
    sa.Column("mapping", sa.JSON, comment="{registry field: source column}"),
    sa.Column("crs", sa.String(20), comment="coordinate system tag confirmed by the officer"),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("counts", sa.JSON, comment="{insert, update, unchanged, error, findings, rows}"),
    sa.Column("preview", sa.JSON, comment="a sample of previewed rows for the page"),
    sa.Column("skip_errors", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("skip_reason", sa.Text),
    sa.Column("skipped_rows", sa.JSON, comment="row numbers skipped by the officer's choice"),
    *act_columns("created", nullable=False),
    sa.Column("previewed_at", INSTANT),
    *act_columns("written"),
    check_one_of("state", RUN_STATES),
)

import_mappings = sa.Table(
    "import_mappings",
    metadata,
    sa.Column("source_name", sa.String(200), primary_key=True),
    sa.Column("layer", sa.String(200), primary_key=True, comment="'' for single-layer files"),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("crs", sa.String(20)),
    *act_columns("updated", nullable=False),
)
