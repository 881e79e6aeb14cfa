"""Use cases of licences: issue, amend, suspend, revoke; the wallet; QR and SD-JWT; verify.

A department issues under its own region's current key (``twonets.trust``), and only the
issuing department changes a licence, or a department of the same region that the region's
administrator names for that type (a delegation). Every change is kept in the licence's
history, in the same transaction. Claims are sealed at rest under the ``licences.licence``
dataset key and opened for the holder only: what staff get back is the licence's metadata.
Each licence holds a random index in its region's status list, so that a verifier learns of
a revocation within the list's cache period without the index telling anything about it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.ids import InvalidIdentifier
from twonets.core.models import Account, Citizen, Department, Enterprise, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance
from twonets.licences import catalogue, qr, sdjwt
from twonets.licences.identifiers import make_licence_id, validate_licence_id
from twonets.licences.models import (
    Licence,
    LicenceAction,
    LicenceDelegation,
    LicenceHistory,
    VerificationCount,
)
from twonets.licences.models import LicenceStatus as LicenceStatus  # re-exported for callers
from twonets.licences.status import KeySigner, StatusList, StatusType, sign_status_list_token
from twonets.licences.verify import (
    PAYLOAD_CLAIMS,
    PAYLOAD_LICENCE,
    PAYLOAD_STATUS,
    PAYLOAD_TYPE,
    CredentialVerdict,
    region_prefix,
    verify_credential,
)
from twonets.trust import service as trust
from twonets.trust.store import TrustStore

DATASET = "licences.licence"
STATUS_LIST_SIZE = 1 << 17
STATUS_BITS = 2
STATUS_TTL_SECONDS = 300
QR_LIFETIME = timedelta(days=365)
BUNDLE_LIFETIME = timedelta(days=1)
STORE_MAX_AGE = timedelta(hours=1)
SD_JWT_LIFETIME = timedelta(days=30)
# What a holder may always leave out of an SD-JWT presentation: every field of the type.
ALWAYS_SHOWN = ("licence",)
# The changes a region's administrator may delegate to another department of the region.
CHANGES = ("amend", "suspend", "resume", "revoke")


@dataclass
class Licensing:
    """What licence use cases need besides a session: the root secret (keys derive from it)."""

    root_secret: bytes = field(repr=False)
    gov: Governance | None = field(default=None, repr=False)
    # The verifier's trust store, kept while the recognised lists stay the same.
    _store: trust.CachedTrustStore | None = field(default=None, repr=False)

    def trust_store(self, session: Session, now: datetime) -> TrustStore:
        """The platform's trust store, rebuilt when a recognised list changes or hourly."""
        if self._store is None:
            self._store = trust.CachedTrustStore(self.root_secret, max_age=STORE_MAX_AGE)
        return self._store.get(session, now)

    def keyring(self, session: Session) -> Keyring:
        """The at-rest keyring, at the key versions governance keeps."""
        if self.gov is None:
            self.gov = Governance(Catalogue(), self.root_secret)
        return self.gov.keyring(session)


def status_uri(region: str) -> str:
    """Where a region's status list is published (also its key in an offline bundle)."""
    return f"/api/v1/status-lists/{region}"


def _holder_kind(principal: Principal) -> tuple[str, int]:
    if principal.subject is None:
        raise Forbidden("only residents and enterprises hold licences")
    return principal.subject


def _require_staff(principal: Principal) -> str:
    """The caller's department, if the caller is staff of one (the role named, not implied)."""
    if Role.STAFF not in principal.roles or principal.department_code is None:
        raise Forbidden(
            "licences are issued and changed by staff of a department (role staff); "
            "administrators administer accounts and settings, they do not issue"
        )
    return principal.department_code


def _issuing_department(
    session: Session, principal: Principal, kind: catalogue.LicenceType
) -> Department:
    code = _require_staff(principal)
    if principal.department_function != kind.issuer_function:
        raise Forbidden(
            f"{kind.name_en} licences are issued by {kind.issuer_function} departments, "
            f"not by {code}"
        )
    department = session.scalar(select(Department).where(Department.code == code))
    assert department is not None
    if not department.credit_code:
        raise Invalid.field(
            "department", "credit-code", f"{department.code} has no credit code to issue under"
        )
    return department


