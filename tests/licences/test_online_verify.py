"""Online verification keeps its trust store between calls, yet sees at once every revocation
and every change of trust, made here or by another process on the same database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_staff, next_id_number
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.licences import service
from twonets.licences.models import VerificationCount
from twonets.trust import service as trust
from twonets.trust.keys import RegionKeyring

ROOT = b"o" * 48
T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class Worker:
    """One server process: its own engine, sessions and licensing context (with its cache)."""

    factory: sessionmaker[Session]
    ctx: service.Licensing

    def verify(self, text: str, *, verifier: str = "hotel") -> dict[str, object]:
        with unit_of_work(self.factory) as session:
            return service.verify(session, self.ctx, text=text, verifier=verifier, now=T).to_json()


@dataclass
class City:
    """Two workers on one database, the SH police clerk and JS police clerk, a resident."""

    one: Worker
    other: Worker
    police: Principal
    js_police: Principal
    resident: Principal
    id_number: str


def _department(session: Session, code: str, region: str, body: str) -> Principal:
    department = core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function="police",
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        ),
    )
    return principal_of(create_staff(session, department=department))


@pytest.fixture
def city(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[City]:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        police = _department(session, "sh.police", "SH", "00240001")
        js_police = _department(session, "js.police", "JS", "00240003")
        number = next_id_number(birth=date(1985, 3, 4))
        resident = principal_of(create_citizen(session, id_number=number, name="张三"))
    # The other process: another engine (its own connections) on the same database.
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield City(
            Worker(session_factory, service.Licensing(ROOT)),
            Worker(make_session_factory(other_engine), service.Licensing(ROOT)),
            police,
            js_police,
            resident,
            number,
        )
    finally:
        other_engine.dispose()


def _issue(city: City, *, region: str = "SH", holder: str | None = None) -> tuple[int, str]:
    """A licence issued by the first worker, and its QR text."""
    with unit_of_work(city.one.factory) as session:
        if holder is not None:
            person = principal_of(create_citizen(session, id_number=holder, name="张三"))
        else:
            person, holder = city.resident, city.id_number
        if region == "SH":
            claims = {
                "name": "张三",
                "id_number": holder,
                "sex": "female" if int(holder[16]) % 2 == 0 else "male",
                "birth_date": "1985-03-04",
                "address": "上海市黄浦区人民大道200号",
                "photo_hash": hashlib.sha256(b"photo").hexdigest(),
            }
            clerk, type_code = city.police, "ID"
        else:
            claims = {
                "name": "张三",
                "id_number": holder,
                "vehicle_classes": "C1",
                "first_issued": "2015-03-02",
                "photo_hash": "b" * 64,
            }
            clerk, type_code = city.js_police, "DL"
        licence = service.issue_licence(
            session,
            city.one.ctx,
            clerk,
            type_code=type_code,
            claims=claims,
            valid_from=date(2024, 1, 1),
            now=T,
        )
        text = service.qr_code(session, city.one.ctx, person, licence_id=licence.id, now=T)
        return licence.id, text


def _change(worker: Worker, clerk: Principal, licence_id: int, action: str) -> None:
    with unit_of_work(worker.factory) as session:
        service.change_status(
            session, clerk, licence_id=licence_id, action=action, reason="test", now=T
        )


def _fresh(worker: Worker, text: str) -> dict[str, object]:
    """The verdict of a verifier that keeps nothing (a new context)."""
    with unit_of_work(worker.factory) as session:
        return service.verify(
            session, service.Licensing(ROOT), text=text, verifier="fresh", now=T
        ).to_json()


def test_a_revocation_is_seen_by_the_next_verification_in_this_and_another_process(
    city: City,
) -> None:
    licence_id, text = _issue(city)
    assert city.one.verify(text)["valid"] is True
    assert city.other.verify(text)["valid"] is True
    kept = city.one.ctx.trust_cache().kept(T)
    assert kept is not None

    _change(city.one, city.police, licence_id, "suspend")  # here
    here, there = city.one.verify(text), city.other.verify(text)
    assert (here["valid"], here["step"], here["status"]) == (False, "status", "suspended")
    assert (there["valid"], there["step"], there["status"]) == (False, "status", "suspended")

    _change(city.other, city.police, licence_id, "resume")  # in the other process
    assert city.one.verify(text)["valid"] is True

    _change(city.other, city.police, licence_id, "revoke")
    verdict = city.one.verify(text)
    assert (verdict["valid"], verdict["step"], verdict["status"]) == (False, "status", "revoked")
    assert verdict == _fresh(city.one, text)
    # Statuses are read from the licence: the kept store served every one of these.
    assert city.one.ctx.trust_cache().kept(T) is kept


def test_a_revocation_in_the_same_transaction_is_seen(city: City) -> None:
    licence_id, text = _issue(city)
    assert city.one.verify(text)["valid"] is True
    with city.one.factory() as session:
        service.change_status(
            session, city.police, licence_id=licence_id, action="revoke", reason="x", now=T
        )
        verdict = service.verify(session, city.one.ctx, text=text, verifier="hotel", now=T)
        session.rollback()
    assert (verdict.valid, verdict.status) == (False, "revoked")
    assert city.one.verify(text)["valid"] is True  # rolled back: still in force


def test_a_region_no_longer_trusted_is_refused_at_once_by_another_process(city: City) -> None:
    _, sh_text = _issue(city)
    _, js_text = _issue(city, region="JS")
    assert city.one.verify(sh_text)["valid"] is True  # the first worker keeps SH's store
    before = city.one.verify(js_text)
    assert (before["valid"], before["step"]) == (False, "prefix")

    with unit_of_work(city.other.factory) as session:
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", ROOT),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=T,
        )
    during = city.one.verify(js_text)
    assert (during["valid"], during["region"]) == (True, "JS")

    with unit_of_work(city.other.factory) as session:
        trust.drop_region(session, region="JS")
    after = city.one.verify(js_text)
    assert (after["valid"], after["step"]) == (False, "prefix")
    assert after == _fresh(city.one, js_text)
    assert city.one.verify(sh_text)["valid"] is True


def test_a_key_revoked_in_the_regions_list_is_refused_at_once_by_another_process(
    city: City,
) -> None:
    licence_id, old = _issue(city)
    assert city.one.verify(old)["valid"] is True
    with unit_of_work(city.other.factory) as session:
        trust.rotate_region_key(session, region="SH", root_secret=ROOT, now=T)
    with unit_of_work(city.one.factory) as session:  # signed under the new key
        new = service.qr_code(session, city.one.ctx, city.resident, licence_id=licence_id, now=T)
    assert new != old
    assert city.other.verify(new)["valid"] is True  # the other worker sees the new key

    with unit_of_work(city.other.factory) as session:
        record = trust.get_issuing_region(session, "SH")
        keyring = RegionKeyring.from_json(record.keyring, ROOT)
        keyring.revoke(keyring.keys[0])
        record.keyring = keyring.to_json(ROOT)
        trust.publish_trust_list(session, region="SH", root_secret=ROOT, now=T)
    refused = city.one.verify(old)
    assert refused["valid"] is False
    assert refused == _fresh(city.one, old)
    assert city.one.verify(new)["valid"] is True


def test_kept_and_fresh_verifiers_give_the_same_verdicts(city: City) -> None:
    licence_id, text = _issue(city)
    _, js_text = _issue(city, region="JS")
    revoked_id, revoked = _issue(city, holder=next_id_number(birth=date(1990, 1, 2)))
    _change(city.one, city.police, revoked_id, "revoke")
    texts = [text, js_text, revoked, "SH1:garbage", "HC1:NCF", text[:-3] + "AAA"]
    for t in texts:
        city.one.verify(t)  # kept from here on
    assert [city.one.verify(t) for t in texts] == [_fresh(city.one, t) for t in texts]
    assert licence_id


def test_every_verification_is_counted_once_in_the_callers_transaction(city: City) -> None:
    _, text = _issue(city)
    city.one.verify(text)
    city.other.verify(text)
    city.one.verify("garbage")
    with city.one.factory() as session:
        service.verify(session, city.one.ctx, text=text, verifier="hotel", now=T)
        session.rollback()  # not counted: the verification's transaction did not commit
    with city.other.factory() as session:
        loaded = session.scalars(select(VerificationCount)).all()
        assert {c.result: c.count for c in loaded} == {"valid": 2, "prefix": 1}
        service.verify(session, city.other.ctx, text=text, verifier="hotel", now=T)
        # Read in the same session that held the rows: the new count, not the kept object.
        counts = service.verification_counts(session, since=T.date() - timedelta(days=1))
        assert {(c.type_code, c.region_code, c.result): c.count for c in counts} == {
            ("ID", "SH", "valid"): 3,
            ("unknown", "unknown", "prefix"): 1,
        }
        session.commit()
    with city.one.factory() as session:
        totals = service.verification_totals(session, since=T.date())
    assert [(t.result, t.count) for t in totals] == [("valid", 3), ("prefix", 1)]
