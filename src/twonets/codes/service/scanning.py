"""The online check at a gate: the verdict a gatekeeper acts on, the scan it records, and
the deletion of scans past their scenario's retention.

Offline checks first (``token.verify_code``); then the scanner's organisation must be among
the scenario's verifiers, the holder must not be revoked for the scenario (or for identity),
and a sighting of the same code at another place within the replay window flags a replay.
Every outcome carries a ``Reason`` (why) and an ``Action`` (admit, check or refuse), so that
a page or a scanner app chooses its words and colours without reading the detail text
(``verdicts``).

A scan is recorded with the answer the gate sees: the caller builds its response inside the
same transaction. The same code scanned again at the same checkpoint is a repeat: it is
answered like the first (with the time of the first) and not counted as a second entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twonets.codes import token
from twonets.codes.context import Coding, ScenarioRule
from twonets.codes.models import CodeHolder, Revocation, ScanRecord
from twonets.codes.scenarios import ANY_RESIDENT, IDENTITY, HolderKind
from twonets.codes.service import holder_status
from twonets.codes.service.verdicts import (
    STEP_REASONS,
    NotThisGate,
    Reason,
    ScanOutcome,
    decided,
    refused,
    result_of,
    status_reason,
)
from twonets.core.auth import TOKEN_CHECK, LoginCheck, Principal
from twonets.core.errors import Conflict, Forbidden, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Department, Enterprise, Role
from twonets.core.prepared import Prepared
from twonets.governance import ledger
from twonets.governance.service import subject_access_entry

__all__ = [
    "MAX_CODE_CHARS",
    "MAX_PLACE_CHARS",
    "SCAN_DATASET",
    "SCAN_ROLES",
    "my_scans",
    "purge_scans",
    "scan",
    "scan_confirmed",
    "verifier_of",
]

SCAN_DATASET = "codes.scan"
MAX_CODE_CHARS = 2000
MAX_PLACE_CHARS = 200
SCAN_ROLES = (Role.VERIFIER, Role.STAFF, Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE)


# Core statements built once and run on the driver's cursor (``Prepared``): the scan path
# runs them on every scan, and SQLAlchemy's execution around each cost more than running it.
_REVOKED_FOR = (
    select(func.min(Revocation.scenario_code))
    .where(
        Revocation.holder_id == CodeHolder.id,
        Revocation.restored_at.is_(None),
        or_(
            Revocation.scenario_code == bindparam("scenario"),
            Revocation.scenario_code == IDENTITY,
        ),
    )
    .correlate(CodeHolder)
    .scalar_subquery()
)
_HOLDER_COLUMNS = (
    CodeHolder.citizen_id,
    CodeHolder.enterprise_id,
    CodeHolder.region_code,
    _REVOKED_FOR.label("revoked_for"),
)
_HOLDER_BY_TOKEN = Prepared(
    select(*_HOLDER_COLUMNS).where(  # governance: the holder of a scanned token, to check it
        CodeHolder.token == bindparam("holder_token")
    )
)
# The scanner's login confirmed (``auth.TOKEN_CHECK``: token, account, department, roles)
# and the holder looked up in one statement, one row per role of the scanner; the holder's
# columns are empty when no holder has the token (or none was asked for).
_LOGIN_AND_HOLDER = Prepared(
    TOKEN_CHECK.add_columns(*_HOLDER_COLUMNS).outerjoin(  # governance: as the two above
        CodeHolder, CodeHolder.token == bindparam("holder_token")
    )
)
_SIGHTINGS = Prepared(
    select(  # governance: keyed hashes of places of one code, compared, and when
        ScanRecord.id, ScanRecord.place_key, ScanRecord.scanned_at, ScanRecord.result
    )
    .where(ScanRecord.code_id == bindparam("code_id"), ScanRecord.scanned_at >= bindparam("since"))
    .order_by(ScanRecord.scanned_at, ScanRecord.id)
    .limit(20)
)
_SCANS: Table = ScanRecord.__table__  # type: ignore[assignment]
_ROW = (
    "scenario_code",
    "purpose_code",
    "citizen_id",
    "enterprise_id",
    "holder_token",
    "holder_region",
    "verifier_code",
    "place",
    "place_key",
    "district_code",
    "code_id",
    "scanned_at",
    "day",
    "minute",
    "keep_until",
    "result",
)
_INSERT_SCAN = Prepared(insert(_SCANS).returning(_SCANS.c.id), columns=_ROW)
# The insert of an admitted scan: nothing (no id back) when this code was already admitted,
# by the unique index ``uq_code_scan_admitted``, even by a scan committing at this moment.
# (A literal, not a parameter: PostgreSQL matches a prepared statement's ON CONFLICT target
# to the partial index only by its text.)
_ADMITTED = sql_text("result = 'admitted'")
_ADMIT_ONCE: dict[str, Prepared] = {
    "postgresql": Prepared(
        postgresql.insert(_SCANS)
        .on_conflict_do_nothing(index_elements=[_SCANS.c.code_id], index_where=_ADMITTED)
        .returning(_SCANS.c.id),
        columns=_ROW,
    ),
    "sqlite": Prepared(
        sqlite.insert(_SCANS)
        .on_conflict_do_nothing(index_elements=[_SCANS.c.code_id], index_where=_ADMITTED)
        .returning(_SCANS.c.id),
        columns=_ROW,
    ),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def verifier_of(session: Session, ctx: Coding, principal: Principal) -> str:
    """The organisation a scanner speaks for: a department code, a credit code, or resident."""
    if principal.department_code:
        return principal.department_code
    if principal.enterprise_id is not None:
        code = ctx._orgs.get(principal.enterprise_id)
        if code is None:
            code = session.scalar(
                select(Enterprise.credit_code).where(Enterprise.id == principal.enterprise_id)
            )
            if code is None:
                raise Forbidden("the scanning enterprise is not registered")
            ctx._orgs[principal.enterprise_id] = code
        return code
    if principal.citizen_id is not None:
        return ANY_RESIDENT
    raise Forbidden("this account speaks for no organisation that may scan codes")


def scan(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    text: str,
    place: str,
    now: datetime,
) -> ScanOutcome:
    """Verify a scanned code online and record the scan.

    Offline checks first (format, signature, time with grace); then the scanner must be one
    of the scenario's verifiers (``NotThisGate`` otherwise: it learns nothing more), the
    holder must not be revoked for the scenario or for identity, and a sighting of the same
    code at another place within the replay window flags this scan as a replay. Only the
    fields the scenario discloses come back. A repeat at the same checkpoint with the same
    result is answered with the first scan's time and not recorded again.
    """
    return _scan(session, ctx, principal, text=text, place=place, now=now)[1]


def scan_confirmed(
    session: Session,
    ctx: Coding,
    login: LoginCheck,
    *,
    text: str,
    place: str,
    now: datetime,
) -> tuple[Principal, ScanOutcome]:
    """``scan`` by the caller of ``login``, confirmed in the database by the scan's first
    statement; the scanner as confirmed, and the outcome.

    A gate admits on the answer, so a logout elsewhere, a deactivated account or a removed
    role counts at once (``Unauthenticated``, or ``Forbidden`` naming ``login.roles``, before
    anything else is decided): the login's check and the holder's look-up are one statement.
    """
    return _scan(session, ctx, login, text=text, place=place, now=now)


def _problems(text: str, checkpoint: str) -> ProblemList:
    problems = ProblemList()
    if not text.strip():
        problems.add("code", "required", "paste or scan the code")
    elif len(text) > MAX_CODE_CHARS:
        problems.add("code", "max-length", f"a code has at most {MAX_CODE_CHARS} characters")
    if not checkpoint:
        problems.add("place", "required", "name the checkpoint (e.g. 'east gate')")
    elif len(checkpoint) > MAX_PLACE_CHARS:
        problems.add("place", "max-length", f"should be at most {MAX_PLACE_CHARS} characters")
    return problems


def _scan(
    session: Session,
    ctx: Coding,
    caller: Principal | LoginCheck,
    *,
    text: str,
    place: str,
    now: datetime,
) -> tuple[Principal, ScanOutcome]:
    checkpoint = " ".join(place.split())
    problems = _problems(text, checkpoint)
    # What needs no database first (the caches aside): the offline checks and the scenario,
    # so that the login's check can bring the holder along.
    verdict = None
    if not problems.problems:
        store = ctx.trust_store(session, now)
        verdict = token.verify_code(text, store=store, at=now, grace=ctx.grace)
    rules = ctx.scenarios(session, now) if verdict is not None and verdict.valid else {}
    rule = rules.get(verdict.scenario or "") if verdict is not None else None
    ask = (
        verdict is not None
        and verdict.region is not None
        and rule is not None
        and rule.active
        and ctx.holds(session, verdict.region, now)
    )
    asked = {
        "holder_token": verdict.token if ask and verdict is not None else None,
        "scenario": rule.code if rule is not None else IDENTITY,
    }
    if isinstance(caller, LoginCheck):
        rows = _LOGIN_AND_HOLDER.records(session, digest=caller.digest, **asked)
        principal = caller.principal(session, now=now, rows=rows)
        holder = rows[0] if ask else None
    else:
        principal = caller
        holder = _first(_HOLDER_BY_TOKEN.records(session, **asked)) if ask else None
    problems.raise_if_any()
    assert verdict is not None
    if not verdict.valid:
        reason = STEP_REASONS.get(verdict.step, Reason.NOT_A_CODE)
        # Nothing of the holder before the scanner is known to check this scenario: an
        # expired health code would otherwise show its colour at any gate.
        bare = token.CodeVerdict(
            False,
            verdict.step,
            verdict.detail,
            region=verdict.region,
            issued_at=verdict.issued_at,
            expires_at=verdict.expires_at,
        )
        return principal, ScanOutcome(bare, reason, admit=False, replay=False, recorded=False)
    assert verdict.scenario is not None
    assert verdict.code_id is not None
    assert verdict.token is not None
    assert verdict.region is not None
    if rule is None or not rule.active:
        return principal, refused(
            verdict,
            Reason.NOT_IN_USE,
            "scenario",
            f"scenario {verdict.scenario!r} is not in use here",
        )
    organisation = verifier_of(session, ctx, principal)
    if organisation not in rule.verifiers:
        checks = sorted(
            r.name_en for r in rules.values() if r.active and organisation in r.verifiers
        )
        raise NotThisGate(rule.name_en, checks)
    citizen_id: int | None = None
    enterprise_id: int | None = None
    if ask:
        if holder is None or holder.region_code != verdict.region:
            return principal, refused(
                verdict, Reason.UNKNOWN_HOLDER, "holder", "no holder of this region has this token"
            )
        if holder.revoked_for is not None:
            which = (
                "all the holder's codes have"
                if holder.revoked_for == IDENTITY
                else f"the holder's {rule.name_en} code has"
            )
            return principal, refused(verdict, Reason.REVOKED, "revoked", f"{which} been revoked")
        citizen_id, enterprise_id = holder.citizen_id, holder.enterprise_id
    else:
        # A region running its own deployment: its holders' revocations as fetched and kept.
        try:
            revoked = holder_status.check_remote(
                session,
                ctx,
                region=verdict.region,
                token=verdict.token,
                scenario=rule.code,
                now=now,
            )
        except holder_status.CannotCheck as exc:
            return principal, refused(
                verdict, Reason.UNCHECKED, "status", f"cannot check revocation: {exc.detail}"
            )
        if revoked:
            return principal, refused(
                verdict,
                Reason.REVOKED,
                "revoked",
                f"the holder's region {verdict.region} has revoked this code",
            )
    if verdict.holder_kind == HolderKind.ENTERPRISE:
        # An enterprise's code scanned by a resident: the record is about that resident.
        citizen_id = principal.citizen_id
    return principal, _record(
        session,
        ctx,
        rule,
        verdict,
        organisation=organisation,
        checkpoint=checkpoint,
        citizen_id=citizen_id,
        enterprise_id=enterprise_id,
        district_code=principal.district_code,
        now=now,
    )


def _first(rows: list[Any]) -> Any:
    return rows[0] if rows else None


def _record(
    session: Session,
    ctx: Coding,
    rule: ScenarioRule,
    verdict: token.CodeVerdict,
    *,
    organisation: str,
    checkpoint: str,
    citizen_id: int | None,
    enterprise_id: int | None,
    district_code: str | None,
    now: datetime,
) -> ScanOutcome:
    """Decide a genuine code of a holder in good standing against its sightings, and record
    the scan (unless it repeats the first at this checkpoint)."""
    assert verdict.code_id is not None
    place_key = ctx.place_key(organisation, checkpoint)
    keyring = ctx.keyring(session, now)
    row = {
        "scenario_code": rule.code,
        "purpose_code": rule.purpose_code,
        "citizen_id": citizen_id,
        "enterprise_id": enterprise_id,
        "holder_token": verdict.token,
        "holder_region": verdict.region,
        "verifier_code": organisation,
        "place": keyring.seal(SCAN_DATASET, "place", checkpoint),
        "place_key": place_key,
        "district_code": district_code,
        "code_id": verdict.code_id,
        "scanned_at": now,
        "day": now.date(),
        "minute": int(now.timestamp()) // 60,
        "keep_until": now + timedelta(days=rule.retention_days),
    }
    admit_once = _ADMIT_ONCE[session.connection().dialect.name]
    if status_reason(rule, verdict.status) is Reason.ADMIT:
        # The common case, a code's first scan, in one statement: an admission is the first
        # sighting of a code (any later one is a repeat or a replay), so if no admitted scan
        # of this code exists, there is no sighting to read back.
        admitted = admit_once.rows(session, **row, result="admitted")
        if admitted:
            return decided(ctx, rule, verdict, [], place_key, int(admitted[0][0]))
    since = now - ctx.window
    for _ in range(3):
        seen = _SIGHTINGS.records(session, code_id=verdict.code_id, since=since)
        outcome = decided(ctx, rule, verdict, seen, place_key, None)
        if not outcome.recorded:
            return outcome
        result = result_of(outcome)
        statement = admit_once if result == "admitted" else _INSERT_SCAN
        written = statement.rows(session, **row, result=result)
        if written:
            return decided(ctx, rule, verdict, seen, place_key, int(written[0][0]))
        # Another scan of this code was admitted meanwhile (or before a shortened replay
        # window): read its sightings again, whenever they were, and decide once more.
        since = _EPOCH
    raise Conflict("this code is being scanned elsewhere at this moment; scan it again")


def my_scans(
    session: Session, ctx: Coding, principal: Principal, *, now: datetime, limit: int = 100
) -> list[dict[str, Any]]:
    """Where the caller's codes were scanned (their own whereabouts), newest first.

    The copy is a read of personal data like any other: it lands in the ledger under
    ``subject.access``, so the holder's report shows it too.
    """
    if principal.citizen_id is not None:
        condition = ScanRecord.citizen_id == principal.citizen_id
    elif principal.enterprise_id is not None:
        condition = ScanRecord.enterprise_id == principal.enterprise_id
    else:
        raise Forbidden("only residents and enterprises have scans of their codes")
    rows = session.execute(
        select(
            ScanRecord.id,
            ScanRecord.scenario_code,
            ScanRecord.verifier_code,
            ScanRecord.place,
            ScanRecord.scanned_at,
            ScanRecord.result,
            ScanRecord.keep_until,
        )
        .where(condition)
        .order_by(ScanRecord.scanned_at.desc())
        .limit(limit)
    ).all()  # governance: the holder's own scans; recorded below as a subject-access read
    keyring = ctx.keyring(session, now)
    names: dict[str, str] = {ANY_RESIDENT: "scanned by a resident"}
    names.update(session.execute(select(Department.code, Department.name_en)).all())
    firms = {row.verifier_code for row in rows} - set(names)
    if firms:
        names.update(
            session.execute(
                select(Enterprise.credit_code, Enterprise.name).where(
                    Enterprise.credit_code.in_(firms)
                )
            ).all()
        )
    out = [
        {
            "id": row.id,
            "scenario": row.scenario_code,
            "verifier": row.verifier_code,
            "verifier_name": names.get(row.verifier_code, row.verifier_code),
            "place": keyring.unseal(SCAN_DATASET, "place", row.place),
            "scanned_at": row.scanned_at.isoformat(),
            "result": row.result,
            "kept_until": row.keep_until.isoformat(),
        }
        for row in rows
    ]
    if out and principal.citizen_id is not None:
        ledger.record_reads(
            session,
            [
                subject_access_entry(
                    principal,
                    subject_kind="citizen",
                    subject_id=principal.citizen_id,
                    dataset=SCAN_DATASET,
                    fields=["verifier_code", "place"],
                    now=now,
                    request_id=f"codes-scans-{now.timestamp():.0f}-{principal.citizen_id}",
                )
            ],
        )
    return out


def purge_scans(session: Session, *, now: datetime, batch: int = 50_000) -> int:
    """Delete scans whose scenario's retention has run out (in batches; safe to rerun)."""
    total = 0
    while True:
        ids = session.scalars(
            select(ScanRecord.id).where(ScanRecord.keep_until <= now).limit(batch)
        ).all()
        if not ids:
            break
        done = session.execute(delete(ScanRecord).where(ScanRecord.id.in_(ids)))
        total += int(getattr(done, "rowcount", 0) or 0)
        if len(ids) < batch:
            break
    if total:
        record_event(session, "codes.scans.purged", {"deleted": total}, now=now)
    return total
