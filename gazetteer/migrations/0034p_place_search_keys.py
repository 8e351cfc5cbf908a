"""Search keys of places (``gazetteer.search_keys``): what PostgreSQL searches, so that
workers hold no per-name memory.

The table is made on both stores (SQLite leaves it empty: it searches in memory). On
PostgreSQL, ``text_pattern_ops`` B-tree indexes serve exact and prefix matches (range
scans under any locale) on the name, its pinyin and initials, their natural forms and
specific terms, and on the reversed name and pinyin (a typo's intact second half); the
name, pinyin and initials indexes include the sort columns (index-only ranking of a long
prefix range), and an index on ``rank`` lets a one-character prefix (g, 新) be read best
first.

This revision cannot compute pinyin (migrations import no application code): a database
that already has places is filled once by ``gazetteer.search_keys.ensure_filled`` when a
worker starts; a database with no places yet is marked filled here, and its writers keep
the keys from the first import on.

Revision ID: 0034p
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0034p"
down_revision = "0002"
branch_labels = None
depends_on = None

PATTERN_INDEXES = (
    "chars",
    "chars_nat",
    "chars_spec",
    "chars_rev",
    "py",
    "py_nat",
    "py_spec",
    "py_rev",
    "ini",
    "ini_nat",
    "ini_spec",
)

TERM_INDEXES = (
    ("chars_term", "spec_len"),
    ("chars_term_rev", "spec_len"),
    ("py_term", "py_spec_len"),
    ("py_term_rev", "py_spec_len"),
)
COVERED = (
    "chars",
    "chars_nat",
    "chars_spec",
    "py",
    "py_nat",
    "py_spec",
    "ini",
    "ini_nat",
    "ini_spec",
)


def upgrade():
    op.create_table(
        "place_search_keys",
        sa.Column("place_id", sa.Integer, nullable=False),
        sa.Column("aux", sa.SmallInteger, nullable=False, comment="-1: the name; n: former name n"),
        sa.Column("name", sa.String(200), nullable=False, comment="the place's name (normalised)"),
        sa.Column("chars", sa.String(200), nullable=False, comment="the name searched (NFKC)"),
        sa.Column("chars_nat", sa.String(200), comment="natural form when shorter (福涌村)"),
        sa.Column("chars_spec", sa.String(200), comment="specific term when shorter (福涌)"),
        sa.Column("chars_rev", sa.String(200), nullable=False, comment="chars reversed (typos)"),
        sa.Column("spec_len", sa.SmallInteger, nullable=False, comment="characters of 专名"),
        sa.Column("chars_term", sa.String(200), nullable=False, comment="专名 (typos)"),
        sa.Column("chars_term_rev", sa.String(200), nullable=False, comment="专名 reversed"),
        sa.Column("py", sa.String(800), nullable=False, comment="toneless pinyin, no spaces"),
        sa.Column("py_nat", sa.String(800)),
        sa.Column("py_spec", sa.String(800)),
        sa.Column("py_rev", sa.String(800), nullable=False),
        sa.Column("py_spec_len", sa.SmallInteger, nullable=False, comment="letters of 专名"),
        sa.Column("py_term", sa.String(800), nullable=False, comment="专名 in pinyin (typos)"),
        sa.Column("py_term_rev", sa.String(800), nullable=False),
        sa.Column("ini", sa.String(200), nullable=False, comment="pinyin initials"),
        sa.Column("ini_nat", sa.String(200)),
        sa.Column("ini_spec", sa.String(200)),
        sa.Column(
            "rank",
            sa.BigInteger,
            nullable=False,
            comment="sort key within a tier: level, status, former name, length",
        ),
        sa.Column("level_rank", sa.SmallInteger, nullable=False, comment="0 province .. 5 other"),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("feature_class", sa.String(20)),
        sa.Column("division_code", sa.String(12)),
        sa.Column("division_path", sa.String(200), comment="codes province down, '/'-joined"),
        sa.Column("minx", sa.Float),
        sa.Column("miny", sa.Float),
        sa.Column("maxx", sa.Float),
        sa.Column("maxy", sa.Float),
    )
    op.create_index("ix_place_search_keys_place_id", "place_search_keys", ["place_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in PATTERN_INDEXES:
        # The keys of exact, specific-term and prefix matches also carry the sort columns:
        # a long range is ranked from the index alone (index-only) and only the best rows
        # are read from the table.
        covering = " INCLUDE (rank, place_id, aux)" if column in COVERED else ""
        op.execute(
            f"CREATE INDEX ix_psk_{column} ON place_search_keys ({column} text_pattern_ops)"
            + covering
        )
    # Specific terms by length, then text: a typo probe reads terms of three lengths that
    # start with a given half (one index descent per length).
    for column, length in TERM_INDEXES:
        op.execute(
            f"CREATE INDEX ix_psk_{column} ON place_search_keys ({length}, {column} text_pattern_ops)"
        )
    op.execute("CREATE INDEX ix_psk_rank ON place_search_keys (rank, place_id)")
    op.execute(
        "CREATE INDEX ix_psk_division_path ON place_search_keys (division_path text_pattern_ops)"
    )
    op.execute(
        "INSERT INTO meta (key, value) SELECT 'search_keys:filled', '0' "
        "WHERE NOT EXISTS (SELECT 1 FROM places)"
    )


def downgrade():
    op.drop_table("place_search_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DELETE FROM meta WHERE key = 'search_keys:filled'")