def types_issued_by(principal: Principal) -> list[catalogue.LicenceType]:
    """The licence types the caller may issue: those of its department's function, if staff."""
    if Role.STAFF not in principal.roles or principal.department_function is None:
        return []
    return [t for t in catalogue.TYPES if t.issuer_function == principal.department_function]


def _delegated(session: Session, licence: Licence, department_code: str) -> frozenset[str]:
    """What the region's policy lets ``department_code`` change of this licence's kind."""
    row = session.scalar(
        select(LicenceDelegation).where(  # governance: the region's policy, not a person's data
            LicenceDelegation.region_code == licence.region_code,
            LicenceDelegation.type_code == licence.type_code,
            LicenceDelegation.issuer_department_code == licence.issuer_department_code,
            LicenceDelegation.delegate_department_code == department_code,
        )
    )
    return frozenset(row.actions.split(",")) if row is not None else frozenset()


def _check_authority(
    session: Session, principal: Principal, licence: Licence, change: str | None
) -> None:
    """Refuse unless the caller's department issued ``licence`` or is delegated ``change``.

    ``change`` None asks only to see the licence's metadata and history, which any
    delegation allows. A department of another region is never the issuer nor a delegate.
    """
    department = _require_staff(principal)
    if principal.region_code != licence.region_code:
        raise Forbidden(
            f"licence {licence.identifier} is of region {licence.region_code}; a department "
            f"of region {principal.region_code} never changes or sees it"
        )
    if department == licence.issuer_department_code:
        return
    allowed = _delegated(session, licence, department)
    if allowed and (change is None or change in allowed):
        return
    doing = "see" if change is None else change
    raise Forbidden(
        f"only the issuing department {licence.issuer_department_code}, or a department "
        f"that region {licence.region_code} names for {licence.type_code} licences, may "
        f"{doing} licence {licence.identifier}; {department} is neither"
    )


def _record(
    session: Session,
    licence: Licence,
    principal: Principal,
    *,
    action: LicenceAction,
    from_status: LicenceStatus | None,
    reason: str | None,
    now: datetime,
) -> None:
    """Add one entry to the licence's history, in the caller's transaction."""
    session.add(
        LicenceHistory(
            licence_id=licence.id,
            action=action,
            from_status=from_status,
            to_status=licence.status,
            version=licence.version,
            actor=principal.username,
            department_code=principal.department_code,
            reason=reason,
            at=now,
        )
    )


def _holder(
    session: Session, kind: catalogue.LicenceType, claims: dict[str, str]
) -> tuple[int | None, int | None]:
    if kind.holder is catalogue.HolderKind.CITIZEN:
        citizen_id = session.scalar(
            select(Citizen.id).where(Citizen.id_number == claims["id_number"])
        )
        if citizen_id is None:
            raise Invalid.field(
                "claims.id_number", "registered", "no registered resident has this ID number"
            )
        return citizen_id, None
    enterprise_id = session.scalar(
        select(Enterprise.id).where(Enterprise.credit_code == claims["credit_code"])
    )
    if enterprise_id is None:
        raise Invalid.field(
            "claims.credit_code", "registered", "no registered enterprise has this credit code"
        )
    return None, enterprise_id


def _free_status_index(session: Session, region: str) -> int:
    # Random positions: at the fill levels of a list this finds a free one in a try or two.
    for _ in range(64):
        candidate = secrets.randbelow(STATUS_LIST_SIZE)
        taken = session.scalar(
            select(Licence.id).where(
                Licence.region_code == region, Licence.status_index == candidate
            )
        )
        if taken is None:
            return candidate
    raise Conflict(f"the status list of {region} is nearly full; start a new list")


