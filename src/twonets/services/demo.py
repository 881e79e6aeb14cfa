"""The NEV plate service in the demo city: the process deployed, staff of the district, the
transport commission and the police, and months of applications in every state.

Applications are made at moments spread over the last four months (each step a little
later), so the history, the due times and the escalations read like a real queue. The first
resident, who has a demo login, has one application waiting at their district.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.models import Account, AccountKind, Citizen, DepartmentLevel, Enterprise, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import GranteeKind, LegalBasis, create_purpose, set_policy
from twonets.licences.service import Licensing
from twonets.services import service
from twonets.services.models import ServiceTask
from twonets.services.payments import DemoPayments
from twonets.services.remote import InProcessTransport
from twonets.services.service import prefill

APPLICATIONS_PER_SCALE = 60
MODELS = ("荣威 Ei5", "比亚迪 汉EV", "特斯拉 Model 3", "蔚来 ES6", "上汽大众 ID.4 X", "小鹏 P7")
# How far each application gets: (share, last step done).
FATES = (
    (0.30, "issued"),
    (0.15, "at-district"),
    (0.15, "in-parallel"),
    (0.10, "returned"),
    (0.10, "rejected"),
    (0.10, "not-eligible"),
    (0.10, "at-certificate"),
)


def _applicant(citizen: Citizen) -> Principal:
    """The resident as a principal (the demo applies for residents who have no login)."""
    return Principal(
        account_id=0,
        username=citizen.id_number,
        display_name=citizen.name,
        kind=AccountKind.CITIZEN,
        roles=frozenset({Role.CITIZEN}),
        citizen_id=citizen.id,
    )


def _staff(city: DemoCity, username: str, display: str, department: str) -> Principal:
    account = core_service.create_staff_account(
        city.session,
        username=username,
        display_name=display,
        password="",
        department_code=department,
        roles=(Role.STAFF,),
        password_hash=city.password_hash,
    )
    return auth.principal_of(account)


@dataclass(frozen=True)
class Clerks:
    """The demo's staff of the three departments that work the NEV plate."""

    district: Principal
    transport: Principal
    police: Principal


def _fate(rng: random.Random) -> str:
    draw = rng.random()
    for share, fate in FATES:
        if draw < share:
            return fate
        draw -= share
    return FATES[-1][1]


# Who reads what under each service's purpose: the desk prefills, the lanes read the form.
FORM_FIELDS = {"id": "keep", "form": "keep", "field_origins": "keep"}
GRANTS = (
    ("government-services", "core.citizen", {"district_code": "keep", "address": "keep"}),
    ("government-services", "licences.licence", {"type_code": "keep", "status": "keep"}),
    ("operations", "services.application", FORM_FIELDS),
    ("transport", "services.application", FORM_FIELDS),
    ("police", "services.application", FORM_FIELDS),
    ("social-security", "services.application", FORM_FIELDS),
    ("medical-insurance", "services.application", FORM_FIELDS),
    ("housing-fund", "services.application", FORM_FIELDS),
    ("tax", "services.application", FORM_FIELDS),
)
PURPOSE_NAMES = {
    "nev_plate": "新能源汽车专用牌照一件事",
    "retirement": "职工退休一件事",
    "tax_and_fees": "企业税费一件事",
}


def grant_purposes(session: Session, *, since: datetime) -> None:
    """Each service's purpose and its grants (the data protection officer's work)."""
    for process_id, name in PURPOSE_NAMES.items():
        code = prefill.purpose_of(process_id)
        create_purpose(
            session,
            actor="dpo",
            code=code,
            name=name,
            legal_basis=LegalBasis.CONSENT,
            owner_department_code=prefill.DESK_DEPARTMENT,
            valid_from=since,
            valid_until=None,
            retention_days=730,
            now=since,
        )
        for function, dataset, granted in GRANTS:
            fields = dict(granted)
            if dataset == prefill.CITIZENS and process_id in prefill.BIRTH_DATE_PROCESSES:
                fields["birth_date"] = "keep"  # the retirement's form carries it
            set_policy(
                session,
                Catalogue(),
                actor="dpo",
                grantee_kind=GranteeKind.FUNCTION,
                grantee=function,
                purpose_code=code,
                dataset=dataset,
                fields=fields,
                reason="一件事: 表单预填与部门审核",
                now=since,
            )


