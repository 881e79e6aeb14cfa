"""The seeding context every step receives, and the core step: places, people, firms, staff."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from twonets.core import geo, places, service
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import Account, Citizen, DepartmentLevel, Enterprise, Role
from twonets.core.seeding import DemoCity, Step
from twonets.demo import names
from twonets.governance.sealing import Keyring

RESIDENTS_PER_SCALE = 4000
ENTERPRISES_PER_SCALE = 600


# (code, 中文名, English name, function, level, district or None)
CITY_DEPARTMENTS: tuple[tuple[str, str, str, str, DepartmentLevel, str | None], ...] = (
    ("platform", "市大数据中心", "Big Data Centre", "platform", DepartmentLevel.CITY, None),
    ("sh.health", "市卫生健康委员会", "Health Commission", "health", DepartmentLevel.CITY, None),
    ("sh.police", "市公安局", "Public Security Bureau", "police", DepartmentLevel.CITY, None),
    (
        "sh.housing",
        "市房屋管理局",
        "Housing Administration",
        "housing",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.market",
        "市市场监督管理局",
        "Market Regulation Administration",
        "market-regulation",
        DepartmentLevel.CITY,
        None,
    ),
    ("sh.civil", "市民政局", "Civil Affairs Bureau", "civil-affairs", DepartmentLevel.CITY, None),
    (
        "sh.hrss",
        "市人力资源和社会保障局",
        "Human Resources and Social Security Bureau",
        "social-security",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.transport",
        "市交通委员会",
        "Transport Commission",
        "transport",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.urban",
        "市城市管理行政执法局",
        "Urban Management and Law Enforcement Bureau",
        "urban-management",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.ecology",
        "市生态环境局",
        "Ecology and Environment Bureau",
        "ecology",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.education",
        "市教育委员会",
        "Education Commission",
        "education",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.culture",
        "市文化和旅游局",
        "Culture and Tourism Bureau",
        "culture",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.operations",
        "市城市运行管理中心",
        "City Operations Centre",
        "operations",
        DepartmentLevel.CITY,
        None,
    ),
    (
        "sh.services",
        "市政务服务办公室",
        "Government Services Office",
        "government-services",
        DepartmentLevel.CITY,
        None,
    ),
)

DEMO_STAFF: tuple[tuple[str, str, str, tuple[Role, ...], str], ...] = (
    ("admin", "平台管理员", "platform", (Role.ADMIN,), "administrator of the platform"),
    ("dpo", "数据保护官 陈静", "platform", (Role.DPO,), "data protection officer"),
    ("operator", "城运值班员 王磊", "sh.operations", (Role.OPERATOR,), "city operations operator"),
    (
        "health.planner",
        "卫健规划员 李芳",
        "sh.health",
        (Role.HEALTH_PLANNER, Role.STAFF),
        "health planner, Health Commission",
    ),
    ("police.officer", "民警 张伟", "sh.police", (Role.STAFF,), "staff, Public Security Bureau"),
    (
        "housing.officer",
        "房管专员 刘洋",
        "sh.housing",
        (Role.STAFF,),
        "staff, Housing Administration",
    ),
    ("verifier", "图书馆核验员 赵敏", "sh.culture", (Role.VERIFIER,), "verifier (library entry)"),
    (
        "huangpu.staff",
        "黄浦区城运中心 周杰",
        "310101.operations",
        (Role.STAFF, Role.OPERATOR),
        "staff, Huangpu district operations centre",
    ),
)


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` by ``weights`` with largest remainders, so the parts add up exactly."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(names.GIVEN_CHARACTERS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(names.SURNAMES) + given


def _address(rng: random.Random, district_name: str) -> str:
    street = rng.choice(names.STREETS)
    return f"上海市{district_name}{street}{rng.randint(1, 1800)}号"


def seed_departments(city: DemoCity) -> None:
    """City departments, and an operations centre and a health commission in each district."""
    for n, (code, name, name_en, function, level, district) in enumerate(CITY_DEPARTMENTS, 1):
        city.departments[code] = service.create_department(
            city.session,
            code=code,
            name=name,
            name_en=name_en,
            function=function,
            level=level,
            region_code="SH",
            district_code=district,
            # Government organs: registration authority 1, kind 1 (GB 32100).
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body=f"0024{n:04d}"
            ),
        )
    for d in places.DISTRICTS:
        for suffix, zh, en, function in (
            ("operations", "城市运行管理中心", "operations centre", "operations"),
            ("health", "卫生健康委员会", "health commission", "health"),
        ):
            code = f"{d.code}.{suffix}"
            city.departments[code] = service.create_department(
                city.session,
                code=code,
                name=f"{d.name}{zh}",
                name_en=f"{d.name_en} {en}",
                function=function,
                level=DepartmentLevel.DISTRICT,
                region_code="SH",
                district_code=d.code,
            )


def seed_residents(city: DemoCity) -> None:
    """Residents spread over the districts by census population, with valid ID numbers."""
    rng = city.rng("residents")
    keyring = Keyring(city.root_secret)
    total = RESIDENTS_PER_SCALE * city.scale
    counts = _apportion(total, [d.population_2020 for d in places.DISTRICTS])
    today = city.now.date()
    seen: set[str] = set()
    rows: list[Citizen] = []
    plan = [d for d, n in zip(places.DISTRICTS, counts, strict=True) for _ in range(n)]
    for district in city.track(plan, "residents", total=total):
        # People born in Shanghai carry a Shanghai code; one in three came from elsewhere.
        region = district.code if rng.random() < 0.67 else rng.choice(_OTHER_REGION_CODES)
        while True:
            birth = date(1940, 1, 1) + timedelta(
                days=rng.randrange((date(2020, 1, 1) - date(1940, 1, 1)).days)
            )
            number = make_id_number(region, min(birth, today), rng.randrange(1000))
            if number not in seen:
                seen.add(number)
                break
        lon, lat = geo.random_point_in_district(district.code, rng)
        info_sex = "male" if int(number[16]) % 2 == 1 else "female"
        rows.append(
            Citizen(
                id_number=number,
                name=_person_name(rng),
                birth_date=birth,
                sex=info_sex,
                phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                district_code=district.code,
                address=_address(rng, district.name),
                # Whereabouts are sensitive: sealed at rest under the dataset's key.
                home_lon=keyring.seal("core.citizen", "home_lon", f"{lon:.6f}"),
                home_lat=keyring.seal("core.citizen", "home_lat", f"{lat:.6f}"),
                created_at=city.now,
            )
        )
    city.session.add_all(rows)
    city.session.flush()
    city.citizen_ids = [c.id for c in rows]


# Region codes of places residents move from (Jiangsu, Zhejiang, Anhui, Henan, Sichuan ...).
_OTHER_REGION_CODES = (
    "320102",
    "320582",
    "330106",
    "330282",
    "340104",
    "341203",
    "410105",
    "510107",
    "360102",
    "420106",
)


def seed_enterprises(city: DemoCity) -> None:
    """Enterprises with valid unified social credit codes, placed in districts by population."""
    rng = city.rng("enterprises")
    # A stream of its own, so the enterprises' codes and names stay what they were.
    phones = city.rng("enterprise-phones")
    total = ENTERPRISES_PER_SCALE * city.scale
    counts = _apportion(total, [d.population_2020 for d in places.DISTRICTS])
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    seen: set[str] = set()
    rows: list[Enterprise] = []
    plan = [d for d, n in zip(places.DISTRICTS, counts, strict=True) for _ in range(n)]
    for district in city.track(plan, "enterprises", total=total):
        while True:
            body = "MA" + "".join(rng.choice(alphabet) for _ in range(6))
            code = make_credit_code(region_code=district.code, organisation_body=body)
            if code not in seen:
                seen.add(code)
                break
        industry, industry_en = rng.choice(names.INDUSTRIES)
        name = f"上海{rng.choice(names.FIRM_WORDS)}{industry}{rng.choice(names.FIRM_SUFFIXES)}"
        lon, lat = geo.random_point_in_district(district.code, rng)
        rows.append(
            Enterprise(
                credit_code=code,
                name=name,
                legal_representative=_person_name(rng),
                industry=industry_en,
                district_code=district.code,
                address=_address(rng, district.name),
                lon=round(lon, 6),
                lat=round(lat, 6),
                contact_phone=f"1{phones.choice('3589')}{phones.randrange(10**9):09d}",
                created_at=city.now,
            )
        )
    city.session.add_all(rows)
    city.session.flush()
    city.enterprise_ids = [e.id for e in rows]


def seed_accounts(city: DemoCity) -> None:
    """Demo logins: staff of each role, the first resident and the first enterprise."""
    session = city.session
    for username, display, department, roles, description in DEMO_STAFF:
        service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=department,
            roles=roles,
            password_hash=city.password_hash,
        )
        city.add_account(username, description)
    citizen = session.get(Citizen, city.citizen_ids[0])
    enterprise = session.get(Enterprise, city.enterprise_ids[0])
    assert citizen is not None
    assert enterprise is not None
    service.add_principal_account(session, citizen=citizen, password_hash=city.password_hash)
    city.add_account(citizen.id_number, f"resident {citizen.name} ({citizen.district_code})")
    service.add_principal_account(session, enterprise=enterprise, password_hash=city.password_hash)
    city.add_account(enterprise.credit_code, f"enterprise {enterprise.name}")


SIGNUP_HINT = "no account yet: sign up at /signup as {name}, choosing this password"


def seed_signup_example(city: DemoCity) -> None:
    """Name one resident without a login, to try sign-up (the code shows on the console)."""
    session = city.session
    holders = set(
        session.scalars(select(Account.citizen_id).where(Account.citizen_id.is_not(None)))
    )
    citizen_id = next((c for c in reversed(city.citizen_ids) if c not in holders), None)
    if citizen_id is None:
        return
    number, name = session.execute(
        select(Citizen.id_number, Citizen.name).where(Citizen.id == citizen_id)
    ).one()
    city.add_account(number, SIGNUP_HINT.format(name=name))


def seed_core(city: DemoCity) -> None:
    """The core of the demo city: places, departments, residents, enterprises, logins."""
    service.ensure_reference_data(city.session)
    seed_departments(city)
    seed_residents(city)
    seed_enterprises(city)
    seed_accounts(city)


def registered_steps() -> list[tuple[str, Step]]:
    """Seeding steps other domains register under the ``twonets.demo`` entry-point group."""
    from importlib.metadata import entry_points

    found = sorted(entry_points(group="twonets.demo"), key=lambda ep: ep.name)
    steps: list[tuple[str, Any]] = [(ep.name, ep.load()) for ep in found]
    return steps
