"""Use cases of licences: issue, amend, suspend, revoke; the wallet; QR and SD-JWT; verify.

Issuing departments sign with their region's current key (``twonets.trust``). Claims are
sealed at rest under the ``licences.licence`` dataset key. Each licence holds a random index
in its region's status list, so that a verifier learns of a revocation within the list's
cache period without the index telling anything about the licence.
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

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.ids import InvalidIdentifier
from twonets.core.models import Citizen, Department, Enterprise, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance
from twonets.licences import catalogue, qr, sdjwt
from twonets.licences.identifiers import make_licence_id, validate_licence_id
from twonets.licences.models import Licence, VerificationCount
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


@dataclass
class Licensing:
    """What licence use cases need besides a session: the root secret and the home region."""

    root_secret: bytes = field(repr=False)
    region: str = "SH"
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


def _issuing_department(
    session: Session, principal: Principal, kind: catalogue.LicenceType
) -> Department:
    if principal.department_code is None:
        raise Forbidden("only staff of an issuing department issue licences")
    if principal.department_function != kind.issuer_function and Role.ADMIN not in principal.roles:
        raise Forbidden(
            f"{kind.name_en} licences are issued by {kind.issuer_function} departments, "
            f"not by {principal.department_code}"
        )
    department = session.scalar(
        select(Department).where(Department.code == principal.department_code)
    )
    assert department is not None
    if not department.credit_code:
        raise Invalid.field(
            "department", "credit-code", f"{department.code} has no credit code to issue under"
        )
    return department


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
    region: str | None = None,
) -> Licence:
    """Issue a licence of ``type_code`` to the holder its claims name."""
    kind = catalogue.get_type(type_code)
    checked = kind.check(claims)
    department = _issuing_department(session, principal, kind)
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
    region = region or ctx.region
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
    """A licence by identifier, for the department that issued it."""
    licence = find_licence(session, identifier)
    if licence.issuer_department_code != principal.department_code:
        raise Forbidden("only the issuing department looks licences up by identifier")
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
    old = get_licence(session, licence_id)
    if old.status not in (LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED):
        raise Conflict(f"licence {old.identifier} is {old.status} and cannot be amended")
    kind = catalogue.get_type(old.type_code)
    _issuing_department(session, principal, kind)
    checked = kind.check(claims)
    citizen_id, enterprise_id = _holder(session, kind, checked)
    if (citizen_id, enterprise_id) != (old.citizen_id, old.enterprise_id):
        raise Invalid.field("claims", "same-holder", "an amendment cannot change the holder")
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
    record_event(session, "licences.licence.amended", {"licence_id": new.id}, now=now)
    return new


TRANSITIONS = {
    "suspend": ({LicenceStatus.ACTIVE}, LicenceStatus.SUSPENDED),
    "resume": ({LicenceStatus.SUSPENDED}, LicenceStatus.ACTIVE),
    "revoke": ({LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED}, LicenceStatus.REVOKED),
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
    _issuing_department(session, principal, catalogue.get_type(licence.type_code))
    allowed, target = TRANSITIONS[action]
    if licence.status not in allowed:
        raise Conflict(f"licence {licence.identifier} is {licence.status}; cannot {action} it")
    licence.status = target
    licence.status_changed_at = now
    licence.status_reason = reason
    record_event(session, f"licences.licence.{target}", {"licence_id": licence.id}, now=now)
    return licence


def claims_of(session: Session, ctx: Licensing, licence: Licence) -> dict[str, str]:
    """The opened claims of a licence (for its holder or its issuer, not for other readers)."""
    claims: dict[str, str] = json.loads(
        ctx.keyring(session).unseal(DATASET, "claims", licence.claims)
    )
    return claims


def licence_json(session: Session, ctx: Licensing, licence: Licence) -> dict[str, Any]:
    """A licence as its holder sees it."""
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
        "claims": claims_of(session, ctx, licence),
    }


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


def _own(session: Session, principal: Principal, licence_id: int) -> Licence:
    kind, holder = _holder_kind(principal)
    licence = get_licence(session, licence_id)
    owner = licence.citizen_id if kind == "citizen" else licence.enterprise_id
    if owner != holder:
        raise NotFound(f"licence {licence_id} does not exist")
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
