"""Use cases of codes: scenarios, issuing rotating codes, scanning, health status and appeals.

Codes are signed with the region's issuing key (``twonets.trust``) and carry a pseudonymous
holder token. A scan is checked offline first (``token.verify_code``), then online: the
scanner's organisation must be one the scenario names, the holder must not be revoked, and
a code seen at another place within its life is flagged as a replay. Each accepted scan is
one row of the ``codes.scan`` dataset (whereabouts: the place is sealed), kept until its
scenario's retention runs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, distinct, func, insert, select
from sqlalchemy.orm import Session

from twonets.codes import token
from twonets.codes.context import Coding
from twonets.codes.models import (
    CodeHolder,
    HolderStatus,
    ScanRecord,
    Scenario,
)
from twonets.codes.scenarios import ANY_RESIDENT, DEFAULTS, DISCLOSABLE, HolderKind
from twonets.codes.status import health_status
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Citizen, Department, Enterprise, Role
from twonets.governance import ledger
from twonets.governance.service import get_purpose as _get_purpose
from twonets.governance.service import subject_access_entry
from twonets.trust import service as trust

SCAN_DATASET = "codes.scan"
MAX_CODE_CHARS = 2000
MAX_PLACE_CHARS = 200
SCAN_ROLES = (Role.VERIFIER, Role.STAFF, Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE)

_HOLDER_BY_TOKEN = select(
    CodeHolder.citizen_id, CodeHolder.enterprise_id, CodeHolder.status, CodeHolder.region_code
).where(CodeHolder.token == bindparam("token"))
_SIGHTINGS = (
    select(ScanRecord.place_key)  # governance: keyed hashes of places of one code, compared
    .where(ScanRecord.code_id == bindparam("code_id"), ScanRecord.scanned_at >= bindparam("since"))
    .limit(20)
)
_SCANS: Table = ScanRecord.__table__  # type: ignore[assignment]
_INSERT_SCAN = insert(_SCANS).returning(_SCANS.c.id)


# --- scenarios --------------------------------------------------------------------------------


def ensure_scenarios(session: Session, *, now: datetime) -> int:
    """Write the default scenarios that are missing; returns how many were added."""
    have = set(session.scalars(select(Scenario.code)))
    added = 0
    for default in DEFAULTS:
        if default.code in have:
            continue
        session.add(
            Scenario(
                code=default.code,
                name=default.name,
                name_en=default.name_en,
                holder_kinds=[str(k) for k in default.holder_kinds],
                disclosed=list(default.disclosed),
                verifiers=list(default.verifiers),
                purpose_code=default.purpose_code,
                retention_days=default.retention_days,
                health=default.health,
                active=True,
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def list_scenarios(session: Session) -> Sequence[Scenario]:
    """Every scenario, by code."""
    return session.scalars(select(Scenario).order_by(Scenario.code)).all()


def get_scenario(session: Session, code: str) -> Scenario:
    """One scenario by code."""
    found = session.get(Scenario, code)
    if found is None:
        known = ", ".join(s.code for s in list_scenarios(session)) or "none"
        raise NotFound(f"scenario {code!r} does not exist; known: {known}")
    return found


def put_scenario(
    session: Session,
    ctx: Coding,
    *,
    actor: str,
    code: str,
    name: str,
    name_en: str,
    holder_kinds: Sequence[str],
    disclosed: Sequence[str],
    verifiers: Sequence[str],
    purpose_code: str,
    retention_days: int,
    health: bool,
    active: bool,
    now: datetime,
) -> Scenario:
    """Create or change a scenario (administrators); every field is checked before writing."""
    problems = ProblemList()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        problems.add("code", "pattern", "1 to 32 letters, digits, '-' or '_'")
    kinds = {k.value for k in HolderKind}
    if not holder_kinds or not set(holder_kinds) <= kinds:
        problems.add("holder_kinds", "choice", f"a non-empty subset of {', '.join(sorted(kinds))}")
    unknown = [d for d in disclosed if d not in DISCLOSABLE]
    if unknown:
        problems.add(
            "disclosed",
            "choice",
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(DISCLOSABLE)}",
        )
    named = set(verifiers) - {ANY_RESIDENT}
    known = set(session.scalars(select(Department.code).where(Department.code.in_(named))))
    known.update(
        session.scalars(select(Enterprise.credit_code).where(Enterprise.credit_code.in_(named)))
    )
    for i, verifier in enumerate(verifiers):
        if verifier != ANY_RESIDENT and verifier not in known:
            problems.add(
                f"verifiers[{i}]",
                "exists",
                f"{verifier!r} is neither a department code, a registered enterprise's "
                f"credit code, nor {ANY_RESIDENT!r}",
            )
    if not 1 <= retention_days <= 3650:
        problems.add("retention_days", "range", "should be between 1 and 3650")
    if not name.strip() or not name_en.strip():
        problems.add("name", "required", "a scenario needs a name and an English name")
    try:
        _get_purpose(session, purpose_code)
    except NotFound:
        problems.add(
            "purpose_code", "exists", f"no purpose {purpose_code!r}; a DPO declares it first"
        )
    problems.raise_if_any()
    row = session.get(Scenario, code)
    before = None
    if row is None:
        row = Scenario(code=code)
        session.add(row)
    else:
        before = {"verifiers": list(row.verifiers), "disclosed": list(row.disclosed)}
    row.name, row.name_en = name.strip(), name_en.strip()
    row.holder_kinds = sorted(set(holder_kinds))
    row.disclosed = list(dict.fromkeys(disclosed))
    row.verifiers = list(dict.fromkeys(verifiers))
    row.purpose_code = purpose_code
    row.retention_days = retention_days
    row.health = health
    row.active = active
    row.updated_at = now
    session.flush()
    record_event(
        session,
        "codes.scenario.changed",
        {"scenario": code, "actor": actor, "before": before},
        now=now,
    )
    ctx._scenarios = None
    return row


# --- holders and codes ------------------------------------------------------------------------


def _holder_of(principal: Principal) -> tuple[str, int]:
    if principal.citizen_id is not None:
        return HolderKind.CITIZEN.value, principal.citizen_id
    if principal.enterprise_id is not None:
        return HolderKind.ENTERPRISE.value, principal.enterprise_id
    raise Forbidden("only residents and enterprises hold codes")


def ensure_holder(
    session: Session, ctx: Coding, *, kind: str, holder_id: int, now: datetime
) -> CodeHolder:
    """The holder record of a resident or enterprise, made on first use."""
    column = CodeHolder.citizen_id if kind == HolderKind.CITIZEN else CodeHolder.enterprise_id
    holder = session.scalar(select(CodeHolder).where(column == holder_id))  # governance: own
    if holder is not None:
        return holder
    raw = token.holder_token(ctx.token_secret(), region=ctx.region, kind=kind, holder_id=holder_id)
    holder = CodeHolder(
        token=token.token_text(raw),
        region_code=ctx.region,
        citizen_id=holder_id if kind == HolderKind.CITIZEN else None,
        enterprise_id=holder_id if kind == HolderKind.ENTERPRISE else None,
        status=HolderStatus.VALID,
        created_at=now,
    )
    session.add(holder)
    session.flush()
    return holder


@dataclass(frozen=True)
class IssuedCode:
    """A freshly signed code and what the holder's page shows beside it."""

    text: str
    scenario: str
    scenario_name: str
    status: str
    explanation: str
    issued_at: datetime
    expires_at: datetime
    refresh_seconds: int
    disclosed: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The issued code as JSON."""
        return {
            "text": self.text,
            "scenario": self.scenario,
            "scenario_name": self.scenario_name,
            "status": self.status,
            "explanation": self.explanation,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "refresh_seconds": self.refresh_seconds,
            "disclosed": dict(self.disclosed),
        }


def _age_band(birth: date, today: date) -> str:
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return "under 18" if age < 18 else ("60+" if age >= 60 else "18-59")


def _disclosed_values(
    session: Session,
    kind: str,
    holder_id: int,
    fields: Sequence[str],
    *,
    status: str,
    job_posting: str | None,
    now: datetime,
) -> dict[str, str]:
    values: dict[str, str] = {}
    if kind == HolderKind.CITIZEN:
        person = session.execute(
            select(Citizen.name, Citizen.id_number, Citizen.birth_date).where(
                Citizen.id == holder_id
            )
        ).one()  # governance: the holder's own details, signed into the holder's own code
        candidates = {
            "name_initial": person.name[:1],
            "name": person.name,
            "id_tail": person.id_number[-4:],
            "age_band": _age_band(person.birth_date, now.date()),
        }
    else:
        firm = session.execute(
            select(Enterprise.name, Enterprise.credit_code).where(Enterprise.id == holder_id)
        ).one()
        candidates = {"enterprise_name": firm.name, "credit_code": firm.credit_code}
        if job_posting:
            candidates["job_posting"] = job_posting
    candidates["status"] = status
    for name in fields:
        if name in candidates:
            values[name] = candidates[name]
    return values


def issue_code(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    scenario: str,
    now: datetime,
    job_posting: str | None = None,
) -> IssuedCode:
    """Sign a new code of the caller for a scenario: valid one rotation, status as of now."""
    kind, holder_id = _holder_of(principal)
    rule = ctx.scenarios(session, now).get(scenario)
    if rule is None:
        get_scenario(session, scenario)  # raises NotFound naming the known ones
        ctx._scenarios = None
        rule = ctx.scenarios(session, now)[scenario]
    if not rule.active:
        raise Invalid.field("scenario", "active", f"scenario {scenario} is not in use")
    if kind not in rule.holder_kinds:
        raise Invalid.field(
            "scenario",
            "holder-kind",
            f"a{'n' if kind == 'enterprise' else ''} {kind} cannot hold a {scenario} code "
            f"(holders: {', '.join(sorted(rule.holder_kinds))})",
        )
    if job_posting is not None and len(job_posting) > 200:
        raise Invalid.field("job_posting", "max-length", "should be at most 200 characters")
    holder = ensure_holder(session, ctx, kind=kind, holder_id=holder_id, now=now)
    if holder.status == HolderStatus.REVOKED:
        raise Conflict(
            f"your codes are revoked ({holder.status_reason or 'no reason given'}); "
            "contact the issuing office"
        )
    if rule.health:
        if kind != HolderKind.CITIZEN:
            raise Invalid.field("scenario", "holder-kind", "only residents have a health status")
        assessment = health_status(session, ctx, citizen_id=holder_id, now=now)
        status, explanation = assessment.colour.value, assessment.explanation()
    else:
        status, explanation = "valid", "Your code is valid."
    claims = token.CodeClaims(
        token=token.token_bytes(holder.token),
        holder_kind=kind,
        scenario=scenario,
        status=status,
        nonce=secrets.token_bytes(token.NONCE_BYTES),
        disclosed=_disclosed_values(
            session,
            kind,
            holder_id,
            rule.disclosed,
            status=status,
            job_posting=job_posting,
            now=now,
        ),
    )
    # Whole seconds: iat and exp are NumericDates, and the page counts down from them. The
    # key is chosen at that second too: a verifier checks the key's window against iat.
    issued = now.replace(microsecond=0)
    # A holder's codes are signed in the region that registered the holder.
    key = ctx.signing_key(session, holder.region_code, issued)
    assert key.private_key is not None
    text = token.encode_code(
        claims,
        region=holder.region_code,
        private_key=key.private_key,  # type: ignore[arg-type]
        kid=key.kid,
        issued_at=issued,
        rotation=ctx.rotation,
    )
    return IssuedCode(
        text=text,
        scenario=scenario,
        scenario_name=rule.name_en,
        status=status,
        explanation=explanation,
        issued_at=issued,
        expires_at=issued + ctx.rotation,
        refresh_seconds=int(ctx.rotation.total_seconds()),
        disclosed=claims.disclosed,
    )


def _find_holder(
    session: Session, *, id_number: str | None, credit_code: str | None
) -> tuple[str, int]:
    if bool(id_number) == bool(credit_code):
        raise Invalid.field("id_number", "one-of", "give either id_number or credit_code")
    if id_number:
        found = session.scalar(select(Citizen.id).where(Citizen.id_number == id_number))
        if found is None:
            raise NotFound("no resident with this ID number")
        return HolderKind.CITIZEN.value, found
    found = session.scalar(select(Enterprise.id).where(Enterprise.credit_code == credit_code))
    if found is None:
        raise NotFound("no enterprise with this credit code")
    return HolderKind.ENTERPRISE.value, found


def set_holder_status(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    id_number: str | None = None,
    credit_code: str | None = None,
    revoke: bool,
    reason: str,
    now: datetime,
) -> CodeHolder:
    """Revoke a holder's codes (every code, at once, online) or restore them (staff)."""
    principal.require(Role.STAFF, Role.ADMIN)
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why (the holder sees it)")
    kind, holder_id = _find_holder(session, id_number=id_number, credit_code=credit_code)
    holder = ensure_holder(session, ctx, kind=kind, holder_id=holder_id, now=now)
    holder.status = HolderStatus.REVOKED if revoke else HolderStatus.VALID
    holder.status_reason = reason.strip()
    holder.status_changed_at = now
    session.flush()
    record_event(
        session,
        "codes.holder.revoked" if revoke else "codes.holder.restored",
        {"holder": holder.id, "actor": principal.username},
        now=now,
    )
    return holder


