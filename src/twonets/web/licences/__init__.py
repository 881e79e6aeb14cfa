"""Pages of electronic licences: the holder's wallet, the verifier's desk, issuing, trust.

Handlers only parse, call ``twonets.licences.service`` or ``twonets.trust.service`` and render;
they get the licensing context the way the API does (``twonets.licences.api.get_licensing``).
"""

from __future__ import annotations

from fastapi import APIRouter

from twonets.web.licences import issuing, keys, trust, verifier, wallet

router = APIRouter(include_in_schema=False)
# The keys' routes first: /wallet/keys is not a licence number.
for screen in (keys, wallet, verifier, issuing, trust):
    router.include_router(screen.router)
