"""HTTP routes of codes: scenarios, the holder's code, scans, health status and appeals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, timedelta
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from pydantic import TypeAdapter

from twonets.codes import service
from twonets.codes.context import Coding
from twonets.codes.models import scenario_json
from twonets.codes.schemas import (
    AppealIn,
    CodeOut,
    DecisionIn,
    HealthFactIn,
    HolderStatusIn,
    IssueIn,
    RevocationOut,
    ScanIn,
    ScanOut,
    ScenarioIn,
    ScenarioOut,
)
from twonets.core import idempotency
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.http import Clock, Uow, get_clock, get_uow, login_check, public, require
from twonets.core.models import Role

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/codes", tags=["codes"])
# How often the scheduled work looks for other regions' revocation lists due for a refresh.
HOLDER_STATUS_EVERY = timedelta(minutes=1)

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Authority = Annotated[Principal, Depends(require(Role.CODES_AUTHORITY))]
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]
Officer = Annotated[Principal, Depends(require(Role.DPO))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
RETENTION_EVERY = timedelta(hours=1)
JSON = "application/json"


async def get_coding(request: Request) -> Coding:
    """The code context the app was built with."""
    ctx: Coding = request.app.state.coding
    return ctx


Ctx = Annotated[Coding, Depends(get_coding)]


def setup(app: FastAPI) -> None:
    """Put this domain's context on ``app.state`` and register its background work."""
    settings = app.state.settings
    # TWONETS_CODES_ROTATION_SECONDS and TWONETS_CODES_GRACE_SECONDS tune these.
    rotation = timedelta(seconds=settings.codes_rotation_seconds)
    grace = timedelta(seconds=settings.codes_grace_seconds)
    app.state.coding = Coding(
        app.state.secret_key,
        gov=app.state.governance,
        region=settings.region,
        rotation=rotation,
        grace=grace,
    )

    async def retention(stop: asyncio.Event) -> None:
        """Delete scans past their retention, hourly, while the app runs."""

        def once() -> int:
            with unit_of_work(app.state.session_factory) as session:
                return service.purge_scans(session, now=app.state.clock())

        while not stop.is_set():
            try:
                deleted = await asyncio.to_thread(once)
                if deleted:
                    log.info("codes: deleted %d scans past their retention", deleted)
            except Exception:  # keep the app serving; the next run tries again
                log.exception("codes: retention run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETENTION_EVERY.total_seconds())

    async def holder_status(stop: asyncio.Event) -> None:
        """Refetch other regions' lists of revoked holders when due, every minute."""

        def once() -> int:
            with unit_of_work(app.state.session_factory) as session:
                return service.refresh_remote_holder_status(
                    session, app.state.coding, now=app.state.clock()
                )

        while not stop.is_set():
            try:
                await asyncio.to_thread(once)
            except Exception:  # keep the app serving; the next run tries again
                log.exception("codes: refreshing other regions' revocations failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HOLDER_STATUS_EVERY.total_seconds())

    app.state.background.append(retention)
    app.state.background.append(holder_status)


# Scans come first: routes are tried in order, and every gate of the city sends them.
# The scan's answer checked against ``ScanOut`` and written as JSON in the route's own thread:
# FastAPI would check a plain function's answer in its thread pool, one more hop per scan.
_SCAN_OUT: TypeAdapter[ScanOut] = TypeAdapter(ScanOut)


@router.post(
    "/scans",
    response_model=ScanOut,
    dependencies=[Depends(require(*service.SCAN_ROLES))],
)
def scan(request: Request, body: ScanIn, key: IdempotencyKey = None) -> Response:
    """Verify a scanned code online (scanner, revocation, replay) and record the scan."""
    ctx: Coding = request.app.state.coding
    now = get_clock(request)()
    # A gate admits on this answer: a logout elsewhere or a removed role counts at once.
    login = login_check(request, *service.SCAN_ROLES)
    with get_uow(request)() as session:
        if key is None:
            # The login is confirmed by the scan's first statement, with the holder's look-up.
            _, outcome = service.scan_confirmed(
                session, ctx, login, text=body.code, place=body.place, now=now
            )
            answer = outcome.to_json()
        else:
            scanner = login.principal(session, now=now)

            def write() -> dict[str, Any]:
                return service.scan(
                    session, ctx, scanner, text=body.code, place=body.place, now=now
                ).to_json()

            scope = f"codes.scan:{scanner.account_id}"
            answer = idempotency.once(session, scope, key, body.model_dump(), write)
    return Response(_SCAN_OUT.dump_json(_SCAN_OUT.validate_python(answer)), media_type=JSON)


@router.get("/scenarios", response_model=list[ScenarioOut], dependencies=[Depends(public)])
def list_scenarios(uow: Uow) -> list[dict[str, Any]]:
    """Every scenario: who holds codes, what a scan discloses, who scans, how long kept."""
    with uow() as session:
        return [scenario_json(s) for s in service.list_scenarios(session)]


@router.put("/scenarios/{code}", response_model=ScenarioOut)
def put_scenario(
    code: str, body: ScenarioIn, caller: Admin, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """Create or change a scenario (administrators)."""
    with uow() as session:
        row = service.put_scenario(
            session, ctx, actor=caller.username, code=code, now=clock(), **body.model_dump()
        )
        return scenario_json(row)


@router.get("/holder-status/{region}", dependencies=[Depends(public)])
def holder_status(region: str, uow: Uow, clock: Clock, ctx: Ctx) -> Response:
    """The signed list of the region's holders revoked (digests, no tokens), for other
    regions' platforms to fetch and keep (cached five minutes, valid an hour)."""
    now = clock()
    with uow() as session:
        token = service.holder_status_token(session, ctx, region=region, now=now)
    return Response(
        token,
        media_type="application/jose",
        headers={
            "Cache-Control": f"public, max-age={service.HOLDER_STATUS_TTL_SECONDS}",
            "Expires": format_datetime(now + service.HOLDER_STATUS_LIFETIME, usegmt=True),
        },
    )


@router.post("/mine", response_model=CodeOut)
def issue_code(body: IssueIn, caller: Holder, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """A freshly signed code of the caller for one scenario (valid one rotation)."""
    with uow() as session:
        return service.issue_code(
            session, ctx, caller, scenario=body.scenario, job_posting=body.job_posting, now=clock()
        ).to_json()


@router.get("/mine/scans")
def my_scans(
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Where the caller's codes were scanned, newest first."""
    with uow() as session:
        return service.my_scans(session, ctx, caller, now=clock(), limit=limit)


@router.get("/mine/revocations", response_model=list[RevocationOut])
def my_revocations(caller: Holder, uow: Uow) -> list[dict[str, Any]]:
    """The revocations of the caller's codes in force, with who decided and why."""
    with uow() as session:
        return [r.to_json() for r in service.my_revocations(session, caller)]


@router.get("/mine/health")
def my_health(caller: Resident, uow: Uow, clock: Clock, ctx: Ctx) -> dict[str, Any]:
    """The caller's health colour, why, and their appeals."""
    with uow() as session:
        return service.my_health(session, ctx, caller, now=clock())


@router.post("/mine/appeals", status_code=201)
def file_appeal(
    body: AppealIn, caller: Resident, uow: Uow, clock: Clock, ctx: Ctx, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Contest the automated health status; the health codes authority decides."""

    with uow() as session:

        def write() -> dict[str, Any]:
            appeal = service.file_appeal(
                session, ctx, caller, statement=body.statement, now=clock()
            )
            return {
                "id": appeal.id,
                "status": str(appeal.status),
                "filed_at": appeal.filed_at.isoformat(),
            }

        scope = f"codes.appeal:{caller.account_id}"
        return idempotency.once(session, scope, key, body.model_dump(), write)


@router.post("/health-facts", status_code=201)
def record_health_fact(
    body: HealthFactIn, caller: Staff, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """A health department reports a test, a contact flag or travel of a resident."""
    with uow() as session:
        fact = service.record_health_fact(session, ctx, caller, now=clock(), **body.model_dump())
        return {"id": fact.id, "observed_at": fact.observed_at.isoformat()}


@router.get("/appeals")
def list_appeals(
    caller: Authority,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    state: Annotated[str, Query(alias="status")] = "pending",
) -> list[dict[str, Any]]:
    """Appeals for the health codes authority (read through governance, each in the ledger)."""
    with uow() as session:
        return service.list_appeals(session, ctx, caller, status=state, now=clock())


@router.post("/appeals/{appeal_id}/decision")
def decide_appeal(
    appeal_id: int, body: DecisionIn, caller: Authority, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """Uphold (setting a colour) or reject an appeal; the holder sees the reason."""
    with uow() as session:
        appeal = service.decide_appeal(
            session, ctx, caller, appeal_id=appeal_id, now=clock(), **body.model_dump()
        )
        return {"id": appeal.id, "status": str(appeal.status), "decided_at": str(appeal.decided_at)}


@router.post("/holders/status", response_model=RevocationOut)
def set_holder_status(
    body: HolderStatusIn, caller: Authority, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """Revoke a holder's codes for a scenario (effective at the next scan) or restore them."""
    with uow() as session:
        change = service.set_holder_status(session, ctx, caller, now=clock(), **body.model_dump())
        return change.to_json()


@router.get("/stats")
def statistics(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Scans per scenario per day, unique holders, peak rate per minute."""
    today = clock().date()
    with uow() as session:
        return service.statistics(
            session, since=since or today - timedelta(days=27), until=until or today
        )


@router.post("/retention/run")
def run_retention(caller: Officer, uow: Uow, clock: Clock) -> dict[str, int]:
    """Delete scans whose scenario's retention has run out now."""
    with uow() as session:
        return {"deleted": service.purge_scans(session, now=clock())}
