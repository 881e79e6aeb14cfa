"""Numbered status lists: a region's licences fill list 0 to its limit, then lists 1, 2, …;
a licence in list n is named by its list's URI, verifies online and offline, and its
revocation is published in that list. Lists made small here (8 positions, 4 used each) so
that a few licences open several. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import create_citizen, create_clerk, next_id_number
from twonets.cli import app as cli_app
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, NotFound
from twonets.licences import service
from twonets.licences.models import Licence
from twonets.licences.service import context
from twonets.licences.status import StatusType, open_status_list_token
from twonets.licences.verify import region_prefix
from twonets.trust import cose
from twonets.trust import service as trust
from twonets.trust.keys import kid_text

# Wall-clock time: the offline command checks trust lists against the real clock.
T = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Office:
    ctx: service.Licensing
    police: Principal
    market: Principal
    border: Principal
    people: list[tuple[Principal, str]]


@pytest.fixture
def small_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "STATUS_LIST_SIZE", 8)
    monkeypatch.setattr(context, "STATUS_LIST_FILL", 4)


def _office(session_factory: sessionmaker[Session], root: bytes) -> Office:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=root, now=T)
        clerks = [
            create_clerk(session, code=code, function=function, body=body)
            for code, function, body in (
                ("sh.police", "police", "00240001"),
                ("sh.market", "market-regulation", "00240002"),
                ("sh.border", "police", "00240003"),
            )
        ]
        people = []
        for i in range(14):
            number = next_id_number(birth=date(1970 + i, 3, 4))
            people.append((principal_of(create_citizen(session, id_number=number)), number))
    return Office(service.Licensing(root), clerks[0], clerks[1], clerks[2], people)


@pytest.fixture
def office(session_factory: sessionmaker[Session], small_lists: None) -> Office:
    return _office(session_factory, b"l" * 48)


def _claims(number: str) -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": number,
        "sex": "female" if int(number[16]) % 2 == 0 else "male",
        "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(number.encode()).hexdigest(),
    }


def _item(number: str) -> service.LicenceItem:
    return service.LicenceItem("ID", _claims(number), date(2024, 1, 1))


def _issue_one(session_factory: sessionmaker[Session], office: Office, number: str) -> int:
    with unit_of_work(session_factory) as session:
        licence = service.issue_licence(
            session,
            office.ctx,
            office.police,
            type_code="ID",
            claims=_claims(number),
            valid_from=date(2024, 1, 1),
            now=T,
        )
        return licence.id


def _positions(session_factory: sessionmaker[Session]) -> list[tuple[int, int]]:
    with session_factory() as session:
        rows = session.execute(
            select(Licence.status_list, Licence.status_index).order_by(Licence.id)
        ).all()
    return [(int(n), int(i)) for n, i in rows]


def test_list_zero_keeps_its_uri_and_list_n_is_numbered_under_it() -> None:
    assert service.status_uri("SH") == "/api/v1/status-lists/SH"
    assert service.status_uri("SH", 0) == "/api/v1/status-lists/SH"
    assert service.status_uri("SH", 2) == "/api/v1/status-lists/SH/2"
    assert service.parse_status_uri("/api/v1/status-lists/SH") == ("SH", 0)
    assert service.parse_status_uri("/api/v1/status-lists/SH/725") == ("SH", 725)
    for other in (
        "/api/v1/status-lists/SH/0",
        "/api/v1/status-lists/SH/02",
        "/api/v1/status-lists/SH/x",
        "/api/v1/status-lists/SH/1/2",
        "/api/v1/status-lists/",
        "/api/v1/trust/lists/SH",
        "https://elsewhere/api/v1/status-lists/SH",
    ):
        assert service.parse_status_uri(other) is None, other


def test_single_issues_open_the_next_list_at_the_fill_limit(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    for _, number in office.people[:9]:
        _issue_one(session_factory, office, number)
    positions = _positions(session_factory)
    assert [n for n, _ in positions] == [0, 0, 0, 0, 1, 1, 1, 1, 2]
    assert len(set(positions)) == 9
    assert all(0 <= i < 8 for _, i in positions)


def test_a_batch_crosses_into_the_next_lists(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    _issue_one(session_factory, office, office.people[0][1])
    items = [_item(number) for _, number in office.people[1:11]]
    with unit_of_work(session_factory) as session:
        issued = service.issue_licences(session, office.ctx, office.police, items, now=T)
    assert len(issued) == 10
    positions = _positions(session_factory)
    # One single issue, then the batch: 3 more in list 0, 4 in list 1, 3 in list 2.
    assert Counter(n for n, _ in positions) == {0: 4, 1: 4, 2: 3}
    assert [n for n, _ in positions] == sorted(n for n, _ in positions)
    assert len(set(positions)) == 11
    with session_factory() as session:
        assert service.region_lists(session, "SH") == 3
        listed = service.status_list(session, region="SH", n=2)
    assert all(listed.get(i) == StatusType.VALID for i in range(8))


def test_two_departments_issuing_at_once_take_their_positions_in_turn(
    office: Office, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs at once")
    first = [_item(number) for _, number in office.people[:3]]
    second = [_item(number) for _, number in office.people[3:6]]
    done: list[object] = []

    def other_department() -> None:
        try:
            with unit_of_work(session_factory) as session:
                service.issue_licences(session, office.ctx, office.border, second, now=T)
            done.append("ok")
        except Exception as exc:  # reported below, in the test's own thread
            done.append(exc)

    with unit_of_work(session_factory) as session:
        service.issue_licences(session, office.ctx, office.police, first, now=T)
        # The other department issues while this transaction still holds its positions: it
        # waits on the region's row until this commits, then draws among what is taken.
        racer = threading.Thread(target=other_department)
        racer.start()
        racer.join(timeout=0.5)
    racer.join()
    assert done == ["ok"]
    positions = _positions(session_factory)
    assert Counter(n for n, _ in positions) == {0: 4, 1: 2}
    assert len(set(positions)) == 6


def test_an_amendment_takes_its_position_in_the_current_list(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    ids = [_issue_one(session_factory, office, number) for _, number in office.people[:4]]
    with unit_of_work(session_factory) as session:
        new = service.amend_licence(
            session,
            office.ctx,
            office.police,
            licence_id=ids[0],
            claims=_claims(office.people[0][1]) | {"address": "上海市徐汇区"},
            reason="moved",
            now=T,
        )
        assert (new.status_list, new.region_code) == (1, "SH")


def _qr(
    session_factory: sessionmaker[Session], office: Office, holder: Principal, licence_id: int
) -> str:
    with unit_of_work(session_factory) as session:
        return service.qr_code(session, office.ctx, holder, licence_id=licence_id, now=T)


def _decoded(text: str) -> cose.Decoded:
    return cose.decode_unverified(text, (region_prefix("SH"),))


def _share(
    session_factory: sessionmaker[Session], office: Office, holder: Principal, licence_id: int
) -> str:
    """An SD-JWT presentation made at a window for a verifier ``hotel``."""
    with unit_of_work(session_factory) as session:
        return service.assisted_share(
            session,
            office.ctx,
            holder,
            licence_id=licence_id,
            disclose=["name"],
            audience="hotel",
            nonce="n-1",
            now=T,
        )


def _verify_online(
    session_factory: sessionmaker[Session],
    ctx: service.Licensing,
    text: str,
    audience: str | None = None,
) -> dict[str, object]:
    nonce = "n-1" if audience else None
    with unit_of_work(session_factory) as session:
        verdict = service.verify(
            session, ctx, text=text, verifier="hotel", now=T, audience=audience, nonce=nonce
        )
        return verdict.to_json()


def _verify_offline(
    session_factory: sessionmaker[Session], office: Office, text: str, tmp_path: Path
) -> dict[str, object]:
    with unit_of_work(session_factory) as session:
        bundle = service.trust_bundle(session, office.ctx, now=T)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = CliRunner().invoke(
        cli_app, ["licences", "verify", "--trust-list", str(path), "--at", T.isoformat(), text]
    )
    verdict: dict[str, object] = json.loads(result.output)
    return verdict


def test_a_licence_in_list_2_verifies_online_and_offline_and_then_as_revoked(
    office: Office, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = [_issue_one(session_factory, office, number) for _, number in office.people[:9]]
    holder = office.people[8][0]
    text = _qr(session_factory, office, holder, ids[8])
    first = _qr(session_factory, office, office.people[0][0], ids[0])
    with session_factory() as session:
        licence = session.get(Licence, ids[8])
        assert licence is not None
        index = licence.status_index
        assert licence.status_list == 2
    # The QR names list 2 by its URI; the first licence keeps the URI of list 0.
    assert "'uri': '/api/v1/status-lists/SH/2'" in repr(_decoded(text).claims)
    assert "'uri': '/api/v1/status-lists/SH'" in repr(_decoded(first).claims)
    shared = _share(session_factory, office, holder, ids[8])
    assert _verify_online(session_factory, office.ctx, shared, audience="hotel")["valid"] is True
    assert _verify_online(session_factory, office.ctx, text)["valid"] is True
    offline = _verify_offline(session_factory, office, text, tmp_path)
    assert offline["valid"] is True, offline
    with unit_of_work(session_factory) as session:
        bundle = service.trust_bundle(session, office.ctx, now=T)
    assert sorted(bundle["status_lists"]) == [
        "/api/v1/status-lists/SH",
        "/api/v1/status-lists/SH/1",
        "/api/v1/status-lists/SH/2",
    ]

    with unit_of_work(session_factory) as session:
        service.change_status(
            session, office.police, licence_id=ids[8], action="revoke", reason="lost", now=T
        )
    for ctx in (office.ctx, service.Licensing(office.ctx.root_secret)):
        online = _verify_online(session_factory, ctx, text)
        assert (online["valid"], online["step"]) == (False, "status"), online
        assert "revoked" in str(online["detail"])
    online = _verify_online(session_factory, office.ctx, shared, audience="hotel")
    assert (online["valid"], online["step"]) == (False, "status"), online
    offline = _verify_offline(session_factory, office, text, tmp_path)
    assert (offline["valid"], offline["step"]) == (False, "status"), offline
    assert "revoked" in str(offline["detail"])
    # The licence at the same index of list 0 (if any) is not touched; list 0 still verifies.
    assert _verify_online(session_factory, office.ctx, first)["valid"] is True
    assert _verify_offline(session_factory, office, first, tmp_path)["valid"] is True

    # The published list 2 says so: its token, under the region's keys, names its own URI.
    with unit_of_work(session_factory) as session:
        token = service.numbered_status_list_token(session, office.ctx, region="SH", n=2, now=T)
        store = office.ctx.trust_store(session, T)
    keys = {kid_text(k.kid): k.public_key for k in store.trust_list("SH").keys}
    opened = open_status_list_token(token, public_keys=keys, at=T, uri="/api/v1/status-lists/SH/2")
    assert opened.status_list.get(index) == StatusType.INVALID
    assert sum(opened.status_list.get(i) != StatusType.VALID for i in range(8)) == 1


def test_a_list_not_opened_is_not_published(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    for _, number in office.people[:5]:
        _issue_one(session_factory, office, number)
    with unit_of_work(session_factory) as session:
        assert service.numbered_status_list_token(session, office.ctx, region="SH", n=1, now=T)
        for n in (0, 2, -1):
            with pytest.raises(NotFound):
                service.numbered_status_list_token(session, office.ctx, region="SH", n=n, now=T)


def test_the_403s_stay(office: Office, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.issue_licence(
            session,
            office.ctx,
            office.market,
            type_code="ID",
            claims=_claims(office.people[0][1]),
            valid_from=date(2024, 1, 1),
            now=T,
        )
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.issue_licences(
            session, office.ctx, office.market, [_item(office.people[0][1])], now=T
        )
    assert _positions(session_factory) == []


def test_list_n_is_served_with_the_cache_headers_of_list_0(
    app: FastAPI,
    client: TestClient,
    session_factory: sessionmaker[Session],
    small_lists: None,
) -> None:
    app.state.clock = lambda: T
    office = _office(session_factory, app.state.secret_key)
    for _, number in office.people[:5]:
        _issue_one(session_factory, office, number)
    zero = client.get("/api/v1/status-lists/SH")
    one = client.get("/api/v1/status-lists/SH/1")
    assert zero.status_code == one.status_code == 200
    for name in ("content-type", "cache-control", "expires"):
        assert one.headers[name] == zero.headers[name]
    payload = json.loads(_payload(one.text))
    assert payload["sub"] == "/api/v1/status-lists/SH/1"
    assert payload["status_list"]["bits"] == 2
    assert client.get("/api/v1/status-lists/SH/2").status_code == 404
    assert client.get("/api/v1/status-lists/SH/0").status_code == 404


def _payload(token: str) -> str:
    import base64

    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
