"""HTTP routes of the core: tokens, sign-up, the registers, places, departments, staff, logins."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from twonets.core import auth, geo, idempotency, logins, service, signup
from twonets.core.http import (
    AppSettings,
    Caller,
    ClientAddress,
    Clock,
    Sms,
    Uow,
    bearer_token,
    forget_token,
    media_response,
    public,
    require,
)
from twonets.core.ids import check_identifier
from twonets.core.models import Account, Role
from twonets.core.schemas import (
    AccountOut,
    AccountStateIn,
    AccountStateOut,
    CitizenRegistration,
    CitizenSignupConfirm,
    CitizenSignupStart,
    DepartmentIn,
    DepartmentOut,
    DistrictOut,
    EnterpriseRegistration,
    EnterpriseSignupConfirm,
    EnterpriseSignupStart,
    IdentifierCheckOut,
    LockoutOut,
    LockoutsOut,
    PrincipalOut,
    RefusedAddressOut,
    RegionOut,
    RegisterEntryOut,
    SignupStarted,
    StaffIn,
    TokenOut,
    TokenRequest,
)

router = APIRouter(prefix="/api/v1", tags=["core"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def principal_out(principal: auth.Principal) -> PrincipalOut:
    """The public shape of a principal."""
    return PrincipalOut(
        account_id=principal.account_id,
        username=principal.username,
        display_name=principal.display_name,
        kind=principal.kind,
        roles=sorted(principal.roles),
        department_code=principal.department_code,
        department_function=principal.department_function,
        district_code=principal.district_code,
    )


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        account_id=account.id,
        username=account.username,
        kind=account.kind,
        roles=sorted(r.role for r in account.roles),
    )


@router.post("/auth/token", response_model=TokenOut, dependencies=[Depends(public)])
def create_token(
    body: TokenRequest, uow: Uow, clock: Clock, settings: AppSettings, address: ClientAddress
) -> TokenOut:
    """Log in: exchange a username and password for a bearer token.

    Repeated failures lock the user name (and refuse the client's address) for a while:
    429, the same for a user name that names no account.
    """
    now = clock()
    ttl = timedelta(hours=settings.token_ttl_hours)
    with uow() as session:
        attempt = logins.log_in(
            session,
            username=body.username,
            password=body.password,
            address=address,
            limits=logins.LoginLimits.of(settings),
            now=now,
            ttl=ttl,
        )
    login = attempt.unwrap()
    return TokenOut(
        access_token=login.token, expires_at=now + ttl, principal=principal_out(login.principal)
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    token: Annotated[str, Depends(bearer_token)],
) -> Response:
    """Revoke the token this request came with."""
    with uow() as session:
        auth.revoke_token(session, token, now=clock())
    forget_token(request, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=PrincipalOut)
def me(caller: Caller) -> PrincipalOut:
    """The account this token speaks for."""
    return principal_out(caller)


def _idempotent(
    uow: Uow, scope: str, key: str | None, body: dict[str, Any], write: Any
) -> dict[str, Any]:
    """Run ``write(session)`` once per idempotency key; a retry returns the first answer."""
    with uow() as session:
        return idempotency.once(session, scope, key, body, lambda: write(session))


def _entry_out(kind: str, id: int, identifier: str) -> dict[str, Any]:
    return RegisterEntryOut(kind=kind, id=id, identifier=identifier).model_dump(mode="json")


@router.post(
    "/citizens",
    response_model=RegisterEntryOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Role.STAFF))],
)
def register_citizen(
    body: CitizenRegistration,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Enter a resident into the population register (its keeper's staff; no login).

    The resident then opens their own account through sign-up.
    """

    def write(session: Any) -> dict[str, Any]:
        citizen = service.add_resident(session, caller, **body.model_dump(), now=clock())
        return _entry_out("citizen", citizen.id, citizen.id_number)

    return _idempotent(uow, "citizens.register", key, body.model_dump(), write)


@router.post(
    "/enterprises",
    response_model=RegisterEntryOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Role.STAFF))],
)
def register_enterprise(
    body: EnterpriseRegistration,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Enter an enterprise into the enterprise register (its keeper's staff; no login)."""

    def write(session: Any) -> dict[str, Any]:
        firm = service.add_enterprise(session, caller, **body.model_dump(), now=clock())
        return _entry_out("enterprise", firm.id, firm.credit_code)

    return _idempotent(uow, "enterprises.register", key, body.model_dump(), write)


@router.post(
    "/signup/citizen",
    response_model=SignupStarted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(public)],
)
def start_citizen_signup(
    body: CitizenSignupStart, uow: Uow, clock: Clock, settings: AppSettings, sms: Sms
) -> SignupStarted:
    """A resident asks for a sign-up code; the same answer whatever the register holds."""
    with uow() as session:
        detail = signup.start_citizen_signup(
            session,
            id_number=body.id_number,
            name=body.name,
            sms=sms,
            limits=signup.SignupLimits.of(settings),
            now=clock(),
        )
    return SignupStarted(detail=detail)


@router.post(
    "/signup/citizen/confirm",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
def confirm_citizen_signup(
    body: CitizenSignupConfirm, uow: Uow, clock: Clock, settings: AppSettings
) -> AccountOut:
    """Open the resident's account with the code from the text message (one refusal for all)."""
    with uow() as session:
        attempt = signup.confirm_citizen_signup(
            session,
            id_number=body.id_number,
            code=body.code,
            password=body.password,
            limits=signup.SignupLimits.of(settings),
            now=clock(),
        )
    return _account_out(attempt.unwrap())


@router.post(
    "/signup/enterprise",
    response_model=SignupStarted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(public)],
)
def start_enterprise_signup(
    body: EnterpriseSignupStart, uow: Uow, clock: Clock, settings: AppSettings, sms: Sms
) -> SignupStarted:
    """An enterprise asks for a sign-up code; the same answer whatever the register holds."""
    with uow() as session:
        detail = signup.start_enterprise_signup(
            session,
            credit_code=body.credit_code,
            name=body.name,
            sms=sms,
            limits=signup.SignupLimits.of(settings),
            now=clock(),
        )
    return SignupStarted(detail=detail)


@router.post(
    "/signup/enterprise/confirm",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
def confirm_enterprise_signup(
    body: EnterpriseSignupConfirm, uow: Uow, clock: Clock, settings: AppSettings
) -> AccountOut:
    """Open the enterprise's account with the code from the text message."""
    with uow() as session:
        attempt = signup.confirm_enterprise_signup(
            session,
            credit_code=body.credit_code,
            code=body.code,
            password=body.password,
            limits=signup.SignupLimits.of(settings),
            now=clock(),
        )
    return _account_out(attempt.unwrap())


@router.get("/regions", response_model=list[RegionOut], dependencies=[Depends(public)])
def list_regions(uow: Uow) -> list[RegionOut]:
    """The trust regions (the home city's and those of the Yangtze River Delta)."""
    with uow() as session:
        return [RegionOut.model_validate(r) for r in service.list_regions(session)]


@router.get("/districts", response_model=list[DistrictOut], dependencies=[Depends(public)])
def list_districts(uow: Uow) -> list[DistrictOut]:
    """The districts of the home city with their 2020 census populations."""
    with uow() as session:
        return [DistrictOut.model_validate(d) for d in service.list_districts(session)]


@router.get(
    "/districts.geojson",
    dependencies=[Depends(public)],
    **media_response("application/geo+json", "A GeoJSON FeatureCollection"),
)
def district_boundaries(
    crs: Annotated[str, Query(pattern="^(wgs84|gcj02)$")] = "wgs84",
) -> Response:
    """District boundaries as GeoJSON (WGS-84 by default; GCJ-02 on request)."""
    return Response(
        geo.districts_geojson_bytes(crs=crs),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get(
    "/departments",
    response_model=list[DepartmentOut],
    dependencies=[Depends(require(*service.STAFF_ROLES))],
)
def list_departments(uow: Uow) -> list[DepartmentOut]:
    """Every department (staff only)."""
    with uow() as session:
        return [DepartmentOut.model_validate(d) for d in service.list_departments(session)]


@router.post(
    "/departments",
    response_model=DepartmentOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Role.ADMIN))],
)
def create_department(body: DepartmentIn, uow: Uow) -> DepartmentOut:
    """Add a department (administrators only)."""
    with uow() as session:
        department = service.create_department(session, **body.model_dump())
        return DepartmentOut.model_validate(department)


