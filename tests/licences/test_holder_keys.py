"""Holder keys stay with the holder: a wallet registers only its public key, credentials are
bound to it, the wallet signs each presentation, and only the account itself manages its keys.
The platform-held key is used only as named assisted service, which the credential records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_citizen, create_staff, next_id_number
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.licences import jwk as jwk_codec
from twonets.licences import sdjwt
from twonets.licences.models import HolderKey
from twonets.trust import service as trust

PROBLEM = "application/problem+json"
HOTEL = "hotel-42"
NONCE = "n-1234567890"


@dataclass(frozen=True)
class People:
    """A police clerk, a verifier at a hotel, two residents, and the first one's ID number."""

    police: str
    verifier: str
    resident: str
    neighbour: str
    id_number: str


def _department(session: Session, code: str, function: str, body: str | None) -> None:
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code="SH",
        credit_code=make_credit_code(
            authority="1", kind="1", region_code="310000", organisation_body=body
        )
        if body
        else None,
    )


@pytest.fixture
def people(app: FastAPI, session_factory: sessionmaker[Session]) -> People:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=app.state.secret_key, now=NOW)
        _department(session, "sh.police", "police", "00240001")
        _department(session, "sh.platform", "platform", None)
        police = core_service.get_department(session, "sh.police")
        platform = core_service.get_department(session, "sh.platform")
        create_staff(session, username="sh.clerk", department=police)
        create_staff(session, username="hotel", department=platform, roles=(Role.VERIFIER,))
        number = next_id_number(birth=date(1985, 3, 4))
        create_citizen(session, id_number=number, name="张三", password=PASSWORD)
        other = next_id_number(birth=date(1990, 1, 2))
        create_citizen(session, id_number=other, name="李四", password=PASSWORD)
    return People("sh.clerk", "hotel", number, other, number)


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def issue_id_card(client: TestClient, people: People) -> int:
    claims = {
        "name": "张三",
        "id_number": people.id_number,
        "sex": "female" if int(people.id_number[16]) % 2 == 0 else "male",
        "birth_date": "1985-03-04",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
    }
    response = client.post(
        "/api/v1/licences",
        json={"type_code": "ID", "claims": claims, "valid_from": "2024-01-01"},
        headers=bearer(client, people.police),
    )
    assert response.status_code == 201, response.text
    licence_id: int = response.json()["id"]
    return licence_id


def register(client: TestClient, username: str, jwk: dict[str, Any], device: str = "phone") -> Any:
    return client.post(
        "/api/v1/holder-keys", json={"jwk": jwk, "device": device}, headers=bearer(client, username)
    )


def verify(client: TestClient, people: People, presentation: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/verify",
        json={"credential": presentation, "audience": HOTEL, "nonce": NONCE},
        headers=bearer(client, people.verifier),
    )
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return verdict


def payload_of(credential: str) -> dict[str, Any]:
    jwt = credential.split("~", 1)[0]
    part = jwt.split(".")[1]
    loaded: dict[str, Any] = json.loads(jwk_codec.b64url_decode(part))
    return loaded


def test_a_wallet_registers_its_public_key_once_and_lists_it(
    client: TestClient, people: People
) -> None:
    jwcrypto = pytest.importorskip("jwcrypto.jwk")
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = sdjwt.public_jwk(key.public_key())
    # What WebCrypto's exportKey gives: ext and key_ops beside the key itself.
    first = register(client, people.resident, {**jwk, "ext": True, "key_ops": ["verify"]})
    again = register(client, people.resident, jwk, device="my phone")

    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["jwk"] == jwk  # only the public members are kept
    expected = jwcrypto.JWK(**jwk).thumbprint()  # RFC 7638, by the reference implementation
    assert first.json()["thumbprint"] == expected
    listed = client.get("/api/v1/holder-keys", headers=bearer(client, people.resident)).json()
    assert [(k["id"], k["device"]) for k in listed] == [(first.json()["id"], "my phone")]
    assert client.get("/api/v1/holder-keys", headers=bearer(client, people.neighbour)).json() == []


@pytest.mark.parametrize("private_member", ["d", "k"])
def test_a_jwk_holding_a_private_key_is_refused_and_nothing_is_stored(
    client: TestClient, people: People, session_factory: sessionmaker[Session], private_member: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**sdjwt.public_jwk(key.public_key()), private_member: "c2VjcmV0"}

    response = register(client, people.resident, jwk)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["errors"][0]["field"] == "jwk"
    assert private_member in response.json()["detail"]
    with session_factory() as session:
        assert session.scalar(select(func.count(HolderKey.id))) == 0


