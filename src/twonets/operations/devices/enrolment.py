"""Enrolling vehicle terminals, and the JT/T 808 registration and authentication they allow.

A terminal may speak to the gateway only after operations staff enrolled it: the phone
number of its SIM (the number in every JT/T 808 header), the plate of the vehicle it is
fitted to and the unified social credit code of the enterprise holding that vehicle. Then:

- **Registration** (0x0100) of an enrolled terminal, naming its enrolled plate, returns a new
  random authentication code. Anything else is refused with the 0x8100 result that says why:
  4 no such terminal (not enrolled), 2 no such vehicle (not the enrolled plate), 1 vehicle
  registered (the plate is enrolled with another terminal), 3 terminal registered (it holds
  a live code already; staff reset the enrolment to let it register again).
- **Codes** are kept only as a SHA-256 and compared in constant time. A code expires after
  ``jt808_code_days`` (then the terminal registers again for a new one); a reset voids it at
  once and ends the sessions opened with it (their positions are refused).

The rule functions (``registration_result``, ``code_accepted``) work on a plain
``Enrolment`` so that the gateway's in-memory backend obeys exactly the same rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.config import Settings
from twonets.core.errors import Conflict, Invalid, NotFound
from twonets.core.models import Account, Role
from twonets.core.service import checked_credit_code
from twonets.operations.devices import jt808
from twonets.operations.devices.models import Terminal
from twonets.operations.devices.service import TerminalRef

AUTH_CODE_BYTES = 12
# A 2019 header carries the phone number as BCD[10]: at most 20 digits.
PHONE_DIGITS = 20
PLATE_CHARACTERS = 16
# JT/T 808 plate colours (2019): 1 blue, 2 yellow, 3 black, 4 white, 5 green, 9 other.
PLATE_COLOURS = {1: "blue", 2: "yellow", 3: "black", 4: "white", 5: "green", 9: "other"}
YELLOW = 2  # heavy goods vehicles, muck trucks among them
RESULT_REASONS = {
    jt808.RegistrationResult.VEHICLE_REGISTERED: "vehicle-registered",
    jt808.RegistrationResult.NO_SUCH_VEHICLE: "unknown-vehicle",
    jt808.RegistrationResult.TERMINAL_REGISTERED: "terminal-registered",
    jt808.RegistrationResult.NO_SUCH_TERMINAL: "unknown-terminal",
}


@dataclass(frozen=True)
class Enrolment:
    """What the registration and authentication rules need to know of one terminal."""

    plate: str
    enrolled: bool
    code_hash: str | None
    code_expires_at: datetime | None


# --- the rules, on plain data --------------------------------------------------------------


def normalised_phone(value: str) -> str:
    """The phone number as JT/T 808 headers carry it (digits, no leading zeros), or ``Invalid``."""
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit():
        raise Invalid.field("phone", "digits", "should be the SIM's number, digits only")
    if len(digits) > PHONE_DIGITS:
        raise Invalid.field("phone", "length", f"should have at most {PHONE_DIGITS} digits")
    trimmed = digits.lstrip("0")
    if not trimmed:
        raise Invalid.field("phone", "digits", "should not be all zeros")
    return trimmed


def checked_plate(value: str) -> str:
    """A plate as a terminal sends it (GBK text, at most 16 characters), or ``Invalid``."""
    plate = value.strip()
    if not plate:
        raise Invalid.field("plate", "required", "give the vehicle's plate, e.g. 沪D12345")
    if len(plate) > PLATE_CHARACTERS:
        raise Invalid.field("plate", "length", f"should have at most {PLATE_CHARACTERS} characters")
    try:
        plate.encode("gbk")
    except UnicodeEncodeError:
        raise Invalid.field(
            "plate", "characters", "has characters a terminal cannot send"
        ) from None
    return plate


def auth_code_digest(code: str) -> str:
    """The SHA-256 kept in place of a code (codes are random, so no salt is needed)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_auth_code() -> tuple[str, str]:
    """A fresh random code for one registration, and its digest."""
    code = secrets.token_hex(AUTH_CODE_BYTES)
    return code, auth_code_digest(code)


def code_is_live(enrolment: Enrolment, now: datetime) -> bool:
    """Whether the terminal holds a code that is still accepted."""
    return enrolment.code_hash is not None and (
        enrolment.code_expires_at is None or enrolment.code_expires_at > now
    )


