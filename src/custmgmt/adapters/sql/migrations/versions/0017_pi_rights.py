"""personal-information requests and per-person keys (issue 16)

Reserved so that work landing in parallel keeps one linear chain; the issue's
work fills it in.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
