"""Health in the demo city: hospitals, the clinical reserve, a mobilisation, alarms, lab results.

- 32 Shanghai hospitals (real names; each placed at a random point of its district, not at
  its address), with clinical staff per specialty;
- about 300 reservists at scale 1, each with a professional qualification licence issued
  by the human-resources bureau and checked on registration; trainings, some expired;
- a mobilisation to two emergency centres with accepted, refused and pending calls, re-planned
  once after the refusals; one reservist with a pending call has a resident login, to
  answer it on "My call-ups";
- two years of daily syndrome counts per district with one planted outbreak (acute
  diarrhoea in Minhang over the last week) that the detectors find;
- three labs' samples over the last month, with a positive for a notifiable pathogen.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import numpy as np
from sqlalchemy import insert, select

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.geo import random_point_in_district
from twonets.core.models import Account, Citizen, DepartmentLevel, Role
from twonets.core.places import DISTRICTS
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
from twonets.health import service
from twonets.health.models import (
    Assignment,
    AssignmentStatus,
    LabSample,
    Reservist,
    Specialty,
    SyndromeCount,
    TrainingKind,
)
from twonets.licences import service as licences

# name, district
HOSPITALS: tuple[tuple[str, str], ...] = (
    ("瑞金医院", "310101"),
    ("长征医院", "310101"),
    ("第九人民医院", "310101"),
    ("曙光医院", "310101"),
    ("中山医院", "310104"),
    ("第六人民医院", "310104"),
    ("龙华医院", "310104"),
    ("胸科医院", "310104"),
    ("同仁医院", "310105"),
    ("华山医院", "310106"),
    ("第十人民医院", "310106"),
    ("同济医院", "310107"),
    ("普陀区中心医院", "310107"),
    ("第一人民医院", "310109"),
    ("岳阳医院", "310109"),
    ("新华医院", "310110"),
    ("长海医院", "310110"),
    ("肺科医院", "310110"),
    ("第五人民医院", "310112"),
    ("闵行区中心医院", "310112"),
    ("华山医院宝山院区", "310113"),
    ("嘉定区中心医院", "310114"),
    ("仁济医院", "310115"),
    ("东方医院", "310115"),
    ("浦南医院", "310115"),
    ("金山医院", "310116"),
    ("市公共卫生临床中心", "310116"),
    ("松江区中心医院", "310117"),
    ("青浦区中山医院", "310118"),
    ("奉贤区中心医院", "310120"),
    ("新华医院崇明分院", "310151"),
    ("第一人民医院南院", "310115"),
)
# Share of a hospital's clinical staff in each specialty.
STAFF_MIX = {
    Specialty.INFECTIOUS_DISEASES: 0.04,
    Specialty.RESPIRATORY: 0.08,
    Specialty.CRITICAL_CARE: 0.06,
    Specialty.EMERGENCY: 0.07,
    Specialty.NURSING: 0.5,
    Specialty.INFECTION_CONTROL: 0.02,
}
RESERVE_MIX = {
    Specialty.INFECTIOUS_DISEASES: 0.14,
    Specialty.RESPIRATORY: 0.16,
    Specialty.CRITICAL_CARE: 0.16,
    Specialty.EMERGENCY: 0.12,
    Specialty.NURSING: 0.34,
    Specialty.INFECTION_CONTROL: 0.08,
}
SYNDROMES = {"influenza-like-illness": 60.0, "acute-diarrhoea": 20.0, "fever-with-rash": 4.0}
OUTBREAK = ("310112", "acute-diarrhoea", 6)  # district, syndrome, last days
LABS = (
    ("sh.cdc.lab", "市疾控中心病原检测实验室", "CDC pathogen laboratory", "lab.cdc", "检验员 钱进"),
    ("sh.phcc.lab", "市公共卫生临床中心实验室", "Public Health Clinical Centre laboratory",
     "lab.phcc", "检验员 邹萍"),
    ("sh.ruijin.lab", "瑞金医院检验科", "Ruijin Hospital laboratory", "lab.ruijin", "检验员 施涛"),
)  # fmt: skip
PATHOGENS = (
    ("respiratory", ("influenza-a-h3n2", "influenza-a-h1n1", "influenza-b", "rsv", "adenovirus")),
    ("enteric", ("norovirus", "rotavirus", "salmonella", "shigella")),
)
NOTIFIABLE_FIND = ("sh.cdc.lab", "influenza-a-h7n9", "310112")


def seed(city: DemoCity) -> None:
    """Hospitals, reserve, a mobilisation, two years of counts with an outbreak, lab results."""
    session, now = city.session, city.now
    rng = city.rng("health")
    today = now.date()
    _governance(city)
    hospitals = _hospitals(city, rng)
    reservists = _reserve(city, rng, hospitals)
    _mobilisation(city, rng, reservists)
    _reservist_login(city)
    _counts(city, rng, today)
    service.detect(session, today=today, now=now)
    _labs(city, rng)


def _governance(city: DemoCity) -> None:
    """The purpose under which planners read reservists' records, and the health policy."""
    now = city.now
    create_purpose(
        city.session,
        actor="dpo",
        code=service.PURPOSE,
        name="应急医疗储备动员 Clinical reserve mobilisation",
        legal_basis=LegalBasis.STATUTORY_DUTY,
        owner_department_code="sh.health",
        valid_from=now - timedelta(days=400),
        valid_until=None,
        retention_days=1825,
        description="Keeping the register of reservists and calling them up in an emergency.",
        now=now - timedelta(days=400),
    )
    set_policy(
        city.session,
        Catalogue(),
        actor="dpo",
        grantee_kind=GranteeKind.FUNCTION,
        grantee="health",
        purpose_code=service.PURPOSE,
        dataset=service.RESERVIST_DATASET,
        fields={
            "name": "keep",
            "id_number": "partial:6:4",
            "licence_identifier": "keep",
            "specialty": "keep",
            "hospital_id": "keep",
            "district_code": "keep",
            "available": "keep",
        },
        reason="planners call reservists by name; the ID number only to tell namesakes apart",
        now=now - timedelta(days=400),
    )


