"""The operations centre's screens: dashboard, a case, verification, tasks, a resident's
report, the devices page and group rentals."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.operations import (
    case,
    dashboard,
    devices,
    rentals,
    report,
    tasks,
    verification,
)

router = APIRouter(include_in_schema=False)
for screen in (dashboard, case, verification, tasks, report, devices, rentals):
    router.include_router(screen.router)
