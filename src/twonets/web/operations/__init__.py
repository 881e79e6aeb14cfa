"""The operations centre's screens: dashboard, a case, verification, tasks, a resident's
report, the devices page, group rentals, the muck-trucks page and shared bikes."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.operations import (
    bikes,
    case,
    dashboard,
    devices,
    rentals,
    report,
    tasks,
    trucks,
    verification,
)

router = APIRouter(include_in_schema=False)
for screen in (dashboard, case, verification, tasks, report, devices, rentals, trucks, bikes):
    router.include_router(screen.router)
