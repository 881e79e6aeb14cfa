"""Verifying presented licences online, the status lists verifiers cache, the count of
verifications, and the bundle an offline verifier needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twonets.core.errors import NotFound
from twonets.licences.models import (
    Licence,
    LicenceStatus,
    VerificationCount,
)
from twonets.licences.service import context
from twonets.licences.service import regions as other_regions
from twonets.licences.service.context import (
    BUNDLE_LIFETIME,
    STATUS_BITS,
    STATUS_LIST_LIFETIME,
    STATUS_TTL_SECONDS,
    Licensing,
    parse_status_uri,
    status_uri,
)
from twonets.licences.status import KeySigner, StatusList, StatusType, sign_status_list_token
from twonets.licences.verify import (
    CredentialVerdict,
    verify_credential,
)
from twonets.trust import service as trust


def status_list(session: Session, *, region: str, n: int = 0) -> StatusList:
    """The region's status list ``n`` as it stands: revoked and superseded invalid, suspended
    marked (a list not opened yet is all valid)."""
    lst = StatusList(context.STATUS_LIST_SIZE, bits=STATUS_BITS)
    rows = session.execute(
        select(Licence.status_index, Licence.status).where(
            Licence.region_code == region,
            Licence.status_list == n,
            Licence.status != LicenceStatus.ACTIVE,
        )
    ).all()
    for index, status in rows:
        value = StatusType.SUSPENDED if status == LicenceStatus.SUSPENDED else StatusType.INVALID
        lst.set(index, value)
    return lst


def region_lists(session: Session, region: str) -> int:
    """How many status lists the region has (lists 0 to this less one; at least list 0)."""
    last = session.scalar(
        select(func.max(Licence.status_list)).where(Licence.region_code == region)
    )
    return int(last or 0) + 1


def status_list_token(
    session: Session,
    ctx: Licensing,
    *,
    region: str,
    now: datetime,
    n: int = 0,
    lifetime: timedelta = STATUS_LIST_LIFETIME,
) -> str:
    """The signed Status List Token of a region's list ``n``, for verifiers to cache (``ttl``
    5 minutes); its ``sub`` is the list's own URI."""
    key = trust.signing_key(
        session, region=region, root_secret=ctx.root_secret, now=now, valid_for=lifetime
    )
    assert key.private_key is not None
    from twonets.trust.keys import kid_text

    return sign_status_list_token(
        status_list(session, region=region, n=n),
        uri=status_uri(region, n),
        issued_at=now,
        expires_at=now + lifetime,
        ttl=STATUS_TTL_SECONDS,
        signer=KeySigner(key.private_key, kid_text(key.kid)),  # type: ignore[arg-type]
        issuer=region,
    )


def numbered_status_list_token(
    session: Session, ctx: Licensing, *, region: str, n: int, now: datetime
) -> str:
    """The token of the region's list ``n`` > 0, as published at ``status_uri(region, n)``;
    ``NotFound`` for a list the region has not opened (list 0 has its own URI, unnumbered)."""
    if n < 1 or n >= region_lists(session, region):
        raise NotFound(f"region {region} has no status list {n}")
    return status_list_token(session, ctx, region=region, n=n, now=now)


# What an online verification asks the database, built once and run on the driver
# (``trust.Prepared``): the status of the licence at an index of a region's list (one row of
# the unique index on region, list and index), alone or beside the rows that confirm the kept
# trust store; and one more verification of a kind (one less, when a verdict counted at once
# was worked out again; the row goes when its count is back to none).
_licence = cast(Table, Licence.__table__)
_STATUS_AT = (
    _licence.c.region_code == bindparam("region", ""),
    _licence.c.status_list == bindparam("list_number", 0),
    _licence.c.status_index == bindparam("index", 0),
)
_STATUS = trust.Prepared(select(_licence.c.status).where(*_STATUS_AT))
_TRUST_AND_STATUS = trust.Prepared(
    union_all(
        *trust.STATE_SELECTS,
        select(
            literal_column("'status'"), _licence.c.status, null(), null(), null(), null(), null()
        ).where(*_STATUS_AT),
    )
)
_counts = cast(Table, VerificationCount.__table__)
_COUNT_KEY = ("day", "type_code", "verifier", "region_code", "result")