def code_ttl(settings: Settings) -> timedelta | None:
    """How long a code is accepted (``jt808_code_days``; ``None``: until a reset)."""
    return timedelta(days=settings.jt808_code_days) if settings.jt808_code_days else None


def code_expiry(now: datetime, ttl: timedelta | None) -> datetime | None:
    """When a code issued now stops being accepted (``None``: until a reset)."""
    return None if ttl is None else now + ttl


def registration_result(
    enrolment: Enrolment | None, *, plate: str, plate_enrolled_elsewhere: bool, now: datetime
) -> jt808.RegistrationResult:
    """The answer to a registration: success only for an enrolled terminal, its own plate,
    and no live code (a live code is never handed out again)."""
    if enrolment is None or not enrolment.enrolled:
        return jt808.RegistrationResult.NO_SUCH_TERMINAL
    if plate.strip() != enrolment.plate:
        if plate_enrolled_elsewhere:
            return jt808.RegistrationResult.VEHICLE_REGISTERED
        return jt808.RegistrationResult.NO_SUCH_VEHICLE
    if code_is_live(enrolment, now):
        return jt808.RegistrationResult.TERMINAL_REGISTERED
    return jt808.RegistrationResult.SUCCESS


def code_accepted(enrolment: Enrolment | None, code: str, now: datetime) -> bool:
    """Whether ``code`` authenticates the terminal: enrolled, live, and equal in constant time."""
    digest = auth_code_digest(code)
    if enrolment is None or enrolment.code_hash is None:
        hmac.compare_digest(digest, digest)  # the same work whether or not a code exists
        return False
    same = hmac.compare_digest(digest, enrolment.code_hash)
    return same and enrolment.enrolled and code_is_live(enrolment, now)


# --- use cases on the database -------------------------------------------------------------


def _by_phone(session: Session, phone: str) -> Terminal | None:
    return session.scalars(
        select(Terminal).where(Terminal.phone == phone)  # governance: a company's terminal
    ).one_or_none()


def _enrolment(row: Terminal | None) -> Enrolment | None:
    if row is None:
        return None
    return Enrolment(
        plate=row.plate,
        enrolled=row.enrolled_at is not None,
        code_hash=row.auth_code_hash,
        code_expires_at=row.code_expires_at,
    )


def _void_code(row: Terminal) -> None:
    row.auth_code_hash = None
    row.code_expires_at = None
    row.registered_at = None
    row.code_serial = (row.code_serial or 0) + 1  # sessions opened with the old code end


def enrol_terminal(
    session: Session,
    caller: Principal,
    *,
    phone: str,
    plate: str,
    credit_code: str,
    now: datetime,
    plate_colour: int = YELLOW,
) -> Terminal:
    """Enrol a vehicle terminal so that it may register (operations staff only).

    A terminal that registered on its own before enrolment existed is enrolled in place (its
    positions stay); its old code was void already. A phone number or a plate enrolled
    already is a conflict: reset or correct that enrolment instead.
    """
    caller.require(Role.OPERATOR)
    number = normalised_phone(phone)
    plate = checked_plate(plate)
    code = checked_credit_code(credit_code)
    if plate_colour not in PLATE_COLOURS:
        names = ", ".join(f"{k} {v}" for k, v in PLATE_COLOURS.items())
        raise Invalid.field("plate_colour", "plate-colour", f"should be one of {names}")
    row = _by_phone(session, number)
    if row is not None and row.enrolled_at is not None:
        raise Conflict(
            f"phone: terminal {number} is enrolled already (plate {row.plate})",
            extra={"field": "phone", "rule": "enrolled-once"},
        )
    holder = session.scalar(
        select(Terminal.phone).where(
            Terminal.plate == plate, Terminal.phone != number, Terminal.enrolled_at.is_not(None)
        )
    )
    if holder is not None:
        raise Conflict(
            f"plate: {plate} is enrolled with terminal {holder}",
            extra={"field": "plate", "rule": "one-terminal-per-vehicle"},
        )
    if row is None:
        row = Terminal(phone=number, code_serial=0)
        session.add(row)
    else:
        _void_code(row)
    row.plate = plate
    row.plate_colour = plate_colour
    row.credit_code = code
    row.enrolled_at = now
    row.enrolled_by = caller.username
    session.flush()
    return row


