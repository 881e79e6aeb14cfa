"""The demo city's requests: handling staff, the contact-reading and notifying policies, the
knowledge base of policy answers, a month of requests (some answered at once, some urgent,
some escalated past their limit), and the notices and deliveries they caused."""

from __future__ import annotations

from datetime import timedelta

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.models import AccountKind, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import (
    Governance,
    GranteeKind,
    LegalBasis,
    create_purpose,
    set_policy,
)
from twonets.requests import classify, service
from twonets.requests.outlets import LogMail, LogSms, Outlets
from twonets.requests.schemas import NewRequest

# (username, display name, department, description)
STAFF = (
    ("market.officer", "市场监管局 干部 李娜", "sh.market", "staff, Market Regulation (requests)"),
    ("hotline.officer", "12345 热线 干部 周强", "sh.services", "staff, 12345 hub (requests)"),
)
# Functions whose departments read a filer's contacts to handle requests.
READERS = (
    "market-regulation",
    "social-security",
    "housing",
    "ecology",
    "transport",
    "urban-management",
    "government-services",
)
REQUESTS_PER_SCALE = 60
# Questions the knowledge base answers at once (every eighth demo request is one of them).
QUESTIONS = (
    "请问数电票的开票额度不够用了，怎么申请调整？",
    "出口退税一般多久能到账？办理流程是什么？",
    "我们的货车需要办理进城通行证，外环以内怎么申请？",
    "增值税留抵退税申请条件是什么，多久到账？",
    "惠企政策补贴怎么申请，哪些可以免申即享？",
    "稳岗返还什么时候发放，需要申请吗？",
)


def _firm(enterprise_id: int) -> Principal:
    """The enterprise as a filer (most demo firms have no login; their requests are theirs)."""
    return Principal(
        account_id=0,
        username="",
        display_name="企业",
        kind=AccountKind.ENTERPRISE,
        roles=frozenset({Role.ENTERPRISE}),
        enterprise_id=enterprise_id,
    )


def seed(city: DemoCity) -> None:
    """Requests of the demo firms over the last month, some answered, declined or closed."""
    session, now = city.session, city.now
    rng = city.rng("requests")
    staff = {}
    for username, display, department, description in STAFF:
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password="",
            department_code=department,
            roles=[Role.STAFF],
            password_hash=city.password_hash,
        )
        principal = auth.principal_of(account)
        staff[principal.department_id] = principal
        city.add_account(username, description)
    # Reaching the filer while handling, and telling the filer of each step: two purposes,
    # each granted to the functions that answer requests.
    purposes = (
        (
            service.CONTACT_PURPOSE,
            "办理企业诉求和市民诉求",
            {"request_id": "keep", "name": "keep", "phone": "partial:3:4"},
            "handling requests needs a way to reach the filer",
        ),
        (
            service.NOTIFY_PURPOSE,
            "告知诉求人办理进展",
            {"request_id": "keep", "email": "keep", "phone": "keep"},
            "the filer is told of each step by e-mail and text message",
        ),
    )
    for code, name, fields, reason in purposes:
        create_purpose(
            session,
            actor="dpo",
            code=code,
            name=name,
            legal_basis=LegalBasis.STATUTORY_DUTY,
            owner_department_code="sh.services",
            valid_from=now - timedelta(days=60),
            valid_until=None,
            retention_days=730,
            now=now - timedelta(days=60),
        )
        for function in READERS:
            set_policy(
                session,
                Catalogue(),
                actor="dpo",
                grantee_kind=GranteeKind.FUNCTION,
                grantee=function,
                purpose_code=code,
                dataset=service.CONTACT_DATASET,
                fields=fields,
                reason=reason,
                now=now - timedelta(days=60),
            )
    service.load_seed_answers(session, now=now - timedelta(days=60))
    examples = [e for e in classify.load_corpus() if e.label.startswith("ent-")]
    firms = city.enterprise_ids[: max(1, 50 * city.scale)]
    total = REQUESTS_PER_SCALE * city.scale
    for n in city.track(range(total), "requests", total=total):
        example = rng.choice(examples)
        # The first firm has the demo login: it gets every fifth request.
        firm = firms[0] if n % 5 == 0 else rng.choice(firms)
        filed_at = now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
        question = n % 8 == 3
        row = service.submit_request(
            session,
            service.Filer(principal=_firm(firm)),
            NewRequest(
                category=None if question else example.label,
                description=rng.choice(QUESTIONS) if question else example.text,
                contact_name="联系人",
                contact_phone=f"139{rng.randint(0, 99_999_999):08d}",
                contact_email=f"contact{n}@firm.example" if n % 3 == 0 else None,
                urgency="urgent" if rng.random() < 0.2 else "normal",
            ),
            now=filed_at,
        )
        if row.answer_id is not None:
            later = filed_at + timedelta(hours=rng.randint(1, 48))
            if rng.random() < 0.7:
                service.confirm_request(session, _firm(firm), row.id, now=later)
            else:
                service.ask_department(
                    session, _firm(firm), row.id, reason="情况特殊，请部门答复", now=later
                )
            continue
        holder = staff.get(row.department_id)
        if holder is None:
            continue
        later = filed_at + timedelta(days=rng.randint(1, 5))
        fate = rng.random()
        if fate < 0.15:
            service.decline_request(
                session, holder, row.id, reason="不属于本部门职责，请重新派单", now=later
            )
        elif fate < 0.75:
            service.accept_request(session, holder, row.id, now=later)
            if fate < 0.6:
                service.answer_request(
                    session, holder, row.id, answer="已按政策予以答复并电话告知。", now=later
                )
                if fate < 0.4:
                    service.confirm_request(session, _firm(firm), row.id, now=later)
                    service.rate_request(
                        session, _firm(firm), row.id, score=rng.choice((3, 4, 5, 5)), now=later
                    )
    # The scheduled work, as it would have run: reminders and escalations up to now, and the
    # e-mails and text messages to filers (logged: the demo sends nothing out).
    # Run twice a day over the last five weeks, so late requests climb the chain as they would.
    tick = now - timedelta(days=35)
    while tick < now:
        service.check_deadlines(session, now=tick)
        tick += timedelta(hours=12)
    service.check_deadlines(session, now=now)
    service.deliver_pending(
        session,
        Governance(Catalogue(), city.root_secret),
        Outlets(mail=LogMail(), sms=LogSms()),
        now=now,
        limit=100_000,
    )
