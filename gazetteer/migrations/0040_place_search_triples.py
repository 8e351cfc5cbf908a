"""Runs of three characters in ``place_search_grams``: besides each pair of neighbouring
characters of a search key with its position, each run of three (a negative code; see
``gazetteer.search._positional_grams``). A query's tail that holds a slip almost always
passes the pairs (665,273 names hold nearly every pair of a generic term somewhere) and
almost never the runs of three, so the one-typo search skips the thousands of terms one
edit from a short head that it would otherwise read (``term_lengths_that_fit``). Filled
here from the key rows already stored (the writers keep it from here on). PostgreSQL only;
SQLite leaves the table empty.

Revision ID: 0040
Revises: 0039
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def _char(i: int) -> str:
    return f"(CAST(ascii(substr(chars, g.i + {i + 1}, 1)) AS bigint) & 524287)"


_COMMENT = "pair: position << 42 | c1 << 21 | c2; run of three: negative (search.py)"
_COMMENT_BEFORE = "position << 42 | c1 << 21 | c2"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps no comments, and the table empty
    op.alter_column("place_search_grams", "code", existing_type=sa.BigInteger, comment=_COMMENT)
    # A frozen copy of gazetteer.search_keys._GRAMS' runs of three (migrations import no
    # application code).
    op.execute(
        "INSERT INTO place_search_grams (code) SELECT DISTINCT "
        "(CAST('-9223372036854775808' AS bigint) | (CAST(LEAST(g.i, 63) AS bigint) << 57) "
        f"| ({_char(0)} << 38) | ({_char(1)} << 19) | {_char(2)}) FROM place_search_keys "
        "CROSS JOIN LATERAL generate_series(0, char_length(chars) - 3) AS g(i) "
        "ON CONFLICT DO NOTHING"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DELETE FROM place_search_grams WHERE code < 0")
        op.alter_column(
            "place_search_grams", "code", existing_type=sa.BigInteger, comment=_COMMENT_BEFORE
        )