def issue_licence(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    type_code: str,
    claims: dict[str, Any],
    valid_from: date,
    valid_until: date | None = None,
    now: datetime,
) -> Licence:
    """Issue a licence of ``type_code`` to the holder its claims name.

    The licence is of the issuing department's region and signed under that region's keys;
    the caller does not choose. A platform holding no keys of that region cannot issue.
    """
    _require_staff(principal)
    kind = catalogue.get_type(type_code)
    department = _issuing_department(session, principal, kind)
    region = department.region_code
    if not trust.holds_region(session, region):
        raise Conflict(
            f"this platform holds no signing keys of region {region}, the region of "
            f"{department.code}: its licences are issued where its region's keys are"
        )
    checked = kind.check(claims)
    if valid_until is None and kind.validity_years:
        valid_until = valid_from.replace(year=valid_from.year + kind.validity_years)
    if valid_until is not None and valid_until <= valid_from:
        raise Invalid.field("valid_until", "after-valid-from", "should be after valid_from")
    citizen_id, enterprise_id = _holder(session, kind, checked)
    if kind.one_per_holder:
        holder = (
            Licence.citizen_id == citizen_id
            if citizen_id is not None
            else Licence.enterprise_id == enterprise_id
        )
        in_force = session.scalar(
            select(Licence.identifier).where(
                Licence.type_code == type_code,
                holder,
                Licence.status.in_([LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED]),
            )
        )
        if in_force is not None:
            raise Conflict(
                f"the holder already has a {kind.name_en} in force ({in_force}); "
                "amend it, or revoke it first"
            )
    assert department.credit_code is not None
    number = 1 + int(
        session.scalar(
            select(func.max(Licence.number)).where(
                Licence.type_code == type_code,
                Licence.issuer_credit_code == department.credit_code,
            )
        )
        or 0
    )
    licence = Licence(
        identifier=make_licence_id(type_code, department.credit_code, number, 1),
        type_code=type_code,
        number=number,
        version=1,
        region_code=region,
        issuer_department_code=department.code,
        issuer_credit_code=department.credit_code,
        citizen_id=citizen_id,
        enterprise_id=enterprise_id,
        claims=ctx.keyring(session).seal(
            DATASET, "claims", json.dumps(checked, ensure_ascii=False)
        ),
        status=LicenceStatus.ACTIVE,
        status_index=_free_status_index(session, region),
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=now,
    )
    session.add(licence)
    session.flush()
    _record(
        session,
        licence,
        principal,
        action=LicenceAction.ISSUED,
        from_status=None,
        reason=None,
        now=now,
    )
    record_event(
        session, "licences.licence.issued", {"licence_id": licence.id, "type": type_code}, now=now
    )
    return licence


def get_licence(session: Session, licence_id: int) -> Licence:
    """One licence by id."""
    licence = session.get(Licence, licence_id)  # governance: issuer's or holder's own record
    if licence is None:
        raise NotFound(f"licence {licence_id} does not exist")
    return licence


def find_issued_licence(session: Session, principal: Principal, identifier: str) -> Licence:
    """A licence by identifier, for the department that issued it (or a delegate)."""
    licence = find_licence(session, identifier)
    _check_authority(session, principal, licence, None)
    return licence


def get_issued_licence(session: Session, principal: Principal, licence_id: int) -> Licence:
    """A licence by id, for the department that issued it (or a delegate)."""
    licence = get_licence(session, licence_id)
    _check_authority(session, principal, licence, None)
    return licence


def find_licence(session: Session, identifier: str) -> Licence:
    """A licence by its structured identifier, checked (type, issuer, check character) first."""
    try:
        normalised = validate_licence_id(identifier)
    except InvalidIdentifier as exc:
        raise Invalid.field("identifier", "licence-identifier", exc.reason) from None
    by_id = select(Licence).where(Licence.identifier == normalised)  # governance: issuer's own
    licence = session.scalar(by_id)
    if licence is None:
        raise NotFound(f"no licence {normalised}")
    return licence


