"""Use cases of sign-up: a register entry opens its own account with a code sent to its phone.

Residents and enterprises exist in the registers the platform holds (the population register,
the enterprise register) before they have an account. Signing up takes two steps:

1. *start* with the identifier (ID number or credit code) and the name on record. If both
   match an entry that has a phone on record, a six-digit code goes to that phone (or, when
   the entry already has an account, a message saying so). The answer is the same whatever
   happened, so sign-up tells no one whether a number is registered or has an account.
2. *confirm* with the identifier, the code and a password: the account opens. A wrong,
   expired or used code, and an identifier with no code, all get one and the same refusal.

A code lives ``code_life``, allows ``tries`` wrong guesses before it is burned, and is stored
only as an argon2 hash. An entry's phone gets at most one message per ``resend_after`` and
``messages_per_day`` a day, so sign-up cannot be used to flood a phone. Every start costs one
argon2 hash whether or not a message goes out, so its timing does not tell the cases apart
either (an SMS adapter for a slow gateway should hand the message off, not wait on it).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from twonets.core import auth, service
from twonets.core.config import Settings
from twonets.core.errors import Invalid, Refusable
from twonets.core.events import record_event
from twonets.core.models import (
    Account,
    Citizen,
    Enterprise,
    SignupMessage,
    SignupMessageKind,
    SignupStatus,
)
from twonets.core.sms import SmsSender

CODE_DIGITS = 6
_CODE = re.compile(r"[0-9]{6}", re.ASCII)
# Separators people type or paste inside a code ("123 456", "123-456").
_SEPARATORS = re.compile(r"[\s\-]+")


class SubjectKind(StrEnum):
    """Who signs up: a resident (ID number) or an enterprise (credit code)."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class SignupLimits:
    """How long a code lives, how often it may be guessed, how often a phone is messaged."""

    code_life: timedelta = timedelta(minutes=10)
    tries: int = 5
    resend_after: timedelta = timedelta(seconds=60)
    messages_per_day: int = 5

    @classmethod
    def of(cls, settings: Settings) -> SignupLimits:
        """The limits a deployment's settings give."""
        return cls(
            code_life=timedelta(minutes=settings.signup_code_minutes),
            tries=settings.signup_code_tries,
            resend_after=timedelta(seconds=settings.signup_resend_seconds),
            messages_per_day=settings.signup_messages_per_day,
        )


@dataclass(frozen=True)
class _Entry:
    """A register entry as sign-up needs it (never returned to a caller)."""

    kind: SubjectKind
    id: int
    name: str
    phone: str | None


