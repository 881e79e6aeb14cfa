"""Pydantic shapes of the core's requests and responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from twonets.core.ids import CreditCode, IdNumber
from twonets.core.models import AccountKind, DepartmentLevel, Role


class Strict(BaseModel):
    """Requests reject unknown fields, so that a misspelt field is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Strict):
    """A username (ID number, credit code or staff name) and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PrincipalOut(BaseModel):
    """Who the caller is."""

    account_id: int
    username: str
    display_name: str
    kind: AccountKind
    roles: list[Role]
    department_code: str | None
    department_function: str | None
    district_code: str | None


class TokenOut(BaseModel):
    """A bearer token and whom it speaks for."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    principal: PrincipalOut


PHONE_PATTERN = r"^1[3-9][0-9]{9}$"


class CitizenRegistration(Strict):
    """A resident entered into the population register by its keeper (no login)."""

    id_number: IdNumber
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class EnterpriseRegistration(Strict):
    """An enterprise entered into the enterprise register by its keeper (no login)."""

    credit_code: CreditCode
    name: str = Field(min_length=1, max_length=128)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    legal_representative: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=64)


class RegisterEntryOut(BaseModel):
    """A new register entry: what it is called by, nothing else."""

    kind: str
    id: int
    identifier: str


class CitizenSignupStart(Strict):
    """A resident asks for a sign-up code: the ID number and the name on record."""

    id_number: IdNumber
    name: str = Field(min_length=1, max_length=64)


class EnterpriseSignupStart(Strict):
    """An enterprise asks for a sign-up code: the credit code and the name on record."""

    credit_code: CreditCode
    name: str = Field(min_length=1, max_length=128)


class CitizenSignupConfirm(Strict):
    """A resident confirms the code sent to their phone and chooses a password."""

    id_number: IdNumber
    code: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=8, max_length=256)


class EnterpriseSignupConfirm(Strict):
    """An enterprise confirms the code sent to its phone and chooses a password."""

    credit_code: CreditCode
    code: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=8, max_length=256)


class SignupStarted(BaseModel):
    """The one answer to every start of a sign-up."""

    detail: str


class AccountOut(BaseModel):
    """A new account (no personal data beyond what the caller sent)."""

    account_id: int
    username: str
    kind: AccountKind
    roles: list[Role]


class AccountStateIn(Strict):
    """Disable or enable an account, and why."""

    active: bool
    reason: str = Field(min_length=1, max_length=500)


class AccountStateOut(BaseModel):
    """An account's state after a change."""

    username: str
    active: bool


class DepartmentIn(Strict):
    """A department to add."""

    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    function: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]*$")
    level: DepartmentLevel
    region_code: str = "SH"
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    credit_code: CreditCode | None = None


class DepartmentOut(BaseModel):
    """A department."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    name_en: str
    function: str
    level: DepartmentLevel
    region_code: str
    district_code: str | None


class StaffIn(Strict):
    """A member of staff to add to a department."""

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=8, max_length=256)
    department_code: str
    roles: list[Role] = Field(default_factory=lambda: [Role.STAFF], min_length=1)


class DistrictOut(BaseModel):
    """A district of the home city."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    name_en: str
    population_2020: int
    kind: str


class RegionOut(BaseModel):
    """A trust region."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    admin_code: str
    name: str
    name_en: str
    population_2020: int
    home: bool


class IdentifierCheckOut(BaseModel):
    """The verdict on one identifier."""

    value: str
    kind: str
    valid: bool
    reason: str | None


class LockoutOut(BaseModel):
    """A lock on a user name after repeated failed logins."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    account_id: int | None
    address: str
    locked_at: datetime
    locked_until: datetime
    unlocked_at: datetime | None
    active: bool


class RefusedAddressOut(BaseModel):
    """A client address refused for its failed logins."""

    model_config = ConfigDict(from_attributes=True)

    address: str
    failures: int
    last_at: datetime


class LockoutsOut(BaseModel):
    """Recent lock-outs and the addresses refused now."""

    lockouts: list[LockoutOut]
    refused_addresses: list[RefusedAddressOut]
