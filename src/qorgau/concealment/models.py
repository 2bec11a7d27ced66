"""Evidence records from outside systems, links, analysis runs, signals and cases.

Clear IINs are never stored: only the keyed hash (and whether the IIN's check digit was valid).
Names are stored in canonical Latin form (`translit.normalize_name`), which is what linkage needs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qorgau.core.db import Base, CreatedMixin, utcnow
from qorgau.core.security import ScopeSpec

SCOPE = ScopeSpec(region="region_code", enterprise="enterprise_id", organisation="organisation_id")


class EvidenceRecord(CreatedMixin, Base):
    __tablename__ = "concealment_evidence"
    __scope__ = SCOPE
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        Index("ix_concealment_evidence_region_date", "region_code", "event_date"),
        Index("ix_concealment_evidence_birth", "birth_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    source_ref: Mapped[str] = mapped_column(String(100))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    iin_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    iin_valid: Mapped[bool] = mapped_column(default=False)
    last_name: Mapped[str] = mapped_column(String(120), default="")
    first_name: Mapped[str] = mapped_column(String(120), default="")
    birth_date: Mapped[date | None]
    employer_bin: Mapped[str | None] = mapped_column(String(12))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, index=True)
    region_code: Mapped[str | None] = mapped_column(String(5))
    event_date: Mapped[date]
    end_date: Mapped[date | None]
    icd10: Mapped[str | None] = mapped_column(String(8))
    cause_code: Mapped[str | None] = mapped_column(String(4))
    work_related: Mapped[bool | None]
    fatal: Mapped[bool] = mapped_column(default=False)
    facility: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(2000), default="")


class AnalysisRun(Base):
    """One linkage + signals run; its counts and model parameters (national aggregate)."""

    __tablename__ = "concealment_run"
    __scope__ = ScopeSpec()  # national readers only
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    as_of: Mapped[date]
    created_by: Mapped[str] = mapped_column(String(200))
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Link(Base):
    """Evidence ↔ registry worker, evidence ↔ reported accident victim (latest run only)."""

    __tablename__ = "concealment_link"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    __table_args__ = (Index("ix_concealment_link_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("concealment_run.id"), index=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("concealment_evidence.id"), index=True)
    target_type: Mapped[str] = mapped_column(String(10))  # worker | accident
    target_id: Mapped[int]
    method: Mapped[str] = mapped_column(String(14))  # deterministic | probabilistic | resolved
    weight: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    levels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    region_code: Mapped[str | None] = mapped_column(String(5))
    enterprise_id: Mapped[int | None] = mapped_column(Integer)


class EnterpriseSignal(Base):
    """Expected vs observed reported injuries of one enterprise in one run."""

    __tablename__ = "concealment_enterprise_signal"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    __table_args__ = (UniqueConstraint("run_id", "enterprise_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("concealment_run.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    headcount: Mapped[int]
    observed: Mapped[int]
    expected: Mapped[float] = mapped_column(Float)
    p_low: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    unreported_episodes: Mapped[int] = mapped_column(default=0)


class RegionEstimate(Base):
    """Capture–recapture estimate of true injuries for a region (and optionally a section)."""

    __tablename__ = "concealment_region_estimate"
    __scope__ = ScopeSpec(region="region_code")
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("concealment_run.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    section: Mapped[str] = mapped_column(String(1), default="")  # "" = all sections
    method: Mapped[str] = mapped_column(String(12))
    registered: Mapped[int]
    observed: Mapped[int]
    n_hat: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    under_reporting: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Case(Base):
    """A suspected concealment for an inspector; state changes are kept in CaseEvent."""

    __tablename__ = "concealment_case"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_concealment_case_queue", "region_code", "state", "score"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # stable across runs: kind + worker + episode
    kind: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(5))
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    worker_id: Mapped[int | None] = mapped_column(Integer)
    event_date: Mapped[date | None]
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(12), default="open")
    run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    accident_id: Mapped[int | None]
    registration: Mapped[str] = mapped_column(String(20), default="")  # done | pending | ""
    violation_ref: Mapped[str | None] = mapped_column(String(80))


class CaseEvent(Base):
    """An immutable step in a case's workflow."""

    __tablename__ = "concealment_case_event"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("concealment_case.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    enterprise_id: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(2000), default="")


class LinkReview(Base):
    """A record a run left unlinked because its top candidate workers fit it about equally,
    with those candidates (worker, weight, probability against the others, employer on the
    event date): the inspector's review queue. Kept per run, like the run's signals."""

    __tablename__ = "concealment_link_review"
    __scope__ = ScopeSpec(region="region_code")
    __table_args__ = (
        UniqueConstraint("run_id", "evidence_id"),
        Index("ix_concealment_link_review_queue", "run_id", "region_code", "source"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("concealment_run.id"))
    evidence_id: Mapped[int] = mapped_column(ForeignKey("concealment_evidence.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    event_date: Mapped[date]
    region_code: Mapped[str | None] = mapped_column(String(5))
    best_probability: Mapped[float] = mapped_column(Float)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class LinkResolution(Base):
    """An inspector's answer to a review item: the right worker, or none of them (worker_id
    null), with the reason. Never overwritten: a change is the next revision; the latest
    revision per evidence record is what the next run links by."""

    __tablename__ = "concealment_link_resolution"
    __scope__ = ScopeSpec(region="region_code")
    __table_args__ = (UniqueConstraint("evidence_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("concealment_evidence.id"), index=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("concealment_link_review.id", name="fk_concealment_link_resolution_review"),
        index=True,
    )
    revision: Mapped[int]
    worker_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(2000))
    region_code: Mapped[str | None] = mapped_column(String(5))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