def seed(city: DemoCity) -> None:
    """Deploy the NEV plate process, add its staff, and applications in every state."""
    session, now = city.session, city.now
    rng = city.rng("services")
    service.deploy_builtin(session, now=now - timedelta(days=130))
    for code, name, name_en, function in DEPARTMENTS:
        core_service.create_department(
            session,
            code=code,
            name=name,
            name_en=name_en,
            function=function,
            level=DepartmentLevel.CITY,
            region_code="SH",
            district_code=None,
        )
    grant_purposes(session, since=now - timedelta(days=130))
    ctx = Licensing(city.root_secret)
    first = session.get(Citizen, city.citizen_ids[0])  # governance: seeding
    assert first is not None
    district = first.district_code or "310101"
    clerks = Clerks(
        district=_staff(
            city, "services.district", "区城运中心 受理员 陈静", f"{district}.operations"
        ),
        transport=_staff(city, "services.transport", "市交通委 审核员 周明", "sh.transport"),
        police=_staff(city, "services.police", "市公安局 车管员 孙伟", "sh.police"),
    )
    city.add_account(
        "services.district", f"district staff of {district} (NEV plate: charging point)"
    )
    city.add_account("services.transport", "transport staff (NEV plate: vehicle registration)")
    city.add_account("services.police", "police staff (NEV plate: plate and certificate)")

    neighbours = session.scalars(  # governance: seeding synthetic applications
        select(Citizen)
        .where(Citizen.district_code == district, Citizen.id != first.id)
        .order_by(Citizen.id)
        .limit(APPLICATIONS_PER_SCALE * city.scale)
    ).all()
    applicants = [first, *neighbours]
    for n, citizen in enumerate(city.track(applicants, "NEV plate applications")):
        fate = "at-district" if n == 0 else _fate(rng)
        start = now - timedelta(days=rng.uniform(0.5, 120)) if n else now - timedelta(hours=5)
        _apply(city, ctx, clerks, citizen, fate, start, rng)
    _retirements(city, ctx, applicants[1:13], rng)
    _filings(city, ctx, rng)
    # What the app's scheduled work would have done by now.
    service.escalate_overdue(session, now=now)


# Departments the one-thing services need besides the city's own (code, 名称, name, function).
DEPARTMENTS = (
    ("sh.tax", "国家税务总局上海市税务局", "Shanghai Tax Bureau", "tax"),
    ("sh.medical", "市医疗保障局", "Healthcare Security Administration", "medical-insurance"),
    ("sh.fund", "市住房公积金管理中心", "Housing Provident Fund Centre", "housing-fund"),
)
RETIREMENT_FATES = ("at-employer", "years", "years", "jiangsu-late", "retired", "retired")


def _retirements(city: DemoCity, ctx: Licensing, people: list[Citizen], rng: random.Random) -> None:
    """Retirements of the first enterprise's employees: Jiangsu's social security answers
    the years paid there (its staff log in as ``services.jiangsu``), or is late."""
    session, now = city.session, city.now
    employer = session.get(Enterprise, city.enterprise_ids[0])  # governance: seeding
    assert employer is not None
    core_service.create_department(
        session,
        code="js.hrss",
        name="江苏省人力资源和社会保障厅",
        name_en="Jiangsu Human Resources and Social Security Department",
        function="social-security",
        level=DepartmentLevel.CITY,
        region_code="JS",
        district_code=None,
    )
    jiangsu = _staff(city, "services.jiangsu", "江苏省人社厅 经办员 吴芳", "js.hrss")
    hrss = _staff(city, "services.hrss", "市人社局 经办员 郑磊", "sh.hrss")
    city.add_account("services.hrss", "social security staff (retirement: contribution years)")
    city.add_account("services.jiangsu", "Jiangsu social security staff (answers requests)")
    boss = auth.principal_of(
        session.scalars(  # governance: seeding, the demo enterprise's own login
            select(Account).where(Account.enterprise_id == employer.id)
        ).one()
    )
    answered = []
    for n, citizen in enumerate(people):
        fate = RETIREMENT_FATES[n % len(RETIREMENT_FATES)]
        # Jiangsu's late reply: the request went out eight days ago (its time-out is five).
        moment = now - (
            timedelta(days=8) if fate == "jiangsu-late" else timedelta(hours=rng.uniform(30, 90))
        )
        application = service.apply(
            session,
            _applicant(citizen),
            process_id="retirement",
            district_code=citizen.district_code or "310101",
            data={
                "contribution_years_city": rng.randrange(12, 30),
                "contribution_years_delta": rng.randrange(0, 10),
                "average_wage": 12183,
                "indexed_wage": round(rng.uniform(0.6, 2.0), 2),
                "account_balance": rng.randrange(60_000, 300_000),
                "employer_credit_code": employer.credit_code,
            },
            now=moment,
        )
        if fate == "at-employer":
            continue
        moment += timedelta(hours=rng.uniform(2, 24))
        task = _step(session, application.id, "employer_confirms")
        service.claim_task(session, boss, task, now=moment)
        service.complete_task(
            session, ctx, boss, task, data={"last_working_day": "2026-12-31"}, now=moment
        )
        if fate == "retired":
            answered.append(application.id)
    # Requests are signed now (the regions' keys are as old as the demo); a time-out that
    # has passed fires first, so that request is never sent.
    service.fire_timers(session, now=now)
    service.send_pending(session, InProcessTransport(), city.root_secret, now=now)
    for waiting in service.list_inbox(session, city.root_secret, jiangsu, now=now):
        if waiting["request"]["application"] not in answered:
            continue
        service.answer_remote_request(
            session,
            city.root_secret,
            jiangsu,
            waiting["message_id"],
            data={"contribution_years_delta": rng.randrange(0, 10)},
            now=now,
        )
        task = _step(session, waiting["request"]["application"], "check_contribution_years")
        service.claim_task(session, hrss, task, now=now)
        service.complete_task(
            session, ctx, hrss, task, data={"contribution_years_city": 20}, now=now
        )


