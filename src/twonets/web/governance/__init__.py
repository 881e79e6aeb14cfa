"""Pages of personal-data governance, one module per screen.

Residents and enterprises see who read their data (``my_data``); the data protection officer
has the desk (``desk``: reads, unusual readers, the ledger, recent changes), the review of
break-glass reads (``break_glass``), purposes (``purposes``) and policies (``policies``).
Handlers only parse, call the governance use cases and render.
"""

from fastapi import APIRouter

from twonets.web.governance import break_glass, desk, my_data, policies, purposes

router = APIRouter(include_in_schema=False)
for screen in (my_data, desk, break_glass, purposes, policies):
    router.include_router(screen.router)

__all__ = ["router"]
