"""Pages of enterprise requests: the intake form and the filer's own requests."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.requests import mine, new

router = APIRouter(include_in_schema=False)
for screen in (new, mine):
    router.include_router(screen.router)
