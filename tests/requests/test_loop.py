"""The loop beyond routing: answered at once from the knowledge base, time limits with
reminders and escalation, and the other side notified (inbox, e-mail over SMTP, SMS)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import purpose_for_function
from requests_world import NOW, World, fixed
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden
from twonets.core.sms import FileSms
from twonets.governance.models import PendingAccess
from twonets.requests import categories, service
from twonets.requests.outlets import Outlets, SmtpMail
from twonets.requests.schemas import NewRequest

Factory = sessionmaker[Session]
QUOTA = "请问数电票的开票额度不够用了，怎么申请调整？"


def _file(
    factory: Factory,
    world: World,
    *,
    text: str = "营业执照经营范围变更一直在审核中",
    category: str | None = "ent-licence",
    who: str = "firm",
    **fields: object,
) -> int:
    with unit_of_work(factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=getattr(world, who)),
            NewRequest(category=category, description=text, **fields),  # type: ignore[arg-type]
            now=NOW,
            classify=fixed("ent-tax", 0.3),
        )
        return row.id


@pytest.fixture
def knowledge(session_factory: Factory, world: World) -> None:
    """The repository's seed answers in the knowledge base."""
    with unit_of_work(session_factory) as session:
        assert service.load_seed_answers(session, now=NOW) >= 14
        assert service.load_seed_answers(session, now=NOW) == 0  # once


# --- answered at once ---------------------------------------------------------------------


def test_a_request_matching_a_policy_answer_is_answered_at_once(
    session_factory: Factory, world: World, knowledge: None
) -> None:
    request_id = _file(session_factory, world, text=QUOTA, category=None)
    with session_factory() as session:
        row = service.get_request(session, world.firm, request_id)
        assert row.status == "answered"
        assert row.department_id is None
        assert row.category_code == "ent-tax"
        steps = service.history(session, world.firm, request_id)
        assert [s.action for s in steps] == ["submit", "classify", "kb-answer"]
        assert steps[-1].details["answer"] == "kb-tax-invoice-quota"
        assert "额度" in (steps[-1].note or "")
    # The firm still wants a department: routed as usual (no tax office here: the hub).
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
        service.ask_department(session, world.other_firm, request_id, now=NOW)
    with unit_of_work(session_factory) as session:
        row = service.ask_department(
            session, world.firm, request_id, reason="我们的情况特殊", now=NOW
        )
        assert row.status == "assigned"
        assert service.department_of(session, row.department_id) == (
            "t.services",
            "部门t.services",
        )
    with session_factory() as session, pytest.raises(service.IllegalStatus):
        service.ask_department(session, world.firm, request_id, now=NOW)


def test_a_request_far_from_every_answer_is_routed_and_one_may_skip_the_answer(
    session_factory: Factory, world: World, knowledge: None
) -> None:
    far = _file(session_factory, world, text="隔壁工厂夜间噪音扰民严重", category="ent-licence")
    skipped = _file(session_factory, world, text=QUOTA, category="ent-licence", ask_department=True)
    with session_factory() as session:
        for request_id in (far, skipped):
            row = service.get_request(session, world.firm, request_id)
            assert row.status == "assigned"
            assert row.answer_id is None


def test_only_the_government_services_office_keeps_the_knowledge_base(
    session_factory: Factory, world: World
) -> None:
    entry = {
        "code": "kb-test",
        "category": "ent-licence",
        "question": "分公司 设立 登记 需要 哪些 材料",
        "answer": "提交分公司登记申请书和总公司执照复印件。",
    }
    for who in (world.market_huangpu, world.dispatcher, world.firm):
        with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
            service.create_answer(session, who, now=NOW, **entry)
    with unit_of_work(session_factory) as session:
        service.create_answer(session, world.hub, now=NOW, **entry)
    with unit_of_work(session_factory) as session, pytest.raises(Conflict):
        service.create_answer(session, world.hub, now=NOW, **entry)
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
        service.change_answer(session, world.market_city, "kb-test", active=False, now=NOW)
    request_id = _file(session_factory, world, text="分公司设立登记需要哪些材料？")
    with session_factory() as session:
        assert service.get_request(session, world.firm, request_id).status == "answered"
    with unit_of_work(session_factory) as session:
        service.change_answer(session, world.hub, "kb-test", active=False, now=NOW)
    request_id = _file(session_factory, world, text="分公司设立登记需要哪些材料？")
    with session_factory() as session:
        assert service.get_request(session, world.firm, request_id).status == "assigned"
        assert [a.code for a in service.list_answers(session)] == []