@router.post(
    "/staff",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Role.ADMIN))],
)
def create_staff(body: StaffIn, uow: Uow) -> AccountOut:
    """Add a member of staff to a department (administrators only)."""
    with uow() as session:
        return _account_out(service.create_staff_account(session, **body.model_dump()))


@router.get("/ids/check", response_model=list[IdentifierCheckOut], dependencies=[Depends(public)])
def check_ids(value: Annotated[list[str], Query(min_length=1, max_length=100)]) -> list[Any]:
    """Check ID numbers and credit codes; one verdict per value."""
    return [check_identifier(v).to_json() for v in value]


@router.get(
    "/accounts/lockouts",
    response_model=LockoutsOut,
    dependencies=[Depends(require(Role.ADMIN))],
)
def list_lockouts(caller: Caller, uow: Uow, clock: Clock, settings: AppSettings) -> LockoutsOut:
    """User names locked in the last day (and any still locked), and addresses refused now."""
    now = clock()
    with uow() as session:
        locks = logins.list_lockouts(session, caller, now=now)
        refused = logins.list_refused_addresses(
            session, caller, limits=logins.LoginLimits.of(settings), now=now
        )
    return LockoutsOut(
        lockouts=[LockoutOut.model_validate(lock) for lock in locks],
        refused_addresses=[RefusedAddressOut.model_validate(a) for a in refused],
    )


@router.post(
    "/accounts/{username}/unlock",
    response_model=LockoutOut,
    dependencies=[Depends(require(Role.ADMIN))],
)
def unlock_account(username: str, caller: Caller, uow: Uow, clock: Clock) -> LockoutOut:
    """Lift the lock on a user name (administrators); 404 when it is not locked."""
    with uow() as session:
        return LockoutOut.model_validate(
            logins.unlock(session, caller, username=username, now=clock())
        )


@router.post(
    "/accounts/{username}/state",
    response_model=AccountStateOut,
    dependencies=[Depends(require(Role.ADMIN))],
)
def set_account_state(
    username: str, body: AccountStateIn, caller: Caller, uow: Uow, clock: Clock
) -> AccountStateOut:
    """Disable an account, ending its logins at once, or enable it again (administrators)."""
    with uow() as session:
        account = service.set_account_active(
            session, caller, username=username, active=body.active, reason=body.reason, now=clock()
        )
        return AccountStateOut(username=account.username, active=account.active)
