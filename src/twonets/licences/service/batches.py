"""Issuing licences in batches: a department's bulk load (an existing register brought onto
the platform), with the same rules and the same rows as issuing one by one.

A batch is all or nothing. Every item is checked before anything is written, and a refusal
names the item (``items[3].claims.id_number``). Then the batch takes its numbers in one
locked step (the department's row, as a single issue does), draws its status-list positions
in one step, seals the claims, and writes the licences, their history entries and their
``issued`` events each with one multi-row insert (``COPY`` for the events on PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    Invalid,
    NotFound,
    TwonetsError,
)
from twonets.core.events import record_events
from twonets.core.ids import validate_credit_code
from twonets.core.models import Account, Citizen, Department, Enterprise
from twonets.licences import catalogue
from twonets.licences.dates import add_years
from twonets.licences.identifiers import LicenceId, make_licence_id
from twonets.licences.models import Licence, LicenceAction, LicenceHistory, LicenceStatus
from twonets.licences.service.context import DATASET, Licensing
from twonets.licences.service.issuing import _issuing_department, _require_staff
from twonets.licences.service.positions import among, chunks, status_positions
from twonets.licences.service.positions import free_status_indexes as free_status_indexes
from twonets.trust import service as trust

# The most licences one call issues: a transaction of this size stays short on PostgreSQL.
MAX_BATCH = 5000


@dataclass(frozen=True)
class LicenceItem:
    """One licence of a batch: what ``issue_licence`` takes besides the caller and the time."""

    type_code: str
    claims: dict[str, Any]
    valid_from: date
    valid_until: date | None = None


@dataclass(frozen=True)
class IssuedLicence:
    """A licence a batch issued: its id and identifier, in the order of the items."""

    id: int
    identifier: str


@dataclass
class _Checked:
    kind: catalogue.LicenceType
    claims: dict[str, str]
    valid_from: date
    valid_until: date | None
    citizen_id: int | None = None
    enterprise_id: int | None = None


def _at(index: int, error: TwonetsError) -> TwonetsError:
    """The same refusal, its fields and its text naming item ``index`` of the batch."""
    where = f"items[{index}]"
    problems = [FieldProblem(f"{where}.{p.field}", p.rule, p.detail) for p in error.errors]
    if not problems:
        problems = [FieldProblem(where, error.slug, error.detail)]
    return type(error)(f"{where}: {error.detail}", errors=problems, extra=error.extra)


def _kinds(items: Sequence[LicenceItem]) -> list[catalogue.LicenceType]:
    kinds = []
    for i, item in enumerate(items):
        try:
            kinds.append(catalogue.get_type(item.type_code))
        except TwonetsError as exc:
            raise _at(i, exc) from None
    return kinds


def _check_items(
    items: Sequence[LicenceItem], kinds: Sequence[catalogue.LicenceType]
) -> list[_Checked]:
    checked = []
    for i, (item, kind) in enumerate(zip(items, kinds, strict=True)):
        try:
            claims = kind.check(item.claims)
            valid_until = item.valid_until
            if valid_until is None and kind.validity_years:
                valid_until = add_years(item.valid_from, kind.validity_years)
            if valid_until is not None and valid_until <= item.valid_from:
                raise Invalid.field("valid_until", "after-valid-from", "should be after valid_from")
        except TwonetsError as exc:
            raise _at(i, exc) from None
        checked.append(_Checked(kind, claims, item.valid_from, valid_until))
    return checked


def _find_holders(session: Session, checked: list[_Checked]) -> None:
    """Each item's holder, looked up with one select per thousand; a missing one refused."""
    citizens = [c.claims["id_number"] for c in checked if c.kind.holder is _CITIZEN]
    enterprises = [c.claims["credit_code"] for c in checked if c.kind.holder is not _CITIZEN]
    citizen_ids: dict[str, int] = {}
    for part in chunks(sorted(set(citizens))):
        # The clerk's own input matched to holders' ids; no number leaves here.
        found = select(Citizen.id_number, Citizen.id).where(  # governance: clerk's own input
            among(session, Citizen.id_number, part)
        )
        citizen_ids.update((n, i) for n, i in session.execute(found))
    enterprise_ids: dict[str, int] = {}
    for part in chunks(sorted(set(enterprises))):
        found = select(Enterprise.credit_code, Enterprise.id).where(
            among(session, Enterprise.credit_code, part)
        )
        enterprise_ids.update((n, i) for n, i in session.execute(found))
    for i, item in enumerate(checked):
        if item.kind.holder is _CITIZEN:
            item.citizen_id = citizen_ids.get(item.claims["id_number"])
            if item.citizen_id is None:
                raise _at(
                    i,
                    Invalid.field(
                        "claims.id_number",
                        "registered",
                        "no registered resident has this ID number",
                    ),
                )
        else:
            item.enterprise_id = enterprise_ids.get(item.claims["credit_code"])
            if item.enterprise_id is None:
                raise _at(
                    i,
                    Invalid.field(
                        "claims.credit_code",
                        "registered",
                        "no registered enterprise has this credit code",
                    ),
                )


