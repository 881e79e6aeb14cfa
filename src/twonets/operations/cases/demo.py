"""Operations in the demo city: district departments and their handlers, and a month of cases.

Cases are played through the real use cases with their own clock: each is reported at some
moment of the past four weeks and walks its loop stage by stage until the stage would lie in
the future. Old cases are therefore mostly closed and recent ones open; some handlers are
late (breached and overdue cases), some verifications fail (rework), and some problems are
reported twice (merged duplicates).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from twonets.core import auth, geo, places
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.models import Account, AccountKind, DepartmentLevel, Role
from twonets.core.seeding import DemoCity
from twonets.operations.cases import catalogue, service, states
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.schemas import IntakeReport, SourceKind

CASES_PER_SCALE = 150
DAYS = 28
# (suffix, 中文名, English name, function): the handling departments of each district.
DISTRICT_DEPARTMENTS = (
    ("urban", "城市管理行政执法局", "urban management and law enforcement", "urban-management"),
    ("greening", "绿化和市容管理局", "landscaping and city appearance", "greening"),
    ("works", "建设和管理委员会", "construction and public works", "public-works"),
)
FIELD_LOGINS = (
    (
        "field.huangpu",
        "310101.urban",
        "黄浦区城管队员 孙强",
        "field staff, Huangpu urban management",
    ),
    (
        "field.huangpu.green",
        "310101.greening",
        "黄浦区绿化市容 吴丽",
        "field staff, Huangpu landscaping",
    ),
)
SUPERVISOR = (
    "supervisor",
    "sh.operations",
    "城运监督员 郑辉",
    "operations supervisor (verifies cases)",
)
# What finds problems, and what it finds.
SOURCES: tuple[tuple[SourceKind, float, tuple[str, ...]], ...] = (
    (
        SourceKind.PATROL,
        0.40,
        ("E0102", "E0104", "E0201", "E0501", "E0502", "E0506", "C0116", "C0307"),
    ),
    (SourceKind.CITIZEN, 0.25, ("E0101", "E0102", "E0301", "E0503", "E0505", "E0508", "C0402")),
    (SourceKind.DEVICE, 0.20, ("C0101", "C0102", "C0103", "C0111", "E0404", "E0405")),
    (SourceKind.DETECTOR, 0.15, ("E0303", "E0550", "E0506")),
)


@dataclass
class _People:
    operator: Principal
    supervisor: Principal
    handlers: dict[int, list[Principal]]  # department id -> field staff
    residents: list[Principal]


def seed(city: DemoCity) -> None:
    """Elements, district departments, an operator's supervisor, field staff and cases."""
    session = city.session
    catalogue.ensure_elements(session)
    people = _people(city)
    rng = city.rng("operations")
    weights = [d.population_2020 for d in places.DISTRICTS]
    total = CASES_PER_SCALE * city.scale
    for _ in city.track(range(total), "city cases", total=total):
        district = rng.choices(places.DISTRICTS, weights)[0].code
        _play_case(city, rng, people, district)
    _showcase(city, people)


def _people(city: DemoCity) -> _People:
    session = city.session
    for d in places.DISTRICTS:
        for suffix, zh, en, function in DISTRICT_DEPARTMENTS:
            code = f"{d.code}.{suffix}"
            if code not in city.departments:
                city.departments[code] = core_service.create_department(
                    session,
                    code=code,
                    name=f"{d.name}{zh}",
                    name_en=f"{d.name_en} {en}",
                    function=function,
                    level=DepartmentLevel.DISTRICT,
                    region_code="SH",
                    district_code=d.code,
                )
    # Two handlers in every department a category may be dispatched to.
    functions = {c.department_function for c in catalogue.list_categories(session)}
    handlers: dict[int, list[Principal]] = {}
    for department in core_service.list_departments(session):
        code = department.code
        if department.function not in functions:
            continue
        handlers[department.id] = [
            auth.principal_of(
                core_service.create_staff_account(
                    session,
                    username=f"field.{code}.{n}",
                    display_name=f"{department.name} 处置人员{n}",
                    password="",
                    department_code=code,
                    roles=[Role.FIELD],
                    password_hash=city.password_hash,
                )
            )
            for n in (1, 2)
        ]
    for username, department_code, name, description in FIELD_LOGINS:
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=name,
            password="",
            department_code=department_code,
            roles=[Role.FIELD],
            password_hash=city.password_hash,
        )
        handlers[account.department_id or 0].insert(0, auth.principal_of(account))
        city.add_account(username, description)
    username, department_code, name, description = SUPERVISOR
    supervisor = core_service.create_staff_account(
        session,
        username=username,
        display_name=name,
        password="",
        department_code=department_code,
        roles=[Role.SUPERVISOR],
        password_hash=city.password_hash,
    )
    city.add_account(username, description)
    operator = session.scalar(
        select(Account).where(Account.username == "operator")  # governance: a demo staff login
    )
    if operator is None:  # the core step makes it; a trimmed demo may not
        operator = core_service.create_staff_account(
            session,
            username="operator",
            display_name="城运值班员",
            password="",
            department_code="sh.operations",
            roles=[Role.OPERATOR],
            password_hash=city.password_hash,
        )
        city.add_account("operator", "city operations operator")
    residents = [
        Principal(
            account_id=account_id,
            username="",
            display_name="市民",
            kind=AccountKind.CITIZEN,
            roles=frozenset({Role.CITIZEN}),
            citizen_id=citizen_id,
        )
        for account_id, citizen_id in session.execute(
            select(Account.id, Account.citizen_id)
            .where(Account.kind == AccountKind.CITIZEN.value, Account.citizen_id.is_not(None))
            .order_by(Account.id)
            .limit(50)
        )
    ]
    return _People(auth.principal_of(operator), auth.principal_of(supervisor), handlers, residents)


