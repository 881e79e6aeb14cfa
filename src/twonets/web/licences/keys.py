"""The holder's wallet keys (``/wallet/keys``) and what the browser wallet calls.

The browser makes its key pair itself (WebCrypto, non-extractable, kept in IndexedDB) and
sends only the public JWK here; it asks for a credential bound to that key and signs each
presentation's KB-JWT itself (``static/wallet-keys.js``). These routes answer it in JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.licences import service
from twonets.licences.api import Ctx
from twonets.licences.schemas import CredentialIn, HolderKeyIn
from twonets.web.licences.words import page

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]


@router.get("/wallet/keys", response_class=HTMLResponse)
def keys_page(request: Request, caller: Holder, uow: Uow) -> HTMLResponse:
    """The caller's wallet keys: one per device, public keys only, each removable."""
    with uow() as session:
        keys = [service.holder_key_json(r) for r in service.holder_keys(session, caller)]
    return page(request, "licences/keys.html", caller, keys=keys)


@router.get("/wallet/keys.json")
def keys_json(caller: Holder, uow: Uow) -> Any:
    """The caller's wallet keys in use, for the browser wallet to check its own is there."""
    with uow() as session:
        rows = service.holder_keys(session, caller)
        return jsonable_encoder([service.holder_key_json(r) for r in rows])


@router.post("/wallet/keys", status_code=201)
def register_key(body: HolderKeyIn, caller: Holder, uow: Uow, clock: Clock) -> Any:
    """Register this browser's public key (sent by the wallet script, never a private one)."""
    with uow() as session:
        row = service.register_holder_key(
            session, caller, jwk=body.jwk, device=body.device, now=clock()
        )
        return jsonable_encoder(service.holder_key_json(row))


@router.post("/wallet/keys/{key_id}/remove")
def remove_key(key_id: int, caller: Holder, uow: Uow, clock: Clock) -> RedirectResponse:
    """Stop using one of the caller's keys (a lost phone)."""
    with uow() as session:
        service.remove_holder_key(session, caller, key_id=key_id, now=clock())
    return RedirectResponse("/wallet/keys", status_code=303)


@router.post("/wallet/{licence_id}/credential")
def bound_credential(
    licence_id: int, body: CredentialIn, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, str]:
    """An SD-JWT VC of one of the caller's licences bound to this browser's key."""
    with uow() as session:
        credential = service.bound_credential(
            session,
            ctx,
            caller,
            licence_id=licence_id,
            holder_key_id=body.holder_key_id,
            now=clock(),
        )
    return {"credential": credential}
