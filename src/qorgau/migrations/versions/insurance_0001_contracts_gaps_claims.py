"""insurance: contracts, coverage gaps, claims

Revision ID: insurance_0001
Revises: 0003_outbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "insurance_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("insurance",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coverage_gap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("insurer_org_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("register_headcount", sa.Integer(), nullable=False),
        sa.Column("insured_headcount", sa.Integer(), nullable=False),
        sa.Column("register_payroll", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("insured_payroll", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_coverage_gap_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["insurer_org_id"],
            ["organisation.id"],
            name=op.f("fk_coverage_gap_insurer_org_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_gap")),
    )
    op.create_index(
        op.f("ix_coverage_gap_enterprise_id"), "coverage_gap", ["enterprise_id"], unique=False
    )
    op.create_index(
        "ix_coverage_gap_open", "coverage_gap", ["closed_on", "enterprise_id", "kind"], unique=False
    )
    op.create_index(
        "ix_coverage_gap_region", "coverage_gap", ["region_code", "closed_on"], unique=False
    )
    op.create_table(
        "insurance_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_no", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("employer_bin", sa.String(length=12), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("insurer_org_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("insured_headcount", sa.Integer(), nullable=False),
        sa.Column("payroll", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("risk_class", sa.Integer(), nullable=False),
        sa.Column("tariff_pct", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("premium", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("batch_ref", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_insurance_contract_period")),
        sa.CheckConstraint(
            "payroll >= 0 AND premium >= 0 AND insured_headcount >= 0",
            name=op.f("ck_insurance_contract_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_insurance_contract_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["insurer_org_id"],
            ["organisation.id"],
            name=op.f("fk_insurance_contract_insurer_org_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_contract")),
        sa.UniqueConstraint("policy_no", name=op.f("uq_insurance_contract_policy_no")),
    )
    op.create_index(
        "ix_insurance_contract_enterprise_period",
        "insurance_contract",
        ["enterprise_id", "start_date", "end_date"],
        unique=False,
    )
    op.create_index(
        "ix_insurance_contract_insurer",
        "insurance_contract",
        ["insurer_org_id", "end_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_insurance_contract_region_code"),
        "insurance_contract",
        ["region_code"],
        unique=False,
    )
    op.create_table(
        "insurance_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("insurer_org_id", sa.Integer(), nullable=False),
        sa.Column("accident_ref", sa.String(length=60), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["insurance_contract.id"],
            name=op.f("fk_insurance_claim_contract_id_insurance_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_insurance_claim_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["insurer_org_id"],
            ["organisation.id"],
            name=op.f("fk_insurance_claim_insurer_org_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_claim")),
    )
    op.create_index(
        op.f("ix_insurance_claim_accident_ref"), "insurance_claim", ["accident_ref"], unique=False
    )
    op.create_index(
        op.f("ix_insurance_claim_contract_id"), "insurance_claim", ["contract_id"], unique=False
    )
    op.create_index(
        op.f("ix_insurance_claim_enterprise_id"), "insurance_claim", ["enterprise_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("insurance_claim")
    op.drop_table("coverage_gap")
    op.drop_table("insurance_contract")