# --- time limits ------------------------------------------------------------------------------


def test_an_urgent_request_has_the_shorter_limit(session_factory: Factory, world: World) -> None:
    normal = _file(session_factory, world)
    urgent = _file(session_factory, world, urgency="urgent")
    with session_factory() as session:
        a = service.get_request(session, world.firm, normal)
        b = service.get_request(session, world.firm, urgent)
        assert a.deadline_at
        assert b.deadline_at
        assert b.deadline_at < a.deadline_at
        assert b.urgency == "urgent"
        assert categories.limit_days("ent-licence", "urgent") == 2
        assert b.remind_at is not None
        assert NOW < b.remind_at < b.deadline_at


def test_a_request_past_its_limit_is_escalated_to_the_supervising_level(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world, urgency="urgent")
    with session_factory() as session:
        row = service.get_request(session, world.firm, request_id)
        remind_at, deadline = row.remind_at, row.deadline_at
        assert remind_at is not None
        assert deadline is not None
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=NOW) == service.DeadlineRun(0, 0)
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=remind_at) == service.DeadlineRun(1, 0)
    with session_factory() as session:
        inbox = service.list_inbox(session, world.market_huangpu)
        assert inbox[0].action == "remind"
        assert inbox[0].kind == "reminder"
        assert service.list_overdue(session, world.market_huangpu, now=remind_at) == []
        # The city department does not see it yet.
        with pytest.raises(Forbidden):
            service.get_request(session, world.market_city, request_id)
    late = deadline + timedelta(minutes=1)
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=late) == service.DeadlineRun(0, 1)
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=late) == service.DeadlineRun(0, 0)  # once
    with session_factory() as session:
        row = service.get_request(session, world.market_city, request_id)
        assert service.department_of(session, row.escalated_to_id)[0] == "t.market"  # type: ignore[index]
        # The register of overdue requests: the holder's and the supervisor's.
        assert [r.id for r in service.list_overdue(session, world.market_city, now=late)] == [
            request_id
        ]
        assert [r.id for r in service.list_overdue(session, world.market_huangpu, now=late)] == [
            request_id
        ]
        assert service.list_inbox(session, world.market_city)[0].action == "escalate"
        assert service.list_inbox(session, world.firm)[0].action == "escalate"
        steps = service.history(session, world.firm, request_id)
        assert steps[-1].action == "escalate"
        assert steps[-1].department_code == "t.market"
        with pytest.raises(Forbidden):
            service.get_request(session, world.greening, request_id)
        # The supervisor follows it; the holder keeps working it.
        with pytest.raises(Forbidden):
            service.accept_request(session, world.market_city, request_id, now=late)


def test_a_city_department_escalates_to_the_government_services_office(
    session_factory: Factory, world: World
) -> None:
    with session_factory() as session:
        city = service.department_of(session, world.market_city.department_id)
        assert city is not None
        assert service.supervisor_of(session, world.market_city.department_id or 0) == (
            world.hub.department_id
        )
        assert service.supervisor_of(session, world.hub.department_id or 0) is None


# --- notifications -------------------------------------------------------------------------


