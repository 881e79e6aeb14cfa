"""The demo city's requests for the staff's desks: some waiting for a dispatcher, a reopened one,
and a request of the demo enterprise being handled by Market Regulation (after ``80-requests``).

The dispatcher's queue gets requests the classifier was not sure of (their text sent without a
category, as a firm that does not know whom to ask would) and requests every proposed
department declined; the figures get reopened requests; the demo enterprise and
``market.officer`` share a request in dialogue, ready to be answered.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.core.models import Account, AccountKind, Role
from twonets.core.seeding import DemoCity
from twonets.requests import demo, service
from twonets.requests.schemas import NewRequest

# Requests that do not say whose they are: the classifier is rarely sure of them.
VAGUE = (
    "请问企业有困难可以找谁反映",
    "公司新招了一批外地员工，住房和社保都有问题，请问怎么处理",
    "想了解一下今年对小微企业有什么支持",
    "我们的货物在仓库放了很久，想问问有没有什么补贴和税收优惠",
    "企业想扩大规模，需要用地也需要贷款，请问从哪里开始",
    "请帮忙协调一下，我们和物业的纠纷一直解决不了",
    "网站上的办事指南看不懂，请问具体怎么操作",
    "新开的店铺需要办理哪些证件和手续，消防和卫生都要吗",
    "我们公司准备搬到别的区，想问问需要办哪些手续",
)
# The request the demo enterprise and Market Regulation talk about (the browser tests find it).
IN_DIALOGUE = "申请变更营业执照经营范围，增加餐饮服务，材料已备齐，请问还需要现场核验吗"


def _firm(session: Session, enterprise_id: int) -> Principal:
    """The enterprise as a filer: its login when it has one (a message names its author)."""
    account_id = session.scalar(select(Account.id).where(Account.enterprise_id == enterprise_id))
    return Principal(
        account_id=account_id or 0,
        username="",
        display_name="企业",
        kind=AccountKind.ENTERPRISE,
        roles=frozenset({Role.ENTERPRISE}),
        enterprise_id=enterprise_id,
    )


def _officers(session: Session) -> dict[int, Principal]:
    """The requests staff of step ``80-requests``, by department."""
    found = {}
    for username, display, _department, _description in demo.STAFF:
        row = session.execute(
            select(Account.id, Account.department_id).where(Account.username == username)
        ).one()
        found[row.department_id] = Principal(
            account_id=row.id,
            username=username,
            display_name=display,
            kind=AccountKind.STAFF,
            roles=frozenset({Role.STAFF}),
            department_id=row.department_id,
        )
    return found


def seed(city: DemoCity) -> None:
    """Requests for the work list, the dispatcher's queue and the figures to show."""
    session, now = city.session, city.now
    rng = city.rng("requests-desks")
    firms = city.enterprise_ids[: max(1, 50 * city.scale)]
    demo_firm = _firm(session, firms[0])
    officers = _officers(session)
    market = next(p for p in officers.values() if p.username == "market.officer")
    texts = list(VAGUE)
    rng.shuffle(texts)
    for text in texts:
        filed_at = now - timedelta(days=rng.randint(0, 3), minutes=rng.randint(0, 600))
        try:
            with session.begin_nested():
                service.submit_request(
                    session,
                    service.Filer(principal=_firm(session, rng.choice(firms))),
                    NewRequest(
                        description=text, contact_name="联系人", contact_phone="13900000000"
                    ),
                    now=filed_at,
                )
        except Invalid:  # read as a city problem, which needs a place: not a firm's request
            continue
    # Declined by every department the rules proposed: a dispatcher decides.
    for n in range(2):
        row = service.submit_request(
            session,
            service.Filer(principal=_firm(session, rng.choice(firms))),
            NewRequest(
                category="ent-licence",
                description=("门店招牌设置需要哪个部门审批", "外摆摊位占道经营许可向哪里申请")[n],
            ),
            now=now - timedelta(days=2 + n),
        )
        while row.status == service.RequestStatus.ASSIGNED.value and row.department_id in officers:
            service.decline_request(
                session,
                officers[row.department_id],
                row.id,
                reason="招牌和占道事项由城管部门审批，不属于本部门职责",
                now=now - timedelta(days=1 + n),
            )
    # Answered, then sent back by the filer: the figures' reopen rate.
    for n in range(2):
        row = service.submit_request(
            session,
            service.Filer(principal=demo_firm),
            NewRequest(category="ent-licence", description="食品经营许可证延续办理进度查询"),
            now=now - timedelta(days=8 + n),
        )
        if row.department_id != market.department_id:
            continue
        service.accept_request(session, market, row.id, now=now - timedelta(days=7 + n))
        service.answer_request(
            session, market, row.id, answer="已受理，请等待审核。", now=now - timedelta(days=6 + n)
        )
        service.reopen_request(
            session, demo_firm, row.id, reason="一周过去仍无审核结果", now=now - timedelta(days=5)
        )
    # The demo enterprise's request, accepted by Market Regulation, in dialogue.
    row = service.submit_request(
        session,
        service.Filer(principal=demo_firm),
        NewRequest(category="ent-licence", description=IN_DIALOGUE, contact_name="陈经理"),
        now=now - timedelta(hours=5),
    )
    if row.department_id == market.department_id:
        service.accept_request(session, market, row.id, now=now - timedelta(hours=4))
        service.post_message(
            session, market, row.id, body="请问门店面积是多少平方米？", now=now - timedelta(hours=3)
        )
        service.post_message(
            session, demo_firm, row.id, body="约120平方米。", now=now - timedelta(hours=2)
        )
