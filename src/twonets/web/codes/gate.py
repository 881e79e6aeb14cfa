"""The gate: a scanner checks a code and sees one large banner (admit, check first, refuse).

Scanners paste the scanned text or upload a photo at ``/code/scan``; the banner's words
come from the verdict's reason code, in a gatekeeper's words (no identifiers, a drawn icon
rather than a glyph a terminal's fonts may lack). The checkpoint stays filled in for the
next holder (a cookie, percent-encoded: checkpoints are named in Chinese).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from twonets.codes import service
from twonets.codes.api import Ctx
from twonets.codes.context import Coding
from twonets.codes.service import Action, Reason
from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.web.codes.shared import COLOURS, FIELDS, STATES, Words
from twonets.web.i18n import N_
from twonets.web.pages import (
    MAX_IMAGE_BYTES,
    decode_qr_image,
    field_errors,
    local_iso,
    local_time,
    render,
)

router = APIRouter(include_in_schema=False)

Scanner = Annotated[Principal, Depends(require(*service.SCAN_ROLES))]
PLACE_COOKIE = "twonets_checkpoint"
SCAN_LABELS = {
    "place": N_("Checkpoint"),
    "code": N_("Scanned text"),
    "image": N_("Photo of the code"),
}

# The banner's first line by action: what the gatekeeper does.
HEADLINES: dict[Action, str] = {
    Action.ADMIT: N_("ADMIT"),
    Action.CHECK: N_("CHECK FIRST"),
    Action.REFUSE: N_("DO NOT ADMIT"),
}

# Why, and what to do, by reason code; %(scenario)s and %(checks)s are filled in.
WORDS: dict[Reason, tuple[str, str]] = {
    Reason.ADMIT: (N_("%(scenario)s code is valid"), N_("Let the holder in.")),
    Reason.HEALTH_RED: (
        N_("Red health code"),
        N_(
            "The holder may not enter. They should go home and follow the health department's "
            "instructions."
        ),
    ),
    Reason.HEALTH_YELLOW: (
        N_("Yellow health code"),
        N_(
            "Do not let the holder in on this code alone. Where this place accepts a recent "
            "negative test, ask to see it; otherwise refuse entry."
        ),
    ),
    Reason.NOT_ALLOWED: (
        N_("Entry not allowed"),
        N_("The code is genuine, but it does not allow entry here."),
    ),
    Reason.WRONG_SCENARIO: (
        N_("Wrong kind of code"),
        N_(
            "This is a %(scenario)s code. This gate checks %(checks)s codes: "
            "ask the holder to open that one in their app."
        ),
    ),
    Reason.NOT_IN_USE: (
        N_("Code no longer in use"),
        N_(
            "This kind of code is not in use any more. "
            "Ask the holder for the code this gate checks."
        ),
    ),
    Reason.REVOKED: (
        N_("Code withdrawn"),
        N_(
            "The authority responsible has withdrawn this code. Do not let the holder in; they "
            "can see why in their app."
        ),
    ),
    Reason.UNKNOWN_HOLDER: (
        N_("Holder not registered"),
        N_(
            "The code belongs to no registered holder. Do not let the holder in; ask for "
            "identification and call your supervisor."
        ),
    ),
    Reason.REPLAY: (
        N_("Possible copy"),
        N_(
            "The same code was scanned at another place a moment ago. Ask the holder to refresh "
            "the code in front of you, then scan the new one."
        ),
    ),
    Reason.EXPIRED: (
        N_("Code out of date"),
        N_(
            "The code is more than a minute old (a screenshot, or an app left open). Ask the "
            "holder to open their code again and scan the new one."
        ),
    ),
    Reason.NOT_YET_VALID: (
        N_("Phone clock wrong"),
        N_(
            "The code is dated in the future. Ask the holder to set their phone's clock "
            "automatically and open the code again."
        ),
    ),
    Reason.FORGED: (
        N_("Forged or altered code"),
        N_(
            "The code was not issued as shown. Do not let the holder in; ask for identification "
            "and call your supervisor."
        ),
    ),
    Reason.UNTRUSTED: (
        N_("Region not recognised"),
        N_(
            "The code comes from a region this city does not recognise. Ask for another proof "
            "of identity."
        ),
    ),
    Reason.DAMAGED: (
        N_("Code not read"),
        N_("Part of the code is missing. Scan it again, holding the phone steady and flat."),
    ),
    Reason.UNCHECKED: (
        N_("Withdrawal cannot be checked"),
        N_(
            "The region that issued this code cannot be reached, and its list of withdrawn "
            "codes kept here is out of date. Check the holder's identity another way, or ask "
            "your supervisor."
        ),
    ),
    Reason.NOT_A_CODE: (
        N_("Not a personal code"),
        N_(
            "What was scanned is not a personal or enterprise code. Ask the holder to open their "
            "code in the app."
        ),
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
    words: Words,
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
        "scenario": scenario or words(N_("This")),
        "checks": words.joined(named) if named else words(N_("no")),
    }
    if reason is Reason.WRONG_SCENARIO and not named:
        advice = N_("This desk may not check any kind of code. Ask your supervisor.")
    notes: list[str] = []
    if region and region != home_region:
        notes.append(
            words(
                N_("Issued in %(region)s, a region this city recognises."),
                region=words.region(region),
            )
        )
    if in_grace and action is Action.ADMIT:
        notes.append(words(N_("The code was a few seconds old; it is still accepted.")))
    if repeat_at is not None:
        notes.append(
            words(
                N_("Already scanned here at %(time)s: the same entry, not counted twice."),
                time=local_iso(repeat_at)[11:16],
            )
        )
    return Banner(
        reason,
        action,
        words(HEADLINES[action]),
        words(title, **fill) if "%(" in title else words(title),
        words(advice, **fill) if "%(" in advice else words(advice),
        tuple(notes),
    )


@router.get("/code/scan", response_class=HTMLResponse)
def scan_page(request: Request, caller: Scanner) -> HTMLResponse:
    """The scanner's form: paste the scanned text, or upload a photo of the code."""
    place = unquote(request.cookies.get(PLACE_COOKIE, ""))
    return render(
        request,
        "codes/scan.html",
        caller,
        outcome=None,
        form={"place": place},
        errors={},
        fields=FIELDS,
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
    names: dict[str, str] | None = None,
) -> HTMLResponse:
    """The desk after a scan: one banner (or the form's errors), the form for the next."""
    words = Words.of(request)
    # Scenarios by their name in the page's language (the verdict carries the English one).
    local = names or {}
    shown: Banner | None = None
    if outcome is not None:
        verdict = outcome.verdict
        shown = banner(
            outcome.reason,
            words=words,
            scenario=local.get(outcome.scenario_name or "", outcome.scenario_name),
            region=verdict.region,
            home_region=ctx.region,
            in_grace=verdict.in_grace,
            repeat_at=outcome.repeat.scanned_at if outcome.repeat else None,
        )
    elif gate is not None:
        shown = banner(
            gate.reason,
            words=words,
            scenario=local.get(gate.scenario_name, gate.scenario_name),
            checks=[local.get(name, name) for name in gate.checks],
        )
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
        messages=words.labelled(error, SCAN_LABELS),
        colours=COLOURS,
        fields=FIELDS,
        states=STATES,
        region_name=words.region,
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
    chinese = Words.of(request).chinese
    names: dict[str, str] = {}
    try:
        if not form["code"] and image is not None and image.filename:
            form["code"] = decode_qr_image(image.file.read(MAX_IMAGE_BYTES + 1), image.filename)
        with uow() as session:
            if chinese:
                names = {s.name_en: s.name for s in service.list_scenarios(session)}
            outcome = service.scan(
                session, ctx, caller, text=form["code"], place=form["place"], now=clock()
            )
            return _scan_answer(request, caller, ctx, form, outcome=outcome, names=names)
    except service.NotThisGate as exc:
        return _scan_answer(request, caller, ctx, form, gate=exc, names=names)
    except TwonetsError as exc:
        return _scan_answer(request, caller, ctx, form, error=exc)
