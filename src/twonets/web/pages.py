"""Server-rendered pages of the core: login, sign-up, home per role, places, ids, lock-outs."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import auth, logins, service, signup
from twonets.core.config import Settings
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import (
    TOKEN_COOKIE,
    AppSettings,
    Caller,
    ClientAddress,
    Clock,
    MaybeCaller,
    Sms,
    UnitOfWork,
    Uow,
    authenticated,
    bearer_token,
    forget_token,
    public,
    require,
    secure_cookies,
)
from twonets.core.ids import check_identifier
from twonets.core.models import Role
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.navigation import nav_for

router = APIRouter(include_in_schema=False)


def render(
    request: Request,
    template: str,
    principal: auth.Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page inside the shell, with the menu this caller may see."""
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {"principal": principal, "nav": nav_for(principal), "path": request.url.path, **context},
        status_code=status_code,
    )
    return response


try:
    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database: Shanghai has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def local_time(value: datetime | str | None) -> str:
    """A moment as a person in Shanghai reads it: ``30 Nov 2026, 17:05``."""
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def local_date(value: datetime | str | None) -> str:
    """The Shanghai date of a moment: ``30 Nov 2026``."""
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    return f"{moment.day} {moment:%b %Y}"


def local_iso(value: datetime | str) -> str:
    """The moment in Shanghai time, ISO 8601 (for ``<time datetime>``)."""
    return _moment(value).isoformat(timespec="minutes")


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files are ignored), parsed before the handler runs."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def field_errors(error: TwonetsError | None) -> dict[str, str]:
    """The message for each field an error names, for a form to show beside the field."""
    if error is None:
        return {}
    return {problem.field: problem.detail for problem in error.errors}


def _safe_next(value: str | None) -> str:
    # Only same-site paths: a login link must not bounce the user to another site.
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/"
    return value


@router.get("/language/{code}", dependencies=[Depends(public)])
def choose_language(code: str, request: Request, next: str = "/") -> RedirectResponse:
    """Show the pages in another language from now on (a cookie remembers the choice)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in i18n.BY_CODE:
        response.set_cookie(
            i18n.LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request, caller: MaybeCaller, next: str | None = None) -> Response:
    """The login form."""
    if caller is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_submit(
    request: Request,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    address: ClientAddress,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials, set the session cookie and go on."""
    ttl = timedelta(hours=settings.token_ttl_hours)
    with uow() as session:
        attempt = logins.log_in(
            session,
            username=username,
            password=password,
            address=address,
            limits=logins.LoginLimits.of(settings),
            now=clock(),
            ttl=ttl,
        )
    if attempt.refusal is not None or attempt.value is None:
        refusal = attempt.refusal
        return render(
            request,
            "login.html",
            None,
            status_code=refusal.status if refusal else 401,
            next=_safe_next(next),
            error=refusal.detail if refusal else logins.WRONG,
            username=username,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        attempt.value.token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
    )
    return response


@router.post("/logout", dependencies=[Depends(authenticated)])
def logout(request: Request, uow: Uow, clock: Clock) -> Response:
    """Revoke the session and return to the login page."""
    token = bearer_token(request)
    if token:
        with uow() as session:
            auth.revoke_token(session, token, now=clock())
        forget_token(request, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="lax")
    return response


SIGNUP_KINDS = {
    signup.SubjectKind.CITIZEN: {
        "identifier": "ID number",
        "name": "Your name as registered",
        "hint": "The 18-character resident ID number (居民身份证号码).",
    },
    signup.SubjectKind.ENTERPRISE: {
        "identifier": "Unified social credit code",
        "name": "The enterprise's name as registered",
        "hint": "The 18-character code on the business licence (统一社会信用代码).",
    },
}


def _signup_kind(value: str | None) -> signup.SubjectKind:
    return (
        signup.SubjectKind.ENTERPRISE
        if value == signup.SubjectKind.ENTERPRISE.value
        else signup.SubjectKind.CITIZEN
    )


