"""The positional grams of the search keys (``gazetteer.search_keys.place_search_grams``):
each pair of neighbouring characters of a name key with its position. The one-typo search
reads the few it needs first and skips the term lengths of a query's splits after which no
key can hold the tail (``gazetteer.search.term_lengths_that_fit``), as the in-memory index
does with the grams of its base. Filled here from the key rows already stored (the writers keep it from here
on); the table is made on both stores (SQLite leaves it empty).

Revision ID: 0039
Revises: 0038
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "place_search_grams",
        sa.Column("code", sa.BigInteger, nullable=False, comment="position << 42 | c1 << 21 | c2"),
        sa.PrimaryKeyConstraint("code", name="pk_place_search_grams"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A frozen copy of gazetteer.search_keys.add_terms' grams (migrations import no
        # application code).
        op.execute(
            "INSERT INTO place_search_grams (code) SELECT DISTINCT "
            "(CAST(g.i AS bigint) << 42) | (CAST(ascii(substr(chars, g.i + 1, 1)) AS bigint) "
            "<< 21) | ascii(substr(chars, g.i + 2, 1)) FROM place_search_keys "
            "CROSS JOIN LATERAL generate_series(0, char_length(chars) - 2) AS g(i)"
        )


def downgrade():
    op.drop_table("place_search_grams")
