"""Codes in the demo city: scenarios, purposes, verifiers, health facts, weeks of scans.

Runs after the licences step, which created Shanghai's and Jiangsu's issuing keys and made
Shanghai recognise Jiangsu. One resident is registered in Jiangsu (their codes are signed
by Jiangsu's key and verify at Shanghai venues; their ID number is a Jiangsu one); some
residents are yellow or red; one has an appeal waiting for the health codes authority; one
has had their library code withdrawn by the culture bureau's codes authority.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from twonets.codes import service, token
from twonets.codes.context import Coding
from twonets.codes.models import ScanRecord
from twonets.codes.service import SCAN_DATASET
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.models import Citizen, Enterprise, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue

# The policy enums through governance's service (a domain may not import its models).
from twonets.governance.service import (
    Governance,
    GranteeKind,
    LegalBasis,
    create_purpose,
    set_policy,
)

OFFICER = "dpo"
DAYS = 28
SCANS_PER_DAY = 400

# purpose, name, legal basis, owner department, retention days
PURPOSES: tuple[tuple[str, str, LegalBasis, str, int], ...] = (
    (
        "codes.health-scan",
        "健康码查验 Health-status checks",
        LegalBasis.PUBLIC_HEALTH_EMERGENCY,
        "sh.health",
        28,
    ),
    ("codes.library-entry", "图书馆入馆 Library entry", LegalBasis.CONTRACT, "sh.culture", 30),
    ("codes.education", "入校核验 School entry", LegalBasis.STATUTORY_DUTY, "sh.education", 30),
    ("codes.elderly-care", "养老服务 Elderly-care services", LegalBasis.CONTRACT, "sh.civil", 90),
    (
        "codes.sports-venue",
        "体育场馆入场 Sports-venue entry",
        LegalBasis.CONTRACT,
        "sh.culture",
        14,
    ),
    ("codes.resume-delivery", "投递简历 Résumé delivery", LegalBasis.CONSENT, "sh.hrss", 180),
    (
        "codes.identity-check",
        "身份核验 Identity checks",
        LegalBasis.STATUTORY_DUTY,
        "sh.services",
        30,
    ),
    (
        "codes.health-appeal",
        "健康码申诉 Health-status appeals",
        LegalBasis.PUBLIC_HEALTH_EMERGENCY,
        "sh.health",
        365,
    ),
)

STAFF: tuple[tuple[str, str, str, tuple[Role, ...], str], ...] = (
    (
        "codes.checkpoint",
        "卫健查验点 吴昊",
        "sh.health",
        (Role.VERIFIER,),
        "verifier at a health checkpoint (scans health codes)",
    ),
    (
        "codes.library",
        "图书馆入口 钱芳",
        "sh.culture",
        (Role.VERIFIER,),
        "verifier at the library entrance (scans library codes)",
    ),
    (
        "codes.school",
        "学校门卫 孙军",
        "sh.education",
        (Role.VERIFIER,),
        "verifier at a school gate (scans education codes)",
    ),
    (
        "codes.eldercare",
        "养老院前台 周婷",
        "sh.civil",
        (Role.VERIFIER,),
        "verifier at an elderly-care home",
    ),
    (
        "codes.window",
        "政务窗口 郑凯",
        "sh.services",
        (Role.VERIFIER,),
        "verifier at a service window (identity checks)",
    ),
    (
        "codes.health",
        "健康码复核 冯洁",
        "sh.health",
        (Role.STAFF, Role.CODES_AUTHORITY),
        "codes authority for health: reports test results, decides appeals against health "
        "status, revokes and restores health codes",
    ),
    (
        "codes.culture",
        "文旅码管理 陶然",
        "sh.culture",
        (Role.CODES_AUTHORITY,),
        "codes authority for library entry and sports venues: revokes and restores those codes",
    ),
)

PLACES = {
    "health": (
        "Hongqiao station, exit 3",
        "Renji Hospital, outpatient entrance",
        "Pudong airport, T2 arrivals",
    ),
    "library": ("Shanghai Library, east gate", "Pudong Library, north gate"),
    "education": ("Fudan Middle School, gate 1",),
    "elderly-care": ("Jing'an elderly-care home, reception",),
    "sports": ("Shanghai Stadium, gate B", "Shanghai Stadium, gate F"),
    "resume": ("Spring job fair, booth 12",),
    "identity": ("Huangpu service centre, window 5",),
}
VERIFIER = {
    "health": "sh.health",
    "library": "sh.culture",
    "education": "sh.education",
    "elderly-care": "sh.civil",
    "identity": "sh.services",
}
# How often each scenario is scanned, relative to the others.
WEIGHTS = {
    "health": 40,
    "library": 20,
    "education": 10,
    "elderly-care": 5,
    "sports": 15,
    "resume": 3,
    "identity": 7,
}


def seed(city: DemoCity) -> None:
    """Scenarios, purposes and policies, verifiers, health facts, an appeal, weeks of scans."""
    session, now, rng = city.session, city.now, city.rng("codes")
    gov = Governance(Catalogue(), city.root_secret)
    ctx = Coding(city.root_secret, gov)
    service.ensure_scenarios(session, now=now)
    for code, name, basis, owner, days in PURPOSES:
        create_purpose(
            session,
            actor=OFFICER,
            code=code,
            name=name,
            legal_basis=basis,
            owner_department_code=owner,
            valid_from=now - timedelta(days=400),
            valid_until=None,
            retention_days=days,
            now=now - timedelta(days=400),
        )
    _policies(session, gov, now)
    staff = {}
    for username, display, department, roles, description in STAFF:
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=department,
            roles=roles,
            password_hash=city.password_hash,
        )
        staff[username] = auth.principal_of(account)
        city.add_account(username, description)

    # The second enterprise runs a sports venue and scans sports codes; the first employs
    # (it holds a résumé code and checks identities).
    venue = session.get(Enterprise, city.enterprise_ids[1])  # governance: seeding a demo login
    assert venue is not None
    core_service.add_principal_account(session, enterprise=venue, password_hash=city.password_hash)
    stadium_code = venue.credit_code
    city.add_account(stadium_code, f"sports venue {venue.name} (scans sports codes)")
    sports = service.get_scenario(session, "sports")
    sports.verifiers = [stadium_code]
    employer = session.scalar(
        select(Enterprise.credit_code).where(Enterprise.id == city.enterprise_ids[0])
    )
    identity = service.get_scenario(session, "identity")
    identity.verifiers = [*identity.verifiers, str(employer)]
    session.flush()

    people = city.citizen_ids[: 600 * city.scale]
    # A resident registered in Jiangsu: their codes are signed by Jiangsu's key, and their ID
    # number is a Jiangsu one (region code 32...), as someone who moved from there carries.
    js_ctx = Coding(city.root_secret, gov, region="JS")
    visitor = _jiangsu_resident(session, people, avoid={people[1], people[2]})
    service.ensure_holder(session, js_ctx, kind="citizen", holder_id=visitor, now=now)
    holders = {
        cid: service.ensure_holder(session, ctx, kind="citizen", holder_id=cid, now=now).token
        for cid in people
        if cid != visitor
    }
    firm_token = service.ensure_holder(
        session, ctx, kind="enterprise", holder_id=city.enterprise_ids[0], now=now
    ).token
    withdrawn = next(c for c in people[3:] if c != visitor)
    logins = {}
    for cid in (people[1], people[2], visitor, withdrawn):
        citizen = session.get(Citizen, cid)  # governance: seeding demo logins
        assert citizen is not None
        logins[cid] = auth.principal_of(
            core_service.add_principal_account(
                session, citizen=citizen, password_hash=city.password_hash
            )
        )
    numbers = dict(
        session.execute(  # governance: seeding reads the synthetic residents it reports on
            select(Citizen.id, Citizen.id_number).where(
                Citizen.id.in_([*people[:80], visitor, withdrawn])
            )
        ).all()
    )
    city.add_account(numbers[people[1]], "resident with a red health code and an appeal pending")
    city.add_account(numbers[people[2]], "resident with a yellow health code (travel)")
    city.add_account(numbers[visitor], "resident registered in Jiangsu (codes signed by JS)")
    city.add_account(
        numbers[withdrawn], "resident whose library code was withdrawn (sees who and why)"
    )
    service.set_holder_status(
        session,
        ctx,
        staff["codes.culture"],
        scenario="library",
        id_number=numbers[withdrawn],
        revoke=True,
        reason="图书证被他人使用三次。Your library code was used by someone else three times: "
        "bring your ID card to the Shanghai Library reader services desk to restore it.",
        now=now - timedelta(days=2),
    )

    health = staff["codes.health"]
    facts = [
        (people[1], "contact", "close", 2),
        (people[2], "travel", "an area with a cluster (demo)", 3),
    ]
    for cid in people[10:80]:
        roll = rng.random()
        if roll < 0.08:
            facts.append((cid, "test", "positive", rng.randrange(1, 10)))
        elif roll < 0.2:
            facts.append((cid, "contact", rng.choice(["close", "secondary"]), rng.randrange(1, 6)))
        elif roll < 0.3:
            facts.append((cid, "travel", "an area with a cluster (demo)", rng.randrange(1, 6)))
        facts.append((cid, "test", "negative", rng.randrange(10, 20)))
    for cid, kind, value, days in facts:
        service.record_health_fact(
            session,
            ctx,
            health,
            id_number=numbers[cid],
            kind=kind,
            value=value,
            observed_at=now - timedelta(days=days, hours=rng.randrange(12)),
            now=now,
        )
    service.file_appeal(
        session,
        ctx,
        logins[people[1]],
        statement="我那天不在该场所，手机借给了家人。I was not there that day; my family "
        "member had my phone.",
        now=now - timedelta(hours=5),
    )
    # Health scans of a resident are refused from the day a fact made them yellow or red.
    unwell = {
        cid: now - timedelta(days=days) for cid, _, value, days in facts if value != "negative"
    }
    _scans(city, ctx, holders, (city.enterprise_ids[0], firm_token), stadium_code, unwell)


def _jiangsu_resident(session: Session, people: list[int], *, avoid: set[int]) -> int:
    """The first demo resident whose ID number was issued in Jiangsu (region code 32...)."""
    found = session.scalar(
        select(Citizen.id)
        .where(
            Citizen.id.in_([c for c in people[3:] if c not in avoid]),
            Citizen.id_number.like("32%"),
        )
        .order_by(Citizen.id)
        .limit(1)
    )
    if found is None:  # a tiny city may have no one from Jiangsu: take the next resident
        return next(c for c in people[3:] if c not in avoid)
    return found


def _policies(session: Session, gov: Governance, now: datetime) -> None:
    """Who reads scans and appeals, for what: tracing, the library's own scans, appeals."""
    grants: tuple[tuple[GranteeKind, str, str, str, dict[str, str], dict[str, Any]], ...] = (
        (
            GranteeKind.FUNCTION,
            "health",
            "epidemic.tracing",
            "codes.scan",
            {
                "scenario_code": "keep",
                "verifier_code": "keep",
                "place": "keep",
                "district_code": "keep",
                "scanned_at": "keep",
                "result": "keep",
            },
            {},
        ),
        (
            GranteeKind.DEPARTMENT,
            "sh.culture",
            "codes.library-entry",
            "codes.scan",
            {"scanned_at": "keep", "place": "keep", "result": "keep"},
            {"equals": {"scenario_code": "library"}},
        ),
        (
            GranteeKind.FUNCTION,
            "health",
            "codes.health-appeal",
            "codes.health_appeal",
            {
                "id": "keep",
                "filed_at": "keep",
                "status": "keep",
                "colour_at_filing": "keep",
                "reasons_at_filing": "keep",
                "statement": "keep",
            },
            {},
        ),
    )
    for kind, grantee, purpose, dataset, fields, row_filter in grants:
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
            reason="initial grant for codes, reviewed by the data protection officer",
            now=now - timedelta(days=40),
        )


