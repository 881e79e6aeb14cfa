"""Governance in the demo city: purposes, policies, staff reading under them, a sealed ledger.

Departments read residents' data through the one door over the past month, so a fresh demo
has a populated ledger, a resident whose report shows several departments and purposes, one
member of staff who read far more residents than their peers, and one break-glass read (both
for the officer to find).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.models import Account, Role
from twonets.core.seeding import DemoCity
from twonets.governance import break_glass, ledger
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.service import Governance, ReadQuery, create_purpose, read, set_policy

OFFICER = "dpo"

# code, name, legal basis, owner, valid from (days ago), until (days ahead; None: open),
# retention days
PURPOSES: tuple[tuple[str, str, LegalBasis, str, int, int | None, int], ...] = (
    (
        "epidemic.tracing",
        "流行病学调查 Epidemic tracing",
        LegalBasis.PUBLIC_HEALTH_EMERGENCY,
        "sh.health",
        60,
        120,
        28,
    ),
    (
        "epidemic.tracing-2022",
        "2022 年流调 Tracing 2022",
        LegalBasis.PUBLIC_HEALTH_EMERGENCY,
        "sh.health",
        400,
        -200,
        28,
    ),
    (
        "public-security.investigation",
        "治安案件调查 Public-security investigation",
        LegalBasis.STATUTORY_DUTY,
        "sh.police",
        365,
        None,
        365,
    ),
    (
        "housing.group-rental",
        "群租整治 Group-rental enforcement",
        LegalBasis.STATUTORY_DUTY,
        "sh.housing",
        365,
        None,
        180,
    ),
    (
        "social-security.pension",
        "养老金核定 Pension assessment",
        LegalBasis.STATUTORY_DUTY,
        "sh.hrss",
        365,
        None,
        3650,
    ),
    (
        "operations.case-handling",
        "城运案件处置 City case handling",
        LegalBasis.STATUTORY_DUTY,
        "sh.operations",
        365,
        None,
        365,
    ),
    (
        "services.one-thing",
        "“一件事”办理 One-thing services",
        LegalBasis.CONSENT,
        "sh.services",
        365,
        None,
        1095,
    ),
    (
        "market.supervision",
        "市场监管 Market supervision",
        LegalBasis.STATUTORY_DUTY,
        "sh.market",
        365,
        None,
        1825,
    ),
)

CITIZEN = "core.citizen"
# grantee kind, grantee, purpose, dataset, fields, row filter
POLICIES: tuple[tuple[GranteeKind, str, str, str, dict[str, str], dict[str, str]], ...] = (
    (
        GranteeKind.FUNCTION,
        "health",
        "epidemic.tracing",
        CITIZEN,
        {
            "name": "keep",
            "phone": "keep",
            "address": "keep",
            "id_number": "partial:6:4",
            "birth_date": "year",
            "sex": "keep",
            "district_code": "keep",
            "home_lon": "grid:500",
            "home_lat": "grid:500",
        },
        {},
    ),
    (
        GranteeKind.FUNCTION,
        "health",
        "epidemic.tracing-2022",
        CITIZEN,
        {"name": "keep", "phone": "keep", "address": "keep"},
        {},
    ),
    (
        GranteeKind.FUNCTION,
        "police",
        "epidemic.tracing",
        CITIZEN,
        {"name": "keep", "phone": "partial:3:4", "district_code": "keep"},
        {},
    ),
    (
        GranteeKind.DEPARTMENT,
        "sh.police",
        "public-security.investigation",
        CITIZEN,
        {
            "name": "keep",
            "id_number": "keep",
            "phone": "partial:3:4",
            "address": "keep",
            "birth_date": "keep",
            "sex": "keep",
        },
        {},
    ),
    (
        GranteeKind.DEPARTMENT,
        "sh.housing",
        "housing.group-rental",
        CITIZEN,
        {
            "name": "partial:1:0",
            "address": "keep",
            "district_code": "keep",
            "id_number": "pseudonym",
        },
        {},
    ),
    (
        GranteeKind.FUNCTION,
        "operations",
        "operations.case-handling",
        CITIZEN,
        {"name": "partial:1:0", "phone": "partial:3:4", "address": "keep", "district_code": "keep"},
        {"district": "own"},
    ),
    (
        GranteeKind.FUNCTION,
        "social-security",
        "social-security.pension",
        CITIZEN,
        {"name": "keep", "id_number": "keep", "birth_date": "keep"},
        {},
    ),
    (
        GranteeKind.FUNCTION,
        "government-services",
        "services.one-thing",
        CITIZEN,
        {"name": "keep", "id_number": "keep", "phone": "keep"},
        {},
    ),
    (
        GranteeKind.FUNCTION,
        "market-regulation",
        "market.supervision",
        "core.enterprise",
        {"name": "keep", "credit_code": "keep", "legal_representative": "keep", "address": "keep"},
        {},
    ),
)

# user name, display name, department, roles
READERS: tuple[tuple[str, str, str, tuple[Role, ...]], ...] = (
    ("health.tracer1", "流调员 孙丽", "sh.health", (Role.STAFF,)),
    ("health.tracer2", "流调员 周强", "sh.health", (Role.STAFF,)),
    ("police.duty1", "民警 吴斌", "sh.police", (Role.STAFF,)),
    ("police.duty2", "民警 郑敏", "sh.police", (Role.STAFF,)),
    ("police.duty3", "民警 冯超", "sh.police", (Role.STAFF,)),
    ("housing.inspector", "房管巡查员 陈晨", "sh.housing", (Role.STAFF,)),
    ("pension.clerk", "社保经办 何静", "sh.hrss", (Role.STAFF,)),
    ("services.clerk", "政务窗口 许佳", "sh.services", (Role.STAFF,)),
    ("market.inspector", "市场监管 韩磊", "sh.market", (Role.STAFF,)),
)

# reader, purpose, dataset, reads, subjects per read
PLAN: tuple[tuple[str, str, str, int, int], ...] = (
    ("health.planner", "epidemic.tracing", CITIZEN, 20, 4),
    ("health.tracer1", "epidemic.tracing", CITIZEN, 40, 3),
    ("health.tracer2", "epidemic.tracing", CITIZEN, 40, 3),
    ("police.duty1", "public-security.investigation", CITIZEN, 25, 1),
    ("police.duty2", "public-security.investigation", CITIZEN, 25, 1),
    ("police.duty3", "public-security.investigation", CITIZEN, 25, 1),
    # The one to find: far more residents than the other officers of the same function.
    ("police.officer", "public-security.investigation", CITIZEN, 60, 6),
    ("housing.officer", "housing.group-rental", CITIZEN, 20, 5),
    ("housing.inspector", "housing.group-rental", CITIZEN, 20, 5),
    ("huangpu.staff", "operations.case-handling", CITIZEN, 20, 2),
    ("pension.clerk", "social-security.pension", CITIZEN, 30, 1),
    ("services.clerk", "services.one-thing", CITIZEN, 30, 1),
    ("market.inspector", "market.supervision", "core.enterprise", 30, 2),
)


BREAK_GLASS_REASON = (
    "发热患者昏迷送至瑞金医院急诊，需核实身份并联系家属 — unconscious patient with a fever at "
    "Ruijin A&E: identity and next of kin needed at once"
)


def seed(city: DemoCity) -> None:
    """Purposes, policies, readers, a month of governed reads, and the sealed ledger."""
    session, now = city.session, city.now
    rng = city.rng("governance")
    gov = Governance(Catalogue(), city.root_secret)
    for code, name, basis, owner, before, after, retention in PURPOSES:
        create_purpose(
            session,
            actor=OFFICER,
            code=code,
            name=name,
            legal_basis=basis,
            owner_department_code=owner,
            valid_from=now - timedelta(days=before),
            valid_until=now + timedelta(days=after) if after is not None else None,
            retention_days=retention,
            now=now - timedelta(days=before),
        )
    for kind, grantee, purpose, dataset, fields, row_filter in POLICIES:
        set_policy(
            session,
            gov.catalogue,
            actor=OFFICER,
            grantee_kind=kind,
            grantee=grantee,
            purpose_code=purpose,
            dataset=dataset,
            fields=fields,
            row_filter=row_filter,
            reason="initial grant, reviewed by the data protection officer",
            now=now - timedelta(days=45),
        )
    for username, display, department, roles in READERS:
        core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=department,
            roles=roles,
            password_hash=city.password_hash,
        )
    principals = {
        a.username: auth.principal_of(a)
        for a in session.query(Account).filter(Account.kind == "staff")
    }
    resident, huangpu = _residents(city)
    jobs = [
        (reader, purpose, dataset, n, per)
        for reader, purpose, dataset, count, per in PLAN
        for n in range(count * city.scale)
    ]
    for reader, purpose, dataset, n, per in city.track(jobs, "governed reads", total=len(jobs)):
        principal = principals[reader]
        pool = (
            city.enterprise_ids
            if dataset == "core.enterprise"
            else huangpu
            if purpose == "operations.case-handling"
            else city.citizen_ids
        )
        subjects = rng.sample(pool, per)
        # The demo resident is read now and then by several departments.
        if dataset == CITIZEN and n % 5 == 0 and purpose != "operations.case-handling":
            subjects[0] = resident
        if purpose == "operations.case-handling" and n % 7 == 0:
            subjects[0] = resident
        when = now - timedelta(days=rng.uniform(0.1, 30), minutes=rng.randrange(600))
        read(
            session,
            gov,
            principal,
            purpose=purpose,
            dataset=dataset,
            query=ReadQuery(subject_ids=sorted(set(subjects)), limit=per),
            now=when,
        )
    # One emergency read for the officer to review: a tracer identifies an unconscious patient.
    break_glass.break_glass_read(
        session,
        gov,
        principals["health.tracer1"],
        purpose="epidemic.tracing",
        dataset=CITIZEN,
        subject_ids=[resident],
        fields=["id_number", "phone", "address"],
        reason=BREAK_GLASS_REASON,
        now=now - timedelta(hours=5),
    )
    while ledger.sequence_pending(session, gov.signer, now=now, batch_size=1000):
        pass


def _residents(city: DemoCity) -> tuple[int, list[int]]:
    """The demo resident's id and the residents of Huangpu (the demo district staff's)."""
    from twonets.core.models import Citizen

    resident = city.citizen_ids[0]
    huangpu = list(
        city.session.scalars(select(Citizen.id).where(Citizen.district_code == "310101"))
    )
    return resident, huangpu
