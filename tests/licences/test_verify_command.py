"""The offline verify command on a foreign issuer's codes: HCERT test data with a PEM file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twonets.cli import app

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hcert-testdata" / "DE"


def _case(name: str) -> dict[str, object]:
    path = DATA / "2DCode" / "raw" / name
    if not path.exists():
        pytest.skip(f"HCERT conformance data not found at {path}")
    case: dict[str, object] = json.loads(path.read_text())
    return case


def _pem(case: dict[str, object], folder: Path) -> Path:
    der = base64.b64decode(str(case["TESTCTX"]["CERTIFICATE"]))  # type: ignore[index]
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    path = folder / "de-signers.pem"
    text = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    path.write_text(text)
    return path


def test_a_german_code_verifies_against_a_pem_file_of_its_signer(tmp_path: Path) -> None:
    case = _case("1.json")
    pem = _pem(case, tmp_path)
    clock = str(case["TESTCTX"]["VALIDATIONCLOCK"])  # type: ignore[index]
    result = CliRunner().invoke(
        app, ["licences", "verify", "--trust-list", str(pem), "--at", clock, str(case["PREFIX"])]
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["valid"] is True
    assert verdict["region"] == "DE"
    assert verdict["claims"]


def test_the_same_code_fails_without_its_signer_and_after_expiry(tmp_path: Path) -> None:
    case = _case("1.json")
    runner = CliRunner()
    own = tmp_path / "empty.json"
    own.write_text(
        json.dumps(
            {"format": "twonets-trust-bundle", "version": 1, "regions": [], "status_lists": {}}
        )
    )
    untrusted = runner.invoke(
        app, ["licences", "verify", "--trust-list", str(own), str(case["PREFIX"])]
    )
    assert untrusted.exit_code == 1
    assert json.loads(untrusted.output)["step"] in {"trust", "kid"}
    pem = _pem(case, tmp_path)
    late = runner.invoke(
        app,
        [
            "licences",
            "verify",
            "--trust-list",
            str(pem),
            "--at",
            "2031-01-01T00:00:00Z",
            str(case["PREFIX"]),
        ],
    )
    assert late.exit_code == 1
    assert json.loads(late.output)["step"] == "expired"