def amend_licence(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    licence_id: int,
    claims: dict[str, Any],
    reason: str,
    now: datetime,
) -> Licence:
    """A new version with changed claims; the old version stops verifying (superseded)."""
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why the licence is amended")
    old = get_licence(session, licence_id)
    _check_authority(session, principal, old, "amend")
    if old.status not in (LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED):
        raise Conflict(f"licence {old.identifier} is {old.status} and cannot be amended")
    kind = catalogue.get_type(old.type_code)
    checked = kind.check(claims)
    citizen_id, enterprise_id = _holder(session, kind, checked)
    if (citizen_id, enterprise_id) != (old.citizen_id, old.enterprise_id):
        raise Invalid.field("claims", "same-holder", "an amendment cannot change the holder")
    was = old.status
    old.status = LicenceStatus.SUPERSEDED
    old.status_changed_at = now
    old.status_reason = reason
    new = Licence(
        identifier=make_licence_id(
            old.type_code, old.issuer_credit_code, old.number, old.version + 1
        ),
        type_code=old.type_code,
        number=old.number,
        version=old.version + 1,
        region_code=old.region_code,
        issuer_department_code=old.issuer_department_code,
        issuer_credit_code=old.issuer_credit_code,
        citizen_id=old.citizen_id,
        enterprise_id=old.enterprise_id,
        claims=ctx.keyring(session).seal(
            DATASET, "claims", json.dumps(checked, ensure_ascii=False)
        ),
        status=LicenceStatus.ACTIVE,
        status_index=_free_status_index(session, old.region_code),
        valid_from=old.valid_from,
        valid_until=old.valid_until,
        issued_at=now,
        supersedes_id=old.id,
    )
    session.add(new)
    session.flush()
    _record(
        session,
        old,
        principal,
        action=LicenceAction.SUPERSEDED,
        from_status=was,
        reason=reason,
        now=now,
    )
    _record(
        session,
        new,
        principal,
        action=LicenceAction.AMENDED,
        from_status=None,
        reason=reason,
        now=now,
    )
    record_event(session, "licences.licence.amended", {"licence_id": new.id}, now=now)
    return new


TRANSITIONS = {
    "suspend": ({LicenceStatus.ACTIVE}, LicenceStatus.SUSPENDED, LicenceAction.SUSPENDED),
    "resume": ({LicenceStatus.SUSPENDED}, LicenceStatus.ACTIVE, LicenceAction.RESUMED),
    "revoke": (
        {LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED},
        LicenceStatus.REVOKED,
        LicenceAction.REVOKED,
    ),
}


def change_status(
    session: Session,
    principal: Principal,
    *,
    licence_id: int,
    action: str,
    reason: str,
    now: datetime,
) -> Licence:
    """Suspend, resume or revoke a licence (revocation is final)."""
    if action not in TRANSITIONS:
        raise Invalid.field("action", "known", "should be suspend, resume or revoke")
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why")
    licence = get_licence(session, licence_id)
    _check_authority(session, principal, licence, action)
    allowed, target, recorded = TRANSITIONS[action]
    if licence.status not in allowed:
        raise Conflict(f"licence {licence.identifier} is {licence.status}; cannot {action} it")
    was = licence.status
    licence.status = target
    licence.status_changed_at = now
    licence.status_reason = reason
    _record(session, licence, principal, action=recorded, from_status=was, reason=reason, now=now)
    record_event(session, f"licences.licence.{target}", {"licence_id": licence.id}, now=now)
    return licence


def claims_of(session: Session, ctx: Licensing, licence: Licence) -> dict[str, str]:
    """The opened claims of a licence (for its holder or its issuer, not for other readers)."""
    claims: dict[str, str] = json.loads(
        ctx.keyring(session).unseal(DATASET, "claims", licence.claims)
    )
    return claims


def licence_summary(licence: Licence) -> dict[str, Any]:
    """A licence's metadata, without its claims: what staff and change responses get."""
    kind = catalogue.get_type(licence.type_code)
    return {
        "id": licence.id,
        "identifier": licence.identifier,
        "type": kind.code,
        "type_name": kind.name,
        "type_name_en": kind.name_en,
        "version": licence.version,
        "region": licence.region_code,
        "issuer_department": licence.issuer_department_code,
        "status": str(licence.status),
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "issued_at": licence.issued_at.isoformat(),
        "status_changed_at": (
            licence.status_changed_at.isoformat() if licence.status_changed_at else None
        ),
    }


def licence_json(session: Session, ctx: Licensing, licence: Licence) -> dict[str, Any]:
    """A licence as its holder sees it: the metadata and the opened claims."""
    return {**licence_summary(licence), "claims": claims_of(session, ctx, licence)}


def _history(session: Session, licence: Licence) -> list[tuple[LicenceHistory, str]]:
    """Every entry of every version of ``licence`` (the same type, issuer and number), oldest
    first, with the identifier of the version each entry is about."""
    rows = session.execute(
        select(LicenceHistory, Licence.identifier)  # governance: for the issuer or the holder
        .join(Licence, Licence.id == LicenceHistory.licence_id)
        .where(
            Licence.type_code == licence.type_code,
            Licence.issuer_credit_code == licence.issuer_credit_code,
            Licence.number == licence.number,
        )
        .order_by(LicenceHistory.at, LicenceHistory.id)
    ).all()
    return [(entry, identifier) for entry, identifier in rows]


