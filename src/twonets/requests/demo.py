"""The demo city's requests: handling staff, the contact-reading policy, a month of requests."""

from __future__ import annotations

from datetime import timedelta

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.models import AccountKind, Role
from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import GranteeKind, LegalBasis, create_purpose, set_policy
from twonets.requests import classify, service
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
    create_purpose(
        session,
        actor="dpo",
        code=service.CONTACT_PURPOSE,
        name="办理企业诉求和市民诉求",
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
            purpose_code=service.CONTACT_PURPOSE,
            dataset=service.CONTACT_DATASET,
            fields={"request_id": "keep", "name": "keep", "phone": "partial:3:4"},
            reason="handling requests needs a way to reach the filer",
            now=now - timedelta(days=60),
        )
    examples = [e for e in classify.load_corpus() if e.label.startswith("ent-")]
    firms = city.enterprise_ids[: max(1, 50 * city.scale)]
    total = REQUESTS_PER_SCALE * city.scale
    for n in city.track(range(total), "requests", total=total):
        example = rng.choice(examples)
        # The first firm has the demo login: it gets every fifth request.
        firm = firms[0] if n % 5 == 0 else rng.choice(firms)
        filed_at = now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
        row = service.submit_request(
            session,
            service.Filer(principal=_firm(firm)),
            NewRequest(
                category=example.label,
                description=example.text,
                contact_name="联系人",
                contact_phone=f"139{rng.randint(0, 99_999_999):08d}",
            ),
            now=filed_at,
        )
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
