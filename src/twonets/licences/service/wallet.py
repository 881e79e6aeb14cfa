"""The holder's wallet: their licences with their claims and history, shown as a QR code
or shared as an SD-JWT presentation."""

from __future__ import annotations

import json
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
from twonets.licences.service.holder_keys import own_holder_key
from twonets.licences.service.issuing import (
    get_licence,
    history_entry,
    history_rows,
    licence_summary,
)
from twonets.licences.verify import (
    CLAIM_KEY_CUSTODY,
    PAYLOAD_CLAIMS,
    PAYLOAD_LICENCE,
    PAYLOAD_STATUS,
    PAYLOAD_TYPE,
    KeyCustody,
    region_prefix,
)
from twonets.trust import service as trust
from twonets.trust.keys import kid_text


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
        PAYLOAD_STATUS: {
            "idx": licence.status_index,
            "uri": status_uri(licence.region_code, licence.status_list),
        },
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
    region = licence.region_code
    expires = _expiry(licence, now, QR_LIFETIME)
    signer = trust.prepared_signer(
        session, region=region, root_secret=ctx.root_secret, now=now, valid_for=expires - now
    )
    return signer.encode(
        _payload(session, ctx, licence),
        prefix=region_prefix(region),
        issuer=f"{region}:{licence.issuer_department_code}",
        issued_at=now,
        expires_at=expires,
    )


def assisted_key(ctx: Licensing, principal: Principal) -> ed25519.Ed25519PrivateKey:
    """The platform-held key of assisted service at a window, derived per account.

    Only for a holder who has no wallet of their own at hand: the platform holds this key, so
    key binding with it proves nothing against the platform. Credentials bound to it say so
    (``key_custody: assisted-window``), and the verifier's page shows it.
    """
    seed = HKDF(
        algorithm=SHA256(),
        length=32,
        salt=b"twonets-wallet",
        info=f"holder:{principal.account_id}".encode(),
    ).derive(ctx.root_secret)
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def _issue_sd_jwt(
    session: Session,
    ctx: Licensing,
    licence: Licence,
    *,
    holder_jwk: dict[str, str],
    custody: KeyCustody,
    now: datetime,
) -> str:
    """An SD-JWT VC of ``licence`` bound to ``holder_jwk``, every field its own disclosure."""
    kind = catalogue.get_type(licence.type_code)
    expires = _expiry(licence, now, SD_JWT_LIFETIME)
    key = trust.signing_key(
        session,
        region=licence.region_code,
        root_secret=ctx.root_secret,
        now=now,
        valid_for=expires - now,
    )
    assert key.private_key is not None
    signer = sdjwt.es256_signer(key.private_key, kid_text(key.kid))  # type: ignore[arg-type]
    claims: dict[str, Any] = {
        PAYLOAD_LICENCE: licence.identifier,
        **claims_of(session, ctx, licence),
        CLAIM_KEY_CUSTODY: str(custody),
    }
    return sdjwt.issue(
        claims,
        selectively_disclosable=[f.name for f in kind.fields if f.disclosable and f.name in claims],
        issuer=f"{licence.region_code}:{licence.issuer_department_code}",
        vct=kind.code,
        signer=signer,
        holder_jwk=holder_jwk,
        issued_at=now,
        expires_at=expires,
        status={
            "status_list": {
                "idx": licence.status_index,
                "uri": status_uri(licence.region_code, licence.status_list),
            }
        },
    )


def bound_credential(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    licence_id: int,
    holder_key_id: int,
    now: datetime,
) -> str:
    """An SD-JWT VC of one of the caller's licences bound to one of the caller's wallet keys.

    The wallet keeps it and makes each presentation itself: it chooses the disclosures and
    signs the KB-JWT with its private key, which the platform never sees.
    """
    licence = _own(session, principal, licence_id)
    key = own_holder_key(session, principal, holder_key_id)
    return _issue_sd_jwt(
        session, ctx, licence, holder_jwk=json.loads(key.jwk), custody=KeyCustody.HOLDER, now=now
    )


def assisted_share(
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
    """Assisted service at a window: a presentation the platform signs with its own key.

    For a holder without a wallet of their own; the credential records it
    (``key_custody: assisted-window``), so no verifier mistakes it for the holder's proof.
    """
    licence = _own(session, principal, licence_id)
    kind = catalogue.get_type(licence.type_code)
    unknown = sorted(set(disclose) - {f.name for f in kind.fields})
    if unknown:
        raise Invalid.field("disclose", "known-field", f"{kind.code} has no field {unknown[0]!r}")
    platform_key = assisted_key(ctx, principal)
    issued = _issue_sd_jwt(
        session,
        ctx,
        licence,
        holder_jwk=sdjwt.public_jwk(platform_key.public_key()),
        custody=KeyCustody.ASSISTED,
        now=now,
    )
    return sdjwt.present(
        issued,
        disclose=[*disclose],
        holder_key=platform_key,
        audience=audience,
        nonce=nonce,
        at=now,
    )