def _key_param(name: str) -> Any:
    return bindparam(f"k_{name}", type_=_counts.c[name].type)


_COUNT_IS = tuple(_counts.c[name] == _key_param(name) for name in _COUNT_KEY)
_COUNT_ONE_MORE = trust.Prepared(
    update(_counts).where(*_COUNT_IS).values(count=_counts.c.count + 1)
)
_COUNT_ONE_LESS = trust.Prepared(
    update(_counts).where(*_COUNT_IS).values(count=_counts.c.count - 1)
)
_DROP_UNCOUNTED = trust.Prepared(delete(_counts).where(*_COUNT_IS, _counts.c.count == 0))
_FIRST_COUNTS = {
    "sqlite": sqlite.insert(_counts)
    .values(count=1)
    .on_conflict_do_update(index_elements=_COUNT_KEY, set_={"count": _counts.c.count + 1}),
    "postgresql": postgresql.insert(_counts)
    .values(count=1)
    .on_conflict_do_update(index_elements=_COUNT_KEY, set_={"count": _counts.c.count + 1}),
}

# The result a verdict counts when the licence's status is not in force: the step at which
# ``verify_credential`` then refuses it. Only a guess made in SQL (below); the verdict worked
# out after the statement decides, and ``verify`` takes back a kind counted that differs
# from the verdict's (``_uncount``) and counts the verdict's.
_REFUSED_AT_STATUS = "status"


def _one_round_trip() -> trust.Prepared:
    """PostgreSQL: one statement that confirms the kept trust store, reads the licence's
    status and counts the verification, so a kept verification waits on one round trip.

    The verdict is worked out first as if the licence were in force (the status step is
    ``verify_credential``'s last), and its kind counted here: ``k_result`` when the status
    read is in force or no licence is at that index, ``k_refused`` when it is not (a verdict
    without a status to read passes the same result twice and an index that reads nothing).
    The count is an UPDATE of the kind's row and, when that found none, an insert that adds
    one if another transaction inserted the row meanwhile; no sequence value is spent unless
    a row is inserted. The status is read in the statement's snapshot, so a change made
    earlier in the caller's transaction is seen. Rows come back tagged as in
    ``trust.STATE_SELECTS``, then ``status`` and ``counted`` (the result counted).
    """
    asked = select(_licence.c.status).where(*_STATUS_AT).cte("asked")
    not_in_force = exists(
        select(literal_column("1"))
        .select_from(asked)
        .where(asked.c.status != LicenceStatus.ACTIVE.value)
    )
    kind = select(
        case(
            (not_in_force, bindparam("k_refused", type_=_counts.c.result.type)),
            else_=_key_param("result"),
        ).label("result")
    ).cte("kind")
    same_kind = (*_COUNT_IS[:-1], _counts.c.result == kind.c.result)
    bumped = (
        update(_counts)
        .where(*same_kind)
        .values(count=_counts.c.count + literal_column("1"))
        .returning(_counts.c.result)
        .cte("bumped")
    )
    first = select(
        *(_key_param(name) for name in _COUNT_KEY[:-1]), kind.c.result, literal_column("1")
    ).where(~exists(select(literal_column("1")).select_from(bumped)))
    added = (
        postgresql.insert(_counts)
        .from_select([*_COUNT_KEY, "count"], first)
        .on_conflict_do_update(
            index_elements=_COUNT_KEY, set_={"count": _counts.c.count + literal_column("1")}
        )
        .returning(_counts.c.result)
        .cte("added")
    )
    return trust.Prepared(
        union_all(
            *trust.STATE_SELECTS,
            *(
                select(literal_column(f"'{tag}'"), column, null(), null(), null(), null(), null())
                for tag, column in (
                    ("status", asked.c.status),
                    ("counted", bumped.c.result),
                    ("counted", added.c.result),
                )
            ),
        )
    )


_CONFIRM_STATUS_AND_COUNT = _one_round_trip()


