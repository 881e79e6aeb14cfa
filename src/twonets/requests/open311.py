"""Open311 GeoReport v2 at ``/open311/v2``: services, service requests, tokens, in XML
(the specification's required format) and JSON, by the path's extension.

Existing Open311 clients list the services (the management elements residents report, and
the enterprise request categories), file a report with a form-encoded POST carrying their
application's ``api_key``, and follow it. Errors take the specification's shape, a list of
``{"code", "description"}``. What anyone may GET leaves personal data out: no names, e-mail
addresses or phone numbers, and only citizen reports (enterprises' requests are theirs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from twonets.core.errors import Invalid, NotFound, TwonetsError
from twonets.core.http import Clock, Uow, public
from twonets.requests import categories, city, service
from twonets.requests.georeport_xml import MEDIA_TYPE, errors_xml, to_xml
from twonets.requests.models import Request as RequestRow
from twonets.requests.schemas import NewRequest

ROOT = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00Z"
# The specification's default and largest window, and its default number of requests.
WINDOW = timedelta(days=90)
LIMIT = 1000

router = APIRouter(tags=["open311"], dependencies=[Depends(public)])
T = TypeVar("T")


FORMATS = ("xml", "json")


def errors(status: int, description: str, fmt: str = "json") -> Response:
    """An error in GeoReport v2's shape, in the format asked for."""
    if fmt == "xml":
        return Response(errors_xml(status, description), status_code=status, media_type=MEDIA_TYPE)
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _render(value: Any, fmt: str, root: str, status: int) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status, media_type=MEDIA_TYPE)
    return JSONResponse(value, status_code=status)


def _answer(work: Callable[[], Any], fmt: str, root: str, *, status: int = 200) -> Response:
    """Run ``work``; a rule it breaks answers in the specification's error shape.

    ``root`` is the XML document's element (``services``, ``service_requests``, ...).
    """
    if fmt not in FORMATS:
        return errors(404, f"format: .{fmt} is not served; use .xml or .json")
    try:
        return _render(work(), fmt, root, status)
    except TwonetsError as exc:
        # GeoReport v2 speaks of 400 for a bad request where this platform says 422;
        # a reused Idempotency-Key keeps its 422: it is the client's retry logic at fault.
        invalid = isinstance(exc, Invalid) and not isinstance(exc, service.IdempotencyKeyReused)
        code = 400 if invalid else exc.status
        return errors(code, exc.detail, fmt)


def _services(session: Session) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "service_code": e.code,
            "service_name": e.name,
            "description": f"{e.group}/{e.name} ({e.group_en}: {e.name_en})",
            "metadata": False,
            "type": "realtime",
            "keywords": e.name_en.lower(),
            "group": e.group,
        }
        for e in city.list_elements(session)
        if e.code not in categories.NOT_REPORTED_BY_RESIDENTS
    ]
    found += [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"{c.name_en}: {c.description} Filed by an enterprise logged in "
            "with its credit code (the requests API), not through Open311.",
            "metadata": False,
            "type": "realtime",
            "keywords": c.name_en.lower(),
            "group": "企业诉求",
        }
        for c in categories.ENTERPRISE_CATEGORIES
    ]
    return found


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def request_json(session: Session, row: RequestRow, names: dict[str, str]) -> dict[str, Any]:
    """A service request as GeoReport v2 shows it to anyone (no personal data)."""
    department = service.department_of(session, row.department_id)
    media = service.first_media_url(session, row.id)
    return {
        "service_request_id": row.number,
        "status": "closed" if service.is_open311_status_closed(row) else "open",
        "status_notes": service.status_note(row),
        "service_name": names.get(row.category_code, row.category_code),
        "service_code": row.category_code,
        "description": row.description,
        "agency_responsible": department[1] if department else None,
        "service_notice": None,
        "requested_datetime": _iso(row.submitted_at),
        "updated_datetime": _iso(row.updated_at),
        "expected_datetime": _iso(row.deadline_at),
        "address": row.address,
        "address_id": None,
        "zipcode": None,
        "lat": row.lat,
        "long": row.lon,
        "media_url": media,
    }


