"""Licence pages: the wallet, a licence's QR code and share form, the verifier, issuing, trust."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import date

import pytest
import segno
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_citizen, create_staff, next_id_number
from test_bad_files import photo_corpus
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.licences import service
from twonets.licences.models import Licence, VerificationCount
from twonets.trust import service as trust

HTML = {"accept": "text/html"}
HOTEL = ("name", "id_number", "photo_hash")


@dataclass(frozen=True)
class Desk:
    """A resident holding an ID card, its issuing clerk, a hotel verifier and an admin; the
    clerks of other police departments (Shanghai traffic, Jiangsu, and Zhejiang, whose keys
    this platform does not hold)."""

    resident: str
    licence_id: int
    clerk: str
    clerk_principal: Principal
    verifier: str
    admin: str
    other_id_number: str
    traffic_clerk: str
    js_clerk: str
    zj_clerk: str


def _id_card(id_number: str, name: str) -> dict[str, str]:
    return {
        "name": name,
        "id_number": id_number,
        "sex": "female" if int(id_number[16]) % 2 == 0 else "male",
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
    }


@pytest.fixture
def desk(app: FastAPI, session_factory: sessionmaker[Session]) -> Desk:
    app.state.clock = lambda: NOW
    ctx: service.Licensing = app.state.licensing
    root = app.state.secret_key
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=root, now=NOW)
        trust.ensure_issuing_region(
            session, region="JS", root_secret=root, now=NOW, recognise=False
        )
        police = core_service.create_department(
            session,
            code="t.police",
            name="市公安局",
            name_en="Public Security Bureau",
            function="police",
            level=DepartmentLevel.CITY,
            region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240001"
            ),
        )
        clerk = create_staff(session, username="clerk", department=police)
        others = {}
        for code, region, body in (
            ("sh.traffic", "SH", "00240002"),
            ("js.police", "JS", "00240003"),
            ("zj.police", "ZJ", "00240004"),
        ):
            other_police = core_service.create_department(
                session,
                code=code,
                name=f"{code} 公安",
                name_en=f"{code} police",
                function="police",
                level=DepartmentLevel.CITY,
                region_code=region,
                credit_code=make_credit_code(
                    authority="1",
                    kind="1",
                    region_code={"SH": "310000", "JS": "320000", "ZJ": "330000"}[region],
                    organisation_body=body,
                ),
            )
            others[code] = create_staff(
                session, username=f"{code}.clerk", department=other_police
            ).username
        verifier = create_staff(session, username="hotel", roles=(Role.VERIFIER,))
        admin = create_staff(session, username="root", roles=(Role.ADMIN,))
        number = next_id_number(birth=date(1985, 3, 4))
        resident = create_citizen(session, id_number=number, name="张三")
        other = next_id_number(birth=date(1992, 7, 1))
        create_citizen(session, id_number=other, name="李四")
        licence = service.issue_licence(
            session,
            ctx,
            principal_of(clerk),
            type_code="ID",
            claims=_id_card(number, "张三"),
            valid_from=date(2024, 1, 1),
            now=NOW,
        )
        return Desk(
            resident.username,
            licence.id,
            clerk.username,
            principal_of(clerk),
            verifier.username,
            admin.username,
            other,
            others["sh.traffic"],
            others["js.police"],
            others["zj.police"],
        )


def _as(client: TestClient, username: str) -> dict[str, str]:
    """Log in through the form (the client keeps the cookie); a browser's page headers."""
    client.cookies.clear()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return dict(HTML)


