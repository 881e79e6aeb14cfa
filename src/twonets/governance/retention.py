"""Retention: delete or anonymise records whose purpose has expired or whose period ran out.

This is the part of governance that deletes data; it runs as a job (``twonets governance
retention run``) or on the officer's request, and every run is recorded in ``gov_change``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.orm import Session

from twonets.core.errors import Invalid, NotFound
from twonets.core.privacy import DataClass
from twonets.governance.models import GovernanceChange, Purpose
from twonets.governance.service import Governance, PurposeState, purpose_state


@dataclass(frozen=True)
class RetentionOutcome:
    """What one retention run did to one dataset."""

    dataset: str
    purpose: str
    action: str
    cutoff: str
    affected: int
    reason: str


def run_retention(
    session: Session, gov: Governance, *, actor: str, now: datetime
) -> list[RetentionOutcome]:
    """Delete or anonymise records whose purpose has expired or whose retention has run out.

    Safe to rerun: a second run finds nothing left to do.
    """
    outcomes = []
    for name, target in sorted(gov.catalogue.datasets().items()):
        rule = target.retention
        if rule is None:
            continue
        purpose = session.get(Purpose, rule.purpose)
        if purpose is None:
            raise NotFound(f"dataset {name} is kept under purpose {rule.purpose}, which is missing")
        state = purpose_state(purpose, now)
        if state is PurposeState.EXPIRED:
            cutoff, reason = now, f"purpose {purpose.code} has expired"
        else:
            cutoff = now - timedelta(days=purpose.retention_days)
            reason = f"older than the {purpose.retention_days}-day retention of {purpose.code}"
        table = target.table
        time_column = table.c[rule.time_field]
        if rule.action == "delete":
            done = session.execute(delete(table).where(time_column < cutoff))
            affected = int(getattr(done, "rowcount", 0))
        elif rule.action == "anonymise":
            personal = [
                n
                for n, f in target.fields.items()
                if f.data_class is not DataClass.PUBLIC and n != target.subject_field
            ]
            still = or_(*(table.c[n].is_not(None) for n in personal))
            done = session.execute(
                update(table)
                .where(and_(time_column < cutoff, still))
                .values(dict.fromkeys(personal))
            )
            affected = int(getattr(done, "rowcount", 0))
        else:
            raise Invalid.field("retention.action", "known", f"unknown action {rule.action!r}")
        outcomes.append(
            RetentionOutcome(name, purpose.code, rule.action, cutoff.isoformat(), affected, reason)
        )
    session.add(
        GovernanceChange(
            at=now,
            actor=actor,
            action="retention.run",
            target="*",
            before=None,
            after={o.dataset: o.affected for o in outcomes},
            reason="retention run",
        )
    )
    return outcomes
