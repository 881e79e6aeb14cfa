"""HTTP routes of the core: tokens, registration, places, departments, staff, identifiers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from twonets.core import auth, geo, idempotency, service
from twonets.core.http import (
    AppSettings,
    Caller,
    Clock,
    Uow,
    bearer_token,
    forget_token,
    public,
    require,
)
from twonets.core.ids import check_identifier
from twonets.core.models import Account, Role
from twonets.core.schemas import (
    AccountOut,
    CitizenRegistration,
    DepartmentIn,
    DepartmentOut,
    DistrictOut,
    EnterpriseRegistration,
    IdentifierCheckOut,
    PrincipalOut,
    RegionOut,
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
def create_token(body: TokenRequest, uow: Uow, clock: Clock, settings: AppSettings) -> TokenOut:
    """Log in: exchange a username and password for a bearer token."""
    now = clock()
    ttl = timedelta(hours=settings.token_ttl_hours)
    with uow() as session:
        token, principal = service.log_in(
            session, username=body.username, password=body.password, now=now, ttl=ttl
        )
    return TokenOut(access_token=token, expires_at=now + ttl, principal=principal_out(principal))


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


@router.post(
    "/citizens",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
def register_citizen(
    body: CitizenRegistration, uow: Uow, clock: Clock, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Register a resident; the ID number is checked (GB 11643) before anything is written."""
    return _idempotent(
        uow,
        "citizens.register",
        key,
        body.model_dump(),
        lambda session: _account_out(
            service.register_citizen(session, **body.model_dump(), now=clock())
        ).model_dump(mode="json"),
    )


@router.post(
    "/enterprises",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
def register_enterprise(
    body: EnterpriseRegistration, uow: Uow, clock: Clock, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Register an enterprise; the credit code is checked (GB 32100) first."""
    return _idempotent(
        uow,
        "enterprises.register",
        key,
        body.model_dump(),
        lambda session: _account_out(
            service.register_enterprise(session, **body.model_dump(), now=clock())
        ).model_dump(mode="json"),
    )


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


@router.get("/districts.geojson", dependencies=[Depends(public)])
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
