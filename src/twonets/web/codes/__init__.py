"""The codes' screens: my code (``/code``), the gate (``/code/scan``), appeals, statistics.

Holders open ``/code``, choose a scenario and show the QR code, which the page replaces
before it expires; scanners check codes at ``/code/scan`` and see one banner; the health
codes authority decides appeals at ``/codes/appeals``; staff see ``/codes/stats``. Handlers
parse, call ``twonets.codes.service`` and render; the code context comes as the API's does
(``codes.api.get_coding``).
"""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.codes import appeals, gate, my_code, statistics

router = APIRouter(include_in_schema=False)
for screen in (my_code, gate, appeals, statistics):
    router.include_router(screen.router)
