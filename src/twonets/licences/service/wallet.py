"""The holder's wallet: their licences with their claims and history, shown as a QR code
or shared as an SD-JWT presentation."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.licences import catalogue, sdjwt
from twonets.licences.models import (
    Licence,
    LicenceStatus,
)
from twonets.licences.service.context import (
    QR_LIFETIME,
    SD_JWT_LIFETIME,
    Licensing,
    claims_of,
    status_uri,
)
from twonets.licences.service.issuing import (
    get_licence,
    history_entry,
    history_rows,
    licence_summary,
)
from twonets.licences.verify import (
    PAYLOAD_CLAIMS,
    PAYLOAD_LICENCE,
    PAYLOAD_STATUS,
    PAYLOAD_TYPE,
    region_prefix,
)
from twonets.trust import cose
from twonets.trust import service as trust


def _holder_kind(principal: Principal) -> tuple[str, int]:
    if principal.subject is None:
        raise Forbidden("only residents and enterprises hold licences")
    return principal.subject


def licence_json(session: Session, ctx: Licensing, licence: Licence) -> dict[str, Any]:
    """A licence as its holder sees it: the metadata and the opened claims."""
    return {**licence_summary(licence), "claims": claims_of(session, ctx, licence)}


def holder_history(
    session: Session, principal: Principal, *, licence_id: int
) -> list[dict[str, Any]]:
    """The history of one of the caller's own licences: what changed, when, which department,
    and why. The member of staff who made a change is not named to the holder."""
    licence = _held(session, principal, licence_id)
    return [history_entry(e, i, with_actor=False) for e, i in history_rows(session, licence)]


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


def held_licence(
    session: Session, ctx: Licensing, principal: Principal, *, licence_id: int
) -> dict[str, Any]:
    """One licence of the caller's wallet with its opened claims (not a replaced version).

    Only residents and enterprises hold licences (others are refused); another holder's
    licence is not found, so that its number tells nothing about it.
    """
    licence = _held(session, principal, licence_id)
    if licence.status == LicenceStatus.SUPERSEDED:
        raise NotFound(f"licence {licence_id} was replaced by a newer version")
    return licence_json(session, ctx, licence)


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
    alg, sign = cose.cose_signer(key.private_key)  # type: ignore[arg-type]
    return cose.encode(
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