def _history_json(entry: LicenceHistory, identifier: str, *, with_actor: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "identifier": identifier,
        "version": entry.version,
        "action": str(entry.action),
        "from_status": str(entry.from_status) if entry.from_status is not None else None,
        "to_status": str(entry.to_status),
        "department": entry.department_code,
        "reason": entry.reason,
        "at": entry.at.isoformat(),
    }
    if with_actor:
        out["actor"] = entry.actor
    return out


def licence_history(
    session: Session, principal: Principal, *, licence_id: int
) -> list[dict[str, Any]]:
    """The history of a licence across its versions, for its issuer (or a delegate)."""
    licence = get_issued_licence(session, principal, licence_id)
    return [_history_json(e, i, with_actor=True) for e, i in _history(session, licence)]


def holder_history(
    session: Session, principal: Principal, *, licence_id: int
) -> list[dict[str, Any]]:
    """The history of one of the caller's own licences: what changed, when, which department,
    and why. The member of staff who made a change is not named to the holder."""
    licence = _held(session, principal, licence_id)
    return [_history_json(e, i, with_actor=False) for e, i in _history(session, licence)]


def wallet(session: Session, ctx: Licensing, principal: Principal) -> list[dict[str, Any]]:
    """The caller's own licences in force (newest first)."""
    kind, holder = _holder_kind(principal)
    column = Licence.citizen_id if kind == "citizen" else Licence.enterprise_id
    rows = session.scalars(
        select(Licence)  # governance: the holder's own licences, opened for the holder
        .where(column == holder, Licence.status != LicenceStatus.SUPERSEDED)
        .order_by(Licence.issued_at.desc())
    ).all()
    return [licence_json(session, ctx, r) for r in rows]


def _held(session: Session, principal: Principal, licence_id: int) -> Licence:
    """One of the caller's own licences, in any status; another's is not found."""
    kind, holder = _holder_kind(principal)
    licence = get_licence(session, licence_id)
    owner = licence.citizen_id if kind == "citizen" else licence.enterprise_id
    if owner != holder:
        raise NotFound(f"licence {licence_id} does not exist")
    return licence


def _own(session: Session, principal: Principal, licence_id: int) -> Licence:
    licence = _held(session, principal, licence_id)
    if licence.status != LicenceStatus.ACTIVE:
        raise Conflict(f"licence {licence.identifier} is {licence.status}: it cannot be shown")
    return licence


def _payload(session: Session, ctx: Licensing, licence: Licence) -> dict[str, Any]:
    return {
        PAYLOAD_LICENCE: licence.identifier,
        PAYLOAD_TYPE: licence.type_code,
        PAYLOAD_CLAIMS: claims_of(session, ctx, licence),
        PAYLOAD_STATUS: {"idx": licence.status_index, "uri": status_uri(licence.region_code)},
    }


def _expiry(licence: Licence, now: datetime, lifetime: timedelta) -> datetime:
    end = now + lifetime
    if licence.valid_until is not None:
        end = min(end, datetime.combine(licence.valid_until, time(0), tzinfo=UTC))
    return end


def qr_code(
    session: Session, ctx: Licensing, principal: Principal, *, licence_id: int, now: datetime
) -> str:
    """A compact QR credential of one of the caller's licences, signed by its region's key."""
    licence = _own(session, principal, licence_id)
    return sign_qr(session, ctx, licence, now=now)


def sign_qr(session: Session, ctx: Licensing, licence: Licence, *, now: datetime) -> str:
    """The QR text of a licence (base45 CWT in COSE_Sign1 with the region prefix)."""
    expires = _expiry(licence, now, QR_LIFETIME)
    key = trust.signing_key(
        session,
        region=licence.region_code,
        root_secret=ctx.root_secret,
        now=now,
        valid_for=expires - now,
    )
    assert key.private_key is not None
    alg, sign = qr.cose_signer(key.private_key)  # type: ignore[arg-type]
    return qr.encode(
        _payload(session, ctx, licence),
        prefix=region_prefix(licence.region_code),
        kid=key.kid,
        sign=sign,
        alg=alg,
        issuer=f"{licence.region_code}:{licence.issuer_department_code}",
        issued_at=now,
        expires_at=expires,
    )


