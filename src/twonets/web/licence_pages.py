"""Pages of electronic licences: the holder's wallet, the verifier's desk, issuing, trust.

Residents and enterprises keep their licences in a web wallet (``/wallet``): each shows as a
QR code signed the moment it is drawn, or is shared as an SD-JWT presentation that reveals
only the ticked details. Verifiers paste what they are shown, or upload a photo of a QR code
(``/verify``), and read the verdict as a hotel clerk needs it. Issuing clerks fill in a
licence type from the catalogue (``/licences/issue``) and see each licence they issued with
its history (``/licences/{id}``). Everyone logged in sees which regions are recognised
(``/trust``); administrators add and drop regions. Handlers only parse, call
``twonets.licences.service`` or ``twonets.trust.service`` and render; they get the licensing
context the way the API does (``twonets.licences.api.get_licensing``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, TwonetsError
from twonets.core.http import Caller, Clock, UnitOfWork, Uow, require
from twonets.core.models import Department, Region, Role
from twonets.licences import catalogue, service
from twonets.licences.api import Ctx
from twonets.licences.verify import CredentialVerdict
from twonets.trust import service as trust
from twonets.web.pages import (
    MAX_IMAGE_BYTES,
    SHANGHAI,
    FormFields,
    decode_qr_image,
    field_errors,
    local_date,
    local_time,
    render,
)

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Verifier = Annotated[Principal, Depends(require(Role.VERIFIER, Role.STAFF, Role.OPERATOR))]
Clerk = Annotated[Principal, Depends(require(Role.STAFF))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

# What a hotel asks to see at check-in; the share form ticks these by default.
HOTEL_CHECK = ("name", "id_number", "photo_hash", "enterprise_name", "credit_code")
COUNT_DAYS = 30
QR_TARGET_PIXELS = 330

STATUS_LABELS = {
    "active": "in force",
    "suspended": "suspended",
    "revoked": "revoked",
    "superseded": "replaced by a newer version",
}

# A licence's history entries in words.
ACTION_LABELS = {
    "issued": "Issued",
    "amended": "Amended: a new version",
    "superseded": "Replaced by a newer version",
    "suspended": "Suspended",
    "resumed": "Back in force",
    "revoked": "Revoked",
}

# The failing step of a verdict, as a clerk reads it: a headline and what it means.
STEP_WORDS: dict[str, tuple[str, str]] = {
    "prefix": (
        "Not a licence code",
        "The code does not start with a region prefix such as SH1:. It may be another kind "
        "of QR code (a payment or a web link), or only part of it was copied.",
    ),
    "base45": (
        "Damaged code",
        "The code's text is not valid base45: part of it is missing or was changed.",
    ),
    "compression": (
        "Damaged code",
        "The code's content does not unpack (zlib): it was cut short or changed.",
    ),
    "cbor": (
        "Damaged code",
        "The code's content cannot be read (CBOR): it is not a licence, or it was changed.",
    ),
    "format": (
        "Not a licence presentation",
        "The shared text is not a complete SD-JWT presentation. Ask the holder to copy all "
        "of it, from the first character to the last.",
    ),
    "kid": (
        "Unknown signing key",
        "The code names a signing key that no recognised region lists.",
    ),
    "signature": (
        "Forged or altered",
        "The issuer's signature does not match: the licence was changed after it was signed.",
    ),
    "trust": (
        "Region not recognised",
        "The licence was issued in a region whose licences are not recognised here.",
    ),
    "expired": (
        "Expired",
        "The code or presentation is past its expiry date. Ask the holder for a new one.",
    ),
    "not_yet_valid": (
        "Not valid yet",
        "The code says it becomes valid later. Check the clock of this device.",
    ),
    "holder_binding": (
        "Not shown by its holder",
        "The presentation was not made for you, just now, by the licence's holder: the "
        "holder's signature, your verifier name or your challenge does not match. Ask the "
        "holder to share the licence again with the challenge you give them.",
    ),
    "disclosure": (
        "Altered details",
        "A detail in the presentation does not match what the issuer signed.",
    ),
}


# --- words for people -------------------------------------------------------------------------


def licence_type(code: str | None) -> catalogue.LicenceType | None:
    """The catalogue entry of a licence type, or None for an unknown code."""
    if not code:
        return None
    try:
        return catalogue.get_type(code)
    except NotFound:
        return None


def field_label(type_code: str | None, name: str) -> str:
    """A licence field as the catalogue labels it."""
    kind = licence_type(type_code)
    if kind is not None:
        for f in kind.fields:
            if f.name == name:
                return f.label
    return name.replace("_", " ").capitalize()


def day_text(value: date | str | None) -> str:
    """A calendar day as people read it: ``4 Mar 1985``."""
    if value is None or value == "":
        return "—"
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"


def claim_text(type_code: str | None, name: str, value: Any) -> str:
    """A licence claim's value as people read it (dates in words)."""
    kind = licence_type(type_code)
    if kind is not None and isinstance(value, str):
        for f in kind.fields:
            if f.name == name and f.type is catalogue.FieldType.DATE:
                return day_text(value)
    if value is None or value == "":
        return "—"
    return str(value)


