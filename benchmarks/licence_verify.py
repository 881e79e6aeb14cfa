"""Headline figures of licences: verifications per second on one core, issuance, storage.

The aim: full verification of a QR credential (base45, zlib, CBOR, the COSE ES256 signature,
validity, status, region trust) at least 70% of the rate of the bare ES256 signature
verification of the same COSE Sig_structure with ``cryptography``, same key, same run. The
full path is ``twonets.licences.verify.verify_credential`` with the trust store built once and
the region's status list already in memory, as a verifier's cache holds it (opened from the
signed Status List Token, as an offline verifier opens it). Both rates are measured on one
core (the process is pinned to one CPU where the OS allows it), in interleaved rounds so that
drift hits both alike; the median round counts. Also measured, for information: the SD-JWT
presentation path against its two bare signatures (ES256 issuer JWT, Ed25519 KB-JWT) and
where the QR path's time goes.

Online verification: ``POST /api/v1/verify`` without HTTP (``service.verify``: the kept trust
store confirmed by the database, the licence's status read from its row, the verification
counted), in one transaction, against the offline full QR path of the same credentials,
interleaved rounds on one core; the aim is at least 50% of the offline rate. Measured on the
SQLite database and again on the temporary PostgreSQL one, each beside the cost of one bare
``SELECT 1`` on the same connection (an online verification asks two statements on SQLite,
one on PostgreSQL).

Issuance: ``service.issue_licence`` of ID cards in a temporary SQLite database, many in one
transaction (against a bare executemany of the same rows) and some committed one by one;
``service.issue_licences`` of as many other ID cards in batches of ``BATCH``, each committed;
``service.sign_qr`` against a bare ES256 signature of the same Sig_structure (interleaved
rounds on one core, medians, in CPU time of the process). On PostgreSQL (below) the same
batches, some ID cards one by one, and a bare executemany of ``BATCH`` licence rows.

Sizes: the QR text length and QR version (error correction M) of an ID card and of a
business licence, the compressed status lists for 95 million licences in lists of
``service.STATUS_LIST_SIZE`` positions each filled to ``service.STATUS_LIST_FILL``, as issuing
fills them, at 1% revoked (one list sampled, multiplied), with a check that issuing does so
(``licence_lists.py``: small lists, batches crossing them, a revocation in its list's
token), and storage per licence on PostgreSQL (a temporary database
``twonets_bench_<hex>`` on the server at ``--postgres-url``, migrated, ``--licences`` ID
cards issued, ``VACUUM ANALYZE``, then ``pg_total_relation_size('licence')`` and each index
over the count; dropped afterwards).
Without PostgreSQL the storage figure is the SQLite file growth per licence, and says so.
The last section scales the measured figures to 95 million licences and 140 million
verifications a year (10x peak); ``docs/licences.md`` explains them.

    .venv/bin/python benchmarks/licence_verify.py [--iterations N] [--licences N]
        [--postgres-url URL | --no-postgres] [--profile]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import platform
import pstats
import statistics
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from licence_lists import check_numbered_lists
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from twonets import migrations
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import Citizen, DepartmentLevel, Enterprise, Role
from twonets.licences import qr, service, status
from twonets.licences.models import Licence
from twonets.licences.verify import verify_credential
from twonets.trust import base45
from twonets.trust import service as trust
from twonets.trust.keys import kid_text
from twonets.trust.store import TrustStore

AIM = 0.70
# Online verification (the database asked) against the offline full QR path, same run.
ONLINE_AIM = 0.50
ROOT_SECRET = b"benchmark-root-secret-32-bytes!!"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Within the KB-JWT's five minutes, so the SD-JWT path verifies in full.
AT = NOW + timedelta(minutes=1)
REGION = "SH"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112")
# Distinct credentials cycled through in the verification loops (not one text over and over).
CREDENTIALS = 100
ROUNDS = 5
REVOKED_SHARE = 0.01
SIZING_LICENCES = 95_000_000
SIZING_VERIFICATIONS_PER_YEAR = 140_000_000
SIZING_PEAK = 10
AUDIENCE = "https://hotel.example/checkin"
# Licences per call of service.issue_licences (and per transaction).
BATCH = 1000
# ID cards issued one by one on PostgreSQL, against the batches.
PG_SINGLES = 500
NONCE = "bench-nonce-0001"
# ID cards issued into small numbered lists, for the check of where they go.
LISTS_CHECK = 100


# --- the city ------------------------------------------------------------------------------


@dataclass
class City:
    """A migrated database with issuing departments, residents, an enterprise and a holder."""

    engine: Engine
    factory: sessionmaker[Session]
    ctx: service.Licensing
    police: Principal
    market: Principal
    holder: Principal
    residents: list[dict[str, Any]]
    enterprise: dict[str, Any]


def _department(session: Session, code: str, function: str, body: str) -> Principal:
    core_service.create_department(
        session,
        code=code,
        name=f"{code} 证照窗口",
        name_en=f"{code} licensing",
        function=function,
        level=DepartmentLevel.CITY,
        region_code=REGION,
        credit_code=make_credit_code(
            authority="1", kind="1", region_code="310000", organisation_body=body
        ),
    )
    account = core_service.create_staff_account(
        session,
        username=f"{code}.clerk",
        display_name=f"{code} clerk",
        password="benchmark-password",
        department_code=code,
        roles=[Role.STAFF],
    )
    return principal_of(account)


def _residents(count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        birth = date(1950, 1, 1) + timedelta(days=i // 1000 * 37 + i % 7)
        district = DISTRICTS[i // 1000 % len(DISTRICTS)]
        rows.append(
            {
                "id_number": make_id_number(district, birth, i % 1000),
                "name": f"居民{i:06d}",
                "birth_date": birth,
                "sex": "male" if i % 2 else "female",
                "district_code": district,
                "address": f"上海市黄浦区南京东路{i % 900 + 1}弄{i % 37 + 1}号{i % 12 + 1}01室",
                "created_at": NOW,
            }
        )
    return rows


def build_city(url: str, residents: int) -> City:
    """Migrate ``url`` and seed what issuing and verifying need (``residents`` ID holders)."""
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rows = _residents(residents)
    enterprise = {
        "credit_code": make_credit_code(region_code="310101", organisation_body="12345678"),
        "name": "上海浦江数字科技有限公司",
        "legal_representative": "王建国",
        "industry": "软件和信息技术服务业",
        "district_code": "310101",
        "address": "上海市黄浦区中山东一路18号",
        "created_at": NOW,
    }
    with unit_of_work(factory) as session:
        core_service.ensure_reference_data(session)
        police = _department(session, "sh.police", "police", "00240001")
        market = _department(session, "sh.market", "market-regulation", "00240002")
        session.execute(insert(Citizen), rows)
        session.execute(insert(Enterprise), [enterprise])
        account = core_service.register_citizen(
            session,
            id_number=make_id_number("310115", date(1988, 6, 1), 123),
            name="李晓梅",
            password="benchmark-password",
            district_code="310101",
            now=NOW,
        )
        holder = principal_of(account)
        trust.ensure_issuing_region(session, region=REGION, root_secret=ROOT_SECRET, now=NOW)
    return City(
        engine,
        factory,
        service.Licensing(ROOT_SECRET),
        police,
        market,
        holder,
        rows,
        enterprise,
    )


def id_card_claims(resident: dict[str, Any]) -> dict[str, str]:
    """The claims of a resident's ID card."""
    return {
        "name": resident["name"],
        "id_number": resident["id_number"],
        "sex": resident["sex"],
        "birth_date": resident["birth_date"].isoformat(),
        "address": resident["address"],
        "photo_hash": hashlib.sha256(f"photo:{resident['id_number']}".encode()).hexdigest(),
    }


