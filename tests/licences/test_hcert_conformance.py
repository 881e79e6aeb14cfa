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

from shared_data import SHARED_DATA, shared_data
from twonets.trust.cose import (
    PublicKeyCandidate,
    Step,
    UnreadableQr,
    Verdict,
    decode_unverified,
    kid_from_certificate,
    verify,
)

DATA = SHARED_DATA / "hcert-testdata"
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


# Upstream's known_issues.csv names the test of dgc-testdata's own suite that a case fails;
# each of those tests checks one flag, so a known issue excuses that flag only.
UPSTREAM_TESTS = {
    "test_cose_schema": "EXPECTEDSCHEMAVALIDATION",
    "test_cose_json": "EXPECTEDVALIDJSON",
    "test_cbor_json": "EXPECTEDVALIDJSON",
    "test_verification_check": "EXPECTEDVERIFY",
    "test_expiration_check": "EXPECTEDEXPIRATIONCHECK",
    "test_expected_key_usage": "EXPECTEDKEYUSAGE",
}


def _known_issues() -> dict[tuple[str, str, str], str]:
    """(flag, country, test set) → reason, from upstream's known_issues.csv ("" = every set)."""
    path = DATA / "known_issues.csv"
    if not path.is_file():
        return {}
    issues = {}
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            flag = UPSTREAM_TESTS.get(row["test_name"])
            assert flag is not None, f"known_issues.csv names an unknown test {row['test_name']!r}"
            issues[(flag, row["country"], row["test_set"])] = row["reason"]
    return issues


def _cases() -> Iterator[Any]:
    """One case per (file, flag of the QR verifier it sets); a known issue xfails its flag."""
    if not CASES:
        yield pytest.param(None, None, id="hcert-testdata-missing")
        return
    issues = _known_issues()
    for path in CASES:
        country = path.relative_to(DATA).parts[0]
        flags = json.loads(path.read_text(encoding="utf-8"))["EXPECTEDRESULTS"]
        name = path.relative_to(DATA).as_posix()
        ours = sorted(set(flags) - NOT_OURS)
        if not ours:
            reason = f"only flags outside the QR verifier: {', '.join(sorted(flags))}"
            yield pytest.param(path, None, id=name, marks=pytest.mark.skip(reason=reason))
        for flag in ours:
            reason = issues.get((flag, country, path.stem)) or issues.get((flag, country, ""))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(path, flag, id=f"{name}::{flag}", marks=marks)


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


def _disagreements(
    case: dict[str, Any], verdict: Verdict, der: bytes, *, only: str | None = None
) -> list[str]:
    problems = []
    for flag, expected in case["EXPECTEDRESULTS"].items():
        if only is not None and flag != only:
            continue
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


@pytest.mark.parametrize(("path", "flag"), list(_cases()))
def test_verdict_agrees_with_the_expected_results(path: Path | None, flag: str | None) -> None:
    if path is None:  # no data: skip, or fail under TWONETS_REQUIRE_SERVICES=1
        shared_data("hcert-testdata", "AT", "2DCode", "raw")
        pytest.fail(f"no HCERT conformance case found under {DATA}")
    case = json.loads(path.read_text(encoding="utf-8"))
    context = case["TESTCTX"]
    der = base64.b64decode(context["CERTIFICATE"])
    signer = PublicKeyCandidate.from_certificate(der)
    kid = base64.b64decode(context["KID"]) if "KID" in context else kid_from_certificate(der)

    verdict = verify(
        case["PREFIX"],
        keys_for=lambda wanted: [signer] if wanted == kid else [],
        at=_clock(context["VALIDATIONCLOCK"]),
    )

    problems = _disagreements(case, verdict, der, only=flag)
    assert not problems, f"{context['DESCRIPTION']}: {problems}; verdict: {verdict.detail}"
