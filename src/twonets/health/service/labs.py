"""Lab results: samples under a pseudonym, alerts for notifiable or new pathogens, turnaround."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, ProblemList
from twonets.core.models import Department, District
from twonets.health.models import (
    Alert,
    AlertKind,
    LabSample,
)
from twonets.health.service.common import LAB_FUNCTION, NEGATIVE, PATHOGEN, HealthContext
from twonets.health.service.surveillance import _store_alert


@dataclass(frozen=True)
class LabResult:
    """A lab's result for one sample."""

    sample_id: str
    patient_pseudonym: str
    panel: str
    result: str
    collected_at: datetime
    received_at: datetime
    reported_at: datetime
    district_code: str | None = None


def _looks_like_id_number(value: str) -> bool:
    compact = value.strip().upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", compact) or re.fullmatch(r"\d{15}", compact))


def submit_lab_result(
    session: Session,
    ctx: HealthContext,
    principal: Principal,
    result: LabResult,
    *,
    now: datetime,
) -> tuple[LabSample, Alert | None]:
    """Store a lab result; a positive for a notifiable or never-seen pathogen raises an alert."""
    if principal.department_function != LAB_FUNCTION or principal.department_code is None:
        raise Forbidden("only staff of a laboratory department submit lab results")
    problems = ProblemList()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", result.sample_id):
        problems.add("sample_id", "sample-id", "1-64 letters, digits, '.', '_' or '-'")
    if _looks_like_id_number(result.patient_pseudonym):
        problems.add(
            "patient_pseudonym", "pseudonym", "looks like an ID number; send the lab's pseudonym"
        )
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{5,63}", result.patient_pseudonym):
        problems.add("patient_pseudonym", "pseudonym", "6-64 letters, digits, '.', '_' or '-'")
    for name in ("panel", "result"):
        if not PATHOGEN.fullmatch(getattr(result, name)):
            problems.add(name, "name", "lower-case letters, digits and dashes")
    if result.received_at < result.collected_at:
        problems.add("received_at", "after-collected", "a sample is received after collection")
    if result.reported_at < result.received_at:
        problems.add("reported_at", "after-received", "a result is reported after receipt")
    if result.reported_at > now + timedelta(minutes=5):
        problems.add("reported_at", "not-future", "cannot be reported in the future")
    if result.district_code is not None and session.get(District, result.district_code) is None:
        problems.add("district_code", "exists", f"no district {result.district_code!r}")
    problems.raise_if_any()
    existing = session.scalar(select(LabSample.id).where(LabSample.sample_id == result.sample_id))
    if existing is not None:
        raise Conflict(f"sample {result.sample_id} was already reported")
    seen_before = (
        session.scalar(select(LabSample.id).where(LabSample.result == result.result).limit(1))
        is not None
    )
    sample = LabSample(
        sample_id=result.sample_id,
        patient_pseudonym=result.patient_pseudonym,
        lab_department_code=principal.department_code,
        district_code=result.district_code,
        panel=result.panel,
        result=result.result,
        collected_at=result.collected_at,
        received_at=result.received_at,
        reported_at=result.reported_at,
    )
    session.add(sample)
    session.flush()
    alert = None
    if result.result != NEGATIVE and (result.result in ctx.notifiable or not seen_before):
        method = "notifiable" if result.result in ctx.notifiable else "new"
        alert = _store_alert(
            session,
            Alert(
                kind=AlertKind.PATHOGEN,
                district_code=result.district_code,
                signal=result.result,
                day=result.reported_at.date(),
                method=method,
                observed=1.0,
                threshold=None,
                sample_id=result.sample_id,
                lab_department_code=principal.department_code,
                detail=(
                    f"{result.result} found in sample {result.sample_id} ({result.panel} panel)"
                    + (" — notifiable" if method == "notifiable" else " — never seen before")
                ),
                raised_at=now,
            ),
            now,
        )
    return sample, alert


@dataclass(frozen=True)
class Turnaround:
    """How fast one lab reports: hours from collection (and from receipt) to result."""

    lab_department_code: str
    lab: str
    samples: int
    positives: int
    median_hours: float
    p90_hours: float
    median_lab_hours: float  # received -> reported


def turnaround(session: Session, *, since: datetime) -> list[Turnaround]:
    """Median and 90th-percentile turnaround per lab over samples reported since ``since``."""
    rows = session.execute(
        select(
            LabSample.lab_department_code,
            LabSample.collected_at,
            LabSample.received_at,
            LabSample.reported_at,
            LabSample.result,
        ).where(LabSample.reported_at >= since)
    ).all()
    names = dict(session.execute(select(Department.code, Department.name_en)).all())
    per: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
    for lab, collected, received, reported, result in rows:
        per[lab].append(
            (
                (reported - collected).total_seconds() / 3600,
                (reported - received).total_seconds() / 3600,
                result != NEGATIVE,
            )
        )
    out = []
    for lab, items in sorted(per.items()):
        total = np.array([t for t, _, _ in items])
        inside = np.array([t for _, t, _ in items])
        out.append(
            Turnaround(
                lab_department_code=lab,
                lab=names.get(lab, lab),
                samples=len(items),
                positives=sum(1 for *_, p in items if p),
                median_hours=float(np.median(total)),
                p90_hours=float(np.percentile(total, 90)),
                median_lab_hours=float(np.median(inside)),
            )
        )
    return out
