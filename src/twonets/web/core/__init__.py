"""The core's screens: logging in, signing up, the start page, accounts, reference pages."""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.core import accounts, home, reference, session, signup

router = APIRouter(include_in_schema=False)
for screen in (session, signup, home, accounts, reference):
    router.include_router(screen.router)
