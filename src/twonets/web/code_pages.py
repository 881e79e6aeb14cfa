"""Pages of codes: the holder's rotating code, the scanner's desk, statistics, appeals.

Holders open ``/code``, choose a scenario and show the QR code, which the page replaces
before it expires (htmx polls ``/code/qr``; a small script counts down). The health
scenario shows the colour and why, with an appeal form; every holder sees where their code
was scanned and which of their codes are withdrawn, by whom and why. Scanners paste the
scanned text or upload a photo at ``/code/scan`` and see one banner: admit, check first or
do not admit, in words chosen by the verdict's reason code. Staff see ``/codes/stats``; the
health codes authority decides appeals at ``/codes/appeals``. Handlers parse, call
``twonets.codes`` and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

import segno
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.codes import service
from twonets.codes.api import Ctx
from twonets.codes.authority import region_name
from twonets.codes.context import Coding
from twonets.codes.scenarios import DISCLOSABLE
from twonets.codes.service import Action, Reason
from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.web.pages import (
    MAX_IMAGE_BYTES,
    decode_qr_image,
    field_errors,
    local_date,
    local_iso,
    local_time,
    render,
)

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Scanner = Annotated[Principal, Depends(require(*service.SCAN_ROLES))]
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]
Authority = Annotated[Principal, Depends(require(Role.CODES_AUTHORITY))]
QR_PIXELS = 300
PLACE_COOKIE = "twonets_checkpoint"

COLOURS = {
    "green": ("绿码", "Green", "You may enter places that check health status."),
    "yellow": ("黄码", "Yellow", "Some places will ask you to take a test first."),
    "red": ("红码", "Red", "Stay at home and follow the health department's instructions."),
}

# The form labels errors speak in (never the field names of the API).
SCAN_LABELS = {"place": "Checkpoint", "code": "Scanned text", "image": "Photo of the code"}
APPEAL_LABELS = {"statement": "What is wrong with this status?"}
DECISION_LABELS = {
    "reason": "Reason (the resident reads it)",
    "colour": "Colour if upheld",
    "decision": "Decision",
}

# The banner's first line by action: what the gatekeeper does, in both languages.
HEADLINES: dict[Action, str] = {
    Action.ADMIT: "放行 · ADMIT",
    Action.CHECK: "请先核查 · CHECK FIRST",
    Action.REFUSE: "请勿放行 · DO NOT ADMIT",
}

# Why, and what to do, by reason code; {scenario}, {checks} and {region} are filled in.
WORDS: dict[Reason, tuple[str, str]] = {
    Reason.ADMIT: ("{scenario} code is valid", "Let the holder in."),
    Reason.HEALTH_RED: (
        "Red health code",
        "The holder may not enter. They should go home and follow the health department's "
        "instructions.",
    ),
    Reason.HEALTH_YELLOW: (
        "Yellow health code",
        "Do not let the holder in on this code alone. Where this place accepts a recent "
        "negative test, ask to see it; otherwise refuse entry.",
    ),
    Reason.NOT_ALLOWED: (
        "Entry not allowed",
        "The code is genuine, but it does not allow entry here.",
    ),
    Reason.WRONG_SCENARIO: (
        "Wrong kind of code",
        "This is a {scenario} code. This gate checks {checks} codes: ask the holder to open "
        "that one in their app.",
    ),
    Reason.NOT_IN_USE: (
        "Code no longer in use",
        "This kind of code is not in use any more. Ask the holder for the code this gate checks.",
    ),
    Reason.REVOKED: (
        "Code withdrawn",
        "The authority responsible has withdrawn this code. Do not let the holder in; they "
        "can see why in their app.",
    ),
    Reason.UNKNOWN_HOLDER: (
        "Holder not registered",
        "The code belongs to no registered holder. Do not let the holder in; ask for "
        "identification and call your supervisor.",
    ),
    Reason.REPLAY: (
        "Possible copy",
        "The same code was scanned at another place a moment ago. Ask the holder to refresh "
        "the code in front of you, then scan the new one.",
    ),
    Reason.EXPIRED: (
        "Code out of date",
        "The code is more than a minute old (a screenshot, or an app left open). Ask the "
        "holder to open their code again and scan the new one.",
    ),
    Reason.NOT_YET_VALID: (
        "Phone clock wrong",
        "The code is dated in the future. Ask the holder to set their phone's clock "
        "automatically and open the code again.",
    ),
    Reason.FORGED: (
        "Forged or altered code",
        "The code was not issued as shown. Do not let the holder in; ask for identification "
        "and call your supervisor.",
    ),
    Reason.UNTRUSTED: (
        "Region not recognised",
        "The code comes from a region this city does not recognise. Ask for another proof "
        "of identity.",
    ),
    Reason.DAMAGED: (
        "Code not read",
        "Part of the code is missing. Scan it again, holding the phone steady and flat.",
    ),
    Reason.NOT_A_CODE: (
        "Not a personal code",
        "What was scanned is not a personal or enterprise code. Ask the holder to open their "
        "code in the app.",
    ),
}


@dataclass(frozen=True)
class Banner:
    """The one large banner of the scanner's desk."""

    reason: Reason
    action: Action
    headline: str
    title: str
    advice: str
    notes: tuple[str, ...] = ()