def _source(rng: random.Random) -> tuple[SourceKind, str]:
    pick = rng.random()
    for kind, share, categories in SOURCES:
        if pick < share:
            return kind, rng.choice(categories)
        pick -= share
    kind, _, categories = SOURCES[0]
    return kind, rng.choice(categories)


DESCRIPTIONS = {
    "E0102": "路边暴露垃圾 Rubbish left on the kerb",
    "E0104": "人行道油污 Oil on the pavement",
    "E0201": "电线杆小广告 Small adverts on a pole",
    "E0501": "游商占道 Street vendor blocking the pavement",
    "E0502": "占道摆摊 Stall on the pavement",
    "E0506": "共享单车堆积 Shared bikes piled at the metro exit",
    "E0101": "屋顶违章搭建 Illegal structure on a roof",
    "E0301": "夜间施工噪声 Construction noise at night",
    "E0503": "店外占道经营 Goods displayed outside the shop",
    "E0505": "机动车占用人行道 Car parked on the pavement",
    "E0508": "露天烧烤油烟 Open-air barbecue smoke",
    "E0303": "渣土车沿路遗撒 Muck truck spilled spoil along the road",
    "E0550": "疑似群租 Suspected group rental (utility pattern)",
    "E0404": "下水道溢流 Sewer overflowing",
    "E0405": "路面积水 Water standing on the road",
}


def _play_case(city: DemoCity, rng: random.Random, people: _People, district: str) -> None:
    session, end = city.session, city.now
    kind, category = _source(rng)
    row = catalogue.get_category(session, category)
    lon, lat = geo.random_point_in_district(district, rng)
    # A third of the cases came in during the last two days: the centre is busy with them.
    span = 2 * 24 * 60 if rng.random() < 0.33 else DAYS * 24 * 60
    t = end - timedelta(minutes=rng.randrange(span))
    urgency = rng.choices(list(Urgency), [0.8, 0.15, 0.05])[0]
    report = IntakeReport(
        source_kind=kind,
        source_ref=f"{kind.value}-{rng.randrange(10**6):06d}"
        if kind != SourceKind.CITIZEN
        else None,
        category=category,
        description=DESCRIPTIONS.get(category, f"{row.name} {row.name_en}"),
        lon=lon,
        lat=lat,
        urgency=urgency,
        reported_at=t,
    )
    # Few residents of the demo have logins: most citizen reports come in by the 12345
    # hotline, which files them as a patrol would.
    reporter = (
        rng.choice(people.residents)
        if kind is SourceKind.CITIZEN and people.residents and rng.random() < 0.2
        else None
    )
    if kind is SourceKind.CITIZEN and reporter is None:
        report = report.model_copy(update={"source_kind": SourceKind.PATROL})
    case = service.intake(session, report, now=t, reporter=reporter)
    if rng.random() < 0.12:  # someone else reports the same problem a little later
        again = t + timedelta(minutes=rng.randint(10, 180))
        if again <= end:
            near = report.model_copy(
                update={
                    "lat": lat + rng.uniform(-20, 20) / 111_320,
                    "reported_at": again,
                    "source_kind": SourceKind.PATROL,
                    "source_ref": None,
                }
            )
            service.intake(session, near, now=again)
    _walk(city, rng, people, case.id, t, end)