@pytest.mark.parametrize("username", ["police", "verifier"])
def test_only_holders_register_wallet_keys(
    client: TestClient, people: People, username: str
) -> None:
    jwk = sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    response = register(client, getattr(people, username), jwk)
    assert response.status_code == 403, response.text
    listed = client.get("/api/v1/holder-keys", headers=bearer(client, getattr(people, username)))
    assert listed.status_code == 403


def test_another_account_can_neither_remove_nor_use_my_key(
    client: TestClient, people: People
) -> None:
    licence_id = issue_id_card(client, people)
    jwk = sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    key_id = register(client, people.resident, jwk).json()["id"]
    neighbour = bearer(client, people.neighbour)

    removed = client.delete(f"/api/v1/holder-keys/{key_id}", headers=neighbour)
    bound = client.post(
        f"/api/v1/wallet/{licence_id}/credential", json={"holder_key_id": key_id}, headers=neighbour
    )
    # Even for their own licence, a holder binds only to their own key.
    mine = bearer(client, people.resident)
    other_key = register(
        client,
        people.neighbour,
        sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()),
    ).json()["id"]
    borrowed = client.post(
        f"/api/v1/wallet/{licence_id}/credential", json={"holder_key_id": other_key}, headers=mine
    )

    assert removed.status_code == 403, removed.text
    assert removed.headers["content-type"].startswith(PROBLEM)
    assert bound.status_code in (403, 404), bound.text  # not their licence, not their key
    assert borrowed.status_code == 403, borrowed.text
    still = client.get("/api/v1/holder-keys", headers=mine).json()
    assert [k["id"] for k in still] == [key_id]


def test_a_removed_key_gets_no_new_credential(client: TestClient, people: People) -> None:
    licence_id = issue_id_card(client, people)
    jwk = sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    mine = bearer(client, people.resident)
    key_id = register(client, people.resident, jwk).json()["id"]

    assert client.delete(f"/api/v1/holder-keys/{key_id}", headers=mine).status_code == 204
    refused = client.post(
        f"/api/v1/wallet/{licence_id}/credential", json={"holder_key_id": key_id}, headers=mine
    )

    assert refused.status_code == 409, refused.text
    assert client.get("/api/v1/holder-keys", headers=mine).json() == []


def test_a_credential_bound_to_my_key_verifies_only_when_i_sign_it(
    client: TestClient, people: People, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue_id_card(client, people)
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = sdjwt.public_jwk(key.public_key())
    key_id = register(client, people.resident, jwk).json()["id"]
    answer = client.post(
        f"/api/v1/wallet/{licence_id}/credential",
        json={"holder_key_id": key_id},
        headers=bearer(client, people.resident),
    )
    assert answer.status_code == 200, answer.text
    credential = answer.json()["credential"]
    payload = payload_of(credential)

    shown = sdjwt.present(
        credential,
        disclose=["name", "photo_hash"],
        holder_key=key,
        audience=HOTEL,
        nonce=NONCE,
        at=NOW,
    )
    verdict = verify(client, people, shown)
    thief = ec.generate_private_key(ec.SECP256R1())
    forged = sdjwt.present(
        credential,
        disclose=["name"],
        holder_key=sdjwt.es256_signer(thief, None),
        audience=HOTEL,
        nonce=NONCE,
        at=NOW,
    )

    assert payload["cnf"] == {"jwk": jwk}
    assert payload["key_custody"] == "holder"
    assert (verdict["valid"], verdict["key_custody"]) == (True, "holder"), verdict
    assert set(verdict["claims"]) == {"name", "photo_hash"}
    assert (verify(client, people, forged)["step"]) == "holder_binding"
    with session_factory() as session:
        stored = session.execute(text("SELECT jwk FROM licence_holder_key")).scalars().all()
    assert [json.loads(row) for row in stored] == [jwk]


def test_the_platform_signs_only_when_assisted_service_is_named(
    client: TestClient, people: People
) -> None:
    licence_id = issue_id_card(client, people)
    mine = bearer(client, people.resident)
    body = {"disclose": ["name"], "audience": HOTEL, "nonce": NONCE}

    unnamed = client.post(f"/api/v1/wallet/{licence_id}/share", json=body, headers=mine)
    named = client.post(
        f"/api/v1/wallet/{licence_id}/share", json={**body, "mode": "assisted-window"}, headers=mine
    )

    assert unnamed.status_code == 422, unnamed.text
    assert "mode" in unnamed.text
    assert named.status_code == 200, named.text
    presentation = named.json()["presentation"]
    assert payload_of(presentation)["key_custody"] == "assisted-window"
    verdict = verify(client, people, presentation)
    assert (verdict["valid"], verdict["key_custody"]) == (True, "assisted-window"), verdict
    assert "key_custody" not in verdict["claims"]
