"""Figures on a known set of cases: closure, on-time closure, rework, overdue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from operations.conftest import BUND, MONDAY_10, OpsWorld
from twonets.operations.cases import figures, service
from twonets.operations.cases.schemas import IntakeReport, SourceKind

PUDONG = (121.5440, 31.2210)


def _case(
    session: Session, w: OpsWorld, *, at: tuple[float, float], category: str, outcome: str
) -> None:
    """One case in Huangpu or Pudong driven to ``outcome``."""
    case = service.intake(
        session,
        IntakeReport(
            source_kind=SourceKind.DEVICE,
            category=category,
            description="x",
            lon=at[0],
            lat=at[1],
            reported_at=MONDAY_10,
        ),
        now=MONDAY_10,
    )
    if outcome == "merged-away":
        return
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    if outcome == "open":
        return
    late = (
        MONDAY_10 + timedelta(days=3)
        if outcome == "closed-late"
        else MONDAY_10 + timedelta(hours=1)
    )
    service.report_handling(session, w.handler, case.id, now=late, note="done")
    if outcome == "reworked":
        service.verify_case(session, w.supervisor, case.id, passed=False, now=late, note="no")
        service.report_handling(session, w.handler, case.id, now=late, note="done again")
    service.verify_case(session, w.supervisor, case.id, passed=True, now=late)
    service.close_case(session, w.operator, case.id, now=late)


def test_figures_per_district_and_department(session: Session, ops_world: OpsWorld) -> None:
    w = ops_world
    # Huangpu: 4 cases of street order (urban management): on time, late, reworked, open.
    for n, outcome in enumerate(("closed", "closed-late", "reworked", "open")):
        spot = (BUND[0] + n * 0.003, BUND[1])  # 280 m apart: no merging
        _case(session, w, at=spot, category="E0501", outcome=outcome)
    # The open problem reported again 10 m away: merged, not counted.
    _case(session, w, at=(BUND[0] + 0.0091, BUND[1]), category="E0501", outcome="merged-away")
    # Pudong: no department of its own, so the city's rule has none; dispatch names one.
    case = service.intake(
        session,
        IntakeReport(
            source_kind=SourceKind.DEVICE,
            category="E0501",
            description="y",
            lon=PUDONG[0],
            lat=PUDONG[1],
            reported_at=MONDAY_10,
        ),
        now=MONDAY_10,
    )
    service.dispatch_case(
        session, w.operator, case.id, now=MONDAY_10, department_code=w.urban_department
    )

    three_days_on = MONDAY_10 + timedelta(days=3)
    by_district = {r["key"]: r for r in figures.figures(session, by="district", now=three_days_on)}
    by_department = figures.figures(session, by="department", now=three_days_on)

    huangpu = by_district["310101"]
    assert (huangpu["cases"], huangpu["closed"], huangpu["closed_on_time"]) == (4, 3, 2)
    assert huangpu["closure_rate"] == 0.75
    assert huangpu["on_time_rate"] == round(2 / 3, 4)
    assert huangpu["rework_rate"] == round(1 / 3, 4)  # 1 reworked of 3 handled
    assert huangpu["overdue"] == 1  # the open one, three days on
    assert by_district["310115"]["overdue"] == 1
    assert [r["key"] for r in by_department] == [w.urban_department]
    assert by_department[0]["cases"] == 5
    city = figures.totals(by_district.values())
    assert (city["cases"], city["closed"], city["overdue"]) == (5, 3, 2)
    assert figures.figures(session, by="district", now=MONDAY_10)[0]["overdue"] == 0
