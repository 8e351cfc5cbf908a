"""The distinct specific terms of the search keys (``gazetteer.search_keys.place_search_terms``),
which PostgreSQL's one-typo search looks up first, as the in-memory index looks up its
typo buckets: terms one edit from what was typed, then the names starting with them.

The typo search no longer probes the key rows by term, by reversed term or by reversed
name, so those columns of ``place_search_keys`` and their six indexes go; names checked
whole against a query are read by length and prefix (two indexes). The table is made
on both stores (SQLite leaves it empty); on PostgreSQL it is filled from the key rows
already stored (the writers keep it from here on).

Revision ID: 0037
Revises: 0036
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

DROPPED_INDEXES = (
    "ix_psk_chars_rev",
    "ix_psk_py_rev",
    "ix_psk_chars_term_rev",
    "ix_psk_py_term_rev",
    "ix_psk_chars_term",
    "ix_psk_py_term",
)
DROPPED_COLUMNS = ("chars_rev", "py_rev", "chars_term_rev", "py_term_rev")
# kind: (term column, its reading or None)
TERM_KINDS = {"chars": ("chars_term", "left(py, py_spec_len)"), "py": ("py_term", "NULL")}


def upgrade():
    op.create_table(
        "place_search_terms",
        sa.Column("kind", sa.String(5), nullable=False, comment="chars or py"),
        sa.Column("term", sa.String(800), nullable=False, comment="a specific term (专名)"),
        sa.Column("term_len", sa.SmallInteger, nullable=False, comment="characters of term"),
        sa.Column("term_rev", sa.String(800), nullable=False, comment="term reversed"),
        sa.Column("reading", sa.String(800), comment="toneless pinyin of a chars term"),
        sa.PrimaryKeyConstraint("kind", "term", name="pk_place_search_terms"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for name in DROPPED_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # The terms of a given length starting (or ending) with a head's half: one range
        # per length; index-only.
        op.execute(
            "CREATE INDEX ix_pst_term ON place_search_terms "
            "(kind, term_len, term text_pattern_ops) INCLUDE (reading)"
        )
        op.execute(
            "CREATE INDEX ix_pst_term_rev ON place_search_terms "
            "(kind, term_len, term_rev text_pattern_ops) INCLUDE (term, reading)"
        )
        # A name checked whole against a query of n characters is n - 1 .. n + 1 long:
        # the names of those lengths that start with a prefix are three ranges.
        for column in ("chars", "py"):
            op.execute(
                f"CREATE INDEX ix_psk_{column}_len ON place_search_keys "
                f"(char_length({column}), {column} text_pattern_ops) INCLUDE (rank, place_id, aux)"
            )
        for kind, (term, reading) in TERM_KINDS.items():
            op.execute(
                sa.text(
                    "INSERT INTO place_search_terms (kind, term, term_len, term_rev, reading) "
                    f"SELECT DISTINCT ON ({term}) :kind, {term}, char_length({term}), "
                    f"reverse({term}), {reading} FROM place_search_keys WHERE {term} <> '' "
                    f"ORDER BY {term}, place_id, aux"
                ).bindparams(kind=kind)
            )
    with op.batch_alter_table("place_search_keys") as batch:
        for column in DROPPED_COLUMNS:
            batch.drop_column(column)


# dropped column: (the column it reverses, its type)
REVERSED = {
    "chars_rev": ("chars", sa.String(200)),
    "py_rev": ("py", sa.String(800)),
    "chars_term_rev": ("chars_term", sa.String(200)),
    "py_term_rev": ("py_term", sa.String(800)),
}


def downgrade():
    with op.batch_alter_table("place_search_keys") as batch:
        for column, (_, type_) in REVERSED.items():
            batch.add_column(sa.Column(column, type_, nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # SQLite keeps no keys (and has no reverse())
        op.execute(
            "UPDATE place_search_keys SET "
            + ", ".join(f"{column} = reverse({source})" for column, (source, _) in REVERSED.items())
        )
    with op.batch_alter_table("place_search_keys") as batch:
        for column, (_, type_) in REVERSED.items():
            batch.alter_column(column, existing_type=type_, nullable=False)
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_psk_chars_len")
        op.execute("DROP INDEX IF EXISTS ix_psk_py_len")
        for column in ("chars_rev", "py_rev"):
            op.execute(
                f"CREATE INDEX ix_psk_{column} ON place_search_keys ({column} text_pattern_ops)"
            )
        for column, length in (
            ("chars_term", "spec_len"),
            ("chars_term_rev", "spec_len"),
            ("py_term", "py_spec_len"),
            ("py_term_rev", "py_spec_len"),
        ):
            op.execute(
                f"CREATE INDEX ix_psk_{column} ON place_search_keys "
                f"({length}, {column} text_pattern_ops)"
            )
    op.drop_table("place_search_terms")
