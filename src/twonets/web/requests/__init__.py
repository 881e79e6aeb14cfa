"""Pages of enterprise requests: the filer's (intake, mine) and staff's (work, dispatch, figures).

The inbox and the staff's pages come before ``mine``, whose ``/requests/{id}`` would take
their paths.
"""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.requests import (
    answers,
    dispatch,
    figures,
    files,
    inbox,
    mine,
    new,
    overdue,
    work,
)

router = APIRouter(include_in_schema=False)
for screen in (new, inbox, work, dispatch, figures, answers, overdue, files, mine):
    router.include_router(screen.router)