def is_hash(type_code: str | None, name: str) -> bool:
    """Whether a field holds a digest (shown shortened, in full on hover)."""
    kind = licence_type(type_code)
    return kind is not None and any(
        f.name == name and f.type is catalogue.FieldType.HASH for f in kind.fields
    )


def labels_text(type_code: str, names: Iterable[str]) -> str:
    """Fields in words: ``Name, ID number, Photo (SHA-256)``."""
    return ", ".join(field_label(type_code, n) for n in names)


def status_label(status: str) -> str:
    """A licence status in words."""
    return STATUS_LABELS.get(status, status)


def action_label(action: str) -> str:
    """A change in a licence's history in words."""
    return ACTION_LABELS.get(action, action)


def step_words(verdict: CredentialVerdict) -> tuple[str, str]:
    """The headline and the plain explanation of a failed verdict."""
    step, detail = verdict.step, verdict.detail
    if step == "status":
        if verdict.status == "revoked":
            return (
                "Revoked",
                "The issuer has revoked this licence (or replaced it with a newer version). "
                "Do not accept it.",
            )
        if verdict.status == "suspended":
            return (
                "Suspended",
                "The issuer has suspended this licence, for example because it was reported "
                "lost. Do not accept it now.",
            )
        return (
            "Status unknown",
            "Whether the licence is still in force could not be checked.",
        )
    if step == "prefix" and verdict.named_region:
        return (
            "Region not recognised",
            f"The code is of region {verdict.named_region}, whose licences are not "
            "recognised here.",
        )
    return STEP_WORDS.get(step, (step.replace("_", " ").capitalize(), detail))


@dataclass(frozen=True)
class Places:
    """Regions and departments by code, to name issuers."""

    regions: Mapping[str, Region]
    departments: Mapping[str, Department]

    def region(self, code: str | None) -> str:
        """A region by name: ``Jiangsu 江苏省``."""
        if not code:
            return "unknown region"
        region = self.regions.get(code)
        return f"{region.name_en} {region.name}" if region else code

    def region_en(self, code: str | None) -> str:
        """A region's English name."""
        region = self.regions.get(code or "")
        return region.name_en if region else (code or "unknown region")

    def is_home(self, code: str | None) -> bool:
        """Whether a region is this platform's own."""
        region = self.regions.get(code or "")
        return bool(region and region.home)

    def department(self, code: str | None) -> Department | None:
        """A department by code (an issuer of ``SH:sh.police`` is ``sh.police``)."""
        if not code:
            return None
        return self.departments.get(code.split(":", 1)[-1])


def _places(session: Session) -> Places:
    return Places(
        regions={r.code: r for r in core_service.list_regions(session)},
        departments={d.code: d for d in core_service.list_departments(session)},
    )


HELPERS: dict[str, Any] = {
    "licence_type": licence_type,
    "field_label": field_label,
    "claim_text": claim_text,
    "is_hash": is_hash,
    "day": day_text,
    "when": local_time,
    "labels_text": labels_text,
    "status_label": status_label,
    "action_label": action_label,
}