def _hospitals(city: DemoCity, rng: random.Random) -> list[tuple[str, str]]:
    """Codes and districts of the demo hospitals."""
    out = []
    for i, (name, district) in enumerate(HOSPITALS):
        lon, lat = random_point_in_district(district, rng)
        clinical = rng.randrange(800, 3200)
        code = f"h{i + 1:02d}"
        service.create_hospital(
            city.session,
            code=code,
            name=name,
            district_code=district,
            lon=round(lon, 5),
            lat=round(lat, 5),
            staff_by_specialty={s.value: round(clinical * share) for s, share in STAFF_MIX.items()},
            staff_total=round(clinical / 0.77),
        )
        out.append((code, district))
    return out


def _reserve(city: DemoCity, rng: random.Random, hospitals: list[tuple[str, str]]) -> list[int]:
    """Reservists with their qualification licences and trainings; returns their ids."""
    session, now = city.session, city.now
    today = now.date()
    clerk = auth.principal_of(
        session.scalars(select(Account).where(Account.username == "licence.hrss")).one()
    )  # governance: seeding acts as the demo's own clerk
    adults = session.scalars(
        select(Citizen)
        .where(Citizen.birth_date <= date(today.year - 25, 1, 1))
        .where(Citizen.birth_date >= date(today.year - 60, 1, 1))
        .order_by(Citizen.id)
    ).all()  # governance: seeding the demo reserve
    people = rng.sample(list(adults), min(len(adults), 300 * city.scale))
    specialties = list(RESERVE_MIX)
    weights = list(RESERVE_MIX.values())
    ids = []
    for citizen in city.track(people, "health reserve", total=len(people)):
        specialty = rng.choices(specialties, weights)[0]
        licence = licences.issue_licence(
            session,
            licences.Licensing(city.root_secret),
            clerk,
            type_code="PQ",
            claims={
                "name": citizen.name,
                "id_number": citizen.id_number,
                "profession": "护士" if specialty is Specialty.NURSING else "医师",
                "level": rng.choice(["intermediate", "senior"]),
                "specialty": specialty.value,
                "awarded_on": (today - timedelta(days=rng.randrange(400, 6000))).isoformat(),
            },
            valid_from=today - timedelta(days=rng.randrange(400, 3000)),
            now=now,
        )
        code, _ = rng.choice(hospitals)
        reservist = service.register_reservist(
            session,
            id_number=citizen.id_number,
            name=citizen.name,
            licence_identifier=licence.identifier,
            specialty=specialty.value,
            hospital_code=code,
            available=rng.random() < 0.9,
            now=now - timedelta(days=rng.randrange(1, 365)),
        )
        ids.append(reservist.id)
        for kind in TrainingKind:
            if rng.random() < 0.08:
                continue  # never trained in this
            # Most trained within their validity; about one in six has let one lapse.
            back = rng.randrange(30, 330) if rng.random() < 0.83 else rng.randrange(400, 900)
            service.record_training(
                session,
                reservist_id=reservist.id,
                kind=kind.value,
                completed_on=today - timedelta(days=back),
                today=today,
            )
    return ids