def parse_code(value: str) -> str:
    """The six ASCII digits of a code as typed (full-width digits, spaces and dashes allowed).

    Raises ``Invalid`` naming ``code`` for anything else; the check says nothing about
    whether the code is right.
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if _CODE.fullmatch(text) is None:
        raise Invalid.field("code", "code-format", "should be the 6 digits of the text message")
    return text


def start_answer(kind: SubjectKind, limits: SignupLimits) -> str:
    """The one answer every start of a sign-up gets, whatever the register holds."""
    who = "a resident" if kind is SubjectKind.CITIZEN else "an enterprise"
    minutes = int(limits.code_life.total_seconds() // 60)
    return (
        f"If these details match {who} without an account, a code was sent to the phone on "
        f"record. Enter it within {minutes} minutes. If an account already exists, the "
        "message says so instead."
    )


def refusal() -> Invalid:
    """The one refusal every failed confirmation gets (wrong, expired, used or no code)."""
    return Invalid.field(
        "code",
        "signup-code",
        "the code is wrong, has expired or was already used: check it, or ask for a new one",
    )


def _same_name(recorded: str, given: str) -> bool:
    # Width, spacing and case are how people type, not who they are.
    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split()).casefold()

    return norm(recorded) == norm(given) and bool(norm(given))


def _citizen_entry(session: Session, id_number: str) -> _Entry | None:
    row = session.execute(
        # governance: sign-up compares the subject's own register entry, nothing is shown
        select(Citizen.id, Citizen.name, Citizen.phone).where(Citizen.id_number == id_number)
    ).first()
    if row is None:
        return None
    return _Entry(SubjectKind.CITIZEN, row.id, row.name, row.phone)


def _enterprise_entry(session: Session, credit_code: str) -> _Entry | None:
    row = session.execute(
        # governance: sign-up compares the subject's own register entry, nothing is shown
        select(Enterprise.id, Enterprise.name, Enterprise.contact_phone).where(
            Enterprise.credit_code == credit_code
        )
    ).first()
    if row is None:
        return None
    return _Entry(SubjectKind.ENTERPRISE, row.id, row.name, row.contact_phone)


def _entry_of(session: Session, kind: SubjectKind, identifier: str) -> _Entry | None:
    if kind is SubjectKind.CITIZEN:
        return _citizen_entry(session, identifier)
    return _enterprise_entry(session, identifier)


def _messages_of(entry: _Entry) -> ColumnElement[bool]:
    if entry.kind is SubjectKind.CITIZEN:
        return SignupMessage.citizen_id == entry.id
    return SignupMessage.enterprise_id == entry.id


def _has_account(session: Session, entry: _Entry) -> bool:
    column = Account.citizen_id if entry.kind is SubjectKind.CITIZEN else Account.enterprise_id
    return session.scalar(select(Account.id).where(column == entry.id)) is not None


def _code_text(code: str, limits: SignupLimits) -> str:
    minutes = int(limits.code_life.total_seconds() // 60)
    return (
        f"【两网】您的注册验证码是 {code}，{minutes} 分钟内有效，请勿告诉他人。"
        f"Two Nets sign-up code: {code} (valid {minutes} minutes). Never share it."
    )


def _notice_text(kind: SubjectKind) -> str:
    number = "身份证号" if kind is SubjectKind.CITIZEN else "统一社会信用代码"
    identifier = "ID number" if kind is SubjectKind.CITIZEN else "credit code"
    return (
        f"【两网】此{number}已有账户，请直接登录；如未本人操作，请忽略本短信。"
        f"Two Nets: an account already exists for this {identifier}. Log in with it; if you "
        "did not ask to sign up, ignore this message."
    )


def _send(
    session: Session,
    entry: _Entry,
    *,
    code: str,
    code_hash: str,
    sms: SmsSender,
    limits: SignupLimits,
    now: datetime,
) -> None:
    """Message the entry's phone: the code, or a notice that an account exists (throttled)."""
    assert entry.phone is not None
    owner = _messages_of(entry)
    recent = session.scalars(
        select(SignupMessage.sent_at)
        .where(owner, SignupMessage.sent_at > now - timedelta(days=1))
        .order_by(SignupMessage.sent_at.desc())
    ).all()
    if len(recent) >= limits.messages_per_day or (recent and recent[0] > now - limits.resend_after):
        return  # throttled: the phone was messaged a moment ago, or often enough today
    message = SignupMessage(
        citizen_id=entry.id if entry.kind is SubjectKind.CITIZEN else None,
        enterprise_id=entry.id if entry.kind is SubjectKind.ENTERPRISE else None,
        sent_at=now,
        attempts=0,
    )
    if _has_account(session, entry):
        message.kind = SignupMessageKind.NOTICE
        message.status = SignupStatus.SENT
        text = _notice_text(entry.kind)
    else:
        pending = select(SignupMessage).where(  # governance: the entry's own sign-up codes
            owner, SignupMessage.status == SignupStatus.PENDING
        )
        for older in session.scalars(pending):
            older.status = SignupStatus.SUPERSEDED
            older.closed_at = now
        message.kind = SignupMessageKind.CODE
        message.status = SignupStatus.PENDING
        message.code_hash = code_hash
        message.expires_at = now + limits.code_life
        text = _code_text(code, limits)
    session.add(message)
    session.flush()
    sms.send(entry.phone, text, now=now)


def _start(
    session: Session,
    kind: SubjectKind,
    identifier: str,
    name: str,
    *,
    sms: SmsSender,
    limits: SignupLimits,
    now: datetime,
) -> str:
    # Every start draws and hashes a code, used or not: the hash is the slow part, and a
    # start that matches must not take longer than one that does not.
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    code_hash = auth.hash_password(code)
    entry = _entry_of(session, kind, identifier)
    if entry is not None and entry.phone and _same_name(entry.name, name):
        _send(session, entry, code=code, code_hash=code_hash, sms=sms, limits=limits, now=now)
    return start_answer(kind, limits)