def holder_key(ctx: Licensing, principal: Principal) -> ed25519.Ed25519PrivateKey:
    """The key of the caller's web wallet (a phone wallet would hold its own)."""
    seed = HKDF(
        algorithm=SHA256(),
        length=32,
        salt=b"twonets-wallet",
        info=f"holder:{principal.account_id}".encode(),
    ).derive(ctx.root_secret)
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def share(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    licence_id: int,
    disclose: Collection[str],
    audience: str,
    nonce: str,
    now: datetime,
) -> str:
    """An SD-JWT presentation of one licence showing only ``disclose``, bound to the wallet key."""
    licence = _own(session, principal, licence_id)
    kind = catalogue.get_type(licence.type_code)
    unknown = sorted(set(disclose) - {f.name for f in kind.fields})
    if unknown:
        raise Invalid.field("disclose", "known-field", f"{kind.code} has no field {unknown[0]!r}")
    wallet_key = holder_key(ctx, principal)
    expires = _expiry(licence, now, SD_JWT_LIFETIME)
    key = trust.signing_key(
        session,
        region=licence.region_code,
        root_secret=ctx.root_secret,
        now=now,
        valid_for=expires - now,
    )
    assert key.private_key is not None
    from twonets.trust.keys import kid_text

    signer = sdjwt.es256_signer(key.private_key, kid_text(key.kid))  # type: ignore[arg-type]
    claims = {PAYLOAD_LICENCE: licence.identifier, **claims_of(session, ctx, licence)}
    issued = sdjwt.issue(
        claims,
        selectively_disclosable=[f.name for f in kind.fields if f.disclosable and f.name in claims],
        issuer=f"{licence.region_code}:{licence.issuer_department_code}",
        vct=kind.code,
        signer=signer,
        holder_jwk=sdjwt.public_jwk(wallet_key.public_key()),
        issued_at=now,
        expires_at=expires,
        status={
            "status_list": {"idx": licence.status_index, "uri": status_uri(licence.region_code)}
        },
    )
    return sdjwt.present(
        issued, disclose=[*disclose], holder_key=wallet_key, audience=audience, nonce=nonce, at=now
    )


def status_list(session: Session, *, region: str) -> StatusList:
    """The region's status list as it stands: revoked and superseded invalid, suspended marked."""
    lst = StatusList(STATUS_LIST_SIZE, bits=STATUS_BITS)
    rows = session.execute(
        select(Licence.status_index, Licence.status).where(
            Licence.region_code == region, Licence.status != LicenceStatus.ACTIVE
        )
    ).all()
    for index, status in rows:
        value = StatusType.SUSPENDED if status == LicenceStatus.SUSPENDED else StatusType.INVALID
        lst.set(index, value)
    return lst