def reset_enrolment(session: Session, caller: Principal, *, phone: str, now: datetime) -> Terminal:
    """Void a terminal's code so that it registers again for a new one (operations staff only).

    For a terminal whose code was lost (a replaced SIM card, a terminal reset to factory
    settings) or may be known to someone else: the old code stops working at once, and the
    positions of sessions opened with it are refused.
    """
    caller.require(Role.OPERATOR)
    row = get_enrolled(session, phone)
    _void_code(row)
    session.flush()
    return row


@dataclass(frozen=True)
class FleetEnrolment:
    """What ``enrol_fleet`` did: terminals newly enrolled, and enrolled ones reset."""

    enrolled: int
    reset: int


def enrol_fleet(
    session: Session,
    caller: Principal,
    *,
    credit_code: str,
    vehicles: Sequence[tuple[str, str]],
    now: datetime,
    reset_enrolled: bool = False,
) -> FleetEnrolment:
    """Enrol an enterprise's terminals, ``(phone, plate)`` each, in one transaction.

    A terminal enrolled already with the same plate and enterprise is left as it is, or
    reset with ``reset_enrolled`` (a fleet whose terminals lost their codes, such as the
    simulator's, which keeps none between runs); enrolled otherwise, it is a conflict.
    """
    caller.require(Role.OPERATOR)
    company = checked_credit_code(credit_code)
    enrolled = reset = 0
    for phone, plate in vehicles:
        row = _by_phone(session, normalised_phone(phone))
        if row is not None and row.enrolled_at is not None:
            if row.plate != checked_plate(plate) or row.credit_code != company:
                raise Conflict(
                    f"phone: terminal {row.phone} is enrolled already, for {row.plate} "
                    f"of {row.credit_code}",
                    extra={"field": "phone", "rule": "enrolled-once"},
                )
            if reset_enrolled:
                _void_code(row)
                reset += 1
            continue
        enrol_terminal(session, caller, phone=phone, plate=plate, credit_code=company, now=now)
        enrolled += 1
    session.flush()
    return FleetEnrolment(enrolled, reset)


def get_enrolled(session: Session, phone: str) -> Terminal:
    """An enrolled terminal by its phone number, or ``NotFound``."""
    row = _by_phone(session, normalised_phone(phone))
    if row is None or row.enrolled_at is None:
        raise NotFound(f"no terminal {phone.strip()} is enrolled")
    return row


def register_terminal(
    session: Session,
    *,
    phone: str,
    protocol_version: int | None,
    registration: jt808.Registration,
    now: datetime,
    code_ttl: timedelta | None,
) -> tuple[jt808.RegistrationResult, str | None]:
    """Answer a terminal's registration: the result and, on success only, a new code."""
    row = _by_phone(session, phone)
    plate = registration.plate.strip()
    elsewhere = bool(plate) and (
        session.scalar(
            select(Terminal.id)
            .where(
                Terminal.plate == plate,
                Terminal.phone != phone,
                Terminal.enrolled_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )
    result = registration_result(
        _enrolment(row), plate=plate, plate_enrolled_elsewhere=elsewhere, now=now
    )
    if result is not jt808.RegistrationResult.SUCCESS or row is None:
        return result, None
    code, digest = new_auth_code()
    row.terminal_id = registration.terminal_id.strip()[:30]
    row.manufacturer = registration.manufacturer.strip()[:32]
    row.model = registration.model.strip()[:32]
    row.province = registration.province
    row.city = registration.city
    row.protocol_version = protocol_version
    row.auth_code_hash = digest
    row.code_expires_at = code_expiry(now, code_ttl)
    row.code_serial = (row.code_serial or 0) + 1
    row.registered_at = now
    session.flush()
    return result, code


def authenticate_terminal(
    session: Session, *, phone: str, auth_code: str, now: datetime
) -> TerminalRef | None:
    """The terminal if ``auth_code`` is its live code, else ``None``."""
    row = _by_phone(session, phone)
    if not code_accepted(_enrolment(row), auth_code, now) or row is None:
        return None
    row.authenticated_at = now
    return TerminalRef(row.id, row.phone, row.plate, row.code_serial)


def acting_staff(session: Session, username: str) -> Principal:
    """The staff account a command acts as (``--as``), for the same checks as a page."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: a staff login
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    return principal_of(account)
