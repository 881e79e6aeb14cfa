"""The online check at a gate: the verdict a gatekeeper acts on, the scan it records, and
the deletion of scans past their scenario's retention.

Offline checks first (``token.verify_code``); then the scanner's organisation must be among
the scenario's verifiers, the holder must not be revoked for the scenario (or for identity),
and a sighting of the same code at another place within the replay window flags a replay.
Every outcome carries a ``Reason`` (why) and an ``Action`` (admit, check or refuse), so that
a page or a scanner app chooses its words and colours without reading the detail text.

A scan is recorded with the answer the gate sees: the caller builds its response inside the
same transaction. The same code scanned again at the same checkpoint is a repeat: it is
answered like the first (with the time of the first) and not counted as a second entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
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
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Department, Enterprise, Role
from twonets.governance import ledger
from twonets.governance.service import subject_access_entry

SCAN_DATASET = "codes.scan"
MAX_CODE_CHARS = 2000
MAX_PLACE_CHARS = 200
SCAN_ROLES = (Role.VERIFIER, Role.STAFF, Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE)


class Reason(StrEnum):
    """Why a gate admits or not: one per thing a gatekeeper must know."""

    ADMIT = "admit"
    HEALTH_RED = "health_red"
    HEALTH_YELLOW = "health_yellow"
    # Genuine, but its status allows no entry (a status other than valid, or a health colour).
    NOT_ALLOWED = "not_allowed"
    # The code is for a scenario this gate does not check (the scanner learns nothing more).
    WRONG_SCENARIO = "wrong_scenario"
    NOT_IN_USE = "not_in_use"
    REVOKED = "revoked"
    UNKNOWN_HOLDER = "unknown_holder"
    REPLAY = "replay"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    FORGED = "forged"
    UNTRUSTED = "untrusted"
    DAMAGED = "damaged"
    NOT_A_CODE = "not_a_code"
    # The holder's region runs its own deployment, and its list of revoked holders kept here
    # has gone stale (that region unreachable): whether the code was withdrawn is unknown.
    UNCHECKED = "unchecked"


class Action(StrEnum):
    """What the gatekeeper does: admit (green), check first (amber), refuse (red)."""

    ADMIT = "admit"
    CHECK = "check"
    REFUSE = "refuse"


# Amber where the holder may well be entitled and the gatekeeper can put it right on the
# spot (a fresh code, the right code, a test result, a steadier scan); red where the code
# itself says no or cannot be trusted.
ACTIONS: dict[Reason, Action] = {
    Reason.ADMIT: Action.ADMIT,
    Reason.HEALTH_RED: Action.REFUSE,
    Reason.HEALTH_YELLOW: Action.CHECK,
    Reason.NOT_ALLOWED: Action.REFUSE,
    Reason.WRONG_SCENARIO: Action.CHECK,
    Reason.NOT_IN_USE: Action.CHECK,
    Reason.REVOKED: Action.REFUSE,
    Reason.UNKNOWN_HOLDER: Action.REFUSE,
    Reason.REPLAY: Action.CHECK,
    Reason.EXPIRED: Action.CHECK,
    Reason.NOT_YET_VALID: Action.CHECK,
    Reason.FORGED: Action.REFUSE,
    Reason.UNTRUSTED: Action.REFUSE,
    Reason.DAMAGED: Action.CHECK,
    Reason.NOT_A_CODE: Action.CHECK,
    Reason.UNCHECKED: Action.CHECK,
}

# The offline verifier's failed step, as a reason.
_STEP_REASONS: dict[str, Reason] = {
    "prefix": Reason.NOT_A_CODE,
    "base45": Reason.DAMAGED,
    "compression": Reason.DAMAGED,
    "cbor": Reason.DAMAGED,
    "kid": Reason.UNTRUSTED,
    "trust": Reason.UNTRUSTED,
    "signature": Reason.FORGED,
    "claims": Reason.NOT_A_CODE,
    "not_yet_valid": Reason.NOT_YET_VALID,
    "expired": Reason.EXPIRED,
}


def action_of(reason: Reason) -> Action:
    """What a gatekeeper does for this reason."""
    return ACTIONS[reason]


class NotThisGate(Forbidden):
    """The scanner's organisation does not check codes of this scenario (403, nothing kept).

    Carries the scenario's name and the scenarios this gate does check, so that the desk
    can say "ask for the right code" in words.
    """

    reason = Reason.WRONG_SCENARIO

    def __init__(self, scenario_name: str, checks: list[str]) -> None:
        what = f"it checks {', '.join(checks)} codes" if checks else "it checks no codes"
        super().__init__(
            f"this account may not scan {scenario_name} codes: {what}",
            extra={
                "reason": Reason.WRONG_SCENARIO.value,
                "action": ACTIONS[Reason.WRONG_SCENARIO].value,
                "scenario_name": scenario_name,
                "checks": checks,
            },
        )
        self.scenario_name = scenario_name
        self.checks = checks


@dataclass(frozen=True)
class Repeat:
    """The earlier scan of the same code at the same checkpoint."""

    scan_id: int
    scanned_at: datetime


@dataclass(frozen=True)
class ScanOutcome:
    """What a scanner sees: the verdict, why, whether to admit, and whether it was recorded."""

    verdict: token.CodeVerdict
    reason: Reason
    admit: bool
    replay: bool
    recorded: bool
    scenario_name: str | None = None
    scan_id: int | None = None
    repeat: Repeat | None = None

    @property
    def action(self) -> Action:
        """What the gatekeeper does: admit, check first, or refuse."""
        return ACTIONS[self.reason]

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON."""
        return {
            **self.verdict.to_json(),
            "reason": self.reason.value,
            "action": self.action.value,
            "admit": self.admit,
            "replay": self.replay,
            "recorded": self.recorded,
            "scenario_name": self.scenario_name,
            "scan_id": self.scan_id,
            "repeat_of": (
                {
                    "scan_id": self.repeat.scan_id,
                    "scanned_at": self.repeat.scanned_at.isoformat(),
                }
                if self.repeat
                else None
            ),
        }