def banner(
    reason: Reason,
    *,
    scenario: str | None = None,
    checks: list[str] | None = None,
    region: str | None = None,
    home_region: str = "SH",
    in_grace: bool = False,
    repeat_at: datetime | None = None,
) -> Banner:
    """The banner for a reason code, in a gatekeeper's words (no identifiers)."""
    action = service.action_of(reason)
    title, advice = WORDS[reason]
    named = checks or []
    fill = {
        "scenario": scenario or "This",
        "checks": " and ".join(named) if named else "no",
        "region": region_name(region) if region else "",
    }
    if reason is Reason.WRONG_SCENARIO and not named:
        advice = "This desk may not check any kind of code. Ask your supervisor."
    notes: list[str] = []
    if region and region != home_region:
        notes.append(f"Issued in {region_name(region)}, a region this city recognises.")
    if in_grace and action is Action.ADMIT:
        notes.append("The code was a few seconds old; it is still accepted.")
    if repeat_at is not None:
        notes.append(
            f"Already scanned here at {local_iso(repeat_at)[11:16]}: the same entry, "
            "not counted twice."
        )
    return Banner(
        reason,
        action,
        HEADLINES[action],
        title.format(**fill),
        advice.format(**fill),
        tuple(notes),
    )


def labelled(error: TwonetsError | None, labels: dict[str, str]) -> list[str]:
    """An error's messages as a form shows them: each field by its label, never its name."""
    if error is None:
        return []
    if not error.errors:
        return [error.detail]
    return [f"{labels.get(p.field, 'This form')}: {p.detail}" for p in error.errors]


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


def _holder_kind(caller: Principal) -> str:
    return "citizen" if caller.citizen_id is not None else "enterprise"


def _holder_view(session: Session, ctx: Coding, caller: Principal, now: datetime) -> dict[str, Any]:
    """What the holder's page shows around the code: scenarios, status, withdrawals, scans."""
    kind = _holder_kind(caller)
    every = service.list_scenarios(session)
    first = service.default_scenario(session, ctx, caller, now=now)
    usable = [s for s in every if s.active and kind in s.holder_kinds]
    return {
        # The holder's first code leads the row; the others follow by name.
        "scenarios": sorted(usable, key=lambda s: (s.code != first, s.code)),
        "names": {s.code: s.name_en for s in every},
        "scans": service.my_scans(session, ctx, caller, now=now, limit=50),
        "revocations": service.my_revocations(session, caller),
        "health": service.my_health(session, ctx, caller, now=now) if kind == "citizen" else None,
        "default": first,
        "colours": COLOURS,
        "when": local_time,
        "disclosable": DISCLOSABLE,
    }