_CITIZEN = catalogue.HolderKind.CITIZEN


def _check_one_per_holder(session: Session, checked: list[_Checked]) -> None:
    """One licence in force per holder of the types that allow one, in the batch and stored."""
    first: dict[tuple[str, int | None, int | None], int] = {}
    for i, item in enumerate(checked):
        if not item.kind.one_per_holder:
            continue
        holder = (item.kind.code, item.citizen_id, item.enterprise_id)
        if holder in first:
            raise Conflict(
                f"items[{i}]: the holder of items[{first[holder]}] is named twice; a holder has "
                f"one {item.kind.name_en} in force",
                errors=[FieldProblem(f"items[{i}]", "one-per-holder", "the holder is named twice")],
            )
        first[holder] = i
    in_force = [LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED]
    by_holder: dict[tuple[str, int | None, int | None], str] = {}
    citizen_holders = sorted({h[1] for h in first if h[1] is not None})
    enterprise_holders = sorted({h[2] for h in first if h[2] is not None})
    types = sorted({h[0] for h in first})
    for column, holders in (
        (Licence.citizen_id, citizen_holders),
        (Licence.enterprise_id, enterprise_holders),
    ):
        for part in chunks(holders):
            rows = session.execute(
                select(  # governance: the issuer's own register, checked before issuing
                    Licence.type_code, Licence.citizen_id, Licence.enterprise_id, Licence.identifier
                ).where(
                    Licence.type_code.in_(types),
                    among(session, column, part),
                    Licence.status.in_(in_force),
                )
            )
            for type_code, citizen_id, enterprise_id, identifier in rows:
                by_holder[(type_code, citizen_id, enterprise_id)] = identifier
    for holder, i in first.items():
        if holder in by_holder:
            kind = checked[i].kind
            raise Conflict(
                f"items[{i}]: the holder already has a {kind.name_en} in force "
                f"({by_holder[holder]}); amend it, or revoke it first",
                errors=[FieldProblem(f"items[{i}]", "one-per-holder", "already has one in force")],
            )


def _next_numbers(session: Session, department: Department, types: Sequence[str]) -> dict[str, int]:
    """The last number of each type under the department, read under its row's lock."""
    # As in ``issue_licence``: a no-op write to the department's row takes its row lock
    # (PostgreSQL) or the database's write lock (SQLite) before the numbers are read, so
    # concurrent issues of one department take their numbers in turn.
    session.execute(
        update(Department)
        .where(Department.id == department.id)
        .values(code=Department.code)
        .execution_options(synchronize_session=False)
    )
    last = session.execute(
        select(Licence.type_code, func.max(Licence.number))
        .where(
            Licence.type_code.in_(types),
            Licence.issuer_credit_code == department.credit_code,
        )
        .group_by(Licence.type_code)
    )
    found = {type_code: int(number or 0) for type_code, number in last}
    return {type_code: found.get(type_code, 0) for type_code in types}


def _write(
    session: Session, rows: list[dict[str, Any]], principal: Principal, now: datetime
) -> list[int]:
    """Insert the licences and their ``issued`` history entries; the licences' ids in order.

    On PostgreSQL the ids are taken from the table's sequence in one select and both tables
    are written with ``COPY`` (a multi-row INSERT of a thousand licences is 18,000 parameters
    for the driver to place); elsewhere one executemany each.
    """
    history = {
        "action": LicenceAction.ISSUED.value,
        "from_status": None,
        "to_status": LicenceStatus.ACTIVE.value,
        "version": 1,
        "actor": principal.username,
        "department_code": principal.department_code,
        "reason": None,
        "at": now,
    }
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        ids = list(
            session.scalars(
                insert(Licence).returning(Licence.id, sort_by_parameter_order=True), rows
            )
        )
        session.execute(insert(LicenceHistory), [{"licence_id": i, **history} for i in ids])
        return ids
    session.flush()
    ids = sorted(
        session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('licence', 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"count": len(rows)},
        )
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor:
        columns = ", ".join(["id", *rows[0]])
        with cursor.copy(f"COPY {Licence.__tablename__} ({columns}) FROM STDIN") as copy:
            for licence_id, row in zip(ids, rows, strict=True):
                copy.write_row((licence_id, *row.values()))
        columns = ", ".join(["licence_id", *history])
        entry = tuple(history.values())
        with cursor.copy(f"COPY {LicenceHistory.__tablename__} ({columns}) FROM STDIN") as copy:
            for licence_id in ids:
                copy.write_row((licence_id, *entry))
    return ids


