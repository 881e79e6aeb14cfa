"""Health's screens: the planner's readiness page and a reservist's own call-ups."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.health import my_calls, planner

router = APIRouter(include_in_schema=False)
for screen in (planner, my_calls):
    router.include_router(screen.router)