def _textarea(page: str, testid: str) -> str:
    found = re.search(rf'<textarea[^>]*data-testid="{testid}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None, f"no textarea {testid}"
    return html.unescape(found.group(1)).strip()


def _qr_text(client: TestClient, desk: Desk) -> str:
    page = client.get(f"/wallet/{desk.licence_id}", headers=_as(client, desk.resident))
    assert page.status_code == 200, page.text
    return _textarea(page.text, "qr-text")


def _disclosed_names(presentation: str) -> set[str]:
    names = set()
    for part in presentation.split("~")[1:-1]:
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        names.add(decoded[1])
    return names


def _verify(client: TestClient, desk: Desk, **data: str) -> str:
    response = client.post("/verify", data=data, headers=_as(client, desk.verifier))
    assert response.status_code == 200, response.text
    return response.text


def _verdict(page: str) -> tuple[str, str]:
    found = re.search(r'data-testid="verdict" data-valid="(\w+)" data-step="(\w+)"', page)
    assert found is not None, "no verdict on the page"
    return found.group(1), found.group(2)


def _shown_fields(page: str) -> set[str]:
    table = re.search(r'<table class="claims[^"]*" data-testid="claims">(.*?)</table>', page, re.S)
    assert table is not None
    return set(re.findall(r'<tr data-field="(\w+)">', table.group(1)))


# --- the wallet -------------------------------------------------------------------------------


def test_the_wallet_lists_the_residents_licence(client: TestClient, desk: Desk) -> None:
    page = client.get("/wallet", headers=_as(client, desk.resident))

    assert page.status_code == 200
    assert "居民身份证" in page.text
    assert "Resident ID card" in page.text
    assert f'href="/wallet/{desk.licence_id}"' in page.text
    assert 'data-region="SH"' in page.text
    assert "市公安局" in page.text
    assert "in force" in page.text
    assert "1 Jan 2024" in page.text


def test_the_menu_offers_the_wallet_to_residents_only(client: TestClient, desk: Desk) -> None:
    resident = client.get("/", headers=_as(client, desk.resident)).text
    verifier = client.get("/", headers=_as(client, desk.verifier)).text

    assert 'href="/wallet"' in resident
    assert 'href="/verify"' not in resident
    assert 'href="/verify"' in verifier
    assert 'href="/trust"' in verifier
    assert 'href="/wallet"' not in verifier
    admin = client.get("/", headers=_as(client, desk.admin)).text
    assert 'href="/trust"' in admin
    assert 'href="/wallet"' not in admin  # an administrator holds no licences


def test_the_licence_page_shows_every_field_and_an_svg_qr_code(
    client: TestClient, desk: Desk
) -> None:
    headers = _as(client, desk.resident)
    page = client.get(f"/wallet/{desk.licence_id}", headers=headers)

    assert page.status_code == 200
    for label in ("Name", "ID number", "Sex", "Date of birth", "Address", "Photo (SHA-256)"):
        assert f"<dt>{label}</dt>" in page.text
    assert re.search(r'<svg[^>]*class="qr"', page.text)
    assert re.search(r"QR version \d+ · \d+ characters", page.text)
    text = _textarea(page.text, "qr-text")
    assert text.startswith("SH1:")
    # A new QR code each time: it is signed when it is drawn.
    fragment = client.get(
        f"/wallet/{desk.licence_id}/qr", headers={**headers, "HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert re.search(r'<svg[^>]*class="qr"', fragment.text)
    assert _textarea(fragment.text, "qr-text") != text


def test_another_holders_licence_is_not_found(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        other = create_citizen(session)
    page = client.get(f"/wallet/{desk.licence_id}", headers=_as(client, other.username))

    assert page.status_code == 404


def test_the_share_form_reveals_exactly_the_ticked_fields(client: TestClient, desk: Desk) -> None:
    headers = _as(client, desk.resident)
    form = client.get(f"/wallet/{desk.licence_id}", headers=headers).text
    ticked = set(re.findall(r'name="disclose" value="(\w+)" checked', form))
    assert ticked == set(HOTEL)  # the defaults of a hotel check

    response = client.post(
        f"/wallet/{desk.licence_id}/share",
        data={
            "disclose": list(HOTEL),
            "audience": "hotel front desk",
            "nonce": "c-4711",
            "mode": "assisted-window",
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    presentation = _textarea(response.text, "presentation")
    assert _disclosed_names(presentation) == set(HOTEL)
    note = re.sub(
        r"<[^>]+>", "", response.text.split('data-testid="reveals"')[1].split("</div>")[0]
    )
    assert "Reveals: Name, ID number, Photo (SHA-256)." in note
    assert "Keeps hidden: Sex, Date of birth, Address." in note

    page = _verify(
        client, desk, credential=presentation, audience="hotel front desk", nonce="c-4711"
    )
    assert _verdict(page) == ("true", "ok")
    assert _shown_fields(page) == set(HOTEL)
    assert "Not shown by the holder: Sex, Date of birth, Address." in page
    assert 'data-custody="assisted-window"' in page
    assert 'data-testid="assisted-note"' in response.text


def test_the_platform_never_signs_unless_assisted_service_is_named(
    client: TestClient, desk: Desk
) -> None:
    response = client.post(
        f"/wallet/{desk.licence_id}/share",
        data={"disclose": ["name"], "audience": "hotel front desk", "nonce": "c-1"},
        headers=_as(client, desk.resident),
    )

    assert response.status_code == 422
    assert 'data-testid="error-mode"' in response.text
    assert 'data-testid="presentation"' not in response.text


def test_the_keys_page_lists_only_my_keys_and_another_account_cannot_remove_them(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from twonets.licences import sdjwt

    jwk = sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    with unit_of_work(session_factory) as session:
        other = create_citizen(session, id_number=next_id_number(), name="李四")
    mine = _as(client, desk.resident)
    registered = client.post("/wallet/keys", json={"jwk": jwk, "device": "my phone"}, headers=mine)
    assert registered.status_code == 201, registered.text
    key_id = registered.json()["id"]
    page = client.get("/wallet/keys", headers=mine).text
    bound = client.post(
        f"/wallet/{desk.licence_id}/credential", json={"holder_key_id": key_id}, headers=mine
    )

    theirs = _as(client, other.username)  # the client now holds the neighbour's cookie
    their_page = client.get("/wallet/keys", headers=theirs).text
    removed = client.post(f"/wallet/keys/{key_id}/remove", headers=theirs)

    assert "my phone" in page
    assert registered.json()["thumbprint"][:12] in page
    assert "my phone" not in their_page
    assert removed.status_code == 403
    assert bound.status_code == 200, bound.text
    assert bound.json()["credential"].endswith("~")


def test_a_presentation_for_another_challenge_fails_holder_binding(
    client: TestClient, desk: Desk
) -> None:
    response = client.post(
        f"/wallet/{desk.licence_id}/share",
        data={
            "disclose": ["name"],
            "audience": "hotel front desk",
            "nonce": "c-1",
            "mode": "assisted-window",
        },
        headers=_as(client, desk.resident),
    )
    presentation = _textarea(response.text, "presentation")
    assert _disclosed_names(presentation) == {"name"}

    page = _verify(client, desk, credential=presentation, audience="hotel front desk", nonce="c-2")

    assert _verdict(page) == ("false", "holder_binding")
    assert "Not shown by its holder" in page
    assert 'data-testid="claims"' not in page


def test_the_share_form_needs_a_verifier_name(client: TestClient, desk: Desk) -> None:
    response = client.post(
        f"/wallet/{desk.licence_id}/share",
        data={"disclose": ["name"], "audience": " ", "nonce": "c-1", "mode": "assisted-window"},
        headers=_as(client, desk.resident),
    )

    assert response.status_code == 422
    assert 'data-testid="error-audience"' in response.text
    assert 'data-testid="presentation"' not in response.text


# --- the verifier -----------------------------------------------------------------------------


def test_the_verifier_sees_valid_then_revoked(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    text = _qr_text(client, desk)

    page = _verify(client, desk, credential=text)
    assert _verdict(page) == ("true", "ok")
    assert "✔ VALID" in page
    assert _shown_fields(page) == set(_id_card(next_id_number(), "x"))
    assert "市公安局" in page
    assert re.search(r'data-testid="verdict-licence">[^<]*<', page)

    with unit_of_work(session_factory) as session:
        service.change_status(
            session,
            desk.clerk_principal,
            licence_id=desk.licence_id,
            action="revoke",
            reason="replaced after a name change",
            now=NOW,
        )
    page = _verify(client, desk, credential=text)

    assert _verdict(page) == ("false", "status")
    assert "Revoked" in page
    assert 'data-testid="claims"' not in page
    with session_factory() as session:
        results = {r.result: r.count for r in session.scalars(select(VerificationCount))}
    assert results == {"valid": 1, "status": 1}


@pytest.mark.parametrize(
    ("garbage", "step", "words"),
    [
        ("hello, world", "prefix", "Not a licence code"),
        ("SH1:%%%%", "base45", "Damaged code"),
        ("ZJ1:6BFOXN*TS0BI$ZD", "prefix", "Region not recognised"),
        ("eyJhbGciOiJFUzI1NiJ9.e30.AAAA~WyJ4Il0~", "format", "Not a licence presentation"),
    ],
)
def test_garbage_shows_the_failing_step(
    client: TestClient, desk: Desk, garbage: str, step: str, words: str
) -> None:
    page = _verify(client, desk, credential=garbage)

    assert _verdict(page) == ("false", step)
    assert "✘ NOT VALID" in page
    assert words in page


def test_an_altered_qr_code_fails_its_signature_or_decoding(client: TestClient, desk: Desk) -> None:
    text = _qr_text(client, desk)
    altered = text[:40] + ("A" if text[40] != "A" else "B") + text[41:]

    page = _verify(client, desk, credential=altered)

    valid, step = _verdict(page)
    assert valid == "false"
    assert step in {"base45", "compression", "cbor", "signature"}


def test_an_uploaded_photo_of_the_qr_code_is_decoded_and_verified(
    client: TestClient, desk: Desk
) -> None:
    text = _qr_text(client, desk)
    png = io.BytesIO()
    segno.make_qr(text).save(png, kind="png", scale=4)

    response = client.post(
        "/verify",
        data={"credential": ""},
        files={"image": ("code.png", png.getvalue(), "image/png")},
        headers=_as(client, desk.verifier),
    )

    assert response.status_code == 200, response.text
    assert _verdict(response.text) == ("true", "ok")
    assert "read from the uploaded photo" in response.text


def test_an_image_without_a_qr_code_says_so(client: TestClient, desk: Desk) -> None:
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 120), "white").save(blank, format="PNG")

    response = client.post(
        "/verify",
        files={"image": ("holiday.png", blank.getvalue(), "image/png")},
        headers=_as(client, desk.verifier),
    )

    assert response.status_code == 422
    assert "no QR code was found in the image" in response.text
    assert 'data-testid="verdict"' not in response.text


def test_a_file_that_is_no_image_says_so(client: TestClient, desk: Desk) -> None:
    response = client.post(
        "/verify",
        files={"image": ("notes.txt", b"not an image at all", "text/plain")},
        headers=_as(client, desk.verifier),
    )

    assert response.status_code == 422
    assert "not an image" in response.text


def test_an_empty_form_asks_for_something_to_verify(client: TestClient, desk: Desk) -> None:
    response = client.post("/verify", data={"credential": "  "}, headers=_as(client, desk.verifier))

    assert response.status_code == 422
    assert 'data-testid="error-credential"' in response.text


def test_a_resident_may_not_verify(client: TestClient, desk: Desk) -> None:
    headers = _as(client, desk.resident)

    assert client.get("/verify", headers=headers).status_code == 403
    assert client.post("/verify", data={"credential": "x"}, headers=headers).status_code == 403


def test_logged_out_visitors_are_sent_to_the_login(client: TestClient, desk: Desk) -> None:
    for path in ("/wallet", "/verify", "/trust", "/licences/issue"):
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


# --- issuing ----------------------------------------------------------------------------------


def test_the_issue_form_issues_a_licence(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, desk.clerk)
    chooser = client.get("/licences/issue", headers=headers)
    assert chooser.status_code == 200
    assert 'value="ID"' in chooser.text
    assert 'value="BL"' not in chooser.text  # business licences are market regulation's
    form = client.get("/licences/issue?type=ID", headers=headers)
    assert 'name="claims.id_number"' in form.text

    data = {
        "type": "ID",
        **{f"claims.{k}": v for k, v in _id_card(desk.other_id_number, "李四").items()},
        "valid_from": "2026-11-30",
        "valid_until": "",
    }
    response = client.post("/licences/issue", data=data, headers=headers)

    assert response.status_code == 200, response.text
    found = re.search(r'data-testid="issued-id">([^<]+)<', response.text)
    assert found is not None
    with session_factory() as session:
        licence = session.scalar(select(Licence).where(Licence.identifier == found.group(1)))
        assert licence is not None
        assert licence.valid_until == date(2046, 11, 30)
        assert licence.region_code == "SH"


def test_the_issue_form_marks_a_bad_id_number(client: TestClient, desk: Desk) -> None:
    data = {
        "type": "ID",
        **{f"claims.{k}": v for k, v in _id_card(desk.other_id_number, "李四").items()},
        "claims.id_number": desk.other_id_number[:-1]
        + ("0" if desk.other_id_number[-1] != "0" else "1"),
        "valid_from": "2026-11-30",
    }

    response = client.post("/licences/issue", data=data, headers=_as(client, desk.clerk))

    assert response.status_code == 422
    error = re.search(r'data-testid="error-claims.id_number">([^<]+)<', response.text)
    assert error is not None
    assert "check" in error.group(1).lower()
    assert 'value="李四"' in response.text  # what was typed stays


def test_the_issue_form_marks_an_unregistered_holder(client: TestClient, desk: Desk) -> None:
    stranger = next_id_number(birth=date(1970, 1, 1))
    data = {
        "type": "ID",
        **{f"claims.{k}": v for k, v in _id_card(stranger, "王五").items()},
        "valid_from": "2026-11-30",
    }

    response = client.post("/licences/issue", data=data, headers=_as(client, desk.clerk))

    assert response.status_code == 422
    assert "no registered resident has this ID number" in response.text


def _issue_form(id_number: str, name: str) -> dict[str, str]:
    return {
        "type": "ID",
        **{f"claims.{k}": v for k, v in _id_card(id_number, name).items()},
        "valid_from": "2026-11-30",
    }


def test_the_issue_form_offers_no_region_and_signs_under_the_clerks_own(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, desk.js_clerk)
    form = client.get("/licences/issue?type=ID", headers=headers)
    assert form.status_code == 200
    assert 'name="region"' not in form.text
    assert "signed with the keys of Jiangsu" in form.text

    # A region slipped into the form changes nothing: the licence is the department's region's.
    data = {**_issue_form(desk.other_id_number, "李四"), "region": "SH"}
    response = client.post("/licences/issue", data=data, headers=headers)

    assert response.status_code == 200, response.text
    assert "signed in Jiangsu" in response.text
    with session_factory() as session:
        issued = session.scalars(
            select(Licence).where(Licence.issuer_department_code == "js.police")
        )
        assert [licence.region_code for licence in issued] == ["JS"]


def test_a_department_whose_region_keys_are_not_held_here_cannot_issue(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    data = _issue_form(desk.other_id_number, "李四")

    response = client.post("/licences/issue", data=data, headers=_as(client, desk.zj_clerk))

    assert response.status_code == 409
    assert "holds no signing keys of region ZJ" in response.text
    with session_factory() as session:
        assert session.scalars(select(Licence.region_code)).all() == ["SH"]  # the desk's own


def test_the_issued_confirmation_is_only_for_the_issuing_department(
    client: TestClient, desk: Desk
) -> None:
    mine = client.get(f"/licences/issue?issued={desk.licence_id}", headers=_as(client, desk.clerk))
    assert mine.status_code == 200
    assert 'data-testid="issued-id"' in mine.text
    assert "张三" not in mine.text  # the confirmation shows the licence, not the holder's details

    for outsider in (desk.traffic_clerk, desk.js_clerk):
        theirs = client.get(
            f"/licences/issue?issued={desk.licence_id}", headers=_as(client, outsider)
        )
        assert theirs.status_code == 403
        assert 'data-testid="issued-id"' not in theirs.text


def test_the_issuer_sees_a_licences_history_and_the_holder_its_reasons(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.change_status(
            session,
            desk.clerk_principal,
            licence_id=desk.licence_id,
            action="suspend",
            reason="reported lost at the station",
            now=NOW,
        )

    page = client.get(f"/licences/{desk.licence_id}", headers=_as(client, desk.clerk))
    assert page.status_code == 200
    assert re.findall(r'<tr data-action="(\w+)">', page.text) == ["issued", "suspended"]
    assert "reported lost at the station" in page.text
    assert 'data-testid="actor">clerk<' in page.text
    assert "张三" not in page.text
    refused = client.get(f"/licences/{desk.licence_id}", headers=_as(client, desk.traffic_clerk))
    assert refused.status_code == 403

    wallet = client.get(f"/wallet/{desk.licence_id}", headers=_as(client, desk.resident))
    assert wallet.status_code == 200
    assert re.findall(r'<tr data-action="(\w+)">', wallet.text) == ["issued", "suspended"]
    assert "reported lost at the station" in wallet.text
    assert 'data-testid="actor"' not in wallet.text  # the holder is told the department only


def test_an_administrator_is_offered_nothing_to_issue(client: TestClient, desk: Desk) -> None:
    headers = _as(client, desk.admin)

    form = client.get("/licences/issue", headers=headers)
    posted = client.post(
        "/licences/issue", data=_issue_form(desk.other_id_number, "李四"), headers=headers
    )

    assert form.status_code == 403
    assert 'data-testid="issue-form"' not in form.text
    assert posted.status_code == 403
    assert 'data-testid="issued-id"' not in posted.text


def test_staff_of_a_department_that_issues_nothing_get_403(
    client: TestClient, desk: Desk, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        nurse = create_staff(session)  # a health department issues no licence type

    response = client.get("/licences/issue", headers=_as(client, nurse.username))

    assert response.status_code == 403
    assert "issues no licence types" in response.text


# --- trust ------------------------------------------------------------------------------------


def test_the_trust_page_lists_regions_home_first(client: TestClient, desk: Desk) -> None:
    page = client.get("/trust", headers=_as(client, desk.verifier))

    assert page.status_code == 200
    assert 'data-region="SH"' in page.text
    assert "no. 1" in page.text
    assert "current" in page.text
    assert 'data-testid="recognise-form"' not in page.text
    assert 'data-testid="verification-counts"' not in page.text


def test_an_admin_recognises_and_drops_a_region(
    client: TestClient, desk: Desk, app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, desk.admin)
    with session_factory() as session:
        anchor = trust.anchor_pem(session, "JS", app.state.secret_key)
        signed = trust.get_issuing_region(session, "JS").trust_list or ""

    bad = client.post(
        "/trust/regions", data={"anchor": "not a key", "trust_list": signed}, headers=headers
    )
    assert bad.status_code == 422
    assert 'data-testid="error-anchor"' in bad.text

    added = client.post(
        "/trust/regions", data={"anchor": anchor, "trust_list": signed}, headers=headers
    )
    assert added.status_code == 200
    assert "Region JS is recognised" in added.text
    assert 'data-region="JS"' in added.text

    dropped = client.post("/trust/regions/JS/drop", headers=headers)
    assert dropped.status_code == 200
    assert "Region JS is no longer recognised" in dropped.text
    assert 'data-region="JS"' not in dropped.text

    home = client.post("/trust/regions/SH/drop", headers=headers)
    assert home.status_code == 422
    assert "home region cannot be dropped" in home.text


def test_only_admins_change_trust(client: TestClient, desk: Desk) -> None:
    headers = _as(client, desk.verifier)

    assert client.post("/trust/regions/SH/drop", headers=headers).status_code == 403
    assert client.post("/trust/regions", data={"anchor": "x"}, headers=headers).status_code == 403


def test_admins_see_verification_counts(client: TestClient, desk: Desk) -> None:
    text = _qr_text(client, desk)
    _verify(client, desk, credential=text)
    _verify(client, desk, credential=text)
    _verify(client, desk, credential="hello")

    page = client.get("/trust", headers=_as(client, desk.admin))

    counts = page.text.split('data-testid="counts"')[1].split("</table>")[0]
    body = counts.split("<tbody>")[1]
    rows = [
        re.sub(r"<[^>]+>", " ", r).split() for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]
    assert ["居民身份证", "Resident", "ID", "card", "Shanghai", "valid", "2"] in rows
    assert any(r[-1] == "1" and "not" in r for r in rows)
    assert re.search(r'data-testid="count-total">3<', page.text)


def test_the_licence_pages_speak_chinese_by_default(client: TestClient, desk: Desk) -> None:
    headers = {**_as(client, desk.resident), "Accept-Language": "zh-CN,zh;q=0.9"}

    wallet = client.get("/wallet", headers=headers).text
    licence = client.get(f"/wallet/{desk.licence_id}", headers=headers).text

    assert "<h1>我的证照</h1>" in wallet
    assert "2024年1月1日" in wallet  # the day the licence is valid from
    assert "有效" in wallet
    assert "in force" not in wallet
    for text in ("公民身份号码", "出示此码", "按需出示", "酒店前台", "本证照的二维码"):
        assert text in licence
    for text in ("Show this code", "Share only what is needed", "ID number"):
        assert text not in licence


def test_the_share_form_refuses_in_chinese_with_the_forms_words(
    client: TestClient, desk: Desk
) -> None:
    headers = {**_as(client, desk.resident), "Accept-Language": "zh-CN"}

    response = client.post(
        f"/wallet/{desk.licence_id}/share",
        data={"audience": "", "nonce": "n-1", "disclose": ["name"], "mode": "assisted-window"},
        headers=headers,
    )

    assert response.status_code == 422
    assert "请填写证照的出示对象" in response.text
    assert 'value="n-1"' in response.text  # what was typed stays


def test_every_word_of_the_licence_catalogue_waits_in_the_translations() -> None:
    from twonets.licences import catalogue
    from twonets.web.licences.words import CATALOGUE_WORDS

    words = {
        text for kind in catalogue.TYPES for f in kind.fields for text in (f.label, *f.choices)
    }

    assert words <= set(CATALOGUE_WORDS)


@pytest.mark.parametrize(("kind", "name", "data"), photo_corpus(), ids=lambda v: str(v)[:20])
def test_a_broken_photo_is_a_clear_error_naming_it(
    client: TestClient, desk: Desk, kind: str, name: str, data: bytes
) -> None:
    response = client.post(
        "/verify",
        files={"image": (name, data, "application/octet-stream")},
        headers=_as(client, desk.verifier),
    )

    assert response.status_code in {413, 422}, (kind, response.status_code)
    assert 'data-testid="error-image"' in response.text
    assert f'data-testid="error-image-file">{name}<' in response.text
    assert 'data-testid="verdict"' not in response.text
