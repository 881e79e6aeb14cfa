"""Code pages over HTTP, logged in through the login form: the desk, the holder, the appeals.

The scanner's desk answers every verdict with one banner whose words come from the verdict's
reason code (no identifiers, no glyph a terminal's fonts lack), keeps a scan only with the
answer the gate saw, and remembers a checkpoint named in Chinese.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import PASSWORD
from codes.world import T, World
from twonets.codes import service, token
from twonets.codes.models import ScanRecord
from twonets.core.auth import Principal
from twonets.web import code_pages

CHINESE_GATE = "上海图书馆 东门"


@dataclass
class Desk:
    """The app on the code world, with a clock the test moves."""

    app: FastAPI
    world: World
    now: list[datetime]

    def browser(self, who: Principal) -> TestClient:
        """A client logged in as ``who`` through the login form (a session cookie)."""
        client = TestClient(self.app, headers={"Origin": "http://testserver"})
        response = client.post(
            "/login",
            data={"username": who.username, "password": PASSWORD, "next": "/"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    def code(
        self, holder: Principal, scenario: str = "library", *, at: datetime | None = None
    ) -> str:
        """A code of ``holder`` signed at ``at`` (the desk's time by default)."""
        with self.world.session() as session:
            return service.issue_code(
                session, self.world.ctx, holder, scenario=scenario, now=at or self.now[0]
            ).text

    def scans(self) -> list[str]:
        """The results of the scans kept."""
        with self.world.session() as session:
            return list(session.scalars(select(ScanRecord.result).order_by(ScanRecord.id)))


@pytest.fixture
def desk(world: World, app: FastAPI, client: TestClient) -> Desk:
    now = [T]
    app.state.coding = world.ctx
    app.state.clock = lambda: now[0]
    return Desk(app, world, now)


def _scan(client: TestClient, text: str, place: str = "east gate") -> Any:
    return client.post("/code/scan", data={"code": text, "place": place})


def _banner(page: str) -> str:
    found = re.search(
        r'<div class="gate (\w+)"[^>]*data-testid="banner">(.*?)</div>\s*</div>', page, re.S
    )
    assert found, "no banner on the page"
    return found.group(1) + "|" + html.unescape(re.sub(r"<[^>]+>", " ", found.group(2)))


def _attr(page: str, name: str) -> str:
    found = re.search(rf'data-testid="outcome"[^>]*?{name}="([^"]*)"', page, re.S)
    assert found, f"no {name} on the outcome"
    return found.group(1)


# --- the checkpoint named in Chinese ----------------------------------------------------------


def test_a_checkpoint_named_in_chinese_is_scanned_kept_and_remembered(desk: Desk) -> None:
    gate = desk.browser(desk.world.library)
    response = _scan(gate, desk.code(desk.world.resident), CHINESE_GATE)
    assert response.status_code == 200, response.text[:500]
    assert _attr(response.text, "data-reason") == "admit"
    cookie = response.headers["set-cookie"]
    cookie.encode("ascii")  # a header carries no raw Chinese
    assert desk.scans() == ["admitted"]
    # The next holder's form opens with the checkpoint filled in, in Chinese.
    again = gate.get("/code/scan")
    assert f'value="{CHINESE_GATE}"' in again.text
    holder = desk.browser(desk.world.resident).get("/code?scenario=library")
    assert CHINESE_GATE in holder.text


def test_no_scan_is_kept_when_the_answer_cannot_be_given(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = desk.browser(desk.world.library)
    text = desk.code(desk.world.resident)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr(code_pages, "render", broken)
    failing = TestClient(desk.app, raise_server_exceptions=False, cookies=gate.cookies)
    response = failing.post(
        "/code/scan",
        data={"code": text, "place": CHINESE_GATE},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 500
    assert desk.scans() == []


# --- one banner for every verdict -------------------------------------------------------------


def _forged(desk: Desk) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    with desk.world.session() as session:
        key = desk.world.ctx.signing_key(session, "SH", T)
    claims = token.CodeClaims(bytes(16), "citizen", "library", "valid", bytes(8), {})
    return token.encode_code(
        claims,
        region="SH",
        private_key=ec.generate_private_key(ec.SECP256R1()),
        kid=key.kid,
        issued_at=T,
        rotation=timedelta(seconds=60),
    )


def _genuine_but_suspended(desk: Desk) -> str:
    world = desk.world
    with world.session() as session:
        holder = service.ensure_holder(
            session, world.ctx, kind="citizen", holder_id=world.resident.citizen_id or 0, now=T
        )
        key = world.ctx.signing_key(session, "SH", T)
        claims = token.CodeClaims(
            token.token_bytes(holder.token), "citizen", "library", "suspended", bytes(8), {}
        )
        assert key.private_key is not None
        return token.encode_code(
            claims,
            region="SH",
            private_key=key.private_key,  # type: ignore[arg-type]
            kid=key.kid,
            issued_at=T,
            rotation=timedelta(seconds=60),
        )


def _fact(desk: Desk, holder_number: str, kind: str, value: str) -> None:
    with desk.world.session() as session:
        service.record_health_fact(
            session,
            desk.world.ctx,
            desk.world.health_staff,
            id_number=holder_number,
            kind=kind,
            value=value,
            observed_at=T - timedelta(days=1),
            now=T,
        )


def _number(desk: Desk, who: Principal) -> str:
    from twonets.core.models import Citizen

    with desk.world.session() as session:
        found = session.scalar(select(Citizen.id_number).where(Citizen.id == who.citizen_id))
    assert found is not None
    return found


def _red(desk: Desk) -> tuple[Principal, str]:
    _fact(desk, desk.world.resident_id_number, "contact", "close")
    return desk.world.checkpoint, desk.code(desk.world.resident, "health")


def _yellow(desk: Desk) -> tuple[Principal, str]:
    _fact(desk, _number(desk, desk.world.other), "travel", "an area with a cluster")
    return desk.world.checkpoint, desk.code(desk.world.other, "health")


def _revoked(desk: Desk) -> tuple[Principal, str]:
    text = desk.code(desk.world.resident)
    with desk.world.session() as session:
        service.set_holder_status(
            session,
            desk.world.ctx,
            desk.world.culture_authority,
            scenario="library",
            id_number=desk.world.resident_id_number,
            revoke=True,
            reason="card lent to others",
            now=T,
        )
    return desk.world.library, text


def _replayed(desk: Desk) -> tuple[Principal, str]:
    text = desk.code(desk.world.resident)
    _scan(desk.browser(desk.world.library), text, "Pudong Library, north gate")
    return desk.world.library, text


KINDS: dict[str, tuple[Callable[[Desk], tuple[Principal, str]], str, str, tuple[str, ...]]] = {
    # kind: (set-up, colour, title, words the advice must hold)
    "admit": (
        lambda d: (d.world.library, d.code(d.world.resident)),
        "admit",
        "Library entry code is valid",
        ("Let the holder in",),
    ),
    "wrong_scenario": (
        lambda d: (d.world.library, d.code(d.world.resident, "health")),
        "check",
        "Wrong kind of code",
        ("This is a Health status code", "This gate checks Library entry codes"),
    ),
    "health_red": (_red, "refuse", "Red health code", ("may not enter",)),
    "health_yellow": (_yellow, "check", "Yellow health code", ("negative test",)),
    "revoked": (_revoked, "refuse", "Code withdrawn", ("Do not let the holder in",)),
    "expired": (
        lambda d: (d.world.library, d.code(d.world.resident, at=T - timedelta(minutes=5))),
        "check",
        "Code out of date",
        ("open their code again",),
    ),
    "forged": (
        lambda d: (d.world.library, _forged(d)),
        "refuse",
        "Forged or altered code",
        ("not issued as shown",),
    ),
    "replay": (_replayed, "check", "Possible copy", ("refresh the code in front of you",)),
    "not_allowed": (
        lambda d: (d.world.library, _genuine_but_suspended(d)),
        "refuse",
        "Entry not allowed",
        ("does not allow entry here",),
    ),
}
HEADLINES = {"admit": "ADMIT", "check": "CHECK FIRST", "refuse": "DO NOT ADMIT"}
# Latin, CJK and general punctuation only: the gate's fonts have these (Noto CJK).
_PRINTABLE = re.compile(r"[\u0000-\u024f\u2000-\u206f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_verdict_is_one_banner_in_a_gatekeeper_s_words(desk: Desk, kind: str) -> None:
    setup, colour, title, words = KINDS[kind]
    scanner, text = setup(desk)
    response = _scan(desk.browser(scanner), text)
    assert response.status_code == 200, response.text[:500]
    assert _attr(response.text, "data-reason") == kind
    shown = _banner(response.text)
    assert shown.startswith(colour + "|")
    assert HEADLINES[colour] in shown
    assert title in shown
    for word in words:
        assert word in shown
    # No internal identifiers, no raw detail text, no glyph the fonts lack.
    for internal in ("sh.", "scenario names", "_", "health-scan", "library-entry"):
        assert internal not in shown, internal
    assert _PRINTABLE.fullmatch(shown), [c for c in shown if not _PRINTABLE.fullmatch(c)]
    assert "form-error" not in response.text


def test_a_second_scan_at_the_same_gate_says_so_and_counts_once(desk: Desk) -> None:
    gate = desk.browser(desk.world.library)
    text = desk.code(desk.world.resident)
    first = _scan(gate, text)
    assert 'data-testid="repeat"' not in first.text
    desk.now[0] = T + timedelta(seconds=20)
    second = _scan(gate, text)
    assert _attr(second.text, "data-reason") == "admit"
    local = (T + timedelta(hours=8)).strftime("%H:%M")
    assert f"Already scanned here at {local}" in _banner(second.text)
    assert "not counted twice" in second.text
    assert desk.scans() == ["admitted"]


# --- forms keep what was typed and speak their labels -----------------------------------------


def test_the_scan_form_keeps_the_code_and_names_fields_by_their_labels(desk: Desk) -> None:
    gate = desk.browser(desk.world.library)
    text = desk.code(desk.world.resident)
    response = _scan(gate, text, place="   ")
    assert response.status_code == 422
    assert text in response.text  # the scanned text is still in the form
    errors = re.search(r'data-testid="form-error">(.*?)</div>', response.text, re.S)
    assert errors is not None
    assert "Checkpoint: name the checkpoint" in errors.group(1)
    assert "place:" not in response.text
    assert desk.scans() == []


def test_a_failed_appeal_keeps_the_code_on_screen_and_what_was_typed(desk: Desk) -> None:
    _fact(desk, desk.world.resident_id_number, "contact", "close")
    holder = desk.browser(desk.world.resident)
    response = holder.post("/code/appeal", data={"statement": "not me"})
    assert response.status_code == 422
    assert 'data-testid="code"' in response.text
    assert 'class="qr"' in response.text
    assert ">not me</textarea>" in response.text
    assert "statement:" not in response.text
    assert "at least 10 characters" in response.text


def test_a_rejected_decision_keeps_the_typed_reason_and_speaks_the_labels(desk: Desk) -> None:
    _fact(desk, desk.world.resident_id_number, "contact", "close")
    with desk.world.session() as session:
        appeal = service.file_appeal(
            session, desk.world.ctx, desk.world.resident, statement="I was at home.", now=T
        )
    authority = desk.browser(desk.world.health_authority)
    response = authority.post(
        f"/codes/appeals/{appeal.id}",
        data={"decision": "uphold", "colour": "", "reason": "the contact was a namesake"},
    )
    assert response.status_code == 422
    assert 'value="the contact was a namesake"' in response.text
    assert f"Appeal {appeal.id}: Colour if upheld:" in response.text
    assert "colour:" not in response.text


# --- the holder's page --------------------------------------------------------------------------


def test_a_resident_s_code_opens_on_the_health_status(desk: Desk) -> None:
    page = desk.browser(desk.world.resident).get("/code")
    assert page.status_code == 200
    assert re.search(r'aria-current="page" data-testid="scenario-health"', page.text)
    assert 'data-testid="code"' in page.text


def test_the_default_follows_age_when_the_health_status_is_not_in_use(desk: Desk) -> None:
    world = desk.world
    with world.session() as session:
        service.get_scenario(session, "health").active = False
    world.ctx.forget()
    with world.session() as session:
        elder = service.default_scenario(session, world.ctx, world.resident, now=T)
        firm = service.default_scenario(session, world.ctx, world.firm, now=T)
    assert elder == "elderly-care"  # born in 1950
    assert firm == "identity"


def test_the_holder_reads_who_withdrew_a_code_and_why(desk: Desk) -> None:
    _revoked(desk)
    page = desk.browser(desk.world.resident).get("/code?scenario=library")
    assert page.status_code == 200
    assert 'data-testid="revocation"' in page.text
    assert "card lent to others" in page.text
    assert "withdrawn by sh.culture" in page.text  # the test office's English name
    assert 'class="qr"' not in page.text  # no code is signed for a withdrawn scenario


def test_the_appeals_desk_is_the_health_codes_authority_s(desk: Desk) -> None:
    planner = desk.browser(desk.world.planner)
    assert planner.get("/codes/appeals").status_code == 403
    assert 'href="/codes/appeals"' not in planner.get("/").text
    authority = desk.browser(desk.world.health_authority)
    assert authority.get("/codes/appeals").status_code == 200
    assert 'href="/codes/appeals"' in authority.get("/").text


def test_a_codes_authority_of_another_function_is_told_whose_work_appeals_are(
    desk: Desk,
) -> None:
    page = desk.browser(desk.world.culture_authority).get("/codes/appeals")
    assert page.status_code == 200  # the menu shows it to every codes authority
    assert 'data-testid="not-yours"' in page.text
    assert "You decide about Library entry and Sports venue codes" in page.text
    assert 'data-testid="appeal"' not in page.text