def _mobilisation(city: DemoCity, rng: random.Random, reservists: list[int]) -> None:
    """An exercise call-up with answers, re-planned once after the refusals."""
    session, now = city.session, city.now
    planner = auth.principal_of(
        session.scalars(select(Account).where(Account.username == "health.planner")).one()
    )  # governance: seeding acts as the demo's own planner
    started = now - timedelta(days=2)
    mobilisation = service.create_mobilisation(
        session,
        planner,
        name="2026 冬季应急演练 Winter readiness exercise",
        demand=[
            service.DemandLine("市公共卫生临床中心 Jinshan", 121.3405, 30.7416, s, n)
            for s, n in (
                ("infectious-diseases", 6),
                ("critical-care", 6),
                ("respiratory", 5),
                ("nursing", 14),
                ("infection-control", 2),
            )
        ]
        + [
            service.DemandLine("临港应急医疗中心 Lingang", 121.9297, 30.9006, s, n)
            for s, n in (("critical-care", 4), ("emergency", 4), ("nursing", 10))
        ],
        max_share=0.02,
        now=started,
    )
    first = service.mobilisation_json(session, mobilisation)["assignments"]
    for a in first:
        draw = rng.random()
        if draw < 0.65:
            accept: bool | None = True
        elif draw < 0.85:
            accept = False
        else:
            accept = None  # not answered yet
        if accept is not None:
            service.respond(
                session,
                planner,
                assignment_id=a["id"],
                accept=accept,
                now=started + timedelta(hours=rng.uniform(1, 20)),
            )
    service.replan(session, mobilisation_id=mobilisation.id, now=started + timedelta(days=1))
    del reservists


def _reservist_login(city: DemoCity) -> None:
    """Give the first reservist with a pending call (and no login yet) a resident login."""
    session = city.session
    # The first residents get logins from other steps (core, codes): leave them to those.
    taken = set(city.citizen_ids[:10]) | {
        cid for cid in session.scalars(select(Account.citizen_id)) if cid is not None
    }
    pending = session.scalars(
        select(Reservist.citizen_id)
        .join(Assignment, Assignment.reservist_id == Reservist.id)
        .where(Assignment.status == AssignmentStatus.NOTIFIED)
        .order_by(Assignment.id)
    ).all()
    citizen_id = next((cid for cid in pending if cid not in taken), None)
    if citizen_id is None:
        return  # a tiny city may call no one; nothing to announce
    citizen = session.get(Citizen, citizen_id)  # governance: seeding the demo's own login
    assert citizen is not None
    core_service.add_principal_account(session, citizen=citizen, password_hash=city.password_hash)
    city.add_account(citizen.id_number, "reservist with a pending call-up (My call-ups)")


