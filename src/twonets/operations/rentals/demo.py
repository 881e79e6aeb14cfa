"""Group rentals in the demo city: a year of readings, leads, and two referred to the loop.

The households are the synthetic city of ``synthetic.generate`` (Pudong, Xuhui and Minhang,
planted group rentals and look-alikes), imported by the housing administration's officer
through the same use case as a file upload. The policy that lets housing departments read
households' figures and addresses under ``housing.group-rental`` is set here (the purpose
itself is declared by the governance step). The meter feed's last messages of the year
arrive for three households with the faults real meters make (a message sent twice, a
register that resets, a jump too large to be true), so the page's faulty meters are not
empty. Detection runs; the two best leads are referred and become cases of the operations
centre.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import auth
from twonets.core.auth import Principal
from twonets.core.models import Account, AccountKind, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import GranteeKind, get_purpose, set_policy
from twonets.operations.rentals import service, service_loop, synthetic
from twonets.operations.rentals.models import HOUSEHOLD_DATASET
from twonets.operations.rentals.service_meters import (
    MeterReading,
    add_meter_readings,
    message_key,
)

HOUSEHOLDS_PER_SCALE = 600
REFERRED = 2


def _officer(city: DemoCity) -> Principal:
    """The housing administration's officer, or a stand-in in a trimmed demo."""
    account = city.session.scalar(
        select(Account).where(Account.username == "housing.officer")  # governance: a demo login
    )
    if account is not None:
        return auth.principal_of(account)
    return Principal(
        0,
        "housing.officer",
        "房管专员",
        AccountKind.STAFF,
        frozenset({Role.STAFF}),
        department_function=service.HOUSING_FUNCTION,
    )


def seed(city: DemoCity) -> None:
    """Import a year of readings, detect leads, refer the best two."""
    session, now = city.session, city.now
    officer = _officer(city)
    if officer.department_code is not None:
        get_purpose(session, service.PURPOSE)  # declared by the governance step
        set_policy(
            session,
            Catalogue(),
            actor="dpo",
            grantee_kind=GranteeKind.FUNCTION,
            grantee=service.HOUSING_FUNCTION,
            purpose_code=service.PURPOSE,
            dataset=HOUSEHOLD_DATASET,
            fields=dict.fromkeys(service.HOUSEHOLD_FIELDS, "keep"),
            reason="inspectors go to the address; the figures say what to look for; no names",
            now=now,
        )
    made = synthetic.generate(
        seed=city.seed, households=HOUSEHOLDS_PER_SCALE * city.scale, year=now.year - 1
    )
    service.import_rows(session, officer, made.households, made.readings, now=now)
    _faulty_meters([h.household_id for h in made.households[:3]], session, year=now.year - 1)
    leads = service.detect_leads(session, officer, now=now)
    if officer.account_id == 0:
        return  # a trimmed demo: cases name who referred them, and nobody is there
    # Pudong's first street team inspects three referred leads a day (the default is 5).
    service_loop.set_cap(session, officer, "310115001", "310115", 3, now=now)
    best = sorted(leads, key=lambda lead: (-lead.score, lead.id))[:REFERRED]
    for lead in best:
        service.refer_lead(session, officer, lead.id, now=now, note="demo: inspect this week")


def _faulty_meters(homes: list[str], session: Session, *, year: int) -> None:
    """The feed's last hours of the year for three households, each meter with one fault."""
    start = datetime(year, 12, 31, 8, tzinfo=UTC)  # 16:00 in Shanghai

    def message(
        home: str, utility: str, value: float, hour: int, *, register: bool = False
    ) -> MeterReading:
        at = start + timedelta(hours=hour)
        key = message_key(
            utility, message_id=None, at=at, value=value, register=register, reset=False
        )
        return MeterReading(home, utility, value, at, register=register, key=key, timed=True)

    water, power, gas = homes
    sent_twice = message(water, "water", 0.06, 0)
    add_meter_readings(
        session,
        [
            sent_twice,
            sent_twice,  # a gateway's retry: counted once
            message(power, "electricity", 18_204.5, 0, register=True),
            message(power, "electricity", 18_205.7, 1, register=True),
            message(power, "electricity", 2.1, 2, register=True),  # the meter was replaced
            message(gas, "gas", 0.2, 0),
            message(gas, "gas", 95.0, 1),  # a jump too large for an hour: held back
        ],
        now=start + timedelta(hours=3),
    )
