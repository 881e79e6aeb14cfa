"""The command-line wallet: a key file only its holder reads, a credential fetched from a
running platform bound to that key, and presentations the platform and the IETF reference
implementation both verify."""

from __future__ import annotations

import json
import stat
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import PASSWORD, create_citizen, create_staff, next_id_number
from local_servers import free_port
from twonets.cli import app as cli
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.licences import jwk as jwk_codec
from twonets.licences import sdjwt

HOTEL = "hotel-42"
NONCE = "n-1234567890"
ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["wallet", *args], env=env)


def keygen(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "holder.pem"
    result = run("keygen", "--key", str(path))
    assert result.exit_code == 0, result.output
    jwk: dict[str, str] = json.loads(result.stdout.splitlines()[0])
    return path, jwk


def test_keygen_writes_a_p256_key_only_its_owner_reads_and_prints_the_public_jwk(
    tmp_path: Path,
) -> None:
    path, jwk = keygen(tmp_path)

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert jwk == sdjwt.public_jwk(key.public_key())
    assert "d" not in jwk
    again = run("keygen", "--key", str(path))
    assert (again.exit_code, again.output.count("\n")) == (2, 1)
    assert "already exists" in again.output
    assert path.read_bytes() == key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path, _ = keygen(tmp_path)
    path.chmod(0o644)

    result = run("public-key", "--key", str(path))

    assert result.exit_code == 2
    assert "chmod 600" in result.output
    assert "Traceback" not in result.output


def issued_to(jwk: dict[str, str], *, now: datetime) -> str:
    claims = {"licence": "SH-ID-1", "name": "张三", "id_number": "310101198503040030"}
    claims |= {"address": "上海市黄浦区人民大道200号", "key_custody": "holder"}
    return sdjwt.issue(
        claims,
        selectively_disclosable=["name", "id_number", "address"],
        issuer="SH:sh.police",
        vct="ID",
        signer=sdjwt.es256_signer(ISSUER_KEY, "kid-1"),
        holder_jwk=jwk,
        issued_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(days=1),
    )


def test_present_discloses_only_what_is_named_and_signs_with_the_key_file(
    tmp_path: Path,
) -> None:
    path, jwk = keygen(tmp_path)
    credential = tmp_path / "id.sdjwt"
    now = datetime.now(UTC)
    credential.write_text(issued_to(jwk, now=now))

    result = run(
        "present",
        "--key", str(path),
        "--credential", str(credential),
        "--nonce", NONCE,
        "--aud", HOTEL,
        "--disclose", "name",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    verdict = sdjwt.verify_presentation(
        result.stdout.strip(),
        keys_for=lambda kid, iss: [ISSUER_KEY.public_key()],
        audience=HOTEL,
        nonce=NONCE,
        at=now,
    )
    assert verdict.valid, verdict.detail
    assert verdict.disclosed == ("name",)
    unknown = run(
        "present", "--key", str(path), "--credential", str(credential),
        "--nonce", NONCE, "--aud", HOTEL, "--disclose", "shoe_size",
    )  # fmt: skip
    assert (unknown.exit_code, "Traceback" in unknown.output) == (2, False)
    assert "shoe_size" in unknown.output


def test_a_credential_bound_to_another_key_cannot_be_presented(tmp_path: Path) -> None:
    path, _ = keygen(tmp_path)
    other = sdjwt.public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    credential = tmp_path / "id.sdjwt"
    credential.write_text(issued_to(other, now=datetime.now(UTC)))

    result = run(
        "present", "--key", str(path), "--credential", str(credential),
        "--nonce", NONCE, "--aud", HOTEL,
    )  # fmt: skip

    assert result.exit_code == 2
    assert "cnf.jwk" in result.output


def test_the_reference_verifier_accepts_a_presentation_signed_by_the_command_line_wallet(
    tmp_path: Path,
) -> None:
    verifier_module = pytest.importorskip("sd_jwt.verifier", reason="pip install sd-jwt")
    jwk_module = pytest.importorskip("jwcrypto.jwk")
    path, jwk = keygen(tmp_path)
    credential = tmp_path / "id.sdjwt"
    credential.write_text(issued_to(jwk, now=datetime.now(UTC)))
    result = run(
        "present", "--key", str(path), "--credential", str(credential),
        "--nonce", NONCE, "--aud", HOTEL, "--disclose", "name", "--disclose", "id_number",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    issuer_public = json.dumps(sdjwt.public_jwk(ISSUER_KEY.public_key()))

    verifier = verifier_module.SDJWTVerifier(
        result.stdout.strip(),
        lambda iss, header: jwk_module.JWK.from_json(issuer_public),
        expected_aud=HOTEL,
        expected_nonce=NONCE,
    )
    payload = verifier.get_verified_payload()

    assert (payload["name"], payload["id_number"]) == ("张三", "310101198503040030")
    assert "address" not in payload
    assert payload["cnf"] == {"jwk": jwk}
    with pytest.raises(ValueError, match="nonce"):
        verifier_module.SDJWTVerifier(
            result.stdout.strip(),
            lambda iss, header: jwk_module.JWK.from_json(issuer_public),
            expected_aud=HOTEL,
            expected_nonce="another-nonce",
        )


@pytest.fixture
def platform(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[str]:
    """The app served by uvicorn on a free port (the wallet calls it over HTTP)."""
    import uvicorn

    from twonets.trust import service as trust

    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(
            session, region="SH", root_secret=app.state.secret_key, now=datetime.now(UTC)
        )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_request_fetches_a_credential_bound_to_the_key_file_from_a_running_platform(
    tmp_path: Path, platform: str, app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        core_service.create_department(
            session,
            code="sh.police",
            name="sh.police",
            name_en="sh.police",
            function="police",
            level=DepartmentLevel.CITY,
            region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240001"
            ),
        )
        police = core_service.get_department(session, "sh.police")
        create_staff(session, username="sh.clerk", department=police)
        create_staff(session, username="hotel", department=police, roles=(Role.VERIFIER,))
        number = next_id_number(birth=date(1985, 3, 4))
        create_citizen(session, id_number=number, name="张三", password=PASSWORD)
    with TestClient(app) as client:

        def token(username: str) -> str:
            body = {"username": username, "password": PASSWORD}
            answer: str = client.post("/api/v1/auth/token", json=body).json()["access_token"]
            return answer

        claims = {
            "name": "张三",
            "id_number": number,
            "sex": "female" if int(number[16]) % 2 == 0 else "male",
            "birth_date": "1985-03-04",
            "address": "上海市黄浦区人民大道200号",
            "photo_hash": "0" * 64,
        }
        issued = client.post(
            "/api/v1/licences",
            json={"type_code": "ID", "claims": claims, "valid_from": "2024-01-01"},
            headers={"authorization": f"Bearer {token('sh.clerk')}"},
        )
        assert issued.status_code == 201, issued.text
        licence_id = issued.json()["id"]
        resident, hotel = token(number), token("hotel")
    path, jwk = keygen(tmp_path)
    out = tmp_path / "id.sdjwt"

    fetched = run(
        "request", "--key", str(path), "--licence", str(licence_id), "--out", str(out),
        "--api", platform, "--device", "laptop",
        env={"TWONETS_TOKEN": resident},
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    shown = run(
        "present", "--key", str(path), "--credential", str(out),
        "--nonce", NONCE, "--aud", HOTEL, "--disclose", "name",
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    request = urllib.request.Request(
        platform + "/api/v1/verify",
        data=json.dumps(
            {"credential": shown.stdout.strip(), "audience": HOTEL, "nonce": NONCE}
        ).encode(),
        headers={"Authorization": f"Bearer {hotel}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        verdict = json.loads(response.read())

    assert (verdict["valid"], verdict["key_custody"]) == (True, "holder"), verdict
    assert set(verdict["claims"]) == {"name"}
    assert json.loads(jwk_codec.b64url_decode(out.read_text().split(".")[1]))["cnf"] == {"jwk": jwk}
    wrong = run(
        "request", "--key", str(path), "--licence", str(licence_id), "--out",
        str(tmp_path / "again.sdjwt"), "--api", platform, "--token", hotel,
    )  # fmt: skip
    assert (wrong.exit_code, wrong.output.count("\n")) == (2, 1)
    assert "403" in wrong.output