def _page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(request, template, principal, status_code, **HELPERS, **context)


# --- the wallet -------------------------------------------------------------------------------


@router.get("/wallet", response_class=HTMLResponse)
def wallet_page(request: Request, caller: Holder, uow: Uow, ctx: Ctx) -> HTMLResponse:
    """The caller's licences as cards."""
    with uow() as session:
        licences = service.wallet(session, ctx, caller)
        places = _places(session)
    return _page(request, "licences/wallet.html", caller, licences=licences, places=places)


def _qr_svg(text: str) -> tuple[Markup, int]:
    """The QR code of ``text`` as inline SVG (drawn at whole pixels per module), its version."""
    code = segno.make_qr(text, error="m")
    modules = code.symbol_size(scale=1)[0]
    scale = max(2, QR_TARGET_PIXELS // modules)
    svg = code.svg_inline(
        scale=1,
        omitsize=True,
        light="#fff",
        svgclass="qr",
        title="QR code of this licence",
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
    session: Session, ctx: service.Licensing, caller: Principal, licence_id: int, now: datetime
) -> QrCode:
    text = service.qr_code(session, ctx, caller, licence_id=licence_id, now=now)
    svg, version = _qr_svg(text)
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
    with uow() as session:
        licence = service.held_licence(session, ctx, caller, licence_id=licence_id)
        history = service.holder_history(session, caller, licence_id=licence_id)
        places = _places(session)
        qr: QrCode | None = None
        qr_problem = ""
        if licence["status"] == "active":
            try:
                qr = _qr_of(session, ctx, caller, licence_id, now)
            except TwonetsError as exc:
                qr_problem = exc.detail
    kind = catalogue.get_type(licence["type"])
    disclosable = [f for f in kind.fields if f.disclosable and f.name in licence["claims"]]
    always = [f for f in kind.fields if not f.disclosable and f.name in licence["claims"]]
    form = dict(share or {})
    if "disclose" not in form:
        form["disclose"] = [f.name for f in disclosable if f.name in HOTEL_CHECK]
    form.setdefault("audience", "hotel front desk")
    form.setdefault("nonce", secrets.token_urlsafe(9))
    return _page(
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
        errors=field_errors(error),
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
        qr = _qr_of(session, ctx, caller, licence_id, clock())
    return _page(request, "licences/_qr.html", caller, qr=qr)


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
) -> HTMLResponse:
    """An SD-JWT presentation of one licence that reveals exactly the ticked fields."""
    chosen = list(dict.fromkeys(disclose or []))
    form: dict[str, Any] = {
        "audience": audience.strip(),
        "nonce": nonce.strip(),
        "disclose": chosen,
    }
    now = clock()
    try:
        if not form["audience"]:
            raise Invalid.field("audience", "required", "name who you show the licence to")
        if not form["nonce"]:
            raise Invalid.field("nonce", "required", "enter the challenge the verifier gave you")
        with uow() as session:
            presentation = service.share(
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
    return _licence_page(request, caller, uow, ctx, now, licence_id, share=form)


# --- the verifier's desk ----------------------------------------------------------------------


def _issuer_text(places: Places, issuer: str | None) -> str:
    department = places.department(issuer)
    if department is not None:
        return f"{department.name} {department.name_en}"
    return issuer or "unknown issuer"


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, caller: Verifier, uow: Uow) -> HTMLResponse:
    """The verifier's form: paste a QR text or a presentation, or upload a photo of a code."""
    return _verify_page(request, caller, uow)


def _verify_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    *,
    form: Mapping[str, str] | None = None,
    verdict: CredentialVerdict | None = None,
    places: Places | None = None,
    source: str = "",
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if places is None:
        with uow() as session:
            places = _places(session)
    headline, explanation = step_words(verdict) if verdict and not verdict.valid else ("", "")
    return _page(
        request,
        "licences/verify.html",
        caller,
        status_code=status_code,
        form=form or {},
        verdict=verdict,
        headline=headline,
        explanation=explanation,
        places=places,
        issuer_text=_issuer_text(places, verdict.issuer if verdict else None),
        source=source,
        error=error,
        errors=field_errors(error),
        can_issue=bool(service.types_issued_by(caller)),
    )


@router.post("/verify", response_class=HTMLResponse)
def verify_submit(
    request: Request,
    caller: Verifier,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    credential: Annotated[str, Form(max_length=20_000)] = "",
    audience: Annotated[str, Form(max_length=200)] = "",
    nonce: Annotated[str, Form(max_length=200)] = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Verify what was shown (one unit of work: the verification is counted)."""
    data = image.file.read(MAX_IMAGE_BYTES + 1) if image is not None and image.filename else b""
    form = {"credential": credential.strip(), "audience": audience.strip(), "nonce": nonce.strip()}
    now = clock()
    source = "pasted"
    try:
        if data:
            form["credential"] = decode_qr_image(data)
            source = "image"
        if not form["credential"]:
            raise Invalid.field(
                "credential",
                "required",
                "paste the QR code's text or the shared presentation, or choose a photo of "
                "the QR code",
            )
    except Invalid as exc:
        return _verify_page(request, caller, uow, form=form, error=exc, status_code=exc.status)
    with uow() as session:
        verdict = service.verify(
            session,
            ctx,
            text=form["credential"],
            verifier=caller.username,
            now=now,
            audience=form["audience"] or None,
            nonce=form["nonce"] or None,
        )
        places = _places(session)
    return _verify_page(
        request, caller, uow, form=form, verdict=verdict, places=places, source=source
    )


# --- issuing ----------------------------------------------------------------------------------


def _issue_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    type_code: str,
    values: Mapping[str, str] | None = None,
    issued: Mapping[str, Any] | None = None,
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    types = service.issuing_types(caller)
    chosen = next((t for t in types if t.code == type_code), None)
    if chosen is None and len(types) == 1:
        chosen = types[0]
    with uow() as session:
        department = core_service.get_department(session, caller.department_code or "")
        places = _places(session)
    today = local_date(now)
    return _page(
        request,
        "licences/issue.html",
        caller,
        status_code=status_code,
        types=types,
        chosen=chosen,
        department=department,
        places=places,
        values=values or {"valid_from": _shanghai_day(now).isoformat()},
        today=today,
        issued=issued,
        error=error,
        errors=field_errors(error),
    )


def _shanghai_day(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


@router.get("/licences/issue", response_class=HTMLResponse)
def issue_page(
    request: Request,
    caller: Clerk,
    uow: Uow,
    clock: Clock,
    type: Annotated[str, Query(max_length=8)] = "",
    issued: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """The issuing form of the licence types the caller's department issues."""
    done: dict[str, Any] | None = None
    if issued is not None:
        with uow() as session:
            done = service.licence_summary(service.get_issued_licence(session, caller, issued))
    return _issue_page(request, caller, uow, clock(), type_code=type, issued=done)


def _day_field(form: Mapping[str, str], name: str, *, required: bool) -> date | None:
    value = form.get(name, "")
    if not value:
        if required:
            raise Invalid.field(name, "required", "choose a day")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(name, "date", f"should be a date YYYY-MM-DD, got {value!r}") from None


@router.post("/licences/issue", response_class=HTMLResponse)
def issue_submit(
    request: Request, caller: Clerk, uow: Uow, clock: Clock, ctx: Ctx, form: FormFields
) -> Response:
    """Issue one licence; problems come back next to their fields."""
    type_code = form.get("type", "")
    now = clock()
    try:
        kind = next((t for t in service.types_issued_by(caller) if t.code == type_code), None)
        if kind is None:
            raise Invalid.field("type", "known", "choose a licence type your department issues")
        claims = {f.name: form.get(f"claims.{f.name}", "") for f in kind.fields}
        valid_from = _day_field(form, "valid_from", required=True)
        valid_until = _day_field(form, "valid_until", required=False)
        assert valid_from is not None
        with uow() as session:
            licence = service.issue_licence(
                session,
                ctx,
                caller,
                type_code=kind.code,
                claims={k: v for k, v in claims.items() if v},
                valid_from=valid_from,
                valid_until=valid_until,
                now=now,
            )
            licence_id = licence.id
    except (Invalid, Forbidden, Conflict) as exc:
        return _issue_page(
            request,
            caller,
            uow,
            now,
            type_code=type_code,
            values=form,
            error=exc,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/licences/issue?type={type_code}&issued={licence_id}", status_code=303
    )


@router.get("/licences/{licence_id:int}", response_class=HTMLResponse)
def issued_licence_page(request: Request, licence_id: int, caller: Clerk, uow: Uow) -> HTMLResponse:
    """A licence the caller's department issued (or may change): its facts and history."""
    with uow() as session:
        licence = service.licence_summary(service.get_issued_licence(session, caller, licence_id))
        history = service.licence_history(session, caller, licence_id=licence_id)
        places = _places(session)
    return _page(
        request,
        "licences/issued.html",
        caller,
        licence=licence,
        history=history,
        places=places,
    )


# --- trust ------------------------------------------------------------------------------------


def result_text(result: str) -> str:
    """A verification result as a clerk's headline: ``valid``, ``Revoked``..."""
    if result == "valid":
        return "valid"
    if result == "status":
        return "revoked or suspended"
    return STEP_WORDS.get(result, (result.replace("_", " "), ""))[0].lower()


def _trust_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    form: Mapping[str, str] | None = None,
    added: str = "",
    dropped: str = "",
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sees_counts = caller.has_any({Role.ADMIN, Role.DPO})
    with uow() as session:
        recognised = list(trust.list_recognised(session))
        regions = [
            (
                record,
                trust.describe_recognised(record, now),
                trust.holds_region(session, record.region_code),
            )
            for record in recognised
        ]
        places = _places(session)
        counts = (
            service.verification_totals(session, since=(now - timedelta(days=COUNT_DAYS)).date())
            if sees_counts
            else []
        )
    return _page(
        request,
        "licences/trust.html",
        caller,
        status_code=status_code,
        regions=regions,
        places=places,
        counts=counts,
        total=sum(c.count for c in counts),
        valid_total=sum(c.count for c in counts if c.result == "valid"),
        sees_counts=sees_counts,
        is_admin=Role.ADMIN in caller.roles,
        days=COUNT_DAYS,
        result_text=result_text,
        form=form or {},
        added=added,
        dropped=dropped,
        error=error,
        errors=field_errors(error),
        now=now,
    )


@router.get("/trust", response_class=HTMLResponse)
def trust_page(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    added: Annotated[str, Query(max_length=8)] = "",
    dropped: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """Recognised regions and their trust lists; verification counts for admins and DPOs."""
    return _trust_page(request, caller, uow, clock(), added=added, dropped=dropped)


@router.post("/trust/regions", response_class=HTMLResponse)
def recognise_region(
    request: Request, caller: Admin, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Recognise another region from its anchor and signed trust list."""
    now = clock()
    try:
        anchor, trust_list = form.get("anchor", ""), form.get("trust_list", "")
        if not anchor:
            raise Invalid.field("anchor", "required", "paste the region's anchor (a PEM key)")
        if not trust_list:
            raise Invalid.field("trust_list", "required", "paste the region's signed trust list")
        with uow() as session:
            record = trust.recognise_region(session, anchor=anchor, trust_list=trust_list, now=now)
            region = record.region_code
    except TwonetsError as exc:
        if exc.status >= 500:
            raise
        return _trust_page(request, caller, uow, now, form=form, error=exc, status_code=exc.status)
    return RedirectResponse(f"/trust?added={region}", status_code=303)


@router.post("/trust/regions/{region}/drop", response_class=HTMLResponse)
def drop_region(request: Request, region: str, caller: Admin, uow: Uow, clock: Clock) -> Response:
    """Stop recognising a region: its licences no longer verify here."""
    try:
        with uow() as session:
            trust.drop_region(session, region=region)
    except (Invalid, NotFound) as exc:
        return _trust_page(request, caller, uow, clock(), error=exc, status_code=exc.status)
    return RedirectResponse(f"/trust?dropped={region}", status_code=303)