def _counts(city: DemoCity, rng: random.Random, today: date) -> None:
    """Two years of daily counts per district and syndrome, and the planted outbreak."""
    np_rng = np.random.default_rng(rng.randrange(2**32))
    days = [today - timedelta(days=k) for k in range(729, -1, -1)]
    rows = []
    outbreak_district, outbreak_syndrome, outbreak_days = OUTBREAK
    for district in DISTRICTS:
        size = district.population_2020 / 1_500_000
        for syndrome, base in SYNDROMES.items():
            for k, day in enumerate(days):
                season = 1 + 0.5 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)
                if syndrome == "acute-diarrhoea":
                    season = 1 + 0.4 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 220) / 365)
                weekday = 0.9 if day.weekday() >= 5 else 1.0
                mean = base * size * season * weekday
                if (
                    district.code == outbreak_district
                    and syndrome == outbreak_syndrome
                    and k >= len(days) - outbreak_days
                ):
                    mean *= 1.6 + 0.25 * (k - len(days) + outbreak_days)
                rows.append(
                    {
                        "day": day,
                        "district_code": district.code,
                        "syndrome": syndrome,
                        "count": int(np_rng.poisson(mean)),
                    }
                )
    city.session.execute(insert(SyndromeCount), rows)


def _labs(city: DemoCity, rng: random.Random) -> None:
    """Three labs, a month of results, and a notifiable positive reported through the service."""
    session, now = city.session, city.now
    principals = {}
    for code, name, name_en, username, display in LABS:
        core_service.create_department(
            session,
            code=code,
            name=name,
            name_en=name_en,
            function=service.LAB_FUNCTION,
            level=DepartmentLevel.CITY,
            region_code="SH",
        )
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=code,
            roles=(Role.STAFF,),
            password_hash=city.password_hash,
        )
        principals[code] = auth.principal_of(account)
    city.add_account("lab.cdc", "laboratory staff, CDC (submits lab results)")
    district_codes = [d.code for d in DISTRICTS]
    # How long each lab takes: (median hours in transit, median hours in the lab).
    speed = {"sh.cdc.lab": (5.0, 10.0), "sh.phcc.lab": (3.0, 6.0), "sh.ruijin.lab": (2.0, 14.0)}
    rows = []
    for n in range(450 * city.scale):
        lab = rng.choice([c for c, *_ in LABS])
        transit, inside = speed[lab]
        collected = now - timedelta(days=rng.uniform(1, 30))
        received = collected + timedelta(hours=rng.lognormvariate(math.log(transit), 0.5))
        reported = received + timedelta(hours=rng.lognormvariate(math.log(inside), 0.6))
        if reported > now - timedelta(hours=1):
            continue
        panel, pathogens = rng.choice(PATHOGENS)
        result = rng.choice(pathogens) if rng.random() < 0.3 else service.NEGATIVE
        rows.append(
            {
                "sample_id": f"{lab.split('.')[1].upper()}-{now:%y}-{n + 1:06d}",
                "patient_pseudonym": f"p-{rng.getrandbits(64):016x}",
                "lab_department_code": lab,
                "district_code": rng.choice(district_codes),
                "panel": panel,
                "result": result,
                "collected_at": collected,
                "received_at": received,
                "reported_at": reported,
            }
        )
    session.execute(insert(LabSample), rows)
    lab, pathogen, district = NOTIFIABLE_FIND
    collected = now - timedelta(hours=30)
    service.submit_lab_result(
        session,
        service.HealthContext(gov=Governance(Catalogue(), city.root_secret)),
        principals[lab],
        service.LabResult(
            sample_id=f"CDC-{now:%y}-H7-000001",
            patient_pseudonym=f"p-{rng.getrandbits(64):016x}",
            panel="respiratory",
            result=pathogen,
            collected_at=collected,
            received_at=collected + timedelta(hours=4),
            reported_at=collected + timedelta(hours=15),
            district_code=district,
        ),
        now=collected + timedelta(hours=15),
    )
