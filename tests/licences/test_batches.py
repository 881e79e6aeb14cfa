"""Licences issued in batches: the same rows as one by one, all or nothing, the refusal naming
the item; numbers and status-list positions taken for the batch; and the signing key's cache
seeing rotation and revocation. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_clerk, next_id_number
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.models import OutboxEvent
from twonets.licences import service
from twonets.licences.models import Licence, LicenceHistory
from twonets.licences.service import batches, context
from twonets.licences.verify import region_prefix
from twonets.trust import cose
from twonets.trust import service as trust
from twonets.trust.errors import NoSigningKey
from twonets.trust.keys import RegionKeyring, kid_text
from twonets.trust.models import IssuingRegion

ROOT = b"b" * 48
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Office:
    ctx: service.Licensing
    police: Principal
    market: Principal
    resident: Principal
    people: list[tuple[str, str]]


@pytest.fixture
def office(engine: Engine, session_factory: sessionmaker[Session]) -> Office:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        clerks = [
            create_clerk(session, code=code, function=function, body=body)
            for code, function, body in (
                ("sh.police", "police", "00240001"),
                ("sh.market", "market-regulation", "00240002"),
            )
        ]
        people = []
        for i in range(6):
            number = next_id_number(birth=date(1980 + i, 3, 4))
            people.append((number, f"居民{i}"))
            account = create_citizen(session, id_number=number, name=f"居民{i}")
        resident = principal_of(account)
    return Office(service.Licensing(ROOT), clerks[0], clerks[1], resident, people)


def _claims(number: str, name: str, **overrides: str) -> dict[str, str]:
    return {
        "name": name,
        "id_number": number,
        "sex": "female" if int(number[16]) % 2 == 0 else "male",
        "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(number.encode()).hexdigest(),
        **overrides,
    }


def _items(office: Office, **overrides: str) -> list[service.LicenceItem]:
    return [
        service.LicenceItem("ID", _claims(number, name, **overrides), date(2024, 1, 1))
        for number, name in office.people
    ]


def _written(session: Session, ctx: service.Licensing) -> list[dict[str, Any]]:
    """Every licence with its history and issued events, without ids, positions or nonces."""
    keyring = ctx.keyring(session)
    out = []
    licences = session.scalars(select(Licence).order_by(Licence.number)).all()
    for licence in licences:
        row = {
            c.key: getattr(licence, c.key)
            for c in Licence.__table__.columns
            if c.key not in ("id", "status_index", "claims")
        }
        row["claims"] = json.loads(keyring.unseal("licences.licence", "claims", licence.claims))
        row["history"] = [
            {
                c.key: getattr(h, c.key)
                for c in LicenceHistory.__table__.columns
                if c.key not in ("id", "licence_id")
            }
            for h in session.scalars(
                select(LicenceHistory).where(LicenceHistory.licence_id == licence.id)
            )
        ]
        row["events"] = [
            (e.topic, e.payload["type"], e.created_at)
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "licences.licence.issued")
            )
            if e.payload["licence_id"] == licence.id
        ]
        out.append(row)
    return out


def _forget_licences(session: Session) -> None:
    session.execute(delete(OutboxEvent).where(OutboxEvent.topic == "licences.licence.issued"))
    session.execute(delete(LicenceHistory))
    session.execute(delete(Licence))


def test_a_batch_writes_what_as_many_single_issues_write(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    with unit_of_work(session_factory) as session:
        for item in items:
            service.issue_licence(
                session,
                office.ctx,
                office.police,
                type_code=item.type_code,
                claims=item.claims,
                valid_from=item.valid_from,
                now=T,
            )
    with session_factory() as session:
        singles = _written(session, office.ctx)
    with unit_of_work(session_factory) as session:
        _forget_licences(session)
    with unit_of_work(session_factory) as session:
        issued = service.issue_licences(session, office.ctx, office.police, items, now=T)
    with session_factory() as session:
        batched = _written(session, office.ctx)
        positions = session.scalars(select(Licence.status_index)).all()
    assert len(singles) == len(items) == 6
    assert batched == singles
    assert [i.identifier for i in issued] == [r["identifier"] for r in batched]
    assert [r["number"] for r in batched] == [1, 2, 3, 4, 5, 6]
    assert len(set(positions)) == 6
    assert all(0 <= p < service.STATUS_LIST_SIZE for p in positions)


def test_numbers_go_on_from_a_batch_to_single_issues_and_back(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    with unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items[:2], now=T)
        single = service.issue_licence(
            session,
            office.ctx,
            office.police,
            type_code="ID",
            claims=items[2].claims,
            valid_from=items[2].valid_from,
            now=T,
        )
        later = service.issue_licences(session, office.ctx, office.police, items[3:], now=T)
    assert single.number == 3
    with session_factory() as session:
        numbers = session.scalars(
            select(Licence.number).where(Licence.identifier.in_([i.identifier for i in later]))
        ).all()
    assert sorted(numbers) == [4, 5, 6]


def _count(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Licence)) or 0,
            session.scalar(select(func.count()).select_from(LicenceHistory)) or 0,
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.topic == "licences.licence.issued")
            )
            or 0,
        )


def test_a_bad_item_refuses_the_whole_batch_and_names_the_item_and_field(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    items[3] = service.LicenceItem("ID", {**items[3].claims, "sex": "x"}, date(2024, 1, 1))
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert [p.field for p in caught.value.errors] == ["items[3].claims.sex"]
    assert "items[3]" in caught.value.detail
    assert _count(session_factory) == (0, 0, 0)


def test_an_unregistered_holder_or_a_bad_type_names_the_item(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    stranger = next_id_number(birth=date(1970, 1, 1))
    items[1] = service.LicenceItem("ID", _claims(stranger, "无名"), date(2024, 1, 1))
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert [(p.field, p.rule) for p in caught.value.errors] == [
        ("items[1].claims.id_number", "registered")
    ]
    items = _items(office)
    items[4] = service.LicenceItem("XX", items[4].claims, date(2024, 1, 1))
    with pytest.raises(Exception, match=r"items\[4\]"), unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    items = _items(office)
    items[2] = service.LicenceItem("ID", items[2].claims, date(2024, 1, 1), date(2023, 1, 1))
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert [p.field for p in caught.value.errors] == ["items[2].valid_until"]
    assert _count(session_factory) == (0, 0, 0)


def test_one_card_in_force_per_holder_in_the_batch_and_against_the_register(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    twice = [*items[:5], items[0]]
    with (
        pytest.raises(Conflict, match=r"items\[5\].*items\[0\]"),
        unit_of_work(session_factory) as session,
    ):
        service.issue_licences(session, office.ctx, office.police, twice, now=T)
    assert _count(session_factory) == (0, 0, 0)
    with unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items[2:3], now=T)
    with (
        pytest.raises(Conflict, match=r"items\[2\].*in force") as caught,
        unit_of_work(session_factory) as session,
    ):
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert caught.value.errors[0].field == "items[2]"
    assert _count(session_factory) == (1, 1, 1)


def test_a_batch_is_refused_to_the_wrong_department_and_to_non_staff(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)
    for caller in (office.market, office.resident):
        with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
            service.issue_licences(session, office.ctx, caller, items, now=T)
    assert _count(session_factory) == (0, 0, 0)


def test_a_batch_over_the_limit_is_refused(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    items = _items(office)[:1] * (service.MAX_BATCH + 1)
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert [(p.field, p.rule) for p in caught.value.errors] == [("items", "max-items")]


def test_a_batch_takes_the_last_free_positions_and_not_more(
    office: Office, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "STATUS_LIST_SIZE", 8)
    items = _items(office)
    with unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, items[:5], now=T)
    with (
        pytest.raises(Conflict, match="status list of SH has no room for 4"),
        unit_of_work(session_factory) as session,
    ):
        batches.free_status_indexes(session, "SH", 4)
    with unit_of_work(session_factory) as session:
        rest = batches.free_status_indexes(session, "SH", 3)
        taken = session.scalars(select(Licence.status_index)).all()
    assert sorted([*taken, *rest]) == list(range(8))


# --- the signing key's cache ---------------------------------------------------------------


def _kid(text: str) -> str | None:
    return cose.decode_unverified(text, (region_prefix("SH"),)).kid


def test_sign_qr_sees_a_rotation_in_its_own_transaction_and_in_another(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        issued = service.issue_licences(session, office.ctx, office.police, _items(office), now=T)
    with session_factory() as reader:
        licence = reader.get(Licence, issued[0].id)
        assert licence is not None
        before = _kid(service.sign_qr(reader, office.ctx, licence, now=T))
        reader.commit()
        with unit_of_work(session_factory) as other:
            rotated = trust.rotate_region_key(other, region="SH", root_secret=ROOT, now=T)
        after = _kid(service.sign_qr(reader, office.ctx, licence, now=T))
    assert after == kid_text(rotated.kid) != before
    with unit_of_work(session_factory) as session:
        licence = session.get(Licence, issued[1].id)
        assert licence is not None
        first = _kid(service.sign_qr(session, office.ctx, licence, now=T))
        again = trust.rotate_region_key(session, region="SH", root_secret=ROOT, now=T)
        second = _kid(service.sign_qr(session, office.ctx, licence, now=T))
    assert first == after
    assert second == kid_text(again.kid) != first


def test_sign_qr_stops_when_the_key_is_revoked(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        issued = service.issue_licences(session, office.ctx, office.police, _items(office), now=T)
        licence = session.get(Licence, issued[0].id)
        assert licence is not None
        text = service.sign_qr(session, office.ctx, licence, now=T)
    with unit_of_work(session_factory) as session:
        record = session.get(IssuingRegion, "SH")
        assert record is not None
        keyring = RegionKeyring.from_json(record.keyring, ROOT)
        keyring.revoke(keyring.signing_key(T))
        record.keyring = keyring.to_json(ROOT)
    with session_factory() as session:
        licence = session.get(Licence, issued[0].id)
        assert licence is not None
        with pytest.raises(NoSigningKey):
            service.sign_qr(session, office.ctx, licence, now=T + timedelta(seconds=1))
    assert _kid(text) is not None