def _names(session: Session) -> dict[str, str]:
    return {s["service_code"]: s["service_name"] for s in _services(session)}


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid.field(field, "w3c-datetime", "should be like 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Invalid.field(field, "w3c-datetime", "needs a time zone (Z or +08:00)")
    return moment


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@router.get(f"{ROOT}/discovery.{{fmt}}")
def discovery(fmt: str, request: Request) -> Response:
    """Service discovery: where GeoReport v2 is served here, in which formats."""
    base = str(request.base_url).rstrip("/")

    def work() -> dict[str, Any]:
        return {
            "changeset": CHANGESET,
            "contact": "12345 hotline; the platform's operators",
            "key_service": "twonets open311 keys create NAME (an administrator of the platform)",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base + ROOT,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }

    return _answer(work, fmt, "discovery")


@router.get(f"{ROOT}/services.{{fmt}}")
def services(fmt: str, uow: Uow) -> Response:
    """The services one may request: management elements and enterprise categories."""

    def work() -> list[dict[str, Any]]:
        with uow() as session:
            return _services(session)

    return _answer(work, fmt, "services")


@router.get(f"{ROOT}/services/{{service_code}}.{{fmt}}")
def service_definition(service_code: str, fmt: str, uow: Uow) -> Response:
    """A service's definition: none of ours asks for extra attributes."""

    def work() -> dict[str, Any]:
        with uow() as session:
            if service_code not in {s["service_code"] for s in _services(session)}:
                raise NotFound(f"service_code: no service {service_code!r}")
            return {"service_code": service_code, "attributes": []}

    return _answer(work, fmt, "service_definition")


@router.get(f"{ROOT}/requests.{{fmt}}")
def list_requests(
    fmt: str,
    uow: Uow,
    clock: Clock,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Citizen reports: by id (which overrides the rest), or by service, dates and status."""

    def work() -> list[dict[str, Any]]:
        numbers = _split(service_request_id)
        statuses = _split(status)
        wrong = [s for s in statuses if s not in {"open", "closed"}]
        if wrong:
            raise Invalid.field(
                "status", "open-closed", f"should be open or closed, got {wrong[0]}"
            )
        if numbers:
            where = service.RequestFilter(numbers=numbers, limit=LIMIT)
        else:
            start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
            if start is None and end is None:
                start = clock() - WINDOW
            elif start is None and end is not None:
                start = end - WINDOW
            if start is not None and end is not None and end - start > WINDOW:
                raise Invalid.field("end_date", "window", "the range may span at most 90 days")
            where = service.RequestFilter(
                categories=_split(service_code),
                statuses=service.statuses_of_open311(statuses),
                start=start,
                end=end,
                limit=LIMIT,
            )
        with uow() as session:
            names = _names(session)
            return [request_json(session, r, names) for r in service.list_public(session, where)]

    return _answer(work, fmt, "service_requests")


@router.get(f"{ROOT}/requests/{{service_request_id}}.{{fmt}}")
def get_request(service_request_id: str, fmt: str, uow: Uow) -> Response:
    """One service request (a list of one, as the specification has it)."""

    def work() -> list[dict[str, Any]]:
        with uow() as session:
            row = service.get_public(session, number=service_request_id)
            return [request_json(session, row, _names(session))]

    return _answer(work, fmt, "service_requests")


@router.get(f"{ROOT}/tokens/{{token}}.{{fmt}}")
def get_token(token: str, fmt: str, uow: Uow) -> Response:
    """The service request a token stands for."""

    def work() -> list[dict[str, Any]]:
        with uow() as session:
            row = service.get_public(session, token=token)
            return [{"service_request_id": row.number, "token": row.token}]

    return _answer(work, fmt, "service_requests")


def _form_request(form: dict[str, str]) -> NewRequest:
    """A GeoReport v2 POST's fields as the platform's new request."""
    if not form.get("service_code"):
        raise Invalid.field("service_code", "required", "name the service being requested")
    lat, lon = form.get("lat"), form.get("long")
    address = form.get("address_string") or None
    if not ((lat and lon) or address):
        raise Invalid.field(
            "lat", "location", "give lat and long, or address_string (address_id is not kept here)"
        )
    try:
        lat_value = float(lat) if lat else None
        lon_value = float(lon) if lon else None
    except ValueError:
        raise Invalid.field("lat", "number", "lat and long should be decimal degrees") from None
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
    description = (form.get("description") or "").strip()
    if not description:
        raise Invalid.field("description", "required", "describe the problem")
    if len(description) > 4000:
        raise Invalid.field("description", "length", "should be at most 4000 characters")
    try:
        return NewRequest(
            category=form["service_code"],
            description=description,
            lat=lat_value,
            lon=lon_value,
            address=address,
            contact_name=name,
            contact_email=form.get("email") or None,
            contact_phone=form.get("phone") or None,
            media_urls=[form["media_url"]] if form.get("media_url") else [],
        )
    except ValueError as exc:  # pydantic: a value out of range
        raise Invalid.field("lat", "range", str(exc).splitlines()[0]) from None


@router.post(f"{ROOT}/requests.{{fmt}}")
async def create_request(fmt: str, request: Request, uow: Uow, clock: Clock) -> Response:
    """File a report as GeoReport v2 defines it: form-encoded, with the client's api_key."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    key = request.headers.get("Idempotency-Key")

    def work() -> list[dict[str, Any]]:
        with uow() as session:
            client_id = service.authenticate_client(session, form.get("api_key"))

            def write() -> dict[str, Any]:
                new = _form_request(form)
                row = service.submit_request(
                    session, service.Filer(open311_client_id=client_id), new, now=clock()
                )
                created = {
                    "service_request_id": row.number,
                    "token": row.token,
                    "service_notice": service.status_note(row),
                    "account_id": None,
                }
                return {"created": [created]}

            payload = {k: v for k, v in form.items() if k != "api_key"}
            scope = f"open311.requests:{client_id}"
            answer: list[dict[str, Any]] = service.once(session, scope, key, payload, write)[
                "created"
            ]
            return answer

    return await run_in_threadpool(_answer, work, fmt, "service_requests", status=201)
