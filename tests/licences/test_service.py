"""Licences on a real database: issue, wallet, QR and SD-JWT, status, cross-region trust."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_staff, next_id_number
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.ids import make_credit_code
from twonets.core.models import Account, DepartmentLevel
from twonets.licences import service
from twonets.licences.models import Licence, VerificationCount
from twonets.trust import service as trust

ROOT = b"r" * 48
# Wall-clock time: the offline command checks trust lists against the real clock.
T = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Office:
    """Issuing clerks of two regions, a resident, and the licensing context."""

    ctx: service.Licensing
    police: Principal
    market: Principal
    js_police: Principal
    resident: Principal
    resident_id_number: str


def _department(session: Session, code: str, function: str, region: str, body: str) -> None:
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        ),
    )


@pytest.fixture
def office(engine: Engine, session_factory: sessionmaker[Session]) -> Office:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        _department(session, "sh.police", "police", "SH", "00240001")
        _department(session, "sh.market", "market-regulation", "SH", "00240002")
        _department(session, "js.police", "police", "JS", "00240003")
        clerks = {}
        for code in ("sh.police", "sh.market", "js.police"):
            department = core_service.get_department(session, code)
            clerks[code] = principal_of(create_staff(session, department=department))
        number = next_id_number(birth=date(1985, 3, 4))
        resident = principal_of(create_citizen(session, id_number=number, name="张三"))
    return Office(
        service.Licensing(ROOT),
        clerks["sh.police"],
        clerks["sh.market"],
        clerks["js.police"],
        resident,
        number,
    )


def _id_card(office: Office, **overrides: str) -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": office.resident_id_number,
        "sex": "female" if int(office.resident_id_number[16]) % 2 == 0 else "male",
        "birth_date": "1985-03-04",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
        **overrides,
    }


def _issue(factory: sessionmaker[Session], office: Office, **kwargs: object) -> int:
    with unit_of_work(factory) as session:
        licence = service.issue_licence(
            session,
            office.ctx,
            kwargs.pop("clerk", office.police),  # type: ignore[arg-type]
            type_code=str(kwargs.pop("type_code", "ID")),
            claims=kwargs.pop("claims", _id_card(office)),  # type: ignore[arg-type]
            valid_from=date(2024, 1, 1),
            now=T,
            **kwargs,  # type: ignore[arg-type]
        )
        return licence.id


def _verify(
    factory: sessionmaker[Session], office: Office, text: str, **kw: str
) -> dict[str, object]:
    with unit_of_work(factory) as session:
        return service.verify(
            session, office.ctx, text=text, verifier="hotel", now=T, **kw
        ).to_json()


def _qr(factory: sessionmaker[Session], office: Office, licence_id: int) -> str:
    with unit_of_work(factory) as session:
        return service.qr_code(session, office.ctx, office.resident, licence_id=licence_id, now=T)


def test_an_issued_licence_is_in_the_wallet_and_its_qr_verifies(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(session_factory, office)
    with session_factory() as session:
        wallet = service.wallet(session, office.ctx, office.resident)
        stored = session.get(Licence, licence_id)
    assert [w["type"] for w in wallet] == ["ID"]
    assert wallet[0]["claims"]["address"] == "上海市黄浦区人民大道200号"
    assert stored is not None
    assert stored.claims.startswith("gcm1:")
    assert wallet[0]["valid_until"] == "2044-01-01"  # ID cards: 20 years
    verdict = _verify(session_factory, office, _qr(session_factory, office, licence_id))
    assert verdict["valid"] is True, verdict
    assert verdict["region"] == "SH"
    assert verdict["claims"]["name"] == "张三"  # type: ignore[index]


def test_only_the_issuing_function_issues_and_claims_are_checked(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden, match="issued by police departments"):
        _issue(session_factory, office, clerk=office.market)
    with pytest.raises(Invalid) as caught:
        _issue(session_factory, office, claims=_id_card(office, birth_date="1985-13-04"))
    assert caught.value.errors[0].field == "claims.birth_date"
    stranger = next_id_number(birth=date(1990, 1, 1))
    with pytest.raises(Invalid, match="no registered resident"):
        _issue(session_factory, office, claims=_id_card(office, id_number=stranger))
    with session_factory() as session:
        assert session.scalars(select(Licence)).all() == []


def test_revocation_and_suspension_reach_verifiers_through_the_status_list(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(session_factory, office)
    text = _qr(session_factory, office, licence_id)
    for action, expected in (("suspend", "suspended"), ("resume", None), ("revoke", "revoked")):
        with unit_of_work(session_factory) as session:
            service.change_status(
                session, office.police, licence_id=licence_id, action=action, reason="test", now=T
            )
        verdict = _verify(session_factory, office, text)
        if expected is None:
            assert verdict["valid"] is True
        else:
            assert (verdict["valid"], verdict["step"]) == (False, "status")
            assert expected in str(verdict["detail"])
            assert verdict["status"] == expected  # for pages to tell, without reading the text
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        service.change_status(
            session, office.police, licence_id=licence_id, action="resume", reason="x", now=T
        )


def test_an_amendment_supersedes_the_old_version(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(session_factory, office)
    old_qr = _qr(session_factory, office, licence_id)
    with unit_of_work(session_factory) as session:
        new = service.amend_licence(
            session,
            office.ctx,
            office.police,
            licence_id=licence_id,
            claims=_id_card(office, address="上海市浦东新区世纪大道100号"),
            reason="moved",
            now=T,
        )
        assert new.identifier.endswith(f"-02-{new.identifier[-1]}")
        new_id = new.id
    assert _verify(session_factory, office, old_qr)["step"] == "status"
    assert _verify(session_factory, office, _qr(session_factory, office, new_id))["valid"] is True


def test_a_jiangsu_licence_verifies_only_while_shanghai_recognises_jiangsu(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(
        session_factory,
        office,
        clerk=office.js_police,
        type_code="DL",
        claims={
            "name": "张三",
            "id_number": office.resident_id_number,
            "vehicle_classes": "C1",
            "first_issued": "2015-03-02",
            "photo_hash": "b" * 64,
        },
    )
    text = _qr(session_factory, office, licence_id)
    assert text.startswith("JS1:")
    before = _verify(session_factory, office, text)
    assert (before["valid"], before["step"]) == (False, "prefix")  # JS is not recognised yet
    with unit_of_work(session_factory) as session:
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", ROOT),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=T,
        )
    during = _verify(session_factory, office, text)
    assert during["valid"] is True, during
    assert during["region"] == "JS"
    with unit_of_work(session_factory) as session:
        trust.drop_region(session, region="JS")
    assert _verify(session_factory, office, text)["valid"] is False


def test_key_rotation_keeps_issued_codes_valid(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(session_factory, office)
    old = _qr(session_factory, office, licence_id)
    with unit_of_work(session_factory) as session:
        trust.rotate_region_key(session, region="SH", root_secret=ROOT, now=T)
    new = _qr(session_factory, office, licence_id)
    old_verdict, new_verdict = (
        _verify(session_factory, office, old),
        _verify(session_factory, office, new),
    )
    assert old_verdict["valid"] is True
    assert new_verdict["valid"] is True
    assert old_verdict["kid"] != new_verdict["kid"]


def test_a_tampered_code_fails_at_its_signature(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    from twonets.trust import base45

    text = _qr(session_factory, office, _issue(session_factory, office))
    decoded = base45.b45decode(text[4:])
    import zlib

    raw = bytearray(zlib.decompress(decoded))
    index = raw.find("张三".encode())
    raw[index : index + 6] = "李四".encode()
    forged = "SH1:" + base45.b45encode(zlib.compress(bytes(raw)))
    verdict = _verify(session_factory, office, forged)
    assert (verdict["valid"], verdict["step"]) == (False, "signature")


def test_a_hotel_sees_only_what_the_holder_shares(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    licence_id = _issue(session_factory, office)
    with unit_of_work(session_factory) as session:
        presentation = service.assisted_share(
            session,
            office.ctx,
            office.resident,
            licence_id=licence_id,
            disclose=["name", "id_number", "photo_hash"],
            audience="hotel-42",
            nonce="n-12345678",
            now=T,
        )
    assert "上海市黄浦区" not in presentation
    verdict = _verify(
        session_factory, office, presentation, audience="hotel-42", nonce="n-12345678"
    )
    assert verdict["valid"] is True, verdict
    assert set(verdict["claims"]) == {"name", "id_number", "photo_hash"}  # type: ignore[arg-type]
    replay = _verify(
        session_factory, office, presentation, audience="hotel-42", nonce="other-nonce"
    )
    assert (replay["valid"], replay["step"]) == (False, "holder_binding")


def test_someone_elses_licence_is_not_in_reach(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    from twonets.core.errors import NotFound

    licence_id = _issue(session_factory, office)
    with unit_of_work(session_factory) as session:
        other = principal_of(create_citizen(session, name="李四"))
        assert other.citizen_id is not None
    with pytest.raises(NotFound), unit_of_work(session_factory) as session:
        service.qr_code(session, office.ctx, other, licence_id=licence_id, now=T)


def test_every_verification_is_counted(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    text = _qr(session_factory, office, _issue(session_factory, office))
    _verify(session_factory, office, text)
    _verify(session_factory, office, text)
    _verify(session_factory, office, "garbage")
    with session_factory() as session:
        counts = {
            (c.type_code, c.region_code, c.result): c.count
            for c in session.scalars(select(VerificationCount))
        }
    assert counts == {("ID", "SH", "valid"): 2, ("unknown", "unknown", "prefix"): 1}


def test_the_offline_command_verifies_with_a_trust_bundle(
    office: Office, session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from twonets.cli import app

    assert isinstance(tmp_path, Path)
    licence_id = _issue(session_factory, office)
    text = _qr(session_factory, office, licence_id)
    with unit_of_work(session_factory) as session:
        bundle = service.trust_bundle(session, office.ctx, now=T)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    runner = CliRunner()
    ok = runner.invoke(
        app, ["licences", "verify", "--trust-list", str(path), "--at", T.isoformat(), text]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["valid"] is True
    late = runner.invoke(
        app, ["licences", "verify", "--trust-list", str(path), "--at", "2099-01-01T00:00:00Z", text]
    )
    assert late.exit_code == 1
    assert json.loads(late.output)["step"] == "expired"
    none = runner.invoke(
        app, ["licences", "verify", "--trust-list", str(tmp_path / "nope.json"), text]
    )
    assert none.exit_code == 1
    assert json.loads(none.output)["step"] == "trust"
    with unit_of_work(session_factory) as session:
        account = session.scalar(select(Account).where(Account.kind == "staff"))
        assert account is not None


def test_a_second_id_card_in_force_is_refused(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    first = _issue(session_factory, office)
    with pytest.raises(Conflict, match="already has a Resident ID card in force"):
        _issue(session_factory, office)
    with unit_of_work(session_factory) as session:
        service.change_status(
            session, office.police, licence_id=first, action="revoke", reason="lost", now=T
        )
    assert _issue(session_factory, office) != first


def test_licences_are_found_by_a_checked_identifier(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    from twonets.core.errors import NotFound

    licence_id = _issue(session_factory, office)
    with session_factory() as session:
        licence = session.get(Licence, licence_id)
        assert licence is not None
        assert service.find_licence(session, licence.identifier.lower()).id == licence_id
        wrong = licence.identifier[:-1] + ("0" if licence.identifier[-1] != "0" else "1")
        with pytest.raises(Invalid) as caught:
            service.find_licence(session, wrong)
        assert caught.value.errors[0].field == "identifier"
        assert caught.value.errors[0].detail.startswith("check character should be")
        from twonets.licences.identifiers import make_licence_id, parse_licence_id

        parsed = parse_licence_id(licence.identifier)
        missing = make_licence_id(parsed.type_code, parsed.issuer, 99, 1)
        with pytest.raises(NotFound):
            service.find_licence(session, missing)


def test_the_offline_command_takes_one_regions_signed_list(
    office: Office, session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from twonets.cli import app

    assert isinstance(tmp_path, Path)
    text = _qr(session_factory, office, _issue(session_factory, office))
    with session_factory() as session:
        document = {
            "region": "SH",
            "anchor": trust.anchor_pem(session, "SH", ROOT),
            "trust_list": trust.get_issuing_region(session, "SH").trust_list,
        }
    path = tmp_path / "sh.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(
        app, ["licences", "verify", "--trust-list", str(path), "--at", T.isoformat(), text]
    )
    verdict = json.loads(result.output)
    # Signature and trust hold; without the region's status list revocation cannot be checked.
    assert (verdict["valid"], verdict["step"]) == (False, "status")
    assert "no status list" in verdict["detail"]
    assert verdict["region"] == "SH"


def test_a_code_of_an_unrecognised_region_names_that_region() -> None:
    from twonets.licences.verify import verify_credential
    from twonets.trust.store import TrustStore

    named = verify_credential("ZJ1:6BFOXN*TS0BI$ZD", store=TrustStore(), at=T)
    other = verify_credential("https://example.com/pay?id=42", store=TrustStore(), at=T)

    assert (named.step, named.named_region) == ("prefix", "ZJ")
    assert (other.step, other.named_region) == ("prefix", None)
    assert named.to_json()["named_region"] == "ZJ"


def test_a_wallet_licence_is_the_holders_own_and_in_force(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    from twonets.core.errors import NotFound

    licence_id = _issue(session_factory, office)
    with unit_of_work(session_factory) as session:
        other = principal_of(create_citizen(session, name="李四"))
    with session_factory() as session:
        held = service.held_licence(session, office.ctx, office.resident, licence_id=licence_id)
    assert (held["id"], held["claims"]["name"]) == (licence_id, "张三")

    # Staff hold no licences: refused, whatever the number.
    with pytest.raises(Forbidden), session_factory() as session:
        service.held_licence(session, office.ctx, office.police, licence_id=licence_id)
    # Another holder's licence is not found (its number tells nothing about it).
    with pytest.raises(NotFound), session_factory() as session:
        service.held_licence(session, office.ctx, other, licence_id=licence_id)
    with unit_of_work(session_factory) as session:
        service.amend_licence(
            session,
            office.ctx,
            office.police,
            licence_id=licence_id,
            claims=_id_card(office, address="上海市浦东新区世纪大道100号"),
            reason="moved",
            now=T,
        )
    # A replaced version has left the wallet.
    with pytest.raises(NotFound, match="replaced"), session_factory() as session:
        service.held_licence(session, office.ctx, office.resident, licence_id=licence_id)


def test_only_a_department_that_issues_a_type_gets_the_issuing_form(
    office: Office, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        _department(session, "sh.housing", "housing", "SH", "00240004")
        housing = principal_of(
            create_staff(session, department=core_service.get_department(session, "sh.housing"))
        )

    police_types = ["ID", "DL", "HR", "VR", "NP"]  # NP: the NEV plate of the one-thing service
    assert [t.code for t in service.issuing_types(office.police)] == police_types
    assert [t.code for t in service.issuing_types(office.js_police)] == police_types
    with pytest.raises(Forbidden, match="issues no licence types"):
        service.issuing_types(housing)
    with pytest.raises(Forbidden):
        service.issuing_types(office.resident)
