"""The QR verifier against the public HCERT conformance suite (EU DCC test data, dgc-testdata).

Each JSON case gives the QR text (PREFIX), the signer certificate and the clock (TESTCTX), and
EXPECTEDRESULTS flags; a missing flag means that step is not tested. Each flag maps to our steps:

- EXPECTEDUNPREFIX false → fails at prefix; true → gets past it (likewise EXPECTEDB45DECODE →
  base45, EXPECTEDCOMPRESSION → compression, EXPECTEDDECODE → cbor);
- EXPECTEDVERIFY false → fails at signature, kid or earlier; true → gets past the signature;
- EXPECTEDEXPIRATIONCHECK false → fails at not_yet_valid or expired; true → ok;
- EXPECTEDVALIDJSON → the decoded claims equal the case's JSON;
- EXPECTEDKEYUSAGE → the signature verifies and the certificate's extended key usage allows
  the certificate type (v/t/r) the claims hold.

EXPECTEDSCHEMAVALIDATION (the EU DCC JSON schema), EXPECTEDPICTUREDECODE (PNG decoding),
EXPECTEDVALIDOBJECT and EXPECTEDENCODE (JSON to CBOR) are not about the QR verifier.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from twonets.licences.qr import (
    PublicKeyCandidate,
    Step,
    UnreadableQr,
    Verdict,
    decode_unverified,
    kid_from_certificate,
    verify,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hcert-testdata"
CASES = sorted(DATA.glob("*/2DCode/raw/*.json")) if DATA.is_dir() else []
NOT_OURS = {
    "EXPECTEDSCHEMAVALIDATION",
    "EXPECTEDPICTUREDECODE",
    "EXPECTEDVALIDOBJECT",
    "EXPECTEDENCODE",
}
# The steps a flag covers: false means the verdict fails at one of them.
FAILS_AT = {
    "EXPECTEDUNPREFIX": {Step.PREFIX},
    "EXPECTEDB45DECODE": {Step.BASE45},
    "EXPECTEDCOMPRESSION": {Step.COMPRESSION},
    "EXPECTEDDECODE": {Step.CBOR},
    "EXPECTEDVERIFY": {
        Step.PREFIX,
        Step.BASE45,
        Step.COMPRESSION,
        Step.CBOR,
        Step.KID,
        Step.SIGNATURE,
    },
    "EXPECTEDEXPIRATIONCHECK": {Step.NOT_YET_VALID, Step.EXPIRED},
}
# ... and true means it gets past this step.
PASSES = {
    "EXPECTEDUNPREFIX": Step.PREFIX,
    "EXPECTEDB45DECODE": Step.BASE45,
    "EXPECTEDCOMPRESSION": Step.COMPRESSION,
    "EXPECTEDDECODE": Step.CBOR,
    "EXPECTEDVERIFY": Step.SIGNATURE,
}
# Extended key usage OIDs of DCC signer certificates, by certificate type (with the variants
# issued before the OIDs were fixed).
KEY_USAGE = {
    "t": {"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"},
    "v": {"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"},
    "r": {"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"},
}


def _known_issues() -> dict[tuple[str, str], str]:
    """(country, test set) → reason, from upstream's known_issues.csv ("" = every set)."""
    path = DATA / "known_issues.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as file:
        return {(row["country"], row["test_set"]): row["reason"] for row in csv.DictReader(file)}


def _cases() -> Iterator[Any]:
    if not CASES:
        reason = f"HCERT conformance data not found at {DATA} (shared/data/hcert-testdata)"
        yield pytest.param(None, id="hcert-testdata-missing", marks=pytest.mark.skip(reason=reason))
        return
    issues = _known_issues()
    for path in CASES:
        country = path.relative_to(DATA).parts[0]
        reason = issues.get((country, path.stem)) or issues.get((country, ""))
        marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
        yield pytest.param(path, id=path.relative_to(DATA).as_posix(), marks=marks)


def _clock(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key_usage_allows(certificate_der: bytes, claims: dict[str, Any]) -> bool:
    """Whether the signer certificate may sign the certificate type the claims hold."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except ValueError:  # CO15's extended key usage is an empty sequence, which is not DER
        return True
    oids = {oid.dotted_string for oid in usage} & set().union(*KEY_USAGE.values())
    kinds = [kind for kind in KEY_USAGE if kind in claims]
    assert len(kinds) == 1, f"expected one of v/t/r in the claims, got {sorted(claims)}"
    return not oids or bool(oids & KEY_USAGE[kinds[0]])


def _disagreements(case: dict[str, Any], verdict: Verdict, der: bytes) -> list[str]:
    problems = []
    for flag, expected in case["EXPECTEDRESULTS"].items():
        if flag in PASSES and expected and not verdict.passed(PASSES[flag]):
            problems.append(f"{flag} true, but failed at {verdict.step}")
        elif flag in FAILS_AT and not expected and verdict.step not in FAILS_AT[flag]:
            problems.append(f"{flag} false, but got to {verdict.step}")
        elif flag == "EXPECTEDEXPIRATIONCHECK" and expected and not verdict.valid:
            problems.append(f"{flag} true, but failed at {verdict.step}")
        elif flag == "EXPECTEDVALIDJSON":
            try:
                claims = decode_unverified(case["PREFIX"]).claims
            except UnreadableQr as error:
                claims = {"unreadable": error.detail}
            if (claims == case["JSON"]) != expected:
                problems.append(f"{flag} {expected}, but decoded claims are {claims}")
        elif flag == "EXPECTEDKEYUSAGE":
            allowed = verdict.claims is not None and _key_usage_allows(der, verdict.claims)
            if allowed != expected:
                problems.append(f"{flag} {expected}, but key usage allows it: {allowed}")
    return problems


@pytest.mark.parametrize("path", list(_cases()))
def test_verdict_agrees_with_the_expected_results(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    flags = set(case["EXPECTEDRESULTS"])
    if not flags - NOT_OURS:
        pytest.skip(f"only flags outside the QR verifier: {', '.join(sorted(flags))}")
    context = case["TESTCTX"]
    der = base64.b64decode(context["CERTIFICATE"])
    signer = PublicKeyCandidate.from_certificate(der)
    kid = base64.b64decode(context["KID"]) if "KID" in context else kid_from_certificate(der)

    verdict = verify(
        case["PREFIX"],
        keys_for=lambda wanted: [signer] if wanted == kid else [],
        at=_clock(context["VALIDATIONCLOCK"]),
    )

    problems = _disagreements(case, verdict, der)
    assert not problems, f"{context['DESCRIPTION']}: {problems}; verdict: {verdict.detail}"
