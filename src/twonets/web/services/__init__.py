""" "One thing" services' screens: the applicant's page and the departments' workbench."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.services import applicant, figures, workbench

router = APIRouter(include_in_schema=False)
for screen in (applicant, workbench, figures):
    router.include_router(screen.router)
