"""customer care: preferences, complaints, surveys, membership (issue 17)

Reserved so that work landing in parallel keeps one linear chain; the issue's
work fills it in.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
