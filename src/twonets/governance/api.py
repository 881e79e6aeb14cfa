"""HTTP routes of governance: purposes, policies, the read door, reports, the ledger's proofs."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from twonets.core.auth import Principal
from twonets.core.http import Caller, Clock, Uow, media_response, public, require
from twonets.core.models import Role
from twonets.governance import break_glass, ledger, reports, retention, service
from twonets.governance.schemas import (
    BreakGlassIn,
    BreakGlassOut,
    BreakGlassRecordOut,
    BreakGlassReviewIn,
    ChangeOut,
    DatasetOut,
    FieldOut,
    PolicyIn,
    PolicyOut,
    PolicyRevokeIn,
    PurposeChangeIn,
    PurposeIn,
    PurposeOut,
    ReadIn,
    ReadOut,
    RetentionOut,
    UnusualOut,
)

router = APIRouter(prefix="/api/v1", tags=["governance"])

STAFF = (Role.STAFF, Role.OPERATOR, Role.VERIFIER, Role.HEALTH_PLANNER, Role.DPO)


def officer(caller: Annotated[Principal, Depends(require(Role.DPO))]) -> Principal:
    """A data protection officer (never an administrator: the service says so)."""
    service.check_officer(caller)
    return caller


Officer = Annotated[Principal, Depends(officer)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Subject = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
RequestId = Annotated[str | None, Header(alias="X-Request-Id", max_length=36)]


def get_governance(request: Request) -> service.Governance:
    """The governance context the app was built with."""
    gov: service.Governance = request.app.state.governance
    return gov


Gov = Annotated[service.Governance, Depends(get_governance)]


def _purpose_out(purpose: Any, clock: Any) -> PurposeOut:
    out = PurposeOut.model_validate(purpose)
    out.state = str(service.purpose_state(purpose, clock()))
    return out


@router.get("/governance/datasets", response_model=list[DatasetOut])
def list_datasets(caller: Staff, gov: Gov) -> list[DatasetOut]:
    """The data catalogue: every dataset and the class of each field."""
    return [
        DatasetOut(
            name=d.name,
            subject_kind=d.subject_kind,
            district_field=d.district_field,
            retention=asdict(d.retention) if d.retention else None,
            fields=[
                FieldOut(
                    name=f.name,
                    data_class=f.data_class.value,
                    sensitive_kind=f.sensitive_kind,
                    sealed=f.sealed,
                )
                for f in d.fields.values()
            ],
        )
        for d in sorted(gov.catalogue.datasets().values(), key=lambda d: d.name)
    ]


@router.get("/governance/purposes", response_model=list[PurposeOut])
def list_purposes(caller: Staff, uow: Uow, clock: Clock) -> list[PurposeOut]:
    """Every purpose and whether it grants anything now."""
    with uow() as session:
        return [_purpose_out(p, clock) for p in service.list_purposes(session)]


@router.post("/governance/purposes", response_model=PurposeOut, status_code=201)
def create_purpose(body: PurposeIn, caller: Officer, uow: Uow, clock: Clock) -> PurposeOut:
    """Declare a purpose (data protection officers only)."""
    with uow() as session:
        purpose = service.create_purpose(
            session, actor=caller.username, now=clock(), **body.model_dump()
        )
        return _purpose_out(purpose, clock)


@router.patch("/governance/purposes/{code}", response_model=PurposeOut)
def change_purpose(
    code: str, body: PurposeChangeIn, caller: Officer, uow: Uow, clock: Clock
) -> PurposeOut:
    """Suspend, resume or end a purpose; an ended purpose grants nothing."""
    with uow() as session:
        purpose = service.change_purpose(
            session, actor=caller.username, code=code, now=clock(), **body.model_dump()
        )
        return _purpose_out(purpose, clock)


@router.get("/governance/policies", response_model=list[PolicyOut])
def list_policies(
    caller: Staff, uow: Uow, history: Annotated[bool, Query()] = False
) -> list[PolicyOut]:
    """Policies in force, or every version with ``history=true``."""
    with uow() as session:
        return [
            PolicyOut.model_validate(p)
            for p in service.list_policies(session, include_history=history)
        ]


@router.post("/governance/policies", response_model=PolicyOut, status_code=201)
def set_policy(body: PolicyIn, caller: Officer, uow: Uow, clock: Clock, gov: Gov) -> PolicyOut:
    """Write a new version of a policy (the change is logged)."""
    with uow() as session:
        policy = service.set_policy(
            session, gov.catalogue, actor=caller.username, now=clock(), **body.model_dump()
        )
        return PolicyOut.model_validate(policy)


@router.post("/governance/policies/revoke", response_model=PolicyOut, status_code=201)
def revoke_policy(body: PolicyRevokeIn, caller: Officer, uow: Uow, clock: Clock) -> PolicyOut:
    """Withdraw a grant (a new version that grants nothing; the change is logged)."""
    with uow() as session:
        policy = service.revoke_policy(
            session, actor=caller.username, now=clock(), **body.model_dump()
        )
        return PolicyOut.model_validate(policy)


@router.get("/governance/changes", response_model=list[ChangeOut])
def list_changes(caller: Officer, uow: Uow) -> list[ChangeOut]:
    """The newest audited changes to purposes, policies and keys."""
    with uow() as session:
        return [ChangeOut.model_validate(c) for c in service.list_changes(session)]


def _query(body: ReadIn) -> service.ReadQuery:
    return service.ReadQuery(
        fields=body.fields,
        where=body.where,
        subject_ids=body.subject_ids,
        limit=body.limit,
        offset=body.offset,
    )


@router.post("/governance/read", response_model=ReadOut)
def governed_read(
    body: ReadIn, caller: Staff, uow: Uow, clock: Clock, gov: Gov, request_id: RequestId = None
) -> ReadOut:
    """Read a dataset for a purpose through the policy: masked rows; every subject logged."""
    with uow() as session:
        result = service.read(
            session,
            gov,
            caller,
            purpose=body.purpose,
            dataset=body.dataset,
            query=_query(body),
            now=clock(),
            request_id=request_id or str(uuid.uuid4()),
        )
        return ReadOut(**asdict(result))


@router.post("/governance/export", response_class=Response)
def governed_export(body: ReadIn, caller: Staff, uow: Uow, clock: Clock, gov: Gov) -> Response:
    """A watermarked CSV export through the same door; logged like a read."""
    with uow() as session:
        text, watermark = service.export(
            session,
            gov,
            caller,
            purpose=body.purpose,
            dataset=body.dataset,
            query=_query(body),
            now=clock(),
        )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "X-Watermark": watermark.encode("ascii", "replace").decode(),
            "Content-Disposition": f'attachment; filename="{body.dataset}.csv"',
        },
    )


@router.post("/governance/break-glass", response_model=BreakGlassOut, status_code=201)
def break_glass_read(
    body: BreakGlassIn,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    gov: Gov,
    request_id: RequestId = None,
) -> BreakGlassOut:
    """Read named fields of a few named subjects outside the policy, in an emergency.

    The reason is required; the read is in the ledger flagged ``break-glass`` and waits for
    the data protection officer's review.
    """
    with uow() as session:
        result = break_glass.break_glass_read(
            session,
            gov,
            caller,
            purpose=body.purpose,
            dataset=body.dataset,
            subject_ids=body.subject_ids,
            fields=body.fields,
            reason=body.reason,
            now=clock(),
            request_id=request_id,
        )
        return BreakGlassOut(**asdict(result))


@router.get("/governance/break-glass", response_model=list[BreakGlassRecordOut])
def list_break_glass(
    caller: Officer, uow: Uow, pending: Annotated[bool, Query()] = False
) -> list[BreakGlassRecordOut]:
    """Break-glass reads, unreviewed first (only those with ``pending=true``)."""
    with uow() as session:
        return [
            BreakGlassRecordOut.model_validate(r)
            for r in break_glass.list_break_glass(session, pending_only=pending)
        ]


@router.post("/governance/break-glass/{read_id}/review", response_model=BreakGlassRecordOut)
def review_break_glass(
    read_id: int, body: BreakGlassReviewIn, caller: Officer, uow: Uow, clock: Clock
) -> BreakGlassRecordOut:
    """Mark a break-glass read reviewed, with the officer's note."""
    with uow() as session:
        record = break_glass.review_break_glass(
            session, caller, read_id=read_id, note=body.note, now=clock()
        )
        return BreakGlassRecordOut.model_validate(record)