def test_each_side_hears_of_the_others_actions_in_its_inbox(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with unit_of_work(session_factory) as session:
        service.accept_request(session, world.market_huangpu, request_id, now=NOW)
        service.post_message(session, world.firm, request_id, body="材料已补交", now=NOW)
    with session_factory() as session:
        mine = service.list_inbox(session, world.firm)
        assert [n.action for n in mine] == ["accept", "route"]
        assert all(n.read_at is None for n in mine)
        theirs = service.list_inbox(session, world.market_huangpu)
        assert [n.action for n in theirs] == ["message", "route"]
        assert "材料已补交" in theirs[0].text
        assert service.list_inbox(session, world.other_firm) == []
        assert service.list_inbox(session, world.market_city) == []
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
        service.mark_read(session, world.other_firm, [mine[0].id], now=NOW)
    with unit_of_work(session_factory) as session:
        assert service.mark_read(session, world.firm, [], now=NOW) == 0
        assert service.mark_read(session, world.firm, [mine[0].id], now=NOW) == 1
    with session_factory() as session:
        assert [n.action for n in service.list_inbox(session, world.firm, unread_only=True)] == [
            "route"
        ]


class _Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content or b"")))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, _Inbox]]:
    """A real SMTP server on 127.0.0.1 for the test (aiosmtpd), on a free port."""
    handler = _Inbox()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_the_filer_gets_an_email_and_a_text_with_delivery_status(
    session_factory: Factory, world: World, smtp_server: tuple[Controller, _Inbox], tmp_path: Path
) -> None:
    controller, received = smtp_server
    with unit_of_work(session_factory) as session:
        purpose_for_function(
            session,
            code=service.NOTIFY_PURPOSE,
            name="notifying filers",
            owner="t.services",
            function="market-regulation",
            dataset=service.CONTACT_DATASET,
            fields={"request_id": "keep", "email": "keep", "phone": "keep"},
            since=NOW - timedelta(days=30),
        )
    request_id = _file(
        session_factory,
        world,
        contact_name="李四",
        contact_email="li.si@example.com",
        contact_phone="13800001234",
    )
    with unit_of_work(session_factory) as session:
        service.answer_request(
            session, world.market_huangpu, request_id, answer="已核准变更", now=NOW
        )
    sms = FileSms(tmp_path / "sms.jsonl")
    outlets = Outlets(
        mail=SmtpMail("127.0.0.1", int(controller.port), "a@b.c"),
        sms=sms,
    )
    with unit_of_work(session_factory) as session:
        assert service.deliver_pending(session, world.gov, outlets, now=NOW) == 2
    assert [to for to, _ in received.messages] == [["li.si@example.com"]]
    mail = email.message_from_bytes(received.messages[0][1], policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert "已核准变更" in mail.get_content()
    assert "答复" in str(mail["Subject"])
    assert [(m.phone, "已核准变更" in m.text) for m in sms.messages()] == [("13800001234", True)]
    with session_factory() as session:
        sent = service.list_request_deliveries(session, world.firm, request_id)
        assert [(d.channel, d.status) for d in sent] == [("email", "sent"), ("sms", "sent")]
        reads = session.scalars(
            select(PendingAccess).where(PendingAccess.purpose_code == service.NOTIFY_PURPOSE)
        ).all()
        assert len(reads) == 2
        assert {tuple(r.fields) for r in reads} == {("email",), ("phone",)}
        with pytest.raises(Forbidden):
            service.list_request_deliveries(session, world.other_firm, request_id)
    with unit_of_work(session_factory) as session:
        assert service.deliver_pending(session, world.gov, outlets, now=NOW) == 0  # once


def test_a_refusing_mail_server_is_recorded_and_retried(
    session_factory: Factory, world: World, tmp_path: Path
) -> None:
    with unit_of_work(session_factory) as session:
        purpose_for_function(
            session,
            code=service.NOTIFY_PURPOSE,
            name="notifying filers",
            owner="t.services",
            function="market-regulation",
            dataset=service.CONTACT_DATASET,
            fields={"request_id": "keep", "email": "keep"},
            since=NOW - timedelta(days=30),
        )
    request_id = _file(session_factory, world, contact_email="li.si@example.com")
    with unit_of_work(session_factory) as session:
        service.accept_request(session, world.market_huangpu, request_id, now=NOW)
    # Nothing listens on this port: the connection is refused.
    closed = SmtpMail("127.0.0.1", 9, "a@b.c", timeout=2)
    outlets = Outlets(mail=closed, sms=FileSms(tmp_path / "sms.jsonl"))
    for _ in range(service.MAX_ATTEMPTS):
        with unit_of_work(session_factory) as session:
            assert service.deliver_pending(session, world.gov, outlets, now=NOW) == 0
    with session_factory() as session:
        found = {
            d.channel: d for d in service.list_request_deliveries(session, world.firm, request_id)
        }
        assert found["email"].status == "failed"
        assert found["email"].attempts == service.MAX_ATTEMPTS
        assert "Error" in (found["email"].detail or "")
        # The policy grants no phone: the text is skipped with the reason.
        assert found["sms"].status == "skipped"
        assert "phone" in (found["sms"].detail or "")


def test_reopening_an_answer_at_once_asks_for_a_department(
    session_factory: Factory, world: World, knowledge: None
) -> None:
    request_id = _file(session_factory, world, text=QUOTA, category=None)
    with unit_of_work(session_factory) as session:
        row = service.reopen_request(session, world.firm, request_id, reason="没解决", now=NOW)
        assert row.status == "assigned"
        steps = service.history(session, world.firm, request_id)
        assert steps[-2].action == "ask-department"
        assert steps[-2].note == "没解决"
