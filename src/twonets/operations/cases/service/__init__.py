"""The operations centre's use cases: elements, intake, the closed loop of cases, figures.

A case runs intake → filing (立案) → dispatch (派遣) → handling (处置) → feedback (反馈) →
verification (核查) → closure (结案), and may be evaluated after closure. A failed
verification sends it back to the handling department (返工, counted as rework). Every
transition is checked against the case's state, written to its history and announced as an
event ``ops.case.<action>``. Time limits are working hours from dispatch to feedback.
"""

from __future__ import annotations

from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.service.common import (
    CLOCK_SKEW,
    DEFAULT_RULES,
    TRANSITIONS,
    IllegalTransition,
    Rules,
)
from twonets.operations.cases.service.dispatch import (
    accept_case,
    dispatch_case,
    dispatch_departments,
    responsible_department,
)
from twonets.operations.cases.service.handling import (
    close_case,
    evaluate_case,
    mark_overdue,
    report_handling,
    report_problem,
    verify_case,
)
from twonets.operations.cases.service.intake import (
    file_case,
    find_duplicate,
    intake,
    intake_health_alert,
    intake_once,
    reject_case,
)
from twonets.operations.cases.service.reference import list_categories, working_days_after

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_RULES",
    "TRANSITIONS",
    "IllegalTransition",
    "IntakeReport",
    "Rules",
    "SourceKind",
    "accept_case",
    "close_case",
    "dispatch_case",
    "dispatch_departments",
    "evaluate_case",
    "file_case",
    "find_duplicate",
    "intake",
    "intake_health_alert",
    "intake_once",
    "list_categories",
    "mark_overdue",
    "reject_case",
    "report_handling",
    "report_problem",
    "responsible_department",
    "verify_case",
    "working_days_after",
]