def _filings(city: DemoCity, ctx: Licensing, rng: random.Random) -> None:
    """Tax and fees of the first enterprise: last months' filings paid, this month's in review."""
    session, now = city.session, city.now
    employer = session.get(Enterprise, city.enterprise_ids[0])  # governance: seeding
    assert employer is not None
    firm = auth.principal_of(
        session.scalars(  # governance: seeding, the demo enterprise's own login
            select(Account).where(Account.enterprise_id == employer.id)
        ).one()
    )
    tax = _staff(city, "services.tax", "市税务局 审核员 冯涛", "sh.tax")
    hrss = auth.principal_of(
        session.scalars(select(Account).where(Account.username == "services.hrss")).one()
    )  # governance: seeding, the demo's own clerk
    fund = _staff(city, "services.fund", "市公积金中心 审核员 何琳", "sh.fund")
    city.add_account("services.tax", "tax staff (tax and fees: the declaration)")
    city.add_account("services.fund", "housing fund staff (retirement, tax and fees)")
    _staff(city, "services.medical", "市医保局 经办员 韩梅", "sh.medical")
    city.add_account("services.medical", "medical insurance staff (retirement: the transfer)")
    payments = DemoPayments()
    for months_ago in (3, 2, 1, 0):
        moment = now - timedelta(days=30 * months_ago + rng.uniform(1, 3))
        filing = service.apply(
            session,
            firm,
            process_id="tax_and_fees",
            district_code=employer.district_code or "310101",
            data={
                "vat_sales": rng.randrange(200_000, 2_000_000),
                "input_vat": rng.randrange(10_000, 100_000),
                "payroll": rng.randrange(100_000, 800_000),
            },
            now=moment,
        )
        if months_ago == 0:
            continue
        for activity, who in (
            ("review_tax", tax),
            ("review_social_insurance", hrss),
            ("review_housing_fund", fund),
        ):
            moment += timedelta(hours=rng.uniform(1, 20))
            task = _step(session, filing.id, activity)
            service.claim_task(session, who, task, now=moment)
            service.complete_task(session, ctx, who, task, data={}, now=moment)
        service.pay(session, payments, firm, filing.id, now=moment + timedelta(hours=2))


def _apply(
    city: DemoCity,
    ctx: Licensing,
    clerks: Clerks,
    citizen: Citizen,
    fate: str,
    start: datetime,
    rng: random.Random,
) -> None:
    session = city.session
    moment = start
    resident = rng.random() < 0.8
    form = {
        "has_residence": resident,
        # Without a residence record, 36 months of social insurance make one eligible.
        "social_insurance_months": rng.randrange(0, 120) if resident else rng.randrange(36, 120),
        "plates_held": 1 if fate == "not-eligible" else 0,
        "charging_point": True,
        "vin": "LSV" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(14)),
        "vehicle_model": rng.choice(MODELS),
    }
    channel = rng.choices(["online", "app", "counter"], weights=[5, 4, 1])[0]
    application = service.apply(
        session,
        _applicant(citizen),
        process_id="nev_plate",
        district_code=citizen.district_code or "310101",
        data=form,
        channel=channel,
        now=moment,
    )
    if fate in {"not-eligible", "at-district"}:
        return
    district, police, transport = clerks.district, clerks.police, clerks.transport

    def later() -> datetime:
        nonlocal moment
        moment += timedelta(hours=rng.uniform(2, 60))
        return moment

    def work(activity: str, who: Principal, data: dict[str, object]) -> None:
        task = _step(session, application.id, activity)
        service.claim_task(session, who, task, now=later())
        service.complete_task(session, ctx, who, task, data=data, now=later())

    task = _step(session, application.id, "confirm_charging_point")
    if fate == "returned":
        service.claim_task(session, district, task, now=later())
        service.return_task(
            session,
            district,
            task,
            missing=["charging_point_photo"],
            reason="充电桩照片未显示桩体编号，请重新拍摄上传",
            now=later(),
        )
        return
    work("confirm_charging_point", district, {"charging_point_id": f"CP{rng.randrange(10**6):06d}"})
    if fate == "in-parallel":
        return
    if fate == "rejected":
        task = _step(session, application.id, "register_vehicle")
        service.claim_task(session, transport, task, now=later())
        service.reject_task(
            session, transport, task, reason="车辆型号不在新能源汽车推广目录内", now=later()
        )
        return
    work("register_vehicle", transport, {"registration_number": f"R{rng.randrange(10**8):08d}"})
    plate = f"沪AD{rng.randrange(10**5):05d}"
    work("allocate_plate", police, {"plate": plate})
    if fate == "at-certificate":
        return
    work("issue_certificate", police, {})


def _step(session: Session, application_id: int, activity: str) -> int:
    found = session.scalar(
        select(ServiceTask.id).where(
            ServiceTask.application_id == application_id,
            ServiceTask.activity == activity,
            ServiceTask.status.in_(["open", "claimed"]),
        )
    )
    assert found is not None, (application_id, activity)
    return found