def _signup_page(
    request: Request,
    kind: signup.SubjectKind,
    *,
    step: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(
        request,
        "signup.html",
        None,
        status_code=status_code,
        kind=kind.value,
        labels=SIGNUP_KINDS[kind],
        step=step,
        **context,
    )


@router.get("/signup", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_page(request: Request, caller: MaybeCaller, kind: str | None = None) -> Response:
    """Sign up, step one: the identifier and the name on record."""
    if caller is not None:
        return RedirectResponse("/", status_code=303)
    return _signup_page(request, _signup_kind(kind), step="start", errors={}, values={})


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_start(
    request: Request,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    sms: Sms,
    form: FormFields,
) -> HTMLResponse:
    """Ask for a code; step two shows the same words whatever the register holds."""
    kind = _signup_kind(form.get("kind"))
    values = {"identifier": form.get("identifier", ""), "name": form.get("name", "")}
    limits = signup.SignupLimits.of(settings)
    try:
        with uow() as session:
            if kind is signup.SubjectKind.CITIZEN:
                answer = signup.start_citizen_signup(
                    session,
                    id_number=values["identifier"],
                    name=values["name"],
                    sms=sms,
                    limits=limits,
                    now=clock(),
                )
            else:
                answer = signup.start_enterprise_signup(
                    session,
                    credit_code=values["identifier"],
                    name=values["name"],
                    sms=sms,
                    limits=limits,
                    now=clock(),
                )
    except Invalid as exc:
        errors = {
            ("identifier" if e.field in {"id_number", "credit_code"} else e.field): e.detail
            for e in exc.errors
        }
        return _signup_page(
            request, kind, step="start", status_code=422, errors=errors, values=values
        )
    return _signup_page(
        request, kind, step="confirm", status_code=202, answer=answer, errors={}, values=values
    )


@router.post("/signup/confirm", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_confirm(
    request: Request, uow: Uow, clock: Clock, settings: AppSettings, form: FormFields
) -> HTMLResponse:
    """Confirm the code and choose a password; then log in with them."""
    kind = _signup_kind(form.get("kind"))
    values = {"identifier": form.get("identifier", ""), "name": form.get("name", "")}
    limits = signup.SignupLimits.of(settings)
    try:
        with uow() as session:
            if kind is signup.SubjectKind.CITIZEN:
                attempt = signup.confirm_citizen_signup(
                    session,
                    id_number=values["identifier"],
                    code=form.get("code", ""),
                    password=form.get("password", ""),
                    limits=limits,
                    now=clock(),
                )
            else:
                attempt = signup.confirm_enterprise_signup(
                    session,
                    credit_code=values["identifier"],
                    code=form.get("code", ""),
                    password=form.get("password", ""),
                    limits=limits,
                    now=clock(),
                )
        account = attempt.unwrap()
    except Invalid as exc:
        errors = {
            ("identifier" if e.field in {"id_number", "credit_code"} else e.field): e.detail
            for e in exc.errors
        }
        return _signup_page(
            request, kind, step="confirm", status_code=422, errors=errors, values=values
        )
    return render(
        request,
        "login.html",
        None,
        next="/",
        error=None,
        notice="Your account is ready. Log in with the password you chose.",
        username=account.username,
    )


@router.get("/accounts", response_class=HTMLResponse, dependencies=[Depends(require(Role.ADMIN))])
def accounts_page(
    request: Request, caller: Caller, uow: Uow, clock: Clock, settings: AppSettings
) -> HTMLResponse:
    """Lock-outs after failed logins, and the addresses refused now (administrators)."""
    return _accounts_page(request, caller, uow, clock(), settings)


def _accounts_page(
    request: Request,
    caller: auth.Principal,
    uow: UnitOfWork,
    now: datetime,
    settings: Settings,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limits = logins.LoginLimits.of(settings)
    with uow() as session:
        locks = logins.list_lockouts(session, caller, now=now)
        refused = logins.list_refused_addresses(session, caller, limits=limits, now=now)
        counts = service.count_accounts(session)
    return render(
        request,
        "accounts.html",
        caller,
        status_code=status_code,
        locks=locks,
        refused=refused,
        counts=counts,
        limits=limits,
        notice=notice,
        error=error,
        when=local_time,
    )


@router.post(
    "/accounts/unlock", response_class=HTMLResponse, dependencies=[Depends(require(Role.ADMIN))]
)
def accounts_unlock(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    form: FormFields,
) -> HTMLResponse:
    """Lift the lock on a user name and show the list again."""
    username = form.get("username", "")
    now = clock()
    try:
        with uow() as session:
            logins.unlock(session, caller, username=username, now=now)
    except TwonetsError as exc:
        return _accounts_page(
            request, caller, uow, now, settings, error=exc.detail, status_code=exc.status
        )
    return _accounts_page(request, caller, uow, now, settings, notice=f"{username} is unlocked.")


ROLE_TITLES = {
    Role.CITIZEN: N_("Resident"),
    Role.ENTERPRISE: N_("Enterprise"),
    Role.STAFF: N_("Department staff"),
    Role.OPERATOR: N_("City operations operator"),
    Role.FIELD: N_("Field staff"),
    Role.VERIFIER: N_("Verifier"),
    Role.CODES_AUTHORITY: N_("Codes authority"),
    Role.SUPERVISOR: N_("Operations supervisor"),
    Role.HEALTH_PLANNER: N_("Health planner"),
    Role.DPO: N_("Data protection officer"),
    Role.ADMIN: N_("Administrator"),
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: Caller, uow: Uow) -> HTMLResponse:
    """The start page of the caller's role: what they can do, where to go."""
    facts: dict[str, Any] = {}
    with uow() as session:
        if Role.ADMIN in caller.roles:
            facts["accounts"] = service.count_accounts(session)
            facts["departments"] = len(service.list_departments(session))
        if caller.department_code:
            department = service.get_department(session, caller.department_code)
            facts["department"] = department
    roles = sorted(caller.roles, key=lambda r: list(Role).index(r))
    return render(
        request,
        "home.html",
        caller,
        role_titles=[ROLE_TITLES[r] for r in roles],
        facts=facts,
        menu=nav_for(caller),
    )


@router.get("/districts", response_class=HTMLResponse)
def districts_page(request: Request, caller: MaybeCaller, uow: Uow) -> HTMLResponse:
    """The districts of the city, their populations, and a map of their boundaries."""
    with uow() as session:
        districts = list(service.list_districts(session))
        regions = list(service.list_regions(session))
    total = sum(d.population_2020 for d in districts)
    return render(
        request, "districts.html", caller, districts=districts, regions=regions, total=total
    )


@router.get(
    "/departments",
    response_class=HTMLResponse,
    dependencies=[Depends(require(*service.STAFF_ROLES))],
)
def departments_page(request: Request, caller: Caller, uow: Uow) -> HTMLResponse:
    """Departments by level and function."""
    with uow() as session:
        departments = list(service.list_departments(session))
    return render(request, "departments.html", caller, departments=departments)


@router.get("/ids", response_class=HTMLResponse)
def ids_page(
    request: Request,
    caller: MaybeCaller,
    value: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Check identifiers in the browser: one verdict per value."""
    values = [v for v in (value or []) for v in v.split() if v]
    results = [check_identifier(v) for v in values]
    return render(request, "ids.html", caller, results=results, values="\n".join(values))


# A photo of a QR code a verifier uploads (a licence, a personal code).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


def decode_qr_image(data: bytes) -> str:
    """The text of the QR code in an image (PNG, JPEG, ...), or ``Invalid`` saying why not."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid.field(
            "image", "size", f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Invalid.field(
                    "image", "size", f"the image is too large ({width} × {height} pixels)"
                )
            image = opened.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise Invalid.field(
            "image", "image", "the file is not an image that can be read (use PNG or JPEG)"
        ) from None
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = [barcode.text for barcode in found if barcode.valid and barcode.text]
    if not texts:
        raise Invalid.field(
            "image",
            "no-qr-code",
            "no QR code was found in the image: photograph the code straight on, close enough "
            "that it fills most of the picture, without glare",
        )
    return texts[0]
