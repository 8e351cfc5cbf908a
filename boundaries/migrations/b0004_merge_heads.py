"""Join the boundaries' migration branches into one head.

b0003 and b0003n both revised b0002, which left two heads; a new migration could not tell
which to revise. This revision revises both and changes nothing, so the boundaries' next
migration revises this one.

Revision ID: b0004 (branch "boundaries")
Revises: b0003, b0003n
"""

revision = "b0004"
down_revision = ("b0003", "b0003n")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