def issue_id_card(session: Session, city: City, resident: dict[str, Any]) -> Licence:
    """One ID card, as the police window issues it."""
    return service.issue_licence(
        session,
        city.ctx,
        city.police,
        type_code="ID",
        claims=id_card_claims(resident),
        valid_from=date(2024, 3, 1),
        now=NOW,
    )


# --- timing --------------------------------------------------------------------------------


@contextmanager
def one_core() -> Iterator[str]:
    """Run the block pinned to one CPU (where the OS allows it); yields what was done."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned: this OS has no sched_setaffinity"
        return
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu} of {len(before)}"
    finally:
        os.sched_setaffinity(0, before)


def _rate(
    operation: Callable[[int], object], count: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Operations per second of ``count`` calls ``operation(i)``, by ``clock``."""
    gc.collect()
    started = clock()
    for i in range(count):
        operation(i)
    return count / (clock() - started)


def paired_rates(
    baseline: Callable[[int], object],
    operation: Callable[[int], object],
    iterations: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Median ops/s of both, over ``ROUNDS`` interleaved rounds, after a short warm-up."""
    per_round = max(1, iterations // ROUNDS)
    _rate(baseline, min(per_round, 100), clock)
    _rate(operation, min(per_round, 100), clock)
    first, second = [], []
    for _ in range(ROUNDS):
        first.append(_rate(baseline, per_round, clock))
        second.append(_rate(operation, per_round, clock))
    return statistics.median(first), statistics.median(second)


def median_rate(operation: Callable[[int], object], iterations: int) -> float:
    """Median ops/s over ``ROUNDS`` rounds."""
    per_round = max(1, iterations // ROUNDS)
    _rate(operation, min(per_round, 100))
    return statistics.median(_rate(operation, per_round) for _ in range(ROUNDS))


def row(label: str, rate: float, note: str = "") -> None:
    """One line of a table: label, ops/s, microseconds per op, a note."""
    print(f"  {label:<58} {rate:>10,.0f} {1e6 / rate:>9.1f}  {note}".rstrip())


def header(title: str, unit: str = "ops/s") -> None:
    """A section title and the column heads."""
    print(f"\n{title}")
    print(f"  {'':<58} {unit:>10} {'us/op':>9}")


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class CoseParts:
    """What the bare baseline verifies: the Sig_structure and the DER form of r||s."""

    message: bytes
    der_signature: bytes
    kid: bytes


def cose_parts(qr_text: str) -> CoseParts:
    """The signed bytes and the signature of a QR credential, decoded outside any timing."""
    body = qr_text.split(":", 1)[1]
    tag = cbor2.loads(zlib.decompress(base45.b45decode(body)))
    protected, _, payload, signature = tag.value
    message = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return CoseParts(message, encode_dss_signature(r, s), cbor2.loads(protected)[4])


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass(frozen=True)
class JwsParts:
    """The bare work of an SD-JWT presentation: the issuer's ES256 and the holder's EdDSA."""

    issuer_input: bytes
    issuer_der: bytes
    kid: bytes
    kb_input: bytes
    kb_signature: bytes


def jws_parts(presentation: str) -> JwsParts:
    """The signing inputs and signatures of an SD-JWT presentation."""
    issuer_jwt, kb_jwt = presentation.split("~")[0], presentation.rsplit("~", 1)[1]
    h, p, sig = issuer_jwt.split(".")
    raw = _b64url(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    kid = base64.b64decode(json.loads(_b64url(h))["kid"])
    kh, kp, ks = kb_jwt.split(".")
    return JwsParts(f"{h}.{p}".encode(), der, kid, f"{kh}.{kp}".encode(), _b64url(ks))


@dataclass
class Presented:
    """The credentials the verification loops cycle through, and what verifies them."""

    qr_texts: list[str]
    presentations: list[str]
    revoked_qr: str
    store: TrustStore
    status_lists: dict[str, status.StatusList]
    holder_public: ed25519.Ed25519PublicKey
    bl_qr: str


def present(city: City, licences: Sequence[Licence]) -> Presented:
    """QR texts of ``CREDENTIALS`` ID cards, SD-JWT presentations of the holder's own ID card,
    a revoked card's QR, a business licence's QR; 1% of ``licences`` revoked; the trust store
    and the status list as an offline verifier holds them."""
    with unit_of_work(city.factory) as session:
        chosen = [session.merge(lic) for lic in licences[:CREDENTIALS]]
        qr_texts = [service.sign_qr(session, city.ctx, lic, now=NOW) for lic in chosen]
        to_revoke = max(1, round(len(licences) * REVOKED_SHARE))
        revoked = [session.merge(lic) for lic in licences[-to_revoke:]]
        revoked_qr = service.sign_qr(session, city.ctx, revoked[0], now=NOW)
        for lic in revoked:
            service.change_status(
                session, city.police, licence_id=lic.id, action="revoke", reason="bench", now=NOW
            )
        holder_citizen = session.get(Citizen, city.holder.citizen_id)  # governance: benchmark
        assert holder_citizen is not None
        own = service.issue_licence(
            session,
            city.ctx,
            city.police,
            type_code="ID",
            claims=id_card_claims(
                {
                    "name": holder_citizen.name,
                    "id_number": holder_citizen.id_number,
                    "sex": holder_citizen.sex,
                    "birth_date": holder_citizen.birth_date,
                    "address": "上海市黄浦区中山南路100号",
                }
            ),
            valid_from=date(2024, 3, 1),
            now=NOW,
        )
        presentations = [
            service.assisted_share(
                session,
                city.ctx,
                city.holder,
                licence_id=own.id,
                disclose=["name", "birth_date"],
                audience=AUDIENCE,
                nonce=NONCE,
                now=NOW,
            )
            for _ in range(CREDENTIALS)
        ]
        business = service.issue_licence(
            session,
            city.ctx,
            city.market,
            type_code="BL",
            claims={
                "credit_code": city.enterprise["credit_code"],
                "enterprise_name": city.enterprise["name"],
                "legal_representative": city.enterprise["legal_representative"],
                "business_scope": "软件开发;信息技术咨询服务;数据处理和存储支持服务;"
                "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广",
                "registered_capital": "1000万元人民币",
                "established": "2016-04-12",
                "address": city.enterprise["address"],
            },
            valid_from=date(2016, 4, 12),
            now=NOW,
        )
        bl_qr = service.sign_qr(session, city.ctx, business, now=NOW)
        token = service.status_list_token(session, city.ctx, region=REGION, now=NOW)
        store = trust.trust_store(session, now=NOW)
    keys: dict[str, Any] = {kid_text(k.kid): k.public_key for k in store.trust_list(REGION).keys}
    uri = service.status_uri(REGION)
    opened = status.open_status_list_token(token, public_keys=keys, at=AT, uri=uri)
    return Presented(
        qr_texts,
        presentations,
        revoked_qr,
        store,
        {uri: opened.status_list},
        service.assisted_key(city.ctx, city.holder).public_key(),
        bl_qr,
    )


def check_verdicts(p: Presented) -> None:
    """Fail loudly unless every timed credential verifies and a revoked one does not."""

    def status_of(uri: str, idx: int) -> int | None:
        found = p.status_lists.get(uri)
        return found.get(idx) if found is not None else None

    for text_ in [*p.qr_texts, p.bl_qr, *p.presentations]:
        verdict = verify_credential(
            text_, store=p.store, at=AT, status_of=status_of, audience=AUDIENCE, nonce=NONCE
        )
        if not verdict.valid:
            raise RuntimeError(f"a benchmark credential does not verify: {verdict.to_json()}")
    verdict = verify_credential(p.revoked_qr, store=p.store, at=AT, status_of=status_of)
    if verdict.valid or verdict.step != "status":
        raise RuntimeError(f"a revoked licence was not refused at the status step: {verdict}")
    parts = cose_parts(p.qr_texts[0])
    key = p.store.keys_for(parts.kid)[0][1].public_key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(parts.der_signature, parts.message, ec.ECDSA(hashes.SHA256()))


def verification(p: Presented, iterations: int, figures: dict[str, Any]) -> None:
    """Full against bare, QR and SD-JWT, and the QR path's steps one by one."""
    lists = p.status_lists
    uri = service.status_uri(REGION)
    texts, n = p.qr_texts, len(p.qr_texts)
    parts = [cose_parts(t) for t in texts]
    key = p.store.keys_for(parts[0].kid)[0][1].public_key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    ecdsa = ec.ECDSA(hashes.SHA256())

    def status_of(u: str, idx: int) -> int | None:
        found = lists.get(u)
        return found.get(idx) if found is not None else None

    def bare_qr(i: int) -> None:
        c = parts[i % n]
        key.verify(c.der_signature, c.message, ecdsa)

    def full_qr(i: int) -> object:
        return verify_credential(texts[i % n], store=p.store, at=AT, status_of=status_of)

    jws = [jws_parts(t) for t in p.presentations]
    issuer_key = p.store.keys_for(jws[0].kid)[0][1].public_key
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    holder = p.holder_public
    m = len(jws)

    def bare_sd(i: int) -> None:
        j = jws[i % m]
        issuer_key.verify(j.issuer_der, j.issuer_input, ecdsa)
        holder.verify(j.kb_signature, j.kb_input)

    def full_sd(i: int) -> object:
        return verify_credential(
            p.presentations[i % m],
            store=p.store,
            at=AT,
            status_of=status_of,
            audience=AUDIENCE,
            nonce=NONCE,
        )

    bodies = [t.split(":", 1)[1] for t in texts]
    compressed = [base45.b45decode(b) for b in bodies]
    messages = [zlib.decompress(c) for c in compressed]

    def b45(i: int) -> bytes:
        return base45.b45decode(bodies[i % n])

    def inflate(i: int) -> bytes:
        return zlib.decompress(compressed[i % n])

    def cbor(i: int) -> object:
        tag = cbor2.loads(messages[i % n])
        return cbor2.loads(tag.value[0]), cbor2.loads(tag.value[2])

    def lookup(i: int) -> int | None:
        return status_of(uri, i % lists[uri].size)

    sd_iterations = max(ROUNDS, iterations // 2)
    with one_core() as pinned:
        bare, full = paired_rates(bare_qr, full_qr, iterations)
        bare_two, full_two = paired_rates(bare_sd, full_sd, sd_iterations)
        steps = {
            "base45 decode (base45.b45decode)": median_rate(b45, iterations),
            "zlib inflate": median_rate(inflate, iterations),
            "CBOR decode (COSE_Sign1, protected header, CWT)": median_rate(cbor, iterations),
            "status lookup in the cached list": median_rate(lookup, iterations),
        }
    ratio, ratio_sd = full / bare, full_two / bare_two
    per_round = max(1, iterations // ROUNDS)
    header(
        f"Verification on one core ({pinned}); {len(texts)} distinct credentials,\n"
        f"median of {ROUNDS} interleaved rounds of {per_round:,} "
        f"(SD-JWT: {sd_iterations // ROUNDS:,})"
    )
    row("bare ES256 verify of the same COSE Sig_structure", bare, "baseline")
    verdict = "meets the aim" if ratio >= AIM else "misses the aim"
    row(
        "full QR verification (verify_credential)",
        full,
        f"{ratio:.0%} of bare: {verdict} (>= {AIM:.0%})",
    )
    print("  where the full QR path's time goes (each step alone; the rest is verdict-making):")
    accounted = 1 / bare
    for label, rate in steps.items():
        accounted += 1 / rate
        row(f"  {label}", rate, f"{1 / rate * full:.0%} of a full verification")
    print(
        f"    the ES256 verify itself {1 / bare * full:.0%}; the rest "
        f"{max(0.0, 1 - accounted * full):.0%} (prefix, kid lookup, r||s to DER, dates,\n"
        f"    claims made JSON-able, status reference, verdict)"
    )
    row("bare ES256 + Ed25519 verify (issuer JWT, KB-JWT)", bare_two, "baseline")
    row(
        "full SD-JWT presentation verification",
        full_two,
        f"{ratio_sd:.0%} of bare (informative)",
    )
    figures["verification"] = {
        "bare_es256_per_s": bare,
        "full_qr_per_s": full,
        "ratio": ratio,
        "meets_aim": ratio >= AIM,
        "bare_sd_jwt_per_s": bare_two,
        "full_sd_jwt_per_s": full_two,
        "ratio_sd_jwt": ratio_sd,
        "steps_per_s": steps,
        "pinned": pinned,
    }


@dataclass(frozen=True)
class OnlineRates:
    """Online against offline verification, and one bare statement, on one backend."""

    offline: float
    # Every call in one transaction, rolled back at the end.
    online: float
    # Each call in its own transaction, committed, as the API does (paired with offline again).
    offline_again: float
    committed: float
    # ``SELECT 1`` on the driver's cursor of the same connection: what a statement costs at
    # least (an online verification asks two on SQLite, one on PostgreSQL).
    round_trip: float
    pinned: str


def online_verification(
    city: City,
    texts: Sequence[str],
    store: TrustStore,
    lists: dict[str, status.StatusList],
    count: int,
) -> OnlineRates:
    """Median rates of the offline full QR path (``verify_credential``, the trust store built
    once, the status list in memory) and of ``service.verify`` as ``POST /api/v1/verify`` runs
    it without HTTP (trust check, the licence's status and the count from the database), over
    the same credentials, in interleaved rounds on one core; the online side in one session."""
    n = len(texts)

    def status_of(uri: str, idx: int) -> int | None:
        found = lists.get(uri)
        return found.get(idx) if found is not None else None

    def offline(i: int) -> object:
        return verify_credential(texts[i % n], store=store, at=AT, status_of=status_of)

    with city.factory() as session:

        def online(i: int) -> object:
            return service.verify(session, city.ctx, text=texts[i % n], verifier="bench", now=AT)

        for i in range(n):
            verdict = service.verify(session, city.ctx, text=texts[i], verifier="bench", now=AT)
            if not verdict.valid:
                raise RuntimeError(f"online verification failed: {verdict.to_json()}")
        driver = session.connection().connection

        def round_trip(i: int) -> object:
            cursor = driver.cursor()
            cursor.execute("SELECT 1")
            found = cursor.fetchall()
            cursor.close()
            return found

        with one_core() as pinned:
            offline_rate, online_rate = paired_rates(offline, online, count)
            trip = median_rate(round_trip, count)
        session.rollback()

    def committed(i: int) -> object:
        with unit_of_work(city.factory) as each:
            return service.verify(each, city.ctx, text=texts[i % n], verifier="bench", now=AT)

    with one_core():
        offline_again, committed_rate = paired_rates(offline, committed, count)
    return OnlineRates(offline_rate, online_rate, offline_again, committed_rate, trip, pinned)


def online_rows(backend: str, rates: OnlineRates, count: int, figures: dict[str, Any]) -> None:
    """Print the online rate against the offline one and keep both in ``figures``."""
    offline_rate, online_rate = rates.offline, rates.online
    ratio = online_rate / offline_rate
    header(
        f"Online verification, {backend} ({rates.pinned}); median of {ROUNDS} interleaved rounds "
        f"of {max(1, count // ROUNDS):,}"
    )
    row("offline: verify_credential, store and status list in memory", offline_rate, "baseline")
    verdict = "meets the aim" if ratio >= ONLINE_AIM else "misses the aim"
    row(
        "online: service.verify, every call in one transaction",
        online_rate,
        f"{ratio:.0%} of offline: {verdict} (>= {ONLINE_AIM:.0%})",
    )
    committed_ratio = rates.committed / rates.offline_again
    row(
        "online, each call its own transaction, committed (as the API)",
        rates.committed,
        f"{committed_ratio:.0%} of offline ({rates.offline_again:,.0f}/s in these rounds)",
    )
    extra = 1 / online_rate - 1 / offline_rate
    row(
        "one bare statement (SELECT 1 on the driver's cursor)",
        rates.round_trip,
        f"online adds {extra * 1e6:,.0f} us = {extra * rates.round_trip:.1f} of these",
    )
    figures.setdefault("online", {})[backend] = {
        "offline_per_s": offline_rate,
        "online_per_s": online_rate,
        "ratio": ratio,
        "meets_aim": ratio >= ONLINE_AIM,
        "round_trip_per_s": rates.round_trip,
        "committed_per_s": rates.committed,
        "committed_ratio": committed_ratio,
    }


def profile_online(city: City, p: Presented, iterations: int) -> str:
    """cProfile of ``service.verify``: the 25 most expensive functions by own time."""
    profiler = cProfile.Profile()
    texts = p.qr_texts
    with city.factory() as session:
        service.verify(session, city.ctx, text=texts[0], verifier="bench", now=AT)
        profiler.enable()
        for i in range(iterations):
            service.verify(session, city.ctx, text=texts[i % len(texts)], verifier="bench", now=AT)
        profiler.disable()
        session.rollback()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


# --- issuance ------------------------------------------------------------------------------


def issuance(city: City, batch: int, one_by_one: int, figures: dict[str, Any]) -> list[Licence]:
    """Licences/s of issue_licence in one transaction and committed one by one, and the bare
    executemany of the same rows; returns the licences issued in the batch."""
    database = Path(city.engine.url.database or "")
    size_before = _sqlite_bytes(city.engine, database)
    residents = city.residents
    gc.collect()
    with unit_of_work(city.factory) as session:
        started = time.perf_counter()
        licences = [issue_id_card(session, city, r) for r in residents[:batch]]
        batched = batch / (time.perf_counter() - started)
    grown = _sqlite_bytes(city.engine, database) - size_before
    columns = [c for c in Licence.__table__.columns if c.name != "id"]
    with city.factory() as session:
        rows = [
            {c.name: getattr(lic, c.key) for c in columns}
            | {"identifier": f"{lic.identifier}X", "region_code": "BENCH"}
            for lic in licences
        ]
        gc.collect()
        started = time.perf_counter()
        session.execute(insert(Licence), rows)
        session.flush()
        bare = batch / (time.perf_counter() - started)
        session.rollback()
    gc.collect()
    started = time.perf_counter()
    for r in residents[batch : batch + one_by_one]:
        with unit_of_work(city.factory) as session:
            issue_id_card(session, city, r)
    single = one_by_one / (time.perf_counter() - started)
    batch_api = issue_in_batches(city, residents[batch + one_by_one : 2 * batch + one_by_one])

    with city.factory() as session:
        key = trust.signing_key(
            session, region=REGION, root_secret=ROOT_SECRET, now=NOW, valid_for=timedelta(0)
        )
        private = key.private_key
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        sample = [session.merge(lic) for lic in licences[: min(len(licences), 500)]]
        service.sign_qr(session, city.ctx, sample[0], now=NOW)
        gc.collect()
        texts = [service.sign_qr(session, city.ctx, lic, now=NOW) for lic in sample]
        messages = [cose_parts(t).message for t in texts]
        ecdsa = ec.ECDSA(hashes.SHA256())
        ctx = city.ctx
        with one_core():
            # Interleaved rounds, the median of each, in CPU time of the process: both sides
            # run in it alone, and time the core spends on other work counts on neither.
            bare_sign, signing = paired_rates(
                lambda i: private.sign(messages[i % len(messages)], ecdsa),
                lambda i: service.sign_qr(session, ctx, sample[i % len(sample)], now=NOW),
                5 * len(sample),
                clock=time.process_time,
            )
        session.rollback()

    header("Issuance (SQLite, temporary file)", "per s")
    row("bare executemany of the same licence rows", bare, "baseline")
    row(
        f"issue_licence, {batch:,} ID cards in one transaction",
        batched,
        f"{bare / batched:.0f}x the bare insert",
    )
    row(f"issue_licence, {one_by_one:,} ID cards each committed", single)
    row(
        f"issue_licences, {batch:,} ID cards in batches of {BATCH:,}, each committed",
        batch_api,
        f"{bare / batch_api:.1f}x the bare insert",
    )
    row("bare ES256 sign of the same Sig_structure", bare_sign, "baseline, CPU time")
    row(
        "sign_qr of an ID card (key, claims, CWT, sign, base45)",
        signing,
        f"{signing / bare_sign:.0%} of bare (aim >= 30%), CPU time",
    )
    figures["issuance"] = {
        "batch_per_s": batched,
        "bare_insert_per_s": bare,
        "committed_per_s": single,
        "batch_api_per_s": batch_api,
        "sign_qr_per_s": signing,
        "bare_sign_per_s": bare_sign,
        "sqlite_bytes_per_licence": grown / batch,
    }
    return licences


def issue_in_batches(city: City, residents: Sequence[dict[str, Any]]) -> float:
    """Licences/s of ``service.issue_licences`` over ``residents``, ``BATCH`` a transaction."""
    items = [service.LicenceItem("ID", id_card_claims(r), date(2024, 3, 1)) for r in residents]
    gc.collect()
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        with unit_of_work(city.factory) as session:
            service.issue_licences(
                session, city.ctx, city.police, items[start : start + BATCH], now=NOW
            )
    return len(items) / (time.perf_counter() - started)


def bare_insert(city: City, count: int) -> float:
    """Rows/s of one executemany of ``count`` stored licence rows (copies, rolled back)."""
    columns = [c for c in Licence.__table__.columns if c.name != "id"]
    with city.factory() as session:
        stored = session.scalars(select(Licence).order_by(Licence.id).limit(count)).all()
        rows = [
            {c.name: getattr(lic, c.key) for c in columns}
            | {"identifier": f"{lic.identifier}X", "region_code": "BENCH"}
            for lic in stored
        ]
        gc.collect()
        started = time.perf_counter()
        session.execute(insert(Licence), rows)
        session.flush()
        rate = len(rows) / (time.perf_counter() - started)
        session.rollback()
    return rate


def _sqlite_bytes(engine: Engine, database: Path) -> int:
    """The SQLite file's size with the write-ahead log folded in."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return database.stat().st_size


# --- sizes ---------------------------------------------------------------------------------


def sizes(p: Presented, figures: dict[str, Any]) -> None:
    """QR lengths and versions; the status lists of 95 million licences."""
    print("\nSizes")
    found: dict[str, Any] = {}
    for label, text_ in (("an ID card", p.qr_texts[0]), ("a business licence", p.bl_qr)):
        version = qr.qr_version(text_)
        found[label.split(" ", 1)[1]] = {"characters": len(text_), "qr_version": version}
        print(f"  QR of {label:<20} {len(text_):>5} characters, QR version {version} (ECC M)")
    sd = p.presentations[0]
    print(f"  SD-JWT presentation of an ID card (name, birth date shown): {len(sd):,} characters")
    # Issuing fills each list to STATUS_LIST_FILL positions, then opens the next one: a list
    # holds that many licences, of which REVOKED_SHARE are revoked.
    size, fill, bits = service.STATUS_LIST_SIZE, service.STATUS_LIST_FILL, service.STATUS_BITS
    started = time.perf_counter()
    one = status.compressed_size(size, REVOKED_SHARE * fill / size, bits=bits, seed=2026)
    lists = math.ceil(SIZING_LICENCES / fill)
    total = one * lists
    print(
        f"  status list of {size:,} positions at {bits} bits, {fill:,} used: "
        f"{size * bits // 8:,} bytes raw, {one:,} bytes zlib at {REVOKED_SHARE:.0%} of its "
        f"licences revoked (sampled in {time.perf_counter() - started:.2f} s)"
    )
    print(
        f"  {SIZING_LICENCES:,} licences: {lists:,} lists, {total / 1e6:.1f} MB compressed "
        f"(the base64url 'lst' about 4/3 of it: {total * 4 / 3 / 1e6:.1f} MB)"
    )
    found["status_list"] = {
        "size": size,
        "fill": fill,
        "bits": bits,
        "compressed": one,
        "lists": lists,
    }
    found["presentation_characters"] = len(sd)
    figures["sizes"] = found


# --- storage on PostgreSQL -----------------------------------------------------------------


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def postgres_storage(
    admin_url: str, licences: int, online_count: int, figures: dict[str, Any]
) -> bool:
    """Issue ``licences`` ID cards in a temporary database; print bytes per licence, then
    online verification there against the offline path of the same credentials."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar()
    except Exception as exc:  # any failure to connect means: fall back to SQLite
        admin.dispose()
        print(f"\nStorage: PostgreSQL at {admin_url} is not reachable ({type(exc).__name__})")
        return False
    name = f"twonets_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    city: City | None = None
    try:
        singles = PG_SINGLES
        city = build_city(_with_database(admin_url, name), licences + singles)
        issued = issue_in_batches(city, city.residents[:licences])
        gc.collect()
        started = time.perf_counter()
        with unit_of_work(city.factory) as session:
            for r in city.residents[licences:]:
                issue_id_card(session, city, r)
        issued_singly = singles / (time.perf_counter() - started)
        bare = bare_insert(city, min(BATCH, licences))
        measured = _measure_postgres(city.engine)
        with unit_of_work(city.factory) as session:
            chosen = session.scalars(select(Licence).order_by(Licence.id).limit(CREDENTIALS))
            texts = [service.sign_qr(session, city.ctx, lic, now=NOW) for lic in chosen]
            store = trust.trust_store(session, now=NOW)
            lists = {service.status_uri(REGION): service.status_list(session, region=REGION)}
        online = online_verification(city, texts, store, lists, online_count)
    finally:
        if city is not None:
            city.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    count = measured["count"]
    print(
        f"\nStorage per licence (PostgreSQL {server}, {count:,} ID cards in a temporary "
        f"database, after VACUUM ANALYZE; dropped afterwards)"
    )
    print(f"  {'':<58} {'bytes':>10} {'per licence':>12}")
    for label, value in measured["parts"]:
        print(f"  {label:<58} {value:>10,} {value / count:>12.1f}")
    print(f"  sealed claims column, average octet_length: {measured['claims']:.0f} bytes")
    print(
        f"  issue_licences on PostgreSQL, batches of {BATCH:,} per transaction: {issued:,.0f}/s "
        f"({bare / issued:.1f}x the bare insert of {min(BATCH, licences):,} licence rows, "
        f"{bare:,.0f}/s)"
    )
    print(
        f"  issue_licence on PostgreSQL, {PG_SINGLES:,} ID cards one by one in one "
        f"transaction: {issued_singly:,.0f}/s"
    )
    online_rows(f"PostgreSQL {server}, loopback", online, online_count, figures)
    figures["storage"] = {
        "backend": f"PostgreSQL {server}",
        "count": count,
        "licence_total_per_licence": measured["total"] / count,
        "licence_indexes_per_licence": measured["indexes"] / count,
        "outbox_per_licence": measured["outbox"] / count,
        "postgres_issue_per_s": issued,
        "postgres_single_issue_per_s": issued_singly,
        "postgres_bare_insert_per_s": bare,
    }
    return True


def _measure_postgres(engine: Engine) -> dict[str, Any]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE licence"))
        connection.execute(text("VACUUM ANALYZE outbox_event"))

        def scalar(sql: str) -> Any:
            return connection.execute(text(sql)).scalar()

        count = int(scalar("SELECT count(*) FROM licence"))
        heap = int(scalar("SELECT pg_relation_size('licence')"))
        indexes = int(scalar("SELECT pg_indexes_size('licence')"))
        total = int(scalar("SELECT pg_total_relation_size('licence')"))
        each = connection.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid = 'licence'::regclass ORDER BY 2 DESC"
            )
        ).all()
        claims = float(scalar("SELECT avg(octet_length(claims)) FROM licence"))
        outbox = int(scalar("SELECT pg_total_relation_size('outbox_event')"))
    parts: list[tuple[str, int]] = [("licence heap (pg_relation_size)", heap)]
    parts.append(("licence TOAST and maps (total - heap - indexes)", total - heap - indexes))
    parts += [(f"  index {index}", int(size)) for index, size in each]
    parts.append(("licence indexes (pg_indexes_size)", indexes))
    parts.append(("licence in all (pg_total_relation_size)", total))
    parts.append(("outbox_event, one 'issued' event each (kept until pruned)", outbox))
    return {
        "count": count,
        "parts": parts,
        "total": total,
        "indexes": indexes,
        "claims": claims,
        "outbox": outbox,
    }


# --- sizing --------------------------------------------------------------------------------


def sizing(figures: dict[str, Any]) -> None:
    """The measured figures scaled to 95 million licences and 140 million verifications."""
    print(
        f"\nSizing: {SIZING_LICENCES:,} licences, {SIZING_VERIFICATIONS_PER_YEAR:,} "
        f"verifications a year, peak {SIZING_PEAK}x the average (estimates from the above)"
    )
    stored = figures.get("storage")
    if stored is not None:
        per = stored["licence_total_per_licence"]
        print(
            f"  licence table with indexes: {per:.0f} B x {SIZING_LICENCES:,} = "
            f"{per * SIZING_LICENCES / 1e9:.1f} GB ({stored['backend']}); "
            f"outbox events if never pruned: "
            f"{stored['outbox_per_licence'] * SIZING_LICENCES / 1e9:.1f} GB"
        )
    else:
        per = figures["issuance"]["sqlite_bytes_per_licence"]
        print(
            f"  NO PostgreSQL: SQLite file growth {per:.0f} B per licence x {SIZING_LICENCES:,} "
            f"= {per * SIZING_LICENCES / 1e9:.1f} GB (SQLite, not the production figure)"
        )
    lists = figures["sizes"]["status_list"]
    print(
        f"  status lists: {lists['lists']:,} x {lists['compressed']:,} B = "
        f"{lists['lists'] * lists['compressed'] / 1e6:.1f} MB for a verifier holding all"
    )
    average = SIZING_VERIFICATIONS_PER_YEAR / (365 * 86_400)
    peak = average * SIZING_PEAK
    v = figures["verification"]
    print(f"  verifications: {average:.1f}/s on average, {peak:.0f}/s at peak")
    for label, key in (
        ("verify_credential (QR, cached status list)", "full_qr_per_s"),
        ("verify_credential (SD-JWT presentation)", "full_sd_jwt_per_s"),
        ("service.verify (online, SQLite)", "online_per_s"),
    ):
        if key in v:
            print(f"    {label:<46} {peak / v[key]:.3f} of one core at peak")


# --- main ----------------------------------------------------------------------------------


def profile(p: Presented, iterations: int) -> str:
    """cProfile of the full QR path: the 20 most expensive functions by own time."""
    profiler = cProfile.Profile()
    texts = p.qr_texts
    lists = p.status_lists

    def status_of(uri: str, idx: int) -> int | None:
        return lists[uri].get(idx) if uri in lists else None

    profiler.enable()
    for i in range(iterations):
        verify_credential(texts[i % len(texts)], store=p.store, at=AT, status_of=status_of)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--iterations", type=int, default=5000, help="QR verifications per timed side (>= 50)"
    )
    parser.add_argument(
        "--licences",
        type=int,
        default=5000,
        help="ID cards issued in one transaction, and on PostgreSQL for storage (>= 200)",
    )
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server for the storage")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite file growth only")
    parser.add_argument("--profile", action="store_true", help="also profile the full QR path")
    args = parser.parse_args(argv)
    if args.iterations < 50:
        parser.error("--iterations should be at least 50")
    if args.licences < 200:
        parser.error("--licences should be at least 200")
    one_by_one = max(50, min(500, args.licences // 10))
    figures: dict[str, Any] = {}
    begun = time.perf_counter()
    print(
        f"licence benchmark: Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.iterations:,} verifications a side, "
        f"{args.licences:,} licences"
    )
    with tempfile.TemporaryDirectory() as folder:
        city = build_city(f"sqlite:///{Path(folder) / 'bench.db'}", 2 * args.licences + one_by_one)
        licences = issuance(city, args.licences, one_by_one, figures)
        presented = present(city, licences)
        check_verdicts(presented)
        verification(presented, args.iterations, figures)
        online_count = max(ROUNDS * 20, args.iterations // 5)
        rates = online_verification(
            city, presented.qr_texts, presented.store, presented.status_lists, online_count
        )
        online_rows("SQLite", rates, online_count, figures)
        figures["verification"]["online_per_s"] = rates.online
        sizes(presented, figures)
        small = build_city(f"sqlite:///{Path(folder) / 'lists.db'}", LISTS_CHECK)
        figures["sizes"]["lists_check"] = check_numbered_lists(
            small.factory,
            small.ctx,
            small.police,
            [id_card_claims(r) for r in small.residents],
            region=REGION,
            now=NOW,
        )
        small.engine.dispose()
        if args.profile:
            print(profile(presented, args.iterations))
            print(profile_online(city, presented, max(200, args.iterations // 5)))
        city.engine.dispose()
    stored = not args.no_postgres and postgres_storage(
        args.postgres_url, args.licences, online_count, figures
    )
    if not stored:
        per = figures["issuance"]["sqlite_bytes_per_licence"]
        print(
            f"\nStorage per licence: NO PostgreSQL measurement; SQLite file growth while "
            f"issuing {args.licences:,} ID cards: {per:.0f} bytes per licence "
            f"(licence row, its indexes and its outbox event)"
        )
    sizing(figures)
    print(f"\nwhole run {time.perf_counter() - begun:.1f} s")
    return figures


if __name__ == "__main__":
    main()