def _walk(
    city: DemoCity, rng: random.Random, people: _People, case_id: int, t: datetime, end: datetime
) -> None:
    """Move the case through its loop while each next stage lies in the past."""
    session = city.session

    def later(low: float, high: float) -> datetime | None:
        nonlocal t
        t = t + timedelta(hours=rng.uniform(low, high))
        return t if t <= end else None

    case = states.get_case(session, case_id)
    if case.state == states.CaseState.REPORTED.value:
        if (now := later(0.1, 8)) is None:
            return
        if rng.random() < 0.05:
            service.reject_case(
                session,
                people.operator,
                case_id,
                now=now,
                note="不属于城市管理范围 Not a matter for city management",
            )
            return
        service.file_case(session, people.operator, case_id, now=now)
    if (now := later(0.1, 6)) is None:
        return
    service.dispatch_case(session, people.operator, case_id, now=now)
    slow = rng.random() < 0.15  # this department will miss the time limit
    for _round in range(3):
        handlers = people.handlers.get(case.department_id or 0) or [people.operator]
        handler = rng.choice(handlers)
        if (now := later(0.1, 6)) is None:
            return
        if Role.FIELD in handler.roles:
            service.accept_case(session, handler, case_id, now=now)
        hours = rng.uniform(1.0, 3.0) * (1 if not slow else 12)
        if (now := later(hours * 0.5, hours)) is None:
            return
        if Role.FIELD not in handler.roles:
            return
        service.report_handling(
            session, handler, case_id, now=now, note="已处置 Dealt with on site"
        )
        if (now := later(0.5, 16)) is None:
            return
        passed = rng.random() > 0.12
        service.verify_case(
            session,
            people.supervisor,
            case_id,
            passed=passed,
            now=now,
            note=None if passed else "复核未通过：问题仍在 Still there on re-inspection",
        )
        if passed:
            break
    else:
        return
    if (now := later(0.1, 12)) is None:
        return
    service.close_case(session, people.operator, case_id, now=now)
    if rng.random() < 0.5 and (now := later(1, 24)) is not None:
        service.evaluate_case(
            session, people.operator, case_id, score=rng.choice((3, 4, 5, 5, 5)), now=now
        )


ADDRESSES = {
    "E0501": "南京东路步行街 世纪广场 Century Square, Nanjing Road East",
    "E0502": "豫园路 安仁街路口 Yuyuan Road at Anren Street",
    "E0102": "淮海中路 黄陂南路口 Huaihai Road Middle at South Huangpi Road",
    "E0201": "福州路 山东中路口 Fuzhou Road at Shandong Road Middle",
}


def _showcase(city: DemoCity, people: _People) -> None:
    """Tasks waiting for the two Huangpu field logins, and one case for the supervisor to verify.

    Their reporters gave an address, as patrols do, so the people sent read a place.
    """
    session, now = city.session, city.now
    field_urban, field_green = (
        next(p for hs in people.handlers.values() for p in hs if p.username == name)
        for name, *_ in FIELD_LOGINS
    )
    plan = (
        # (category, hours ago, lon, lat, description, who handles it, how far it gets)
        # The address of each is in ADDRESSES.
        (
            "E0501",
            3,
            121.4752,
            31.2317,
            "南京东路步行街游商 Vendors on Nanjing Road",
            None,
            "dispatch",
        ),
        (
            "E0502",
            70,
            121.4870,
            31.2276,
            "豫园路口占道摆摊 Stall at the Yu Garden crossing",
            None,
            "dispatch",
        ),
        (
            "E0102",
            2,
            121.4703,
            31.2241,
            "淮海路垃圾袋堆放 Bags of rubbish on Huaihai Road",
            field_green,
            "accept",
        ),
        (
            "E0201",
            6,
            121.4801,
            31.2352,
            "福州路小广告 Small adverts on Fuzhou Road",
            field_urban,
            "feedback",
        ),
    )
    for category, hours, lon, lat, text, handler, until in plan:
        t = now - timedelta(hours=hours)
        report = IntakeReport(
            source_kind=SourceKind.PATROL,
            category=category,
            description=text,
            lon=lon,
            lat=lat,
            address=ADDRESSES[category],
            reported_at=t,
        )
        case = service.intake(session, report, now=t)
        service.file_case(session, people.operator, case.id, now=t + timedelta(minutes=10))
        service.dispatch_case(session, people.operator, case.id, now=t + timedelta(minutes=20))
        if handler is not None:
            service.accept_case(session, handler, case.id, now=t + timedelta(minutes=40))
        if until == "feedback" and handler is not None:
            service.report_handling(
                session, handler, case.id, now=t + timedelta(hours=2), note="已清除 Removed"
            )
