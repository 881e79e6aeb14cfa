"""HTTP routes of licences: issue and manage, the wallet, sharing, verification, trust lists."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder

from twonets.core import idempotency
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.http import Clock, IdempotencyKey, Uow, public, require
from twonets.core.models import Role
from twonets.licences import catalogue, qr, service
from twonets.licences.schemas import (
    AmendIn,
    CredentialIn,
    DelegationIn,
    DelegationOut,
    HeldLicenceOut,
    HistoryOut,
    HolderKeyIn,
    HolderKeyOut,
    IssuerHistoryOut,
    LicenceIn,
    LicenceOut,
    RecogniseIn,
    RecogniseRemoteIn,
    ShareIn,
    StatusIn,
    VerifyIn,
)
from twonets.licences.service import regions
from twonets.trust import remote
from twonets.trust import service as trust

log = logging.getLogger(__name__)
# How often the scheduled work looks for other regions' lists due for a refresh.
REFRESH_EVERY = timedelta(minutes=1)

router = APIRouter(prefix="/api/v1", tags=["licences"])

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Verifier = Annotated[Principal, Depends(require(Role.VERIFIER, Role.STAFF, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def get_licensing(request: Request) -> service.Licensing:
    """The licensing context the app was built with (the licence pages depend on it too)."""
    ctx: service.Licensing = request.app.state.licensing
    return ctx


Ctx = Annotated[service.Licensing, Depends(get_licensing)]


def setup(app: FastAPI) -> None:
    """Register the scheduled refresh of other regions' trust lists and status lists."""

    async def refresh_regions(stop: asyncio.Event) -> None:
        def once() -> dict[str, str]:
            with unit_of_work(app.state.session_factory) as session:
                ctx: service.Licensing = app.state.licensing
                return regions.refresh_regions(session, ctx, now=app.state.clock()).to_json()

        while not stop.is_set():
            try:
                failed = {
                    r: why for r, why in (await asyncio.to_thread(once)).items() if why != "ok"
                }
                if failed:
                    log.warning("licences: remote regions not refreshed: %s", failed)
            except Exception:  # keep the app serving; the next run tries again
                log.exception("licences: refreshing remote regions failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_EVERY.total_seconds())

    app.state.background.append(refresh_regions)


@router.get("/licences/types", dependencies=[Depends(public)])
def licence_types() -> list[dict[str, Any]]:
    """The catalogue of licence types and their fields."""
    return [
        {
            "code": t.code,
            "name": t.name,
            "name_en": t.name_en,
            "issuer_function": t.issuer_function,
            "holder": str(t.holder),
            "validity_years": t.validity_years,
            "fields": [
                {"name": f.name, "label": f.label, "type": str(f.type), "class": str(f.data_class)}
                for f in t.fields
            ],
        }
        for t in catalogue.TYPES
    ]


@router.post("/licences", response_model=LicenceOut, status_code=201)
def issue_licence(
    body: LicenceIn, caller: Staff, uow: Uow, clock: Clock, ctx: Ctx, key: IdempotencyKey = None
) -> Any:
    """Issue a licence (staff of the department that issues that type), under its region.

    With an ``Idempotency-Key``, a retry (a lost answer, a client restarted) gets the first
    licence back instead of a second one.
    """
    with uow() as session:

        def write() -> dict[str, Any]:
            licence = service.issue_licence(session, ctx, caller, now=clock(), **body.model_dump())
            answer: dict[str, Any] = jsonable_encoder(service.licence_summary(licence))
            return answer

        scope = f"licences.issue:{caller.account_id}"
        return idempotency.once(session, scope, key, body.model_dump(mode="json"), write)


@router.get("/licences/delegations", response_model=list[DelegationOut])
def delegations(caller: Admin, uow: Uow) -> Any:
    """The departments the caller's region names to change other departments' licences."""
    with uow() as session:
        return [service.delegation_json(r) for r in service.list_delegations(session, caller)]


@router.post("/licences/delegations", response_model=DelegationOut, status_code=201)
def delegate_changes(body: DelegationIn, caller: Admin, uow: Uow, clock: Clock) -> Any:
    """Name a department of the region that may change another's licences of a type."""
    with uow() as session:
        row = service.delegate_changes(session, caller, now=clock(), **body.model_dump())
        return service.delegation_json(row)


@router.delete("/licences/delegations/{delegation_id}", status_code=204)
def withdraw_delegation(delegation_id: int, caller: Admin, uow: Uow, clock: Clock) -> Response:
    """End a delegation."""
    with uow() as session:
        service.withdraw_delegation(session, caller, delegation_id=delegation_id, now=clock())
    return Response(status_code=204)


@router.get("/licences/by-identifier/{identifier}", response_model=LicenceOut)
def licence_by_identifier(identifier: str, caller: Staff, uow: Uow) -> Any:
    """One licence's metadata by its identifier, for its issuing department (or a delegate)."""
    with uow() as session:
        licence = service.find_issued_licence(session, caller, identifier)
        return service.licence_summary(licence)


@router.get("/licences/{licence_id}/history", response_model=list[IssuerHistoryOut])
def licence_history(licence_id: int, caller: Staff, uow: Uow) -> Any:
    """Every change of a licence across its versions, for its issuer (or a delegate)."""
    with uow() as session:
        return service.licence_history(session, caller, licence_id=licence_id)


@router.post("/licences/{licence_id}/amend", response_model=LicenceOut, status_code=201)
def amend_licence(
    licence_id: int, body: AmendIn, caller: Staff, uow: Uow, clock: Clock, ctx: Ctx
) -> Any:
    """A new version of a licence; the old one stops verifying."""
    with uow() as session:
        licence = service.amend_licence(
            session, ctx, caller, licence_id=licence_id, now=clock(), **body.model_dump()
        )
        return service.licence_summary(licence)


@router.post("/licences/{licence_id}/status", response_model=LicenceOut)
def change_status(licence_id: int, body: StatusIn, caller: Staff, uow: Uow, clock: Clock) -> Any:
    """Suspend, resume or revoke a licence; verifiers see it in the next status list."""
    with uow() as session:
        licence = service.change_status(
            session, caller, licence_id=licence_id, now=clock(), **body.model_dump()
        )
        return service.licence_summary(licence)


@router.get("/wallet", response_model=list[HeldLicenceOut])
def wallet(caller: Holder, uow: Uow, ctx: Ctx) -> Any:
    """My licences."""
    with uow() as session:
        return service.wallet(session, ctx, caller)


@router.get("/wallet/{licence_id}/history", response_model=list[HistoryOut])
def wallet_history(licence_id: int, caller: Holder, uow: Uow) -> Any:
    """What happened to one of my licences: each change, when, which department, and why."""
    with uow() as session:
        return service.holder_history(session, caller, licence_id=licence_id)


@router.get("/wallet/{licence_id}/qr")
def wallet_qr(licence_id: int, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """A QR credential of one of my licences (the text, and the QR version it needs)."""
    with uow() as session:
        text = service.qr_code(session, ctx, caller, licence_id=licence_id, now=clock())
    return {"text": text, "qr_version": qr.qr_version(text), "characters": len(text)}


@router.post("/wallet/{licence_id}/share")
def wallet_share(
    licence_id: int, body: ShareIn, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, str]:
    """Assisted service at a window: a presentation the platform signs with a key it holds.

    The credential says so (``key_custody: assisted-window``). A wallet of the holder's own
    asks for a bound credential instead (``POST /wallet/{licence_id}/credential``).
    """
    fields = body.model_dump(exclude={"mode"})
    with uow() as session:
        presentation = service.assisted_share(
            session, ctx, caller, licence_id=licence_id, now=clock(), **fields
        )
    return {"presentation": presentation, "key_custody": body.mode}


@router.post("/wallet/{licence_id}/credential")
def wallet_credential(
    licence_id: int, body: CredentialIn, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, str]:
    """An SD-JWT VC of one of my licences bound to one of my registered wallet keys.

    The wallet keeps it, chooses the disclosures of each presentation and signs its KB-JWT.
    """
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


@router.get("/holder-keys", response_model=list[HolderKeyOut])
def holder_keys(caller: Holder, uow: Uow) -> Any:
    """My registered wallet keys (public keys only), newest first."""
    with uow() as session:
        return [service.holder_key_json(r) for r in service.holder_keys(session, caller)]


@router.post("/holder-keys", response_model=HolderKeyOut, status_code=201)
def register_holder_key(body: HolderKeyIn, caller: Holder, uow: Uow, clock: Clock) -> Any:
    """Register the public key of one of my wallets (the private key stays on the device)."""
    with uow() as session:
        row = service.register_holder_key(
            session, caller, jwk=body.jwk, device=body.device, now=clock()
        )
        return service.holder_key_json(row)


@router.delete("/holder-keys/{key_id}", status_code=204)
def remove_holder_key(key_id: int, caller: Holder, uow: Uow, clock: Clock) -> Response:
    """Stop using one of my wallet keys (a lost phone): no new credential is bound to it."""
    with uow() as session:
        service.remove_holder_key(session, caller, key_id=key_id, now=clock())
    return Response(status_code=204)


@router.post("/verify")
def verify(body: VerifyIn, caller: Verifier, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """Verify a presented licence: format, signature, validity, status, the issuer's trust."""
    with uow() as session:
        verdict = service.verify(
            session,
            ctx,
            text=body.credential,
            verifier=caller.username,
            now=clock(),
            audience=body.audience,
            nonce=body.nonce,
        )
    return verdict.to_json()


@router.get("/licences/verifications", dependencies=[Depends(require(Role.ADMIN, Role.DPO))])
def verification_counts(uow: Uow, clock: Clock) -> list[dict[str, Any]]:
    """Verifications per day, type, verifier, region and result (last 30 days)."""
    with uow() as session:
        rows = service.verification_counts(session, since=(clock() - timedelta(days=30)).date())
        return [
            {
                "day": r.day.isoformat(),
                "type": r.type_code,
                "verifier": r.verifier,
                "region": r.region_code,
                "result": r.result,
                "count": r.count,
            }
            for r in rows
        ]


@router.get("/status-lists/{region}", dependencies=[Depends(public)])
def status_list(region: str, uow: Uow, clock: Clock, ctx: Ctx) -> Response:
    """A region's first signed Status List Token, list 0 (verifiers cache it for its ttl)."""
    with uow() as session:
        token = service.status_list_token(session, ctx, region=region, now=clock())
    return _status_list_response(token, clock())


@router.get("/status-lists/{region}/{n}", dependencies=[Depends(public)])
def numbered_status_list(region: str, n: int, uow: Uow, clock: Clock, ctx: Ctx) -> Response:
    """A region's status list ``n`` (1, 2, …), cached as list 0 is."""
    with uow() as session:
        token = service.numbered_status_list_token(session, ctx, region=region, n=n, now=clock())
    return _status_list_response(token, clock())


def _status_list_response(token: str, now: datetime) -> Response:
    return Response(
        token,
        media_type="application/statuslist+jwt",
        headers={
            "Cache-Control": f"public, max-age={service.STATUS_TTL_SECONDS}",
            "Expires": format_datetime(now + service.STATUS_LIST_LIFETIME, usegmt=True),
        },
    )


@router.get("/trust/lists/{region}", dependencies=[Depends(public)])
def trust_list(region: str, response: Response, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """A region's anchor (pin it) and its latest signed trust list (cached until it is
    refetched, at most an hour, and never past its ``next_update``)."""
    with uow() as session:
        record = trust.get_issuing_region(session, region)
        published = {
            "region": region,
            "anchor": trust.anchor_pem(session, region, ctx.root_secret),
            "sequence": record.sequence,
            "trust_list": record.trust_list,
        }
    next_update = trust.next_update_of(record.trust_list or "")
    if next_update is not None:
        left = int((next_update - clock()).total_seconds())
        max_age = max(0, min(left, int(remote.TRUST_LIST_REFRESH.total_seconds())))
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        response.headers["Expires"] = format_datetime(next_update, usegmt=True)
    return published


@router.get("/trust/bundle", dependencies=[Depends(public)])
def trust_bundle(uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """Everything an offline verifier needs (``twonets licences verify --trust-list``)."""
    with uow() as session:
        return service.trust_bundle(session, ctx, now=clock())


@router.get("/trust/regions", dependencies=[Depends(public)])
def recognised_regions(uow: Uow) -> list[dict[str, Any]]:
    """The regions whose licences verify here."""
    with uow() as session:
        return [
            {
                "region": r.region_code,
                "kind": r.kind,
                "home": r.home,
                "since": r.added_at.isoformat(),
            }
            for r in trust.list_recognised(session)
        ]


@router.post("/trust/regions", status_code=201)
def recognise_region(body: RecogniseIn, caller: Admin, uow: Uow, clock: Clock) -> dict[str, str]:
    """Recognise another region (mutual recognition: add its list, copy none of its data)."""
    with uow() as session:
        record = trust.recognise_region(
            session, anchor=body.anchor, trust_list=body.trust_list, now=clock()
        )
        return {"region": record.region_code}


@router.get("/trust/remote-regions")
def remote_regions(caller: Admin, uow: Uow, clock: Clock) -> list[dict[str, object]]:
    """The regions recognised as deployments of their own: where, last reached, cached."""
    with uow() as session:
        remote.require_admin(caller)
        return [f.to_json() for f in remote.describe_remote(session, now=clock())]


@router.post("/trust/remote-regions", status_code=201)
def recognise_remote_region(
    body: RecogniseRemoteIn, caller: Admin, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, str]:
    """Recognise another region's own deployment by its anchor; its lists come from ``url``."""
    with uow() as session:
        found = regions.recognise(
            session,
            ctx,
            caller,
            region=body.region,
            base_url=body.url,
            anchor=body.anchor,
            now=clock(),
        )
        return {"region": found.region_code, "url": found.base_url}


@router.post("/trust/remote-regions/refresh")
def refresh_remote_regions(caller: Admin, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, str]:
    """Fetch every remote region's trust list and status list now: "ok" or why not, each."""
    with uow() as session:
        return regions.refresh(session, ctx, caller, now=clock()).to_json()


@router.delete("/trust/regions/{region}", status_code=204)
def drop_region(region: str, caller: Admin, uow: Uow) -> Response:
    """Stop recognising a region."""
    with uow() as session:
        trust.drop_region(session, region=region)
    return Response(status_code=204)