def _status_type(status: str | None) -> int:
    if status is None or status == LicenceStatus.ACTIVE:
        return StatusType.VALID
    if status == LicenceStatus.SUSPENDED:
        return StatusType.SUSPENDED
    return StatusType.INVALID


# Where a status was asked: the region, the list's number and the index in it.
_Asked = tuple[str, int, int]


class _Online:
    """The status lookup of one online verification against one trust state.

    With ``confirming``, the state is the one kept from earlier verifications: the status of
    a licence of a region held here is read in the same statement as the rows that say
    whether that state still holds, and ``confirmed`` tells the caller what they said.

    With ``deferring`` (PostgreSQL, a kept state), such a status is not read here: the lookup
    notes where it was asked (``asked``) and answers that the licence is in force, or what
    the caller has put in ``read`` since; the caller reads it with the count.
    """

    def __init__(
        self,
        session: Session,
        ctx: Licensing,
        state: trust.TrustState,
        now: datetime,
        *,
        confirming: bool,
        deferring: bool = False,
    ) -> None:
        self.session, self.ctx, self.state, self.now = session, ctx, state, now
        self.confirming = confirming
        self.confirmed: bool | None = None
        self.deferring = deferring
        self.asked: _Asked | None = None
        self.read: dict[_Asked, int] = {}

    def status_of(self, uri: str, idx: int) -> int | None:
        # Online, the status comes straight from the licence at that index (one indexed row),
        # not from rebuilding the whole list.
        named = parse_status_uri(uri)
        if named is None:
            return None
        region, n = named
        if region in self.state.remote:
            # Another region's own deployment: its list as fetched and kept here.
            return other_regions.remote_status_of(self.session, self.ctx, uri, idx, now=self.now)
        if region not in self.state.held:
            return None
        if self.deferring:
            at = (region, n, idx)
            if at in self.read:
                return self.read[at]
            self.asked = at
            return StatusType.VALID
        if not self.confirming or self.confirmed is not None:
            rows = _STATUS.rows(self.session, region=region, list_number=n, index=idx)
            return _status_type(rows[0][0] if rows else None)
        rows = _TRUST_AND_STATUS.rows(self.session, region=region, list_number=n, index=idx)
        self.confirmed = self.ctx.trust_cache().confirm(rows, self.now)
        found = [r[1] for r in rows if r[0] == "status"]
        return _status_type(found[0] if found else None)

    def verdict(self, text: str, audience: str | None, nonce: str | None) -> CredentialVerdict:
        """``verify_credential`` of ``text`` against this state, statuses looked up here."""
        return verify_credential(
            text,
            store=self.state.store,
            at=self.now,
            status_of=self.status_of,
            audience=audience,
            nonce=nonce,
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
    """Verify a presented licence online (live status) and count the verification.

    The trust store kept from earlier verifications is used first, and confirmed by the
    database in the statement that reads the licence's status (or on its own when no status
    is read); if a region, a list or a key changed meanwhile, here or in another process, the
    verdict is worked out again with the store rebuilt. A revocation is read from the
    licence's row, so the next verification anywhere sees it. On PostgreSQL that statement
    also counts the verification (one round trip); a verdict worked out again after it is
    counted instead of the one counted there, never beside it.
    """
    cache = ctx.trust_cache()
    kept = cache.kept(now)
    verdict: CredentialVerdict | None = None
    counted: dict[str, object] | None = None
    if kept is not None:
        # Unflushed changes of this session count, as they did for an ORM query.
        if session.autoflush:
            session.flush()
        if session.connection().dialect.name == "postgresql":
            verdict, counted = _verify_counting(
                session, ctx, kept, text, verifier=verifier, audience=audience, nonce=nonce, now=now
            )
        else:
            online = _Online(session, ctx, kept, now, confirming=True)
            verdict = online.verdict(text, audience, nonce)
            confirmed = online.confirmed
            if confirmed is None:
                confirmed = cache.confirm_now(session, now)
            if not confirmed:
                verdict = None
    if verdict is None:
        state = cache.state(session, now)
        verdict = _Online(session, ctx, state, now, confirming=False).verdict(text, audience, nonce)
    key = _count_key(verdict, verifier=verifier, day=now.date())
    if counted != key:
        if counted is not None:
            _uncount(session, counted)
        _count(session, key)
    return verdict


def _verify_counting(
    session: Session,
    ctx: Licensing,
    kept: trust.TrustState,
    text: str,
    *,
    verifier: str,
    audience: str | None,
    nonce: str | None,
    now: datetime,
) -> tuple[CredentialVerdict | None, dict[str, object] | None]:
    """The verdict against the kept state (None if the database no longer confirms it) and
    the kind counted, by ``_CONFIRM_STATUS_AND_COUNT``: one statement on PostgreSQL.

    The verdict is worked out with the licence taken to be in force; if the status read says
    otherwise, it is worked out again with that status (no further statement).
    """
    online = _Online(session, ctx, kept, now, confirming=False, deferring=True)
    verdict = online.verdict(text, audience, nonce)
    key = _count_key(verdict, verifier=verifier, day=now.date())
    asked = online.asked
    region, n, idx = asked if asked is not None else ("", -1, -1)
    rows = _CONFIRM_STATUS_AND_COUNT.rows(
        session,
        region=region,
        list_number=n,
        index=idx,
        k_refused=_REFUSED_AT_STATUS if asked is not None else key["result"],
        **{f"k_{name}": value for name, value in key.items()},
    )
    results = [r[1] for r in rows if r[0] == "counted"]
    counted = key | {"result": results[0]} if len(results) == 1 else None
    if not ctx.trust_cache().confirm(rows, now):
        return None, counted
    if asked is not None:
        found = [r[1] for r in rows if r[0] == "status"]
        status = _status_type(found[0] if found else None)
        if status != StatusType.VALID:
            online.read[asked] = status
            verdict = online.verdict(text, audience, nonce)
    return verdict, counted


def _count_key(verdict: CredentialVerdict, *, verifier: str, day: date) -> dict[str, object]:
    """The key of the counter row a verdict adds one to."""
    return _kind(
        type_code=verdict.type_code or "unknown",
        verifier=verifier,
        region=verdict.region or "unknown",
        result="valid" if verdict.valid else verdict.step,
        day=day,
    )


def _kind(
    *, type_code: str, verifier: str, region: str, result: str, day: date
) -> dict[str, object]:
    return {
        "day": day,
        "type_code": type_code[:16],
        "verifier": verifier,
        "region_code": region[:8],
        "result": result[:32],
    }


def count_verification(
    session: Session, *, type_code: str, verifier: str, region: str, result: str, day: date
) -> None:
    """Add one to the count of verifications of this kind, in the caller's transaction.

    One UPDATE of the kind's row; the first verification of a kind on a day inserts the row
    (an insert that adds one if another transaction inserted it meanwhile), so a count is
    never lost and no row is read into the session.
    """
    _count(
        session,
        _kind(type_code=type_code, verifier=verifier, region=region, result=result, day=day),
    )


def _count(session: Session, key: dict[str, object]) -> None:
    if _COUNT_ONE_MORE.rowcount(session, **{f"k_{k}": v for k, v in key.items()}):
        return
    connection = session.connection()
    first = _FIRST_COUNTS.get(connection.dialect.name)
    if first is None:
        connection.execute(insert(_counts).values(count=1), key)
    else:
        connection.execute(first, key)


def _uncount(session: Session, key: dict[str, object]) -> None:
    """Take back one verification of this kind counted earlier in the caller's transaction
    (whose row it still holds locked); a row it inserted goes again."""
    params = {f"k_{k}": v for k, v in key.items()}
    _COUNT_ONE_LESS.rowcount(session, **params)
    _DROP_UNCOUNTED.rowcount(session, **params)


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
        # Counts are added by statements, not through the session's objects: read them anew.
        .execution_options(populate_existing=True)
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
            # Every list of the region: list 0 always (the URI the first credentials name).
            for n in range(region_lists(session, record.region_code)):
                status_lists[status_uri(record.region_code, n)] = status_list_token(
                    session,
                    ctx,
                    region=record.region_code,
                    n=n,
                    now=now,
                    lifetime=BUNDLE_LIFETIME,
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
