"""Every online verification is counted once, whatever happened between the verdict worked
out against the kept trust store and the verdict returned: a status that refuses the
licence, a trust change that makes the verdict be worked out again, another transaction
counting the day's first verification of the same kind at the same moment. On PostgreSQL a
kept verification asks the database one statement (it counts in it)."""

from __future__ import annotations

import os
import tempfile
import threading
from functools import partial
from pathlib import Path

import pytest
from psycopg import pq
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from licences.test_online_verify import ROOT, City, T, _change, _issue, city
from twonets.core.db import unit_of_work
from twonets.licences import service
from twonets.licences.models import VerificationCount
from twonets.trust import service as trust

__all__ = ["city"]  # the fixture, shared with the tests of online verification


def _counts(city: City) -> dict[tuple[str, str, str, str], int]:
    """Every counter row: (verifier, type, region, result) and its count."""
    with city.other.factory() as session:
        rows = session.scalars(select(VerificationCount)).all()
        return {(c.verifier, c.type_code, c.region_code, c.result): c.count for c in rows}


def test_a_verdict_worked_out_again_after_a_trust_change_is_counted_once(city: City) -> None:
    _, sh_text = _issue(city)
    _, js_text = _issue(city, region="JS")
    assert city.one.verify(sh_text)["valid"] is True  # the first worker keeps SH's store
    assert city.one.verify(js_text)["step"] == "prefix"

    with unit_of_work(city.other.factory) as session:
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", ROOT),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=T,
        )
    # The kept store says "prefix"; the database says JS is recognised now: valid, and only
    # that counted (for "gate", whose first verification this is, no "prefix" row is left).
    assert city.one.verify(js_text, verifier="gate")["valid"] is True
    assert city.one.verify(js_text)["valid"] is True

    with unit_of_work(city.other.factory) as session:
        trust.drop_region(session, region="JS")
    assert city.one.verify(js_text)["step"] == "prefix"
    assert _counts(city) == {
        ("hotel", "ID", "SH", "valid"): 1,
        ("hotel", "unknown", "unknown", "prefix"): 2,
        ("hotel", "DL", "JS", "valid"): 1,
        ("gate", "DL", "JS", "valid"): 1,
    }


def test_a_licence_refused_by_its_status_is_counted_once_at_the_status_step(
    city: City,
) -> None:
    licence_id, text = _issue(city)
    assert city.one.verify(text)["valid"] is True
    _change(city.other, city.police, licence_id, "suspend")
    assert city.one.verify(text)["status"] == "suspended"
    assert city.one.verify(text, verifier="gate")["status"] == "suspended"
    # Revoked in the verifying transaction: seen, and counted with it (or not, rolled back).
    for commit in (False, True):
        with city.one.factory() as session:
            service.change_status(
                session, city.police, licence_id=licence_id, action="revoke", reason="x", now=T
            )
            verdict = service.verify(session, city.one.ctx, text=text, verifier="desk", now=T)
            assert (verdict.step, verdict.status) == ("status", "revoked")
            session.commit() if commit else session.rollback()
    assert _counts(city) == {
        ("hotel", "ID", "SH", "valid"): 1,
        ("hotel", "ID", "SH", "status"): 1,
        ("gate", "ID", "SH", "status"): 1,
        ("desk", "ID", "SH", "status"): 1,
    }


def test_two_first_verifications_of_a_kind_at_once_both_count(city: City, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs at once")
    _, text = _issue(city)
    city.one.verify(text)
    city.other.verify(text)  # both workers keep their stores from here on
    done: list[object] = []

    def other_process() -> None:
        try:
            done.append(city.other.verify(text, verifier="gate")["valid"])
        except Exception as exc:  # reported below, in the test's own thread
            done.append(exc)

    with unit_of_work(city.one.factory) as session:
        assert service.verify(session, city.one.ctx, text=text, verifier="gate", now=T).valid
        # The other process counts the same kind while this transaction holds the new row:
        # it waits on it until this commits, then adds one to it.
        racer = threading.Thread(target=other_process)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()
    racer.join()
    assert done == [True]
    assert _counts(city)[("gate", "ID", "SH", "valid")] == 2


def _statements(session: Session, verify: object) -> list[str]:
    """The messages the driver sent to the server while ``verify`` ran (libpq's trace)."""
    assert callable(verify)
    pgconn = session.connection().connection.driver_connection.pgconn  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace"
        with path.open("w") as out:
            pgconn.trace(out.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                verify()
            finally:
                pgconn.untrace()
                out.flush()
                os.fsync(out.fileno())
        lines = path.read_text().splitlines()
    # Each statement the client sends ends with a Sync (extended protocol) or is a Query.
    return [
        line for line in lines if line.startswith("F\t") and ("\tSync" in line or "\tQuery" in line)
    ]


def test_a_kept_verification_asks_postgresql_one_statement(city: City, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite answers in the process: two statements cost no round trip")
    licence_id, text = _issue(city)
    _change(city.one, city.police, licence_id, "suspend")
    with city.one.factory() as session:

        def verify(code: str) -> dict[str, object]:
            return service.verify(
                session, city.one.ctx, text=code, verifier="hotel", now=T
            ).to_json()

        assert verify(text)["status"] == "suspended"  # the store kept, the transaction begun
        for code in (text, "SH1:garbage", "HC1:NCF"):
            first = verify(code)
            sent = _statements(session, partial(verify, code))
            assert len(sent) == 1, sent
            assert verify(code) == first
        session.rollback()
