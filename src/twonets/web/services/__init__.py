""" "One thing" services' screens: the applicant's page and the departments' workbench."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.services import applicant, workbench

router = APIRouter(include_in_schema=False)
for screen in (applicant, workbench):
    router.include_router(screen.router)
