"""My code: the holder's rotating code by scenario, status and appeal, withdrawals, scans.

The page replaces the code before it expires (htmx polls ``/code/qr``; ``codes.js`` counts
down). The health scenario shows the colour and why, with an appeal form; a failed appeal
keeps the code on screen and what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.codes import service
from twonets.codes.api import Ctx
from twonets.codes.context import Coding
from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.web.codes.shared import COLOURS, FIELDS, STATES, Words
from twonets.web.i18n import N_
from twonets.web.pages import field_errors, local_time, render

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
QR_PIXELS = 300
# The form labels errors speak in (never the field names of the API).
APPEAL_LABELS = {"statement": N_("What is wrong with this status?")}


def qr_svg(text: str, *, title: str) -> Markup:
    """The QR code of ``text`` as inline SVG, drawn at whole pixels per module."""
    code = segno.make_qr(text, error="m")
    modules = code.symbol_size(scale=1)[0]
    pixels = modules * max(2, QR_PIXELS // modules)
    svg = code.svg_inline(scale=1, omitsize=True, light="#fff", svgclass="qr", title=title)
    # Size as attributes, not a style: the content security policy allows no inline style.
    return Markup(svg.replace("<svg ", f'<svg width="{pixels}" height="{pixels}" ', 1))


@dataclass(frozen=True)
class Shown:
    """A code ready to show: its text, its QR, and what the page says beside it."""

    code: service.IssuedCode
    svg: Markup
    # The scenario's name, and what a scan shows, in the page's language.
    name: str
    fields: tuple[str, ...]


def _holder_kind(caller: Principal) -> str:
    return "citizen" if caller.citizen_id is not None else "enterprise"


def _holder_view(
    session: Session, ctx: Coding, caller: Principal, now: datetime, words: Words
) -> dict[str, Any]:
    """What the holder's page shows around the code: scenarios, status, withdrawals, scans."""
    kind = _holder_kind(caller)
    every = service.list_scenarios(session)
    first = service.default_scenario(session, ctx, caller, now=now)
    usable = [s for s in every if s.active and kind in s.holder_kinds]
    return {
        # The holder's first code leads the row; the others follow by name.
        "scenarios": sorted(usable, key=lambda s: (s.code != first, s.code)),
        "names": {s.code: s.name if words.chinese else s.name_en for s in every},
        "scans": service.my_scans(session, ctx, caller, now=now, limit=50),
        "revocations": service.my_revocations(session, caller),
        "health": service.my_health(session, ctx, caller, now=now) if kind == "citizen" else None,
        "default": first,
        "colours": COLOURS,
        "when": local_time,
        "fields": FIELDS,
        "states": STATES,
    }


def _show(
    uow: UnitOfWork,
    ctx: Coding,
    caller: Principal,
    scenario: str,
    job_posting: str,
    now: datetime,
    words: Words,
) -> Shown:
    with uow() as session:
        issued = service.issue_code(
            session, ctx, caller, scenario=scenario, job_posting=job_posting or None, now=now
        )
        rule = service.get_scenario(session, scenario)
        name = rule.name if words.chinese else rule.name_en
    title = words(N_("%(scenario)s code"), scenario=name)
    shows = tuple(words(FIELDS.get(field, field)) for field in issued.disclosed)
    return Shown(issued, qr_svg(issued.text, title=title), name, shows)


def _try_show(
    uow: UnitOfWork,
    ctx: Coding,
    caller: Principal,
    scenario: str,
    job_posting: str,
    now: datetime,
    words: Words,
) -> tuple[Shown | None, TwonetsError | None]:
    if not scenario:
        return None, None
    try:
        return _show(uow, ctx, caller, scenario, job_posting, now, words), None
    except TwonetsError as exc:
        return None, exc


@router.get("/code", response_class=HTMLResponse)
def code_page(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    scenario: Annotated[str | None, Query(max_length=32)] = None,
    job_posting: Annotated[str, Query(max_length=200)] = "",
    filed: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """The holder's code for a scenario, refreshed before it expires; status and scans."""
    now = clock()
    words = Words.of(request)
    with uow() as session:
        view = _holder_view(session, ctx, caller, now, words)
    chosen = scenario or view["default"] or ""
    shown, problem = _try_show(uow, ctx, caller, chosen, job_posting, now, words)
    return render(
        request,
        "codes/code.html",
        caller,
        chosen=chosen,
        shown=shown,
        problem=problem,
        job_posting=job_posting,
        filed=filed,
        **view,
    )


@router.get("/code/qr", response_class=HTMLResponse)
def code_fragment(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    scenario: Annotated[str, Query(max_length=32)],
    job_posting: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A newly signed code (the fragment the page swaps in before the old one expires)."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/code?" + urlencode({"scenario": scenario}), status_code=303)
    words = Words.of(request)
    shown, problem = _try_show(uow, ctx, caller, scenario, job_posting, clock(), words)
    return render(
        request,
        "codes/_code.html",
        caller,
        shown=shown,
        problem=problem,
        colours=COLOURS,
        chosen=scenario,
        job_posting=job_posting,
        fields=FIELDS,
    )


@router.post("/code/appeal", response_class=HTMLResponse)
def appeal_submit(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    statement: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """File an appeal against the automated health status."""
    try:
        with uow() as session:
            service.file_appeal(session, ctx, caller, statement=statement, now=clock())
    except TwonetsError as exc:
        now = clock()
        words = Words.of(request)
        with uow() as session:
            view = _holder_view(session, ctx, caller, now, words)
        # The code stays on screen: the holder may be standing at a gate while appealing.
        shown, problem = _try_show(uow, ctx, caller, "health", "", now, words)
        return render(
            request,
            "codes/code.html",
            caller,
            status_code=exc.status,
            chosen="health",
            shown=shown,
            problem=problem,
            job_posting="",
            filed="",
            **view,
            appeal_error=exc,
            appeal_errors=field_errors(exc),
            appeal_messages=words.labelled(exc, APPEAL_LABELS),
            statement=statement,
        )
    return RedirectResponse("/code?scenario=health&filed=1#appeal", status_code=303)
