"""Join the gazetteer's migration branches into one head.

Migrations 0005, 0017, 0018b, 0023b, 0033 and 0034p each revised an older revision, which
left six heads; a new migration could not tell which to revise. This revision revises all of
them and changes nothing, so the gazetteer's next migration revises this one.

Revision ID: 0034
Revises: 0005, 0017, 0018b, 0023b, 0033, 0034p
"""

revision = "0034"
down_revision = ("0005", "0017", "0018b", "0023b", "0033", "0034p")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