# Core statements built once: the scan path runs them on every scan, and building ORM
# statements each time cost more than running them.
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
_HOLDER_BY_TOKEN = select(
    CodeHolder.citizen_id,
    CodeHolder.enterprise_id,
    CodeHolder.region_code,
    _REVOKED_FOR.label("revoked_for"),
).where(CodeHolder.token == bindparam("token"))
_SIGHTINGS = (
    select(  # governance: keyed hashes of places of one code, compared, and when
        ScanRecord.id, ScanRecord.place_key, ScanRecord.scanned_at, ScanRecord.result
    )
    .where(ScanRecord.code_id == bindparam("code_id"), ScanRecord.scanned_at >= bindparam("since"))
    .order_by(ScanRecord.scanned_at, ScanRecord.id)
    .limit(20)
)
_SCANS: Table = ScanRecord.__table__  # type: ignore[assignment]
_INSERT_SCAN = insert(_SCANS).returning(_SCANS.c.id)
# The insert of an admitted scan: nothing (no id back) when this code was already admitted,
# by the unique index ``uq_code_scan_admitted``, even by a scan committing at this moment.
# (A literal, not a parameter: PostgreSQL matches a prepared statement's ON CONFLICT target
# to the partial index only by its text.)
_ADMITTED = sql_text("result = 'admitted'")
_ADMIT_ONCE: dict[str, Any] = {
    "postgresql": postgresql.insert(_SCANS)
    .on_conflict_do_nothing(index_elements=[_SCANS.c.code_id], index_where=_ADMITTED)
    .returning(_SCANS.c.id),
    "sqlite": sqlite.insert(_SCANS)
    .on_conflict_do_nothing(index_elements=[_SCANS.c.code_id], index_where=_ADMITTED)
    .returning(_SCANS.c.id),
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


def _invalid(verdict: token.CodeVerdict, step: str, detail: str) -> token.CodeVerdict:
    return token.CodeVerdict(
        False,
        step,
        detail,
        region=verdict.region,
        scenario=verdict.scenario,
        holder_kind=verdict.holder_kind,
        issued_at=verdict.issued_at,
        expires_at=verdict.expires_at,
    )


def _refused(verdict: token.CodeVerdict, reason: Reason, step: str, detail: str) -> ScanOutcome:
    return ScanOutcome(
        _invalid(verdict, step, detail), reason, admit=False, replay=False, recorded=False
    )


def _status_reason(rule: ScenarioRule, status: str | None) -> Reason:
    """Whether a genuine code's status lets its holder in here."""
    if rule.health:
        return {
            "green": Reason.ADMIT,
            "yellow": Reason.HEALTH_YELLOW,
            "red": Reason.HEALTH_RED,
        }.get(status or "", Reason.NOT_ALLOWED)
    return Reason.ADMIT if status == "valid" else Reason.NOT_ALLOWED


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
    problems = ProblemList()
    if not text.strip():
        problems.add("code", "required", "paste or scan the code")
    elif len(text) > MAX_CODE_CHARS:
        problems.add("code", "max-length", f"a code has at most {MAX_CODE_CHARS} characters")
    checkpoint = " ".join(place.split())
    if not checkpoint:
        problems.add("place", "required", "name the checkpoint (e.g. 'east gate')")
    elif len(checkpoint) > MAX_PLACE_CHARS:
        problems.add("place", "max-length", f"should be at most {MAX_PLACE_CHARS} characters")
    problems.raise_if_any()
    verdict = token.verify_code(text, store=ctx.trust_store(session, now), at=now, grace=ctx.grace)
    if not verdict.valid:
        reason = _STEP_REASONS.get(verdict.step, Reason.NOT_A_CODE)
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
        return ScanOutcome(bare, reason, admit=False, replay=False, recorded=False)
    assert verdict.scenario is not None
    assert verdict.code_id is not None
    assert verdict.token is not None
    assert verdict.region is not None
    rules = ctx.scenarios(session, now)
    rule = rules.get(verdict.scenario)
    if rule is None or not rule.active:
        return _refused(
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
    connection = session.connection()
    if ctx.holds(session, verdict.region, now):
        holder = connection.execute(
            _HOLDER_BY_TOKEN, {"token": verdict.token, "scenario": rule.code}
        ).first()
        if holder is None or holder.region_code != verdict.region:
            return _refused(
                verdict, Reason.UNKNOWN_HOLDER, "holder", "no holder of this region has this token"
            )
        if holder.revoked_for is not None:
            which = (
                "all the holder's codes have"
                if holder.revoked_for == IDENTITY
                else f"the holder's {rule.name_en} code has"
            )
            return _refused(verdict, Reason.REVOKED, "revoked", f"{which} been revoked")
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
            return _refused(
                verdict, Reason.UNCHECKED, "status", f"cannot check revocation: {exc.detail}"
            )
        if revoked:
            return _refused(
                verdict,
                Reason.REVOKED,
                "revoked",
                f"the holder's region {verdict.region} has revoked this code",
            )
    if verdict.holder_kind == HolderKind.ENTERPRISE:
        # An enterprise's code scanned by a resident: the record is about that resident.
        citizen_id = principal.citizen_id
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
        "district_code": principal.district_code,
        "code_id": verdict.code_id,
        "scanned_at": now,
        "day": now.date(),
        "minute": int(now.timestamp()) // 60,
        "keep_until": now + timedelta(days=rule.retention_days),
    }
    admit_once = _ADMIT_ONCE[connection.dialect.name]
    if _status_reason(rule, verdict.status) is Reason.ADMIT:
        # The common case, a code's first scan, in one statement: an admission is the first
        # sighting of a code (any later one is a repeat or a replay), so if no admitted scan
        # of this code exists, there is no sighting to read back.
        scan_id = connection.execute(admit_once, {**row, "result": "admitted"}).scalar()
        if scan_id is not None:
            return _decided(ctx, rule, verdict, [], place_key, int(scan_id))
    since = now - ctx.window
    for _ in range(3):
        seen = connection.execute(_SIGHTINGS, {"code_id": verdict.code_id, "since": since}).all()
        outcome = _decided(ctx, rule, verdict, seen, place_key, None)
        if not outcome.recorded:
            return outcome
        result = _result(outcome)
        statement = admit_once if result == "admitted" else _INSERT_SCAN
        scan_id = connection.execute(statement, {**row, "result": result}).scalar()
        if scan_id is not None:
            return _decided(ctx, rule, verdict, seen, place_key, int(scan_id))
        # Another scan of this code was admitted meanwhile (or before a shortened replay
        # window): read its sightings again, whenever they were, and decide once more.
        since = _EPOCH
    raise Conflict("this code is being scanned elsewhere at this moment; scan it again")


def _result(outcome: ScanOutcome) -> str:
    return "replayed" if outcome.replay else ("admitted" if outcome.admit else "refused")


def _decided(
    ctx: Coding,
    rule: ScenarioRule,
    verdict: token.CodeVerdict,
    seen: Sequence[Any],
    place_key: str,
    scan_id: int | None,
) -> ScanOutcome:
    """The outcome of a genuine code given its sightings; ``scan_id`` once it is recorded.

    Without ``scan_id``, ``recorded`` says whether the scan is to be recorded: not when it
    repeats the first scan at this checkpoint with the same result.
    """
    replay = any(row.place_key != place_key for row in seen)
    here = next((row for row in seen if row.place_key == place_key), None)
    reason = Reason.REPLAY if replay else _status_reason(rule, verdict.status)
    admit = reason is Reason.ADMIT
    disclosed = {k: v for k, v in verdict.disclosed.items() if k in rule.disclosed}
    shown = token.CodeVerdict(
        not replay,
        "replay" if replay else "ok",
        (
            "this code was already scanned at another place within "
            f"{int(ctx.window.total_seconds())} s: it may be a copy; check the holder"
        )
        if replay
        else verdict.detail,
        region=verdict.region,
        scenario=verdict.scenario,
        status=verdict.status if "status" in rule.disclosed or rule.health else None,
        holder_kind=verdict.holder_kind,
        disclosed=disclosed,
        issued_at=verdict.issued_at,
        expires_at=verdict.expires_at,
        in_grace=verdict.in_grace,
    )
    result = "replayed" if replay else ("admitted" if admit else "refused")
    repeat = Repeat(int(here.id), here.scanned_at) if here is not None else None
    if scan_id is None and repeat is not None and here is not None and here.result == result:
        # The same holder at the same gate within the code's minute: one entry, told twice.
        return ScanOutcome(
            shown,
            reason,
            admit=admit,
            replay=replay,
            recorded=False,
            scenario_name=rule.name_en,
            scan_id=repeat.scan_id,
            repeat=repeat,
        )
    return ScanOutcome(
        shown,
        reason,
        admit=admit,
        replay=replay,
        recorded=True,
        scenario_name=rule.name_en,
        scan_id=scan_id,
        repeat=repeat,
    )


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