def _show(
    uow: UnitOfWork, ctx: Coding, caller: Principal, scenario: str, job_posting: str, now: datetime
) -> Shown:
    with uow() as session:
        issued = service.issue_code(
            session, ctx, caller, scenario=scenario, job_posting=job_posting or None, now=now
        )
    return Shown(issued, qr_svg(issued.text, title=f"{issued.scenario_name} code"))


def _try_show(
    uow: UnitOfWork, ctx: Coding, caller: Principal, scenario: str, job_posting: str, now: datetime
) -> tuple[Shown | None, TwonetsError | None]:
    if not scenario:
        return None, None
    try:
        return _show(uow, ctx, caller, scenario, job_posting, now), None
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
    with uow() as session:
        view = _holder_view(session, ctx, caller, now)
    chosen = scenario or view["default"] or ""
    shown, problem = _try_show(uow, ctx, caller, chosen, job_posting, now)
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
    shown, problem = _try_show(uow, ctx, caller, scenario, job_posting, clock())
    return render(
        request,
        "codes/_code.html",
        caller,
        shown=shown,
        problem=problem,
        colours=COLOURS,
        chosen=scenario,
        job_posting=job_posting,
        disclosable=DISCLOSABLE,
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
        with uow() as session:
            view = _holder_view(session, ctx, caller, now)
        # The code stays on screen: the holder may be standing at a gate while appealing.
        shown, problem = _try_show(uow, ctx, caller, "health", "", now)
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
            appeal_messages=labelled(exc, APPEAL_LABELS),
            statement=statement,
        )
    return RedirectResponse("/code?scenario=health&filed=1#appeal", status_code=303)


# --- the scanner's desk -----------------------------------------------------------------------


@router.get("/code/scan", response_class=HTMLResponse)
def scan_page(request: Request, caller: Scanner) -> HTMLResponse:
    """The scanner's form: paste the scanned text, or upload a photo of the code."""
    place = unquote(request.cookies.get(PLACE_COOKIE, ""))
    return render(
        request, "codes/scan.html", caller, outcome=None, form={"place": place}, errors={}
    )


