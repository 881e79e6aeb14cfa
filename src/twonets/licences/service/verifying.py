"""Verifying presented licences online, the status lists verifiers cache, the count of
verifications, and the bundle an offline verifier needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.licences.models import (
    Licence,
    LicenceStatus,
    VerificationCount,
)
from twonets.licences.service import regions as other_regions
from twonets.licences.service.context import (
    BUNDLE_LIFETIME,
    STATUS_BITS,
    STATUS_LIST_LIFETIME,
    STATUS_LIST_SIZE,
    STATUS_TTL_SECONDS,
    Licensing,
    status_uri,
)
from twonets.licences.status import KeySigner, StatusList, StatusType, sign_status_list_token
from twonets.licences.verify import (
    CredentialVerdict,
    verify_credential,
)
from twonets.trust import service as trust


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
    lifetime: timedelta = STATUS_LIST_LIFETIME,
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
        if uri != status_uri(region):
            return None
        # Another region's own deployment: its list as fetched and kept here.
        remote_status = other_regions.remote_status_of(session, ctx, uri, idx, now=now)
        if remote_status is not None or not trust.holds_region(session, region):
            return remote_status
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
    # Other regions' lists as kept here, while current: their own lifetimes apply offline.
    for uri, token in other_regions.current_status_tokens(session, now=now).items():
        status_lists.setdefault(uri, token)
    return {
        "format": "twonets-trust-bundle",
        "version": 1,
        "generated_at": now.isoformat(),
        "regions": regions,
        "status_lists": status_lists,
    }
