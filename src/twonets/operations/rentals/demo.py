"""Group rentals in the demo city: a year of readings, leads, and two referred to the loop.

The households are the synthetic city of ``synthetic.generate`` (Pudong, Xuhui and Minhang,
planted group rentals and look-alikes), imported by the housing administration's officer
through the same use case as a file upload. The policy that lets housing departments read
households' figures and addresses under ``housing.group-rental`` is set here (the purpose
itself is declared by the governance step). Detection runs; the two best leads are referred
and become cases of the operations centre.
"""

from __future__ import annotations

from sqlalchemy import select

from twonets.core import auth
from twonets.core.auth import Principal
from twonets.core.models import Account, AccountKind, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import GranteeKind, get_purpose, set_policy
from twonets.operations.rentals import service, service_loop, synthetic
from twonets.operations.rentals.models import HOUSEHOLD_DATASET

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
    leads = service.detect_leads(session, officer, now=now)
    if officer.account_id == 0:
        return  # a trimmed demo: cases name who referred them, and nobody is there
    # Pudong's first street team inspects three referred leads a day (the default is 5).
    service_loop.set_cap(session, officer, "310115001", "310115", 3, now=now)
    best = sorted(leads, key=lambda lead: (-lead.score, lead.id))[:REFERRED]
    for lead in best:
        service.refer_lead(session, officer, lead.id, now=now, note="demo: inspect this week")