@router.get("/governance/reads/summary")
def reads_summary(
    caller: Officer, uow: Uow, clock: Clock, days: Annotated[int, Query(ge=1, le=3650)] = 30
) -> list[dict[str, Any]]:
    """Reads and distinct subjects by department and purpose over the last days."""
    with uow() as session:
        return reports.reads_summary(session, since=clock() - timedelta(days=days))


@router.get("/governance/reads/unusual", response_model=list[UnusualOut])
def unusual_readers(
    caller: Officer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    factor: Annotated[float, Query(ge=1.5, le=100)] = 3.0,
) -> list[UnusualOut]:
    """Staff who read far more subjects than the peers of their function."""
    with uow() as session:
        found = reports.unusual_readers(
            session, since=clock() - timedelta(days=days), factor=factor
        )
    return [UnusualOut(**asdict(u)) for u in found]


@router.post("/governance/retention/run", response_model=list[RetentionOut])
def run_retention(caller: Officer, uow: Uow, clock: Clock, gov: Gov) -> list[RetentionOut]:
    """Delete or anonymise records whose purpose expired or whose retention ran out."""
    with uow() as session:
        outcomes = retention.run_retention(session, gov, actor=caller.username, now=clock())
    return [RetentionOut(**asdict(o)) for o in outcomes]