def _scan_answer(
    request: Request,
    caller: Principal,
    ctx: Coding,
    form: dict[str, str],
    *,
    outcome: service.ScanOutcome | None = None,
    gate: service.NotThisGate | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    """The desk after a scan: one banner (or the form's errors), the form for the next."""
    shown: Banner | None = None
    if outcome is not None:
        verdict = outcome.verdict
        shown = banner(
            outcome.reason,
            scenario=outcome.scenario_name,
            region=verdict.region,
            home_region=ctx.region,
            in_grace=verdict.in_grace,
            repeat_at=outcome.repeat.scanned_at if outcome.repeat else None,
        )
    elif gate is not None:
        shown = banner(gate.reason, scenario=gate.scenario_name, checks=gate.checks)
    response = render(
        request,
        "codes/scan.html",
        caller,
        status_code=error.status if error is not None else 200,
        outcome=outcome,
        banner=shown,
        # After a verdict the form is ready for the next holder; after an error it keeps
        # what was typed.
        form=form if error is not None else {"place": form["place"]},
        error=error,
        errors=field_errors(error),
        messages=labelled(error, SCAN_LABELS),
        colours=COLOURS,
        disclosable=DISCLOSABLE,
        region_name=region_name,
        when=local_time,
    )
    if form["place"] and error is None:
        # The checkpoint stays filled in for the next holder in the queue. Percent-encoded:
        # a header carries only latin-1, and checkpoints are named in Chinese.
        response.set_cookie(
            PLACE_COOKIE, quote(form["place"], safe=""), max_age=12 * 3600, samesite="lax"
        )
    return response


@router.post("/code/scan", response_class=HTMLResponse)
def scan_submit(
    request: Request,
    caller: Scanner,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    code: Annotated[str, Form(max_length=4000)] = "",
    place: Annotated[str, Form(max_length=400)] = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Check a scanned code online, record the scan and show the gatekeeper the verdict.

    The answer is built inside the scan's transaction: if it cannot be built, the scan is
    rolled back, so the record never says "admitted" for an answer the gate did not see.
    """
    form = {"code": code.strip(), "place": place.strip()}
    try:
        if not form["code"] and image is not None and image.filename:
            form["code"] = decode_qr_image(image.file.read(MAX_IMAGE_BYTES + 1))
        with uow() as session:
            outcome = service.scan(
                session, ctx, caller, text=form["code"], place=form["place"], now=clock()
            )
            return _scan_answer(request, caller, ctx, form, outcome=outcome)
    except service.NotThisGate as exc:
        return _scan_answer(request, caller, ctx, form, gate=exc)
    except TwonetsError as exc:
        return _scan_answer(request, caller, ctx, form, error=exc)


# --- statistics and appeals -------------------------------------------------------------------


@router.get("/codes/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
) -> HTMLResponse:
    """Scans per scenario per day, unique holders and the peak minute."""
    today = clock().date()
    since = today - timedelta(days=days - 1)
    with uow() as session:
        stats = service.statistics(session, since=since, until=today)
        names = {s.code: s.name_en for s in service.list_scenarios(session)}
    busiest = max((d["scans"] for d in stats["days"]), default=0)
    return render(
        request,
        "codes/stats.html",
        caller,
        stats=stats,
        names=names,
        busiest=busiest,
        days=days,
        day_label=lambda iso: local_date(iso + "T12:00:00+08:00"),
        when=local_time,
        weekday=lambda iso: date.fromisoformat(iso).strftime("%a"),
    )


@router.get("/codes/appeals", response_class=HTMLResponse)
def appeals_page(
    request: Request,
    caller: Authority,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    state: Annotated[str, Query(alias="status", max_length=16)] = "pending",
) -> HTMLResponse:
    """The health codes authority's queue of appeals against automated health status."""
    return _appeals(request, caller, uow, ctx, clock(), state)


def _appeals(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    ctx: Coding,
    now: datetime,
    state: str,
    *,
    error: TwonetsError | None = None,
    failed: dict[str, Any] | None = None,
) -> HTMLResponse:
    problem: TwonetsError | None = None
    rows: list[dict[str, Any]] = []
    elsewhere: list[str] | None = None
    try:
        with uow() as session:
            rows = service.list_appeals(session, ctx, caller, status=state, now=now)
    except Forbidden as exc:
        problem = exc
        # Every codes authority finds this page in the menu; one of another function is told
        # whose work appeals are and what is theirs, rather than shown an error.
        with uow() as session:
            elsewhere = [s.name_en for s in service.scenarios_decided_by(session, caller)]
    except TwonetsError as exc:
        problem = exc
    shown = error or (problem if elsewhere is None else None)
    return render(
        request,
        "codes/appeals.html",
        caller,
        status_code=shown.status if shown is not None else 200,
        rows=rows,
        state=state,
        problem=problem if elsewhere is None else None,
        elsewhere=elsewhere,
        error=error,
        errors=field_errors(error),
        messages=labelled(error, DECISION_LABELS),
        failed=failed or {},
        colours=COLOURS,
        when=local_time,
    )


@router.post("/codes/appeals/{appeal_id}", response_class=HTMLResponse)
def decide_submit(
    request: Request,
    appeal_id: int,
    caller: Authority,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    decision: Annotated[str, Form(max_length=16)] = "",
    colour: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Uphold (with a colour) or reject one appeal."""
    try:
        with uow() as session:
            service.decide_appeal(
                session,
                ctx,
                caller,
                appeal_id=appeal_id,
                uphold=decision == "uphold",
                colour=colour or None,
                reason=reason,
                now=clock(),
            )
    except TwonetsError as exc:
        typed = {"id": appeal_id, "decision": decision, "colour": colour, "reason": reason}
        return _appeals(request, caller, uow, ctx, clock(), "pending", error=exc, failed=typed)
    return RedirectResponse("/codes/appeals?status=pending", status_code=303)
