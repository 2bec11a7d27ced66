"""inspections: HPF register, plans, checklists (seeded), inspections, enforcement

Revision ID: inspections_0001
Revises: 0003_outbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inspections_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("inspections",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("norm", sa.String(length=300), nullable=False),
        sa.Column("text_kk", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_item")),
        sa.UniqueConstraint("code", name=op.f("uq_checklist_item_code")),
    )
    op.create_index(
        op.f("ix_checklist_item_checklist"), "checklist_item", ["checklist"], unique=False
    )
    op.create_table(
        "inspection_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("authority", sa.String(length=12), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plan")),
    )
    op.create_index(
        op.f("ix_inspection_plan_region_code"), "inspection_plan", ["region_code"], unique=False
    )
    op.create_table(
        "inspectorate_capacity",
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("authority", sa.String(length=12), nullable=False),
        sa.Column("per_month", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "authority", name=op.f("pk_inspectorate_capacity")),
    )
    op.create_table(
        "inspection_plan_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_inspection_plan_item_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["inspection_plan.id"],
            name=op.f("fk_inspection_plan_item_plan_id_inspection_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plan_item")),
    )
    op.create_index(
        op.f("ix_inspection_plan_item_enterprise_id"),
        "inspection_plan_item",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inspection_plan_item_plan_id"), "inspection_plan_item", ["plan_id"], unique=False
    )
    op.create_table(
        "hazardous_facility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("reg_no", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hazard_class", sa.Integer(), nullable=False),
        sa.Column("declaration_date", sa.Date(), nullable=True),
        sa.Column("expert_exam_due", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_hazardous_facility_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_hazardous_facility_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazardous_facility")),
        sa.UniqueConstraint("reg_no", name=op.f("uq_hazardous_facility_reg_no")),
    )
    op.create_index(
        op.f("ix_hazardous_facility_enterprise_id"),
        "hazardous_facility",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hazardous_facility_expert_exam_due"),
        "hazardous_facility",
        ["expert_exam_due"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hazardous_facility_region_code"),
        "hazardous_facility",
        ["region_code"],
        unique=False,
    )
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("authority", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_of", sa.Integer(), nullable=True),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_inspection_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["inspection_plan_item.id"],
            name=op.f("fk_inspection_plan_item_id_inspection_plan_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_inspection_client_uuid")),
    )
    op.create_index(
        op.f("ix_inspection_enterprise_id"), "inspection", ["enterprise_id"], unique=False
    )
    op.create_index(op.f("ix_inspection_region_code"), "inspection", ["region_code"], unique=False)
    op.create_table(
        "inspection_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("item_code", sa.String(length=12), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_inspection_answer_inspection_id_inspection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_answer")),
        sa.UniqueConstraint(
            "inspection_id", "item_code", name=op.f("uq_inspection_answer_inspection_id_item_code")
        ),
    )
    op.create_index(
        op.f("ix_inspection_answer_inspection_id"),
        "inspection_answer",
        ["inspection_id"],
        unique=False,
    )
    op.create_table(
        "technical_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("reg_no", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_exam", sa.Date(), nullable=True),
        sa.Column("exam_due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_technical_device_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["hazardous_facility.id"],
            name=op.f("fk_technical_device_facility_id_hazardous_facility"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technical_device")),
        sa.UniqueConstraint("reg_no", name=op.f("uq_technical_device_reg_no")),
    )
    op.create_index(
        op.f("ix_technical_device_enterprise_id"),
        "technical_device",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_technical_device_exam_due"), "technical_device", ["exam_due"], unique=False
    )
    op.create_index(
        op.f("ix_technical_device_region_code"), "technical_device", ["region_code"], unique=False
    )
    op.create_table(
        "violation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("item_code", sa.String(length=12), nullable=False),
        sa.Column("norm", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["technical_device.id"],
            name=op.f("fk_violation_device_id_technical_device"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_violation_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["hazardous_facility.id"],
            name=op.f("fk_violation_facility_id_hazardous_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_violation_inspection_id_inspection")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation")),
    )
    op.create_index(
        "ix_violation_enterprise_state", "violation", ["enterprise_id", "state"], unique=False
    )
    op.create_index(op.f("ix_violation_region_code"), "violation", ["region_code"], unique=False)
    op.create_table(
        "fine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("legal_basis", sa.String(length=200), nullable=False),
        sa.Column("imposed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_fine_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_fine_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fine")),
    )
    op.create_index(op.f("ix_fine_enterprise_id"), "fine", ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_fine_violation_id"), "fine", ["violation_id"], unique=False)
    op.create_table(
        "prescription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("overdue_since", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_prescription_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_prescription_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription")),
    )
    op.create_index(
        op.f("ix_prescription_enterprise_id"), "prescription", ["enterprise_id"], unique=False
    )
    op.create_index(
        "ix_prescription_state_due", "prescription", ["state", "due_date"], unique=False
    )
    op.create_index(
        op.f("ix_prescription_violation_id"), "prescription", ["violation_id"], unique=False
    )
    op.create_table(
        "fine_appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fine_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_fine_appeal_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(["fine_id"], ["fine.id"], name=op.f("fk_fine_appeal_fine_id_fine")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fine_appeal")),
    )
    op.create_index(op.f("ix_fine_appeal_fine_id"), "fine_appeal", ["fine_id"], unique=False)
    _seed()


def downgrade() -> None:
    op.drop_table("fine_appeal")
    op.drop_table("fine")
    op.drop_table("prescription")
    op.drop_table("violation")
    op.drop_table("inspection_answer")
    op.drop_table("inspection")
    op.drop_table("checklist_item")
    op.drop_table("inspection_plan_item")
    op.drop_table("inspection_plan")
    op.drop_table("inspectorate_capacity")
    op.drop_table("technical_device")
    op.drop_table("hazardous_facility")


def _seed() -> None:
    from qorgau.inspections.service import checklist_seed

    table = sa.table(
        "checklist_item",
        *(
            sa.column(c)
            for c in ("checklist", "code", "norm", "weight", "text_kk", "text_ru", "text_en")
        ),
    )
    op.bulk_insert(table, checklist_seed())
