"""customer care: care files, complaints and their steps, visits, survey answers,
care tasks, membership history (issue 17)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custmgmt_care_files",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("room_type", sa.String(length=100), nullable=True),
        sa.Column("floor", sa.String(length=50), nullable=True),
        sa.Column("diet", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=50), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("usual_periods", sa.Text(), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("birth_month_day", sa.String(length=5), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_custmgmt_care_files")),
    )
    op.create_index(
        op.f("ix_custmgmt_care_files_birth_month_day"),
        "custmgmt_care_files",
        ["birth_month_day"],
        unique=False,
    )
    op.create_table(
        "custmgmt_care_tasks",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("response_id", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_care_tasks")),
    )
    op.create_index(
        op.f("ix_custmgmt_care_tasks_assignee_id"),
        "custmgmt_care_tasks",
        ["assignee_id"],
        unique=False,
    )
    op.create_table(
        "custmgmt_complaints",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("visit_id", sa.String(length=100), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.Column("received_month", sa.String(length=7), nullable=False),
        sa.Column("acknowledge_due", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolve_due", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledge_seconds", sa.Integer(), nullable=True),
        sa.Column("acknowledged_late", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolve_seconds", sa.Integer(), nullable=True),
        sa.Column("resolved_late", sa.Boolean(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledge_escalated", sa.Boolean(), nullable=False),
        sa.Column("resolve_escalated", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_complaints")),
    )
    op.create_index(
        op.f("ix_custmgmt_complaints_customer_id"),
        "custmgmt_complaints",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        "ix_custmgmt_complaints_open",
        "custmgmt_complaints",
        ["is_open", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_custmgmt_complaints_received",
        "custmgmt_complaints",
        ["received_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_custmgmt_complaints_received_day"),
        "custmgmt_complaints",
        ["received_day"],
        unique=False,
    )
    op.create_table(
        "custmgmt_memberships",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("tier", sa.String(length=50), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_custmgmt_memberships")),
    )
    op.create_table(
        "custmgmt_survey_responses",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("visit_id", sa.String(length=100), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_day", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_survey_responses")),
    )
    op.create_index(
        op.f("ix_custmgmt_survey_responses_customer_id"),
        "custmgmt_survey_responses",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "custmgmt_visits",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_visits")),
    )
    op.create_index(
        "ix_custmgmt_visits_customer_ended",
        "custmgmt_visits",
        ["customer_id", "ended_on"],
        unique=False,
    )
    op.create_table(
        "custmgmt_complaint_steps",
        sa.Column("complaint_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["custmgmt_complaints.id"],
            name=op.f("fk_custmgmt_complaint_steps_complaint_id_custmgmt_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "complaint_id", "position", name=op.f("pk_custmgmt_complaint_steps")
        ),
    )
    op.create_table(
        "custmgmt_survey_answers",
        sa.Column("response_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answered_day", sa.Date(), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["custmgmt_survey_responses.id"],
            name=op.f("fk_custmgmt_survey_answers_response_id_custmgmt_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "position", name=op.f("pk_custmgmt_survey_answers")),
    )
    op.create_index(
        "ix_custmgmt_survey_answers_day",
        "custmgmt_survey_answers",
        ["answered_day", "service"],
        unique=False,
    )
    op.create_table(
        "custmgmt_tier_changes",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("before", sa.String(length=50), nullable=True),
        sa.Column("after", sa.String(length=50), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["custmgmt_memberships.customer_id"],
            name=op.f("fk_custmgmt_tier_changes_customer_id_custmgmt_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "position", name=op.f("pk_custmgmt_tier_changes")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_tier_changes")
    op.drop_index("ix_custmgmt_survey_answers_day", table_name="custmgmt_survey_answers")
    op.drop_table("custmgmt_survey_answers")
    op.drop_table("custmgmt_complaint_steps")
    op.drop_index("ix_custmgmt_visits_customer_ended", table_name="custmgmt_visits")
    op.drop_table("custmgmt_visits")
    op.drop_index(
        op.f("ix_custmgmt_survey_responses_customer_id"), table_name="custmgmt_survey_responses"
    )
    op.drop_table("custmgmt_survey_responses")
    op.drop_table("custmgmt_memberships")
    op.drop_index(op.f("ix_custmgmt_complaints_received_day"), table_name="custmgmt_complaints")
    op.drop_index("ix_custmgmt_complaints_received", table_name="custmgmt_complaints")
    op.drop_index("ix_custmgmt_complaints_open", table_name="custmgmt_complaints")
    op.drop_index(op.f("ix_custmgmt_complaints_customer_id"), table_name="custmgmt_complaints")
    op.drop_table("custmgmt_complaints")
    op.drop_index(op.f("ix_custmgmt_care_tasks_assignee_id"), table_name="custmgmt_care_tasks")
    op.drop_table("custmgmt_care_tasks")
    op.drop_index(op.f("ix_custmgmt_care_files_birth_month_day"), table_name="custmgmt_care_files")
    op.drop_table("custmgmt_care_files")
