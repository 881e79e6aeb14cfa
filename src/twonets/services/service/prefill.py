"""Fill once: what the government holds prefills a service's form, read through governance.

Each service has a purpose (``services.nev-plate``, ...). With the applicant's consent, the
service desk (the city's Government Services Office, ``sh.services``, which runs the
one-thing services) reads the applicant's records that the form needs
through ``governance.service.read`` under that purpose: every read lands in the ledger and
in the applicant's "who read my data". A field the applicant then changes, or one the
government does not hold, is *declared*; one that matches what is held is *verified*.

Staff of a department working one of an application's steps read its form the same way,
under the same purpose: a department without a grant for it gets 403.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, NotFound
from twonets.core.models import AccountKind, Role
from twonets.governance.service import Governance, ReadQuery, read

# The purpose each service reads under (declared by the data protection officer).
PURPOSES = {
    "nev_plate": "services.nev-plate",
    "retirement": "services.retirement",
    "tax_and_fees": "services.tax-and-fees",
}
# The department that reads for the applicant's form (the one-thing services' desk).
DESK_DEPARTMENT = "sh.services"
# The NEV plate certificate: holding one in force is holding a plate quota already.
PLATE_LICENCE = "NP"
CITIZENS = "core.citizen"
LICENCES = "licences.licence"
APPLICATIONS = "services.application"
# Services whose form carries the applicant's birth date (from the residence register).
BIRTH_DATE_PROCESSES = frozenset({"retirement"})
VERIFIED = "verified"
DECLARED = "declared"
ACCOUNT = "account"


def purpose_of(process_id: str) -> str:
    """The purpose a service's reads are made under."""
    return PURPOSES.get(process_id, "services." + process_id.replace("_", "-"))


@dataclass
class Held:
    """What the government holds for a service's form: values, where each came from."""

    purpose: str
    values: dict[str, Any] = field(default_factory=dict)
    # field -> the dataset it was read from
    sources: dict[str, str] = field(default_factory=dict)
    # type codes of the applicant's licences in force (shown on the form)
    licences: list[str] = field(default_factory=list)
    district_code: str | None = None


def desk(session: Session) -> Principal:
    """The service desk as a reader: the Government Services Office, acting for the form."""
    department = core_service.get_department(session, DESK_DEPARTMENT)
    return Principal(
        account_id=0,
        username="services.desk",
        display_name=department.name,
        kind=AccountKind.STAFF,
        roles=frozenset({Role.STAFF}),
        department_id=department.id,
        department_code=department.code,
        department_function=department.function,
        department_level=department.level,
        region_code=department.region_code,
    )


def read_held(
    session: Session,
    gov: Governance,
    principal: Principal,
    process_id: str,
    *,
    now: datetime,
) -> Held:
    """The applicant's records the form of ``process_id`` needs, read with their consent.

    Reads ``core.citizen`` (a residence record: district and address on file; the birth
    date for the retirement) and, for the NEV plate, ``licences.licence`` (licences in
    force, plates held) for the applicant only, under the service's purpose; each read is in
    the ledger. ``Forbidden`` when the desk holds no grant.
    """
    if Role.CITIZEN not in principal.roles or principal.citizen_id is None:
        raise Forbidden("the form is prefilled for residents applying for themselves")
    citizen_id = principal.citizen_id
    purpose = purpose_of(process_id)
    reader = desk(session)
    held = Held(purpose)
    # One request for all reads: the ledger shows them as one prefilling of one form.
    request_id = str(uuid.uuid4())
    # Only what this service's form needs is read (the retirement needs the birth date).
    fields = ["district_code", "address"] + (
        ["birth_date"] if process_id in BIRTH_DATE_PROCESSES else []
    )
    person = read(
        session,
        gov,
        reader,
        purpose=purpose,
        dataset=CITIZENS,
        query=ReadQuery(fields=fields, subject_ids=[citizen_id], limit=1),
        now=now,
        request_id=request_id,
    )
    row = person.rows[0] if person.rows else {}
    held.district_code = row.get("district_code")
    if process_id in BIRTH_DATE_PROCESSES:
        if row.get("birth_date"):
            held.values["birth_date"] = str(row["birth_date"])[:10]
            held.sources["birth_date"] = CITIZENS
        return held
    held.values["has_residence"] = bool(row.get("district_code") and row.get("address"))
    held.sources["has_residence"] = CITIZENS
    licences = read(
        session,
        gov,
        reader,
        purpose=purpose,
        dataset=LICENCES,
        query=ReadQuery(fields=["type_code", "status"], subject_ids=[citizen_id], limit=200),
        now=now,
        request_id=request_id,
    )
    in_force = [r["type_code"] for r in licences.rows if r.get("status") == "active"]
    held.licences = sorted(set(in_force))
    held.values["plates_held"] = in_force.count(PLATE_LICENCE)
    held.sources["plates_held"] = LICENCES
    return held


def origins(held: Held | None, data: dict[str, Any]) -> dict[str, str]:
    """Each field's origin: verified when it is what the government holds, else declared."""
    out: dict[str, str] = {}
    for name, value in data.items():
        known = held is not None and name in held.values
        out[name] = (
            VERIFIED if known and held is not None and held.values[name] == value else DECLARED
        )
    return out


def read_form(
    session: Session,
    gov: Governance,
    principal: Principal,
    application_id: int,
    citizen_id: int | None,
    process_id: str,
    *,
    now: datetime,
) -> dict[str, Any]:
    """An application's form as staff see it, read through governance under its purpose."""
    if citizen_id is None:
        raise NotFound(f"application {application_id} has no form")
    result = read(
        session,
        gov,
        principal,
        purpose=purpose_of(process_id),
        dataset=APPLICATIONS,
        query=ReadQuery(
            fields=["id", "form", "field_origins"],
            where={"id": application_id},
            subject_ids=[citizen_id],
            limit=1,
        ),
        now=now,
    )
    if not result.rows:
        raise NotFound(f"application {application_id} has no form")
    row = result.rows[0]
    form = json.loads(row.get("form") or "{}")
    field_origins = json.loads(row.get("field_origins") or "{}")
    return {
        "application_id": application_id,
        "purpose": result.purpose,
        "fields": [
            {"name": name, "value": value, "origin": field_origins.get(name, DECLARED)}
            for name, value in form.items()
        ],
    }
