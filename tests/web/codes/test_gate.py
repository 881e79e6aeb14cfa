"""The gate's page: one banner for every verdict, a scan kept only with the answer shown.

Every verdict is one banner whose words come from the verdict's reason code (no
identifiers, no glyph a terminal's fonts lack); a checkpoint named in Chinese is kept and
remembered; a second scan at the same gate says so; the form speaks its labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from codes.world import T
from test_bad_files import photo_corpus
from twonets.codes import service, token
from twonets.core.auth import Principal
from twonets.web.codes import gate as gate_page
from web.codes.desk import (
    CHINESE_GATE,
    Desk,
    banner_of,
    id_number_of,
    outcome_attr,
    report_fact,
    revoke_library_code,
    scan,
)


def test_a_checkpoint_named_in_chinese_is_scanned_kept_and_remembered(desk: Desk) -> None:
    gate = desk.browser(desk.world.library)
    response = scan(gate, desk.code(desk.world.resident), CHINESE_GATE)
    assert response.status_code == 200, response.text[:500]
    assert outcome_attr(response.text, "data-reason") == "admit"
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

    monkeypatch.setattr(gate_page, "render", broken)
    failing = TestClient(desk.app, raise_server_exceptions=False, cookies=gate.cookies)
    response = failing.post(
        "/code/scan",
        data={"code": text, "place": CHINESE_GATE},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 500
    assert desk.scans() == []


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


def _red(desk: Desk) -> tuple[Principal, str]:
    report_fact(desk, desk.world.resident_id_number, "contact", "close")
    return desk.world.checkpoint, desk.code(desk.world.resident, "health")


def _yellow(desk: Desk) -> tuple[Principal, str]:
    report_fact(desk, id_number_of(desk, desk.world.other), "travel", "an area with a cluster")
    return desk.world.checkpoint, desk.code(desk.world.other, "health")


def _replayed(desk: Desk) -> tuple[Principal, str]:
    text = desk.code(desk.world.resident)
    scan(desk.browser(desk.world.library), text, "Pudong Library, north gate")
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
    "revoked": (revoke_library_code, "refuse", "Code withdrawn", ("Do not let the holder in",)),
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
    response = scan(desk.browser(scanner), text)
    assert response.status_code == 200, response.text[:500]
    assert outcome_attr(response.text, "data-reason") == kind
    shown = banner_of(response.text)
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
    first = scan(gate, text)
    assert 'data-testid="repeat"' not in first.text
    desk.now[0] = T + timedelta(seconds=20)
    second = scan(gate, text)
    assert outcome_attr(second.text, "data-reason") == "admit"
    local = (T + timedelta(hours=8)).strftime("%H:%M")
    assert f"Already scanned here at {local}" in banner_of(second.text)
    assert "not counted twice" in second.text
    assert desk.scans() == ["admitted"]


def test_the_scan_form_keeps_the_code_and_names_fields_by_their_labels(desk: Desk) -> None:
    gate = desk.browser(desk.world.library)
    text = desk.code(desk.world.resident)
    response = scan(gate, text, place="   ")
    assert response.status_code == 422
    assert text in response.text  # the scanned text is still in the form
    errors = re.search(r'data-testid="form-error">(.*?)</div>', response.text, re.S)
    assert errors is not None
    assert "Checkpoint: name the checkpoint" in errors.group(1)
    assert "place:" not in response.text
    assert desk.scans() == []


def test_the_gate_speaks_chinese_with_the_scenarios_chinese_names(desk: Desk) -> None:
    gate = desk.browser(desk.world.library, language="zh-CN")

    admitted = scan(gate, desk.code(desk.world.resident))
    wrong = scan(gate, desk.code(desk.world.resident, "health"))

    assert "请先核查" not in banner_of(admitted.text)
    assert "放行" in banner_of(admitted.text)
    assert "图书馆入馆码有效" in banner_of(admitted.text)
    shown = banner_of(wrong.text)
    assert shown.startswith("check|")
    assert "请先核查" in shown
    assert "这是健康状态码。本入口核验图书馆入馆码" in shown
    assert "Library" not in shown
    assert 'placeholder="例如：上海图书馆 东门"' in wrong.text


@pytest.mark.parametrize(("kind", "name", "data"), photo_corpus(), ids=lambda v: str(v)[:20])
def test_a_broken_photo_is_a_clear_error_naming_it_and_no_scan_is_kept(
    desk: Desk, kind: str, name: str, data: bytes
) -> None:
    gate = desk.browser(desk.world.library)
    response = gate.post(
        "/code/scan",
        data={"code": "", "place": "east gate"},
        files={"image": (name, data, "application/octet-stream")},
    )

    assert response.status_code in {413, 422}, (kind, response.status_code)
    assert 'data-testid="form-error"' in response.text
    assert f"{name}: " in response.text
    assert desk.scans() == []