# --- scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanOutcome:
    """What a scanner sees: the verdict, the replay flag, whether to let the holder in."""

    verdict: token.CodeVerdict
    admit: bool
    replay: bool
    recorded: bool
    scenario_name: str | None = None
    scan_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON."""
        return {
            **self.verdict.to_json(),
            "admit": self.admit,
            "replay": self.replay,
            "recorded": self.recorded,
            "scenario_name": self.scenario_name,
            "scan_id": self.scan_id,
        }


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
        status=verdict.status,
        holder_kind=verdict.holder_kind,
        issued_at=verdict.issued_at,
        expires_at=verdict.expires_at,
    )


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
    of the scenario's verifiers (``Forbidden`` otherwise: it learns nothing), the holder must
    not be revoked, and a sighting of the same code at another place within the replay
    window flags this scan as a replay. Only the fields the scenario discloses come back.
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
        return ScanOutcome(verdict, admit=False, replay=False, recorded=False)
    assert verdict.scenario is not None
    assert verdict.code_id is not None
    assert verdict.token is not None
    assert verdict.region is not None
    rule = ctx.scenarios(session, now).get(verdict.scenario)
    if rule is None or not rule.active:
        failed = _invalid(verdict, "scenario", f"scenario {verdict.scenario!r} is not in use here")
        return ScanOutcome(failed, admit=False, replay=False, recorded=False)
    organisation = verifier_of(session, ctx, principal)
    if organisation not in rule.verifiers and Role.ADMIN not in principal.roles:
        raise Forbidden(
            f"{organisation} may not scan {rule.name_en} codes: the scenario names "
            f"{', '.join(sorted(rule.verifiers)) or 'no verifier yet'}"
        )
    citizen_id: int | None = None
    enterprise_id: int | None = None
    # Core statements built once, on the session's connection: the scan path runs them on
    # every scan, and building ORM statements each time cost more than running them.
    connection = session.connection()
    if ctx.holds(session, verdict.region, now):
        holder = connection.execute(_HOLDER_BY_TOKEN, {"token": verdict.token}).first()
        if holder is None or holder.region_code != verdict.region:
            failed = _invalid(verdict, "holder", "no holder of this region has this token")
            return ScanOutcome(failed, admit=False, replay=False, recorded=False)
        if holder.status == HolderStatus.REVOKED:
            failed = _invalid(verdict, "revoked", "the holder's codes have been revoked")
            return ScanOutcome(failed, admit=False, replay=False, recorded=False)
        citizen_id, enterprise_id = holder.citizen_id, holder.enterprise_id
    if verdict.holder_kind == HolderKind.ENTERPRISE:
        # An enterprise's code scanned by a resident: the record is about that resident.
        citizen_id = principal.citizen_id
    place_key = ctx.place_key(organisation, checkpoint)
    seen = connection.execute(
        _SIGHTINGS, {"code_id": verdict.code_id, "since": now - ctx.window}
    ).scalars()
    replay = any(key != place_key for key in seen)
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
    fine = "green" if rule.health else "valid"
    admit = not replay and verdict.status == fine
    keyring = ctx.keyring(session, now)
    scan_id = connection.execute(
        _INSERT_SCAN,
        {
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
            "result": "replayed" if replay else ("admitted" if admit else "refused"),
            "scanned_at": now,
            "day": now.date(),
            "minute": int(now.timestamp()) // 60,
            "keep_until": now + timedelta(days=rule.retention_days),
        },
    ).scalar_one()
    return ScanOutcome(
        shown,
        admit=admit,
        replay=replay,
        recorded=True,
        scenario_name=rule.name_en,
        scan_id=int(scan_id),
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


# --- retention and statistics -----------------------------------------------------------------


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


def statistics(session: Session, *, since: date, until: date) -> dict[str, Any]:
    """Scans per scenario per day, unique holders per day, and the peak per minute."""
    if until < since:
        raise Invalid.field("until", "after-since", "should be on or after since")
    if (until - since).days > 366:
        raise Invalid.field("since", "range", "at most a year at a time")
    window = (ScanRecord.day >= since, ScanRecord.day <= until)
    per_day = session.execute(
        select(ScanRecord.day, ScanRecord.scenario_code, func.count())
        .where(*window)
        .group_by(ScanRecord.day, ScanRecord.scenario_code)
        .order_by(ScanRecord.day, ScanRecord.scenario_code)
    ).all()
    holders = session.execute(
        select(ScanRecord.day, func.count(distinct(ScanRecord.holder_token)))
        .where(*window)
        .group_by(ScanRecord.day)
        .order_by(ScanRecord.day)
    ).all()  # governance: counts distinct pseudonyms; no value leaves
    unique_total = session.scalar(
        select(func.count(distinct(ScanRecord.holder_token))).where(*window)
    )  # governance: a count only
    per_minute = (
        select(ScanRecord.minute, func.count().label("n"))
        .where(*window)
        .group_by(ScanRecord.minute)
        .subquery()
    )
    peak = session.execute(
        select(per_minute.c.minute, per_minute.c.n).order_by(per_minute.c.n.desc()).limit(1)
    ).first()
    results = dict(
        session.execute(
            select(ScanRecord.result, func.count()).where(*window).group_by(ScanRecord.result)
        ).all()
    )
    days: dict[str, dict[str, Any]] = {}
    for day, scenario, count in per_day:
        entry = days.setdefault(day.isoformat(), {"day": day.isoformat(), "scenarios": {}})
        entry["scenarios"][scenario] = int(count)
    for day, count in holders:
        days.setdefault(day.isoformat(), {"day": day.isoformat(), "scenarios": {}})[
            "unique_holders"
        ] = int(count)
    for entry in days.values():
        entry["scans"] = sum(entry["scenarios"].values())
    totals: dict[str, int] = {}
    for _, scenario, count in per_day:
        totals[scenario] = totals.get(scenario, 0) + int(count)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "scans": sum(totals.values()),
        "by_scenario": totals,
        "by_result": {str(k): int(v) for k, v in results.items()},
        "unique_holders": int(unique_total or 0),
        "peak_per_minute": int(peak.n) if peak else 0,
        "peak_minute": (
            datetime.fromtimestamp(int(peak.minute) * 60, tz=UTC).isoformat() if peak else None
        ),
        "days": [days[k] for k in sorted(days)],
    }


def trust_bundle(session: Session, *, now: datetime) -> dict[str, Any]:
    """What an offline verifier of codes needs: every recognised region's anchor and list.

    The same format as the licences' bundle (without status lists: a code lives a minute),
    so one file serves both commands.
    """
    return {
        "format": "twonets-trust-bundle",
        "version": 1,
        "generated_at": now.isoformat(),
        "regions": [
            {
                "region": record.region_code,
                "kind": record.kind,
                "anchor": record.anchor_pem,
                "trust_list": record.trust_list,
            }
            for record in trust.list_recognised(session)
        ],
        "status_lists": {},
    }