@router.get("/me/reads")
def my_reads(caller: Subject, uow: Uow) -> list[dict[str, Any]]:
    """Who read my data, when, for which purpose, which fields."""
    with uow() as session:
        return reports.my_reads(session, caller)


@router.get("/me/data")
def my_data(caller: Subject, uow: Uow, clock: Clock, gov: Gov) -> dict[str, Any]:
    """A machine-readable copy of my data and the purposes that hold it."""
    with uow() as session:
        return reports.my_data(session, gov, caller, now=clock())


@router.get("/ledger/tree-head", dependencies=[Depends(public)])
def tree_head(uow: Uow) -> dict[str, Any]:
    """The newest signed tree head, for auditors to keep."""
    with uow() as session:
        head = ledger.latest_tree_head(session)
        if head is None:
            return {"tree_size": 0}
        return ledger.tree_head_json(head)


@router.get(
    "/ledger/public-key",
    dependencies=[Depends(public)],
    **media_response("application/x-pem-file", "The PEM public key"),
)
def public_key(gov: Gov) -> Response:
    """The key that signs tree heads (PEM)."""
    return Response(
        gov.signer.public_key_pem(),
        media_type="application/x-pem-file",
        headers={"X-Key-Id": gov.signer.key_id},
    )


@router.get("/ledger/proofs/inclusion")
def inclusion_proof(
    caller: Caller,
    uow: Uow,
    seq: Annotated[int, Query(ge=0)],
    tree_size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """An inclusion proof of one entry: the entry's subject or a data protection officer."""
    with uow() as session:
        return reports.inclusion_for(session, caller, seq=seq, tree_size=tree_size)


@router.get("/ledger/proofs/consistency", dependencies=[Depends(public)])
def consistency_proof(
    uow: Uow,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """A consistency proof between two signed tree heads (hashes only: public)."""
    with uow() as session:
        return ledger.consistency(session, first, second)


@router.post("/ledger/sequence", status_code=status.HTTP_200_OK)
def sequence_now(caller: Officer, uow: Uow, clock: Clock, gov: Gov) -> dict[str, int]:
    """Sequence pending reads into the ledger now (it also runs in the background)."""
    with uow() as session:
        count = ledger.sequence_pending(session, gov.signer, now=clock())
    return {"sequenced": count}
