"""Join the gazetteer's migration branches into one head.

Migrations 0005, 0017, 0018b, 0023b and 0033 each revised an older revision, which left
five heads; a new migration could not tell which to revise. This revision revises all of
them and changes nothing, so the gazetteer's next migration revises this one.

Revision ID: 0034
Revises: 0005, 0017, 0018b, 0023b, 0033
"""

revision = "0034"
down_revision = ("0005", "0017", "0018b", "0023b", "0033")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