def status_list_token(
    session: Session,
    ctx: Licensing,
    *,
    region: str,
    now: datetime,
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    """The signed Status List Token of a region, for verifiers to cache (``ttl`` 5 minutes)."""
    key = trust.signing_key(
        session, region=region, root_secret=ctx.root_secret, now=now, valid_for=lifetime
    )
    assert key.private_key is not None
    from twonets.trust.keys import kid_text

    return sign_status_list_token(
        status_list(session, region=region),
        uri=status_uri(region),
        issued_at=now,
        expires_at=now + lifetime,
        ttl=STATUS_TTL_SECONDS,
        signer=KeySigner(key.private_key, kid_text(key.kid)),  # type: ignore[arg-type]
        issuer=region,
    )


def verify(
    session: Session,
    ctx: Licensing,
    *,
    text: str,
    verifier: str,
    now: datetime,
    audience: str | None = None,
    nonce: str | None = None,
) -> CredentialVerdict:
    """Verify a presented licence online (live status) and count the verification."""
    store = ctx.trust_store(session, now)

    def status_of(uri: str, idx: int) -> int | None:
        # Online, the status comes straight from the licence at that index (one indexed row),
        # not from rebuilding the whole list.
        region = uri.rsplit("/", 1)[-1]
        if uri != status_uri(region) or not trust.holds_region(session, region):
            return None
        found = session.scalar(
            select(Licence.status).where(Licence.region_code == region, Licence.status_index == idx)
        )
        if found is None or found == LicenceStatus.ACTIVE:
            return StatusType.VALID
        if found == LicenceStatus.SUSPENDED:
            return StatusType.SUSPENDED
        return StatusType.INVALID

    verdict = verify_credential(
        text, store=store, at=now, status_of=status_of, audience=audience, nonce=nonce
    )
    count_verification(
        session,
        type_code=verdict.type_code or "unknown",
        verifier=verifier,
        region=verdict.region or "unknown",
        result="valid" if verdict.valid else verdict.step,
        day=now.date(),
    )
    return verdict


def count_verification(
    session: Session, *, type_code: str, verifier: str, region: str, result: str, day: date
) -> None:
    """Add one to the count of verifications of this kind."""
    row = session.scalar(
        select(VerificationCount).where(
            VerificationCount.day == day,
            VerificationCount.type_code == type_code[:16],
            VerificationCount.verifier == verifier,
            VerificationCount.region_code == region[:8],
            VerificationCount.result == result[:32],
        )
    )
    if row is None:
        session.add(
            VerificationCount(
                day=day,
                type_code=type_code[:16],
                verifier=verifier,
                region_code=region[:8],
                result=result[:32],
                count=1,
            )
        )
    else:
        row.count += 1
    session.flush()


@dataclass(frozen=True)
class VerificationTotal:
    """Verifications of one type, region and result over a period (every verifier summed)."""

    type_code: str
    region: str
    result: str
    count: int


def verification_totals(session: Session, *, since: date) -> list[VerificationTotal]:
    """Verifications since a day per type, region and result, the most frequent first."""
    total = func.sum(VerificationCount.count)
    rows = session.execute(
        select(
            VerificationCount.type_code,
            VerificationCount.region_code,
            VerificationCount.result,
            total,
        )
        .where(VerificationCount.day >= since)
        .group_by(
            VerificationCount.type_code, VerificationCount.region_code, VerificationCount.result
        )
    ).all()
    totals = [VerificationTotal(t, r, res, int(n)) for t, r, res, n in rows]
    return sorted(totals, key=lambda c: (-c.count, c.type_code, c.region, c.result))


def verification_counts(session: Session, *, since: date) -> Sequence[VerificationCount]:
    """Verification counts since a day, for the statistics page."""
    return session.scalars(
        select(VerificationCount)
        .where(VerificationCount.day >= since)
        .order_by(VerificationCount.day.desc(), VerificationCount.count.desc())
    ).all()


def trust_bundle(session: Session, ctx: Licensing, *, now: datetime) -> dict[str, Any]:
    """What an offline verifier needs: every recognised region's anchor and signed list, and
    the status lists of the regions whose keys this platform holds."""
    regions = []
    status_lists = {}
    for record in trust.list_recognised(session):
        regions.append(
            {
                "region": record.region_code,
                "kind": record.kind,
                "anchor": record.anchor_pem,
                "trust_list": record.trust_list,
            }
        )
        if trust.holds_region(session, record.region_code):
            # An offline verifier goes a day between bundles; revocations wait that long.
            status_lists[status_uri(record.region_code)] = status_list_token(
                session, ctx, region=record.region_code, now=now, lifetime=BUNDLE_LIFETIME
            )
    return {
        "format": "twonets-trust-bundle",
        "version": 1,
        "generated_at": now.isoformat(),
        "regions": regions,
        "status_lists": status_lists,
    }


# --- delegations --------------------------------------------------------------------------------


def _administered_region(principal: Principal) -> str:
    """The region whose delegations the caller manages: an administrator's own region."""
    if Role.ADMIN not in principal.roles:
        raise Forbidden("only an administrator of the region manages its delegations")
    if principal.region_code is None:
        raise Forbidden("this administrator belongs to no department, so to no region")
    return principal.region_code


def administrator(session: Session, username: str) -> Principal:
    """The principal of an active administrator account, for the command line to act as."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: staff login name
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    principal = principal_of(account)
    _administered_region(principal)
    return principal


def delegation_json(row: LicenceDelegation) -> dict[str, Any]:
    """A delegation as the API and the command line show it."""
    return {
        "id": row.id,
        "region": row.region_code,
        "type": row.type_code,
        "issuer_department": row.issuer_department_code,
        "delegate_department": row.delegate_department_code,
        "actions": row.actions.split(","),
        "reason": row.reason,
        "granted_by": row.granted_by,
        "granted_at": row.granted_at.isoformat(),
    }


def delegate_changes(
    session: Session,
    principal: Principal,
    *,
    type_code: str,
    issuer_department: str,
    delegate_department: str,
    actions: Collection[str],
    reason: str,
    now: datetime,
) -> LicenceDelegation:
    """Name a department of the region that may change another's licences of a type.

    Set by an administrator of the region; setting it again replaces the actions. The issuer
    must issue that type, and the delegate must be another department of the same region.
    """
    region = _administered_region(principal)
    problems = ProblemList()
    kind = next((t for t in catalogue.TYPES if t.code == type_code), None)
    if kind is None:
        problems.add("type_code", "known", f"no licence type {type_code!r}")
    chosen = sorted(set(actions), key=CHANGES.index) if set(actions) <= set(CHANGES) else []
    if not chosen:
        problems.add("actions", "known", f"choose one or more of {', '.join(CHANGES)}")
    if not reason.strip():
        problems.add("reason", "required", "say which policy names this department")
    issuer = session.scalar(select(Department).where(Department.code == issuer_department))
    delegate = session.scalar(select(Department).where(Department.code == delegate_department))
    if issuer is None:
        problems.add("issuer_department", "exists", f"no department {issuer_department!r}")
    if delegate is None:
        problems.add("delegate_department", "exists", f"no department {delegate_department!r}")
    problems.raise_if_any()
    assert issuer is not None
    assert delegate is not None
    assert kind is not None
    if issuer.region_code != region:
        raise Forbidden(
            f"{issuer.code} is a department of region {issuer.region_code}; an administrator "
            f"of {region} manages the delegations of {region} only"
        )
    if issuer.function != kind.issuer_function:
        raise Invalid.field(
            "issuer_department",
            "issues-type",
            f"{issuer.code} does not issue {kind.name_en} licences "
            f"({kind.issuer_function} departments do)",
        )
    if delegate.region_code != region:
        raise Invalid.field(
            "delegate_department",
            "same-region",
            f"{delegate.code} is a department of region {delegate.region_code}; a delegate "
            f"must be a department of {region}",
        )
    if delegate.code == issuer.code:
        raise Invalid.field(
            "delegate_department", "not-issuer", "the issuing department needs no delegation"
        )
    row = session.scalar(
        select(LicenceDelegation).where(  # governance: the administrator's own region's policy
            LicenceDelegation.type_code == kind.code,
            LicenceDelegation.issuer_department_code == issuer.code,
            LicenceDelegation.delegate_department_code == delegate.code,
        )
    )
    if row is None:
        row = LicenceDelegation(
            region_code=region,
            type_code=kind.code,
            issuer_department_code=issuer.code,
            delegate_department_code=delegate.code,
        )
        session.add(row)
    row.actions = ",".join(chosen)
    row.reason = reason.strip()
    row.granted_by = principal.username
    row.granted_at = now
    session.flush()
    record_event(session, "licences.delegation.set", {"delegation_id": row.id}, now=now)
    return row


def withdraw_delegation(
    session: Session, principal: Principal, *, delegation_id: int, now: datetime
) -> None:
    """End a delegation: the delegate changes none of those licences from now on."""
    region = _administered_region(principal)
    row = session.get(LicenceDelegation, delegation_id)  # governance: the region's policy
    if row is None or row.region_code != region:
        raise NotFound(f"no delegation {delegation_id} in region {region}")
    session.delete(row)
    session.flush()
    record_event(
        session, "licences.delegation.withdrawn", {"delegation_id": delegation_id}, now=now
    )


def list_delegations(session: Session, principal: Principal) -> Sequence[LicenceDelegation]:
    """The delegations of the administrator's region."""
    region = _administered_region(principal)
    return session.scalars(
        select(LicenceDelegation)  # governance: the administrator's own region's policy
        .where(LicenceDelegation.region_code == region)
        .order_by(
            LicenceDelegation.type_code,
            LicenceDelegation.issuer_department_code,
            LicenceDelegation.delegate_department_code,
        )
    ).all()