def _scans(
    city: DemoCity,
    ctx: Coding,
    holders: dict[int, str],
    firm: tuple[int, str],
    stadium: str,
    unwell: dict[int, datetime],
) -> None:
    """Four weeks of scans with morning and evening peaks, written in bulk."""
    session, now, rng = city.session, city.now, city.rng("codes.scans")
    keyring = ctx.keyring(session, now)
    rules = ctx.scenarios(session, now)
    people = list(holders)
    scenarios = list(WEIGHTS)
    weights = [WEIGHTS[s] for s in scenarios]
    rows: list[dict[str, Any]] = []
    sealed: dict[str, str] = {}
    for back in city.track(range(DAYS, -1, -1), "code scans", total=DAYS + 1):
        day = (now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        busy = 0.6 if day.weekday() >= 5 else 1.0
        for _ in range(int(SCANS_PER_DAY * city.scale * busy * rng.uniform(0.85, 1.15))):
            # Local rush hours (UTC+8): 08:00-09:00 and 17:30-18:30, else spread over the day.
            hour = rng.choice([0.2, 0.5, 9.7, 10.0, *range(1, 13)]) + rng.random()
            at = day + timedelta(hours=hour)
            if at > now:
                continue
            scenario = rng.choices(scenarios, weights)[0]
            rule = rules[scenario]
            keep_until = at + timedelta(days=rule.retention_days)
            if keep_until <= now:
                continue
            place = rng.choice(PLACES[scenario])
            if scenario == "resume":
                organisation = "citizen"
                citizen: int | None = rng.choice(people)
                enterprise: int | None = firm[0]
                holder_token = firm[1]
            else:
                organisation = stadium if scenario == "sports" else VERIFIER[scenario]
                citizen, enterprise = rng.choice(people), None
                holder_token = holders[citizen]
            refused = scenario == "health" and citizen in unwell and at >= unwell[citizen]
            replayed = rng.random() < 0.003
            if place not in sealed:
                sealed[place] = keyring.seal(SCAN_DATASET, "place", place)
            rows.append(
                {
                    "scenario_code": scenario,
                    "purpose_code": rule.purpose_code,
                    "citizen_id": citizen,
                    "enterprise_id": enterprise,
                    "holder_token": holder_token,
                    "holder_region": "SH",
                    "verifier_code": organisation,
                    # One sealed value per place keeps seeding fast; live scans seal each.
                    "place": sealed[place],
                    "place_key": ctx.place_key(organisation, place),
                    "district_code": None,
                    "code_id": token.token_text(rng.randbytes(16)),
                    "result": "replayed" if replayed else ("refused" if refused else "admitted"),
                    "scanned_at": at,
                    "day": at.date(),
                    "minute": int(at.timestamp()) // 60,
                    "keep_until": keep_until,
                }
            )
    for start in range(0, len(rows), 5000):
        session.execute(insert(ScanRecord), rows[start : start + 5000])
