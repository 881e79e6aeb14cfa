"""The holder's wallet (``/wallet``): licences as cards, one licence with a freshly signed
QR code, and sharing it as an SD-JWT presentation that reveals only the ticked details."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.licences import catalogue, service
from twonets.licences.api import Ctx
from twonets.licences.verify import KeyCustody
from twonets.web.i18n import N_
from twonets.web.licences.words import Words, page, places_of

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]

# What a hotel asks to see at check-in; the share form ticks these by default.
HOTEL_CHECK = ("name", "id_number", "photo_hash", "enterprise_name", "credit_code")
QR_TARGET_PIXELS = 330


@router.get("/wallet", response_class=HTMLResponse)
def wallet_page(request: Request, caller: Holder, uow: Uow, ctx: Ctx) -> HTMLResponse:
    """The caller's licences as cards."""
    with uow() as session:
        licences = service.wallet(session, ctx, caller)
        places = places_of(session)
    return page(request, "licences/wallet.html", caller, licences=licences, places=places)


def _qr_svg(text: str, title: str) -> tuple[Markup, int]:
    """The QR code of ``text`` as inline SVG (drawn at whole pixels per module), its version."""
    code = segno.make_qr(text, error="m")
    modules = code.symbol_size(scale=1)[0]
    scale = max(2, QR_TARGET_PIXELS // modules)
    svg = code.svg_inline(
        scale=1,
        omitsize=True,
        light="#fff",
        svgclass="qr",
        title=title,
    )
    styled = svg.replace("<svg ", f'<svg style="width:{modules * scale}px" ', 1)
    return Markup(styled), int(code.version)


@dataclass(frozen=True)
class QrCode:
    """A freshly signed QR credential of one licence, ready to show."""

    licence_id: int
    text: str
    svg: Markup
    version: int
    characters: int
    signed_at: datetime


def _qr_of(
    session: Session,
    ctx: service.Licensing,
    caller: Principal,
    licence_id: int,
    now: datetime,
    words: Words,
) -> QrCode:
    text = service.qr_code(session, ctx, caller, licence_id=licence_id, now=now)
    svg, version = _qr_svg(text, words.t(N_("QR code of this licence")))
    return QrCode(licence_id, text, svg, version, len(text), now)


def _licence_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    ctx: service.Licensing,
    now: datetime,
    licence_id: int,
    *,
    share: Mapping[str, Any] | None = None,
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    words = Words.of(request)
    with uow() as session:
        licence = service.held_licence(session, ctx, caller, licence_id=licence_id)
        history = service.holder_history(session, caller, licence_id=licence_id)
        places = places_of(session)
        qr: QrCode | None = None
        qr_problem = ""
        if licence["status"] == "active":
            try:
                qr = _qr_of(session, ctx, caller, licence_id, now, words)
            except TwonetsError as exc:
                qr_problem = exc.detail
    kind = catalogue.get_type(licence["type"])
    disclosable = [f for f in kind.fields if f.disclosable and f.name in licence["claims"]]
    always = [f for f in kind.fields if not f.disclosable and f.name in licence["claims"]]
    form = dict(share or {})
    if "disclose" not in form:
        form["disclose"] = [f.name for f in disclosable if f.name in HOTEL_CHECK]
    form.setdefault("audience", words.t(N_("hotel front desk")))
    form.setdefault("nonce", secrets.token_urlsafe(9))
    return page(
        request,
        "licences/licence.html",
        caller,
        status_code=status_code,
        licence=licence,
        kind=kind,
        places=places,
        history=history,
        qr=qr,
        qr_problem=qr_problem,
        disclosable=disclosable,
        always=always,
        form=form,
        error=error,
        errors=words.form_errors(error, licence["type"]),
    )


@router.get("/wallet/{licence_id}", response_class=HTMLResponse)
def licence_page(
    request: Request, licence_id: int, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx
) -> HTMLResponse:
    """One licence with every field, a freshly signed QR code, and the share form."""
    return _licence_page(request, caller, uow, ctx, clock(), licence_id)


@router.get("/wallet/{licence_id}/qr", response_class=HTMLResponse)
def licence_qr(
    request: Request, licence_id: int, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx
) -> Response:
    """A new QR code of one licence (the fragment htmx swaps in; a full page without htmx)."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/wallet/{licence_id}#qr", status_code=303)
    with uow() as session:
        qr = _qr_of(session, ctx, caller, licence_id, clock(), Words.of(request))
    return page(request, "licences/_qr.html", caller, qr=qr)


@router.post("/wallet/{licence_id}/share", response_class=HTMLResponse)
def share_licence(
    request: Request,
    licence_id: int,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    audience: Annotated[str, Form(max_length=200)] = "",
    nonce: Annotated[str, Form(max_length=200)] = "",
    disclose: Annotated[list[str] | None, Form()] = None,
    mode: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Assisted service at a window: a presentation of one licence, revealing exactly the
    ticked fields, that the platform signs with a key it holds (named, never the default:
    the browser wallet signs on the device, see ``static/wallet-keys.js``)."""
    chosen = list(dict.fromkeys(disclose or []))
    form: dict[str, Any] = {
        "audience": audience.strip(),
        "nonce": nonce.strip(),
        "disclose": chosen,
    }
    now = clock()
    try:
        if mode != str(KeyCustody.ASSISTED):
            raise Invalid.field(
                "mode",
                "assisted-window",
                "the platform signs only for assisted service at a window; your device's "
                "wallet signs otherwise",
            )
        if not form["audience"]:
            raise Invalid.field("audience", "required", "name who you show the licence to")
        if not form["nonce"]:
            raise Invalid.field("nonce", "required", "enter the challenge the verifier gave you")
        with uow() as session:
            presentation = service.assisted_share(
                session,
                ctx,
                caller,
                licence_id=licence_id,
                disclose=chosen,
                audience=form["audience"],
                nonce=form["nonce"],
                now=now,
            )
    except (Invalid, Forbidden) as exc:
        return _licence_page(
            request,
            caller,
            uow,
            ctx,
            now,
            licence_id,
            share=form,
            error=exc,
            status_code=exc.status,
        )
    form["presentation"] = presentation
    form["assisted"] = True
    return _licence_page(request, caller, uow, ctx, now, licence_id, share=form)