def issue_licences(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    items: Sequence[LicenceItem],
    *,
    now: datetime,
) -> list[IssuedLicence]:
    """Issue every item, or none: the same licences, history and events as ``issue_licence``
    once per item, in order, under the caller's department and its region's keys."""
    _require_staff(principal)
    if now.tzinfo is None:
        raise ValueError("naive datetime given as the time of issue")
    if len(items) > MAX_BATCH:
        raise Invalid.field(
            "items", "max-items", f"at most {MAX_BATCH:,} licences a batch, not {len(items):,}"
        )
    if not items:
        return []
    kinds = _kinds(items)
    departments: dict[str, Department] = {}
    for i, kind in enumerate(kinds):
        if kind.code not in departments:
            try:
                departments[kind.code] = _issuing_department(session, principal, kind)
            except (Forbidden, Invalid) as exc:
                raise _at(i, exc) from None
    department = next(iter(departments.values()))
    region = department.region_code
    if not trust.holds_region(session, region):
        raise Conflict(
            f"this platform holds no signing keys of region {region}, the region of "
            f"{department.code}: its licences are issued where its region's keys are"
        )
    checked = _check_items(items, kinds)
    _find_holders(session, checked)
    _check_one_per_holder(session, checked)
    credit_code = department.credit_code
    assert credit_code is not None
    numbers = _next_numbers(session, department, sorted(departments))
    positions = status_positions(session, region, len(checked))
    keyring = ctx.keyring(session)
    sealed = keyring.seal_many(
        DATASET, "claims", [json.dumps(c.claims, ensure_ascii=False) for c in checked]
    )
    # The issuer's credit code is checked once (make_licence_id checks it every time).
    issuer = validate_credit_code(credit_code)
    last = max(numbers.values()) + len(checked)
    make_licence_id(checked[0].kind.code, issuer, last, 1)  # in range, or ValueError
    rows = []
    for item, claims, (status_list, position) in zip(checked, sealed, positions, strict=True):
        type_code = item.kind.code
        numbers[type_code] += 1
        number = numbers[type_code]
        rows.append(
            {
                "identifier": str(LicenceId(type_code, issuer, number, 1)),
                "type_code": type_code,
                "number": number,
                "version": 1,
                "region_code": region,
                "issuer_department_code": department.code,
                "issuer_credit_code": credit_code,
                "citizen_id": item.citizen_id,
                "enterprise_id": item.enterprise_id,
                "claims": claims,
                "status": LicenceStatus.ACTIVE.value,
                "status_list": status_list,
                "status_index": position,
                "valid_from": item.valid_from,
                "valid_until": item.valid_until,
                "issued_at": now,
                "supersedes_id": None,
                "status_changed_at": None,
                "status_reason": None,
            }
        )
    ids = _write(session, rows, principal, now)
    record_events(
        session,
        "licences.licence.issued",
        [
            {"licence_id": licence_id, "type": row["type_code"]}
            for licence_id, row in zip(ids, rows, strict=True)
        ],
        now=now,
    )
    return [IssuedLicence(i, str(row["identifier"])) for i, row in zip(ids, rows, strict=True)]


def issuing_clerk(session: Session, username: str) -> Principal:
    """The principal of an active account, for the command line to issue as (the rules of
    ``issue_licences`` then apply to it as to any caller)."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: staff login name
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    return principal_of(account)


def item_of(record: object, where: str) -> LicenceItem:
    """One item from its JSON form ``{"type", "claims", "valid_from", "valid_until"?}``;
    ``Invalid`` names ``where`` and the field."""
    if not isinstance(record, dict):
        raise Invalid.field(where, "object", "should be a JSON object")
    unknown = sorted(set(record) - {"type", "claims", "valid_from", "valid_until"})
    if unknown:
        raise Invalid.field(f"{where}.{unknown[0]}", "known-field", "is not a field of an item")
    type_code, claims = record.get("type"), record.get("claims")
    if not isinstance(type_code, str):
        raise Invalid.field(f"{where}.type", "text", "should be a licence type code, e.g. ID")
    if not isinstance(claims, dict):
        raise Invalid.field(f"{where}.claims", "object", "should be a JSON object")
    dates: list[date | None] = []
    for name in ("valid_from", "valid_until"):
        value = record.get(name)
        if value is None and name == "valid_until":
            dates.append(None)
            continue
        try:
            dates.append(date.fromisoformat(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise Invalid.field(f"{where}.{name}", "date", "should be a date YYYY-MM-DD") from None
    assert dates[0] is not None
    return LicenceItem(type_code, claims, dates[0], dates[1])
