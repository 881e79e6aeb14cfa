"""Sign-up against the registers, on SQLite and PostgreSQL: one answer, codes, tries, throttles."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import (
    NOW,
    PASSWORD,
    create_citizen,
    create_enterprise,
    create_resident,
    next_id_number,
)
from twonets.core import auth, signup
from twonets.core.errors import Invalid
from twonets.core.models import Account, SignupMessage, SignupStatus
from twonets.core.sms import FileSms

LIMITS = signup.SignupLimits()


@pytest.fixture
def outbox(tmp_path: Path) -> FileSms:
    """A text-message adapter whose messages the test reads back."""
    return FileSms(tmp_path / "sms.jsonl")


def _start(session: Session, outbox: FileSms, id_number: str, name: str, **kw: object) -> str:
    return signup.start_citizen_signup(
        session,
        id_number=id_number,
        name=name,
        sms=outbox,
        limits=LIMITS,
        now=kw.get("now", NOW),  # type: ignore[arg-type]
    )


def _confirm(session: Session, id_number: str, code: str, **kw: object) -> Account | Invalid:
    attempt = signup.confirm_citizen_signup(
        session,
        id_number=id_number,
        code=code,
        password=str(kw.get("password", PASSWORD)),
        limits=LIMITS,
        now=kw.get("now", NOW),  # type: ignore[arg-type]
    )
    if attempt.refusal is not None:
        assert isinstance(attempt.refusal, Invalid)
        return attempt.refusal
    assert attempt.value is not None
    return attempt.value


def _code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, text
    return found.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_every_start_gets_the_same_answer_and_only_a_match_gets_a_code(
    session: Session, outbox: FileSms
) -> None:
    fresh = create_resident(session, name="王芳", phone="13912345678")
    holder = create_citizen(session, name="李雷", phone="13987654321")
    no_phone = create_resident(session, name="赵六", phone=None)
    answers = {
        _start(session, outbox, fresh.id_number, "王 芳"),  # spacing is how people type
        _start(session, outbox, holder.username, "李雷"),
        _start(session, outbox, next_id_number(), "张三"),  # not in the register
        _start(session, outbox, create_resident(session).id_number, "别人"),  # another name
        _start(session, outbox, no_phone.id_number, "赵六"),
    }
    assert answers == {signup.start_answer(signup.SubjectKind.CITIZEN, LIMITS)}
    sent = outbox.messages()
    assert [m.phone for m in sent] == ["13912345678", "13987654321"]
    assert re.fullmatch(r".*\b\d{6}\b.*", sent[0].text)
    assert "already exists" in sent[1].text
    assert not re.search(r"\b\d{6}\b", sent[1].text)


def test_a_resident_opens_the_account_with_the_code_and_logs_in(
    session: Session, outbox: FileSms
) -> None:
    resident = create_resident(session, name="王芳")
    _start(session, outbox, resident.id_number, "王芳")
    code = _code_in(outbox.messages()[-1].text)
    stored = session.scalars(select(SignupMessage)).one()
    assert stored.code_hash is not None
    assert code not in stored.code_hash
    assert stored.expires_at == NOW + timedelta(minutes=10)

    account = _confirm(session, resident.id_number, f"{code[:3]} {code[3:]}")

    assert isinstance(account, Account)
    assert (account.username, account.citizen_id) == (resident.id_number, resident.id)
    assert [r.role for r in account.roles] == ["citizen"]
    assert auth.authenticate(session, resident.id_number, PASSWORD).id == account.id
    assert stored.status == SignupStatus.USED
    # The same code does not open a second account, nor anything else.
    again = _confirm(session, resident.id_number, code)
    assert isinstance(again, Invalid)


def test_wrong_expired_used_and_absent_codes_get_one_refusal(
    session: Session, outbox: FileSms
) -> None:
    resident = create_resident(session)
    _start(session, outbox, resident.id_number, "张三")
    code = _code_in(outbox.messages()[-1].text)
    refusals = [
        _confirm(session, resident.id_number, _wrong(code)),
        _confirm(session, next_id_number(), code),  # no such resident
        _confirm(session, create_resident(session).id_number, code),  # no code was sent
        _confirm(session, resident.id_number, code, now=NOW + timedelta(minutes=10)),  # expired
    ]
    assert all(isinstance(r, Invalid) for r in refusals)
    assert {(r.detail, r.errors) for r in refusals if isinstance(r, Invalid)} == {
        (signup.refusal().detail, signup.refusal().errors)
    }
    assert session.scalars(select(SignupMessage.status)).all() == [SignupStatus.EXPIRED]


def test_five_wrong_tries_burn_the_code(session: Session, outbox: FileSms) -> None:
    resident = create_resident(session)
    _start(session, outbox, resident.id_number, "张三")
    code = _code_in(outbox.messages()[-1].text)
    for _ in range(LIMITS.tries):
        assert isinstance(_confirm(session, resident.id_number, _wrong(code)), Invalid)
    burned = _confirm(session, resident.id_number, code)
    assert isinstance(burned, Invalid)
    message = session.scalars(select(SignupMessage)).one()
    assert (message.status, message.attempts) == (SignupStatus.BURNED, LIMITS.tries)
    assert session.scalar(select(Account.id).where(Account.citizen_id == resident.id)) is None


def test_four_wrong_tries_still_leave_the_right_code(session: Session, outbox: FileSms) -> None:
    resident = create_resident(session)
    _start(session, outbox, resident.id_number, "张三")
    code = _code_in(outbox.messages()[-1].text)
    for _ in range(LIMITS.tries - 1):
        _confirm(session, resident.id_number, _wrong(code))
    assert isinstance(_confirm(session, resident.id_number, code), Account)


def test_a_short_password_is_named_and_costs_no_try(session: Session, outbox: FileSms) -> None:
    resident = create_resident(session)
    _start(session, outbox, resident.id_number, "张三")
    code = _code_in(outbox.messages()[-1].text)
    with pytest.raises(Invalid, match="password: should have at least 8"):
        _confirm(session, resident.id_number, code, password="short")
    assert session.scalars(select(SignupMessage.attempts)).one() == 0
    assert isinstance(_confirm(session, resident.id_number, code), Account)


def test_messages_to_a_phone_are_throttled_and_a_new_code_replaces_the_old(
    session: Session, outbox: FileSms
) -> None:
    resident = create_resident(session)
    _start(session, outbox, resident.id_number, "张三")
    _start(session, outbox, resident.id_number, "张三", now=NOW + timedelta(seconds=30))
    assert len(outbox.messages()) == 1  # a second message within a minute is not sent
    first = _code_in(outbox.messages()[0].text)
    later = NOW + timedelta(seconds=61)
    _start(session, outbox, resident.id_number, "张三", now=later)
    assert len(outbox.messages()) == 2
    second = _code_in(outbox.messages()[1].text)
    if first != second:
        assert isinstance(_confirm(session, resident.id_number, first, now=later), Invalid)
    assert isinstance(_confirm(session, resident.id_number, second, now=later), Account)


def test_a_phone_gets_at_most_so_many_messages_a_day(session: Session, outbox: FileSms) -> None:
    resident = create_resident(session)
    for n in range(LIMITS.messages_per_day + 3):
        _start(session, outbox, resident.id_number, "张三", now=NOW + timedelta(minutes=2 * n))
    assert len(outbox.messages()) == LIMITS.messages_per_day
    _start(session, outbox, resident.id_number, "张三", now=NOW + timedelta(days=1, minutes=1))
    assert len(outbox.messages()) == LIMITS.messages_per_day + 1


def test_an_enterprise_signs_up_with_the_phone_on_record(session: Session, outbox: FileSms) -> None:
    firm = create_enterprise(session, name="上海两网科技有限公司", phone="13700000000")
    answer = signup.start_enterprise_signup(
        session,
        credit_code=firm.credit_code.lower(),
        name="上海两网科技有限公司",
        sms=outbox,
        limits=LIMITS,
        now=NOW,
    )
    assert answer == signup.start_answer(signup.SubjectKind.ENTERPRISE, LIMITS)
    message = outbox.messages()[-1]
    assert message.phone == "13700000000"
    account = signup.confirm_enterprise_signup(
        session,
        credit_code=firm.credit_code,
        code=_code_in(message.text),
        password=PASSWORD,
        limits=LIMITS,
        now=NOW,
    ).unwrap()
    assert (account.username, account.enterprise_id) == (firm.credit_code, firm.id)


def test_a_malformed_id_number_is_named_before_the_register_is_asked(
    session: Session, outbox: FileSms
) -> None:
    number = next_id_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(Invalid, match="id_number: check character"):
        _start(session, outbox, wrong, "张三")
    assert outbox.messages() == []


@given(
    digits=st.text(alphabet="0123456789", min_size=6, max_size=6),
    gaps=st.lists(st.sampled_from(["", " ", "-", "\u3000", "\t"]), min_size=7, max_size=7),
    wide=st.booleans(),
)
def test_a_code_parses_to_its_six_digits_however_it_is_typed(
    digits: str, gaps: list[str], wide: bool
) -> None:
    shown = "".join(chr(ord(d) + 0xFEE0) if wide else d for d in digits)  # full-width digits
    typed = "".join(g + d for g, d in zip(gaps, shown, strict=False)) + gaps[-1]
    assert signup.parse_code(typed) == digits


@given(st.text(max_size=20))
def test_the_code_parser_returns_six_ascii_digits_or_names_the_field(value: str) -> None:
    refusal: Invalid | None = None
    try:
        parsed = signup.parse_code(value)
    except Invalid as exc:
        refusal = exc
    if refusal is not None:
        assert [(e.field, e.rule) for e in refusal.errors] == [("code", "code-format")]
    else:
        assert len(parsed) == 6
        assert parsed.isascii()
        assert parsed.isdigit()
