"""Licences in the demo city: Shanghai and Jiangsu issuing keys, mutual recognition, licences.

Jiangsu's platform is simulated in the same database (its own keys and trust list) so that the
demo shows a Jiangsu licence verifying in Shanghai because Shanghai recognises Jiangsu's list.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.ids import make_credit_code
from twonets.core.models import Citizen, DepartmentLevel, Enterprise, Role
from twonets.core.seeding import DemoCity
from twonets.licences import service
from twonets.trust import service as trust

CLERKS = (
    ("licence.police", "证照窗口(公安) 林芳", "sh.police"),
    ("licence.market", "证照窗口(市场监管) 高翔", "sh.market"),
    ("licence.civil", "婚姻登记员 罗敏", "sh.civil"),
    ("licence.hrss", "职称评审 谢磊", "sh.hrss"),
    ("js.police.clerk", "江苏公安 证照窗口 吴静", "js.police"),
)


def seed(city: DemoCity) -> None:
    """Region keys, Jiangsu recognised, ID cards, driving licences, business licences."""
    session, now = city.session, city.now
    rng = city.rng("licences")
    ctx = service.Licensing(city.root_secret)
    trust.ensure_issuing_region(session, region="SH", root_secret=city.root_secret, now=now)
    trust.ensure_issuing_region(
        session, region="JS", root_secret=city.root_secret, now=now, recognise=False
    )
    trust.recognise_region(
        session,
        anchor=trust.anchor_pem(session, "JS", city.root_secret),
        trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
        now=now,
    )
    core_service.create_department(
        session,
        code="js.police",
        name="江苏省公安厅",
        name_en="Jiangsu Public Security Department",
        function="police",
        level=DepartmentLevel.CITY,
        region_code="JS",
        credit_code=make_credit_code(
            authority="1", kind="1", region_code="320000", organisation_body="01357913"
        ),
    )
    clerks = {}
    for username, display, department in CLERKS:
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=department,
            roles=(Role.STAFF,),
            password_hash=city.password_hash,
        )
        clerks[username] = auth.principal_of(account)
    city.add_account("licence.police", "staff issuing ID cards and driving licences")

    citizens = session.scalars(select(Citizen).order_by(Citizen.id)).all()  # governance: seeding
    keyring = ctx.keyring(session)
    people = citizens[: 300 * city.scale]
    issued = []
    for citizen in city.track(people, "licences", total=len(people)):
        address = citizen.address or ""
        photo = hashlib.sha256(f"photo:{citizen.id_number}".encode()).hexdigest()
        person = {"name": citizen.name, "id_number": citizen.id_number}
        issued.append(
            service.issue_licence(
                session,
                ctx,
                clerks["licence.police"],
                type_code="ID",
                claims={
                    **person,
                    "sex": citizen.sex,
                    "birth_date": citizen.birth_date.isoformat(),
                    "address": address,
                    "photo_hash": photo,
                },
                valid_from=now.date() - timedelta(days=rng.randrange(3000)),
                now=now,
            )
        )
        # The first resident's driving licence comes from Jiangsu (below).
        adult = citizen.birth_date <= date(now.year - 18, 1, 1)
        if adult and citizen is not people[0] and rng.random() < 0.5:
            service.issue_licence(
                session,
                ctx,
                clerks["licence.police"],
                type_code="DL",
                claims={
                    **person,
                    "vehicle_classes": rng.choice(["C1", "C2", "C1 D"]),
                    "first_issued": (
                        now.date() - timedelta(days=rng.randrange(200, 6000))
                    ).isoformat(),
                    "photo_hash": photo,
                },
                valid_from=now.date() - timedelta(days=rng.randrange(1500)),
                now=now,
            )
        if rng.random() < 0.1:
            service.issue_licence(
                session,
                ctx,
                clerks["licence.hrss"],
                type_code="PQ",
                claims={
                    **person,
                    "profession": rng.choice(["工程师", "会计师", "经济师"]),
                    "level": rng.choice(["junior", "intermediate", "senior"]),
                    "awarded_on": (
                        now.date() - timedelta(days=rng.randrange(100, 4000))
                    ).isoformat(),
                },
                valid_from=now.date() - timedelta(days=30),
                now=now,
            )
    del keyring
    first, second = people[0], people[1]
    service.issue_licence(
        session,
        ctx,
        clerks["licence.civil"],
        type_code="MC",
        claims={
            "name": first.name,
            "id_number": first.id_number,
            "spouse_name": second.name,
            "spouse_id_number": second.id_number,
            "registered_on": "2019-05-20",
        },
        valid_from=date(2019, 5, 20),
        now=now,
    )
    # A licence issued in Jiangsu to the demo resident, who moved to Shanghai.
    service.issue_licence(
        session,
        ctx,
        clerks["js.police.clerk"],
        type_code="DL",
        claims={
            "name": first.name,
            "id_number": first.id_number,
            "vehicle_classes": "C1",
            "first_issued": "2015-03-02",
            "photo_hash": hashlib.sha256(f"photo:{first.id_number}".encode()).hexdigest(),
        },
        valid_from=now.date() - timedelta(days=400),
        now=now,
    )
    firms = select(Enterprise).order_by(Enterprise.id).limit(100 * city.scale)  # governance: seed
    for firm in session.scalars(firms).all():
        service.issue_licence(
            session,
            ctx,
            clerks["licence.market"],
            type_code="BL",
            claims={
                "credit_code": firm.credit_code,
                "enterprise_name": firm.name,
                "legal_representative": firm.legal_representative or "",
                "business_scope": firm.industry or "general trade",
                "registered_capital": f"{rng.choice([50, 100, 500, 1000])}万元",
                "established": (now.date() - timedelta(days=rng.randrange(100, 8000))).isoformat(),
                "address": firm.address or "",
            },
            valid_from=now.date() - timedelta(days=rng.randrange(3000)),
            now=now,
        )
    # One suspended and one revoked licence, for the verifier to meet.
    service.change_status(
        session,
        clerks["licence.police"],
        licence_id=issued[5].id,
        action="suspend",
        reason="reported lost",
        now=now,
    )
    service.change_status(
        session,
        clerks["licence.police"],
        licence_id=issued[6].id,
        action="revoke",
        reason="replaced after a name change",
        now=now,
    )
