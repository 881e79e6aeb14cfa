"""The verifier's desk (``/verify``): paste what is shown or upload a photo of a QR code,
and read the verdict as a hotel clerk needs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.licences import service
from twonets.licences.api import Ctx
from twonets.licences.verify import CredentialVerdict
from twonets.web.licences.words import Places, Words, page, places_of
from twonets.web.pages import MAX_IMAGE_BYTES, decode_qr_image

router = APIRouter(include_in_schema=False)

Verifier = Annotated[Principal, Depends(require(Role.VERIFIER, Role.STAFF, Role.OPERATOR))]


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
    photo: str | None = None,
) -> HTMLResponse:
    if places is None:
        with uow() as session:
            places = places_of(session)
    words = Words.of(request)
    failed = verdict is not None and not verdict.valid
    headline, explanation = words.step_words(verdict) if verdict and failed else ("", "")
    return page(
        request,
        "licences/verify.html",
        caller,
        status_code=status_code,
        form=form or {},
        photo=photo,
        verdict=verdict,
        headline=headline,
        explanation=explanation,
        places=places,
        issuer_text=words.issuer(places, verdict.issuer if verdict else None),
        source=source,
        error=error,
        errors=words.form_errors(error),
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
    photo = image.filename if image is not None and image.filename else None
    form = {"credential": credential.strip(), "audience": audience.strip(), "nonce": nonce.strip()}
    now = clock()
    source = "pasted"
    try:
        if image is not None and photo is not None:
            form["credential"] = decode_qr_image(image.file.read(MAX_IMAGE_BYTES + 1), photo)
            source = "image"
        if not form["credential"]:
            raise Invalid.field(
                "credential",
                "required",
                "paste the QR code's text or the shared presentation, or choose a photo of "
                "the QR code",
            )
    except Invalid as exc:
        return _verify_page(
            request, caller, uow, form=form, error=exc, status_code=exc.status, photo=photo
        )
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
        places = places_of(session)
    return _verify_page(
        request, caller, uow, form=form, verdict=verdict, places=places, source=source
    )