def start_citizen_signup(
    session: Session,
    *,
    id_number: str,
    name: str,
    sms: SmsSender,
    limits: SignupLimits,
    now: datetime,
) -> str:
    """A resident asks to sign up: a code goes to the phone on record if the details match.

    The answer is the same for a registered, an unregistered and an unknown ID number; only a
    malformed one is refused (it says nothing about the register).
    """
    number = service.checked_id_number(id_number, today=now.date()).number
    return _start(session, SubjectKind.CITIZEN, number, name, sms=sms, limits=limits, now=now)


def start_enterprise_signup(
    session: Session,
    *,
    credit_code: str,
    name: str,
    sms: SmsSender,
    limits: SignupLimits,
    now: datetime,
) -> str:
    """An enterprise asks to sign up: a code goes to its phone on record if the details match."""
    code = service.checked_credit_code(credit_code)
    return _start(session, SubjectKind.ENTERPRISE, code, name, sms=sms, limits=limits, now=now)


def _pending_code(session: Session, entry: _Entry) -> SignupMessage | None:
    return session.scalar(
        select(SignupMessage)  # governance: the entry's own sign-up code
        .where(
            _messages_of(entry),
            SignupMessage.kind == SignupMessageKind.CODE,
            SignupMessage.status == SignupStatus.PENDING,
        )
        .order_by(SignupMessage.sent_at.desc(), SignupMessage.id.desc())
    )


def _confirm(
    session: Session,
    kind: SubjectKind,
    identifier: str,
    code: str,
    password: str,
    *,
    limits: SignupLimits,
    now: datetime,
) -> Refusable[Account]:
    digits = parse_code(code)
    service.check_password(password)
    entry = _entry_of(session, kind, identifier)
    message = None if entry is None else _pending_code(session, entry)
    if entry is None or message is None or message.code_hash is None:
        # As long as checking a real code takes, so timing does not tell the cases apart.
        auth.verify_password(auth.dummy_hash(), digits)
        return Refusable(refusal=refusal())
    if message.expires_at is None or message.expires_at <= now:
        auth.verify_password(auth.dummy_hash(), digits)
        message.status = SignupStatus.EXPIRED
        message.closed_at = now
        return Refusable(refusal=refusal())
    if not auth.verify_password(message.code_hash, digits):
        message.attempts += 1
        if message.attempts >= limits.tries:
            message.status = SignupStatus.BURNED
            message.closed_at = now
        return Refusable(refusal=refusal())
    message.closed_at = now
    if _has_account(session, entry):
        message.status = SignupStatus.SUPERSEDED
        return Refusable(refusal=refusal())
    message.status = SignupStatus.USED
    password_hash = auth.hash_password(password)
    if kind is SubjectKind.CITIZEN:
        citizen = session.get(Citizen, entry.id)  # governance: the subject opens its own login
        assert citizen is not None
        account = service.add_principal_account(
            session, citizen=citizen, password_hash=password_hash
        )
    else:
        firm = session.get(Enterprise, entry.id)  # governance: the subject opens its own login
        assert firm is not None
        account = service.add_principal_account(
            session, enterprise=firm, password_hash=password_hash
        )
    record_event(
        session, "core.account.opened", {"account_id": account.id, "kind": kind.value}, now=now
    )
    return Refusable(value=account)


def confirm_citizen_signup(
    session: Session,
    *,
    id_number: str,
    code: str,
    password: str,
    limits: SignupLimits,
    now: datetime,
) -> Refusable[Account]:
    """Open a resident's account with the code sent to their phone, or refuse (one refusal)."""
    number = service.checked_id_number(id_number, today=now.date()).number
    return _confirm(session, SubjectKind.CITIZEN, number, code, password, limits=limits, now=now)


def confirm_enterprise_signup(
    session: Session,
    *,
    credit_code: str,
    code: str,
    password: str,
    limits: SignupLimits,
    now: datetime,
) -> Refusable[Account]:
    """Open an enterprise's account with the code sent to its phone, or refuse (one refusal)."""
    number = service.checked_credit_code(credit_code)
    return _confirm(session, SubjectKind.ENTERPRISE, number, code, password, limits=limits, now=now)
