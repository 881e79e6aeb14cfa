"""The staff's pages: a department's work list and actions, the dispatcher's queue, the figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from requests_world import NOW, World, fixed
from twonets.core.db import unit_of_work
from twonets.requests import service
from twonets.requests.schemas import NewRequest

Factory = sessionmaker[Session]
HTML = {"Accept": "text/html", "Accept-Language": "en"}


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def _file(factory: Factory, world: World, *, days_ago: int = 0, **new: str) -> int:
    with unit_of_work(factory) as session:
        return service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(**{"category": "ent-licence", "description": "执照变更", **new}),
            now=NOW - timedelta(days=days_ago),
        ).id


def test_the_department_works_a_request_and_the_filer_reads_the_answer(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    late = _file(session_factory, world, days_ago=20, description="二十天前的执照变更")
    fresh = _file(session_factory, world, description="营业执照地址变更")
    log_in(client, world.market_huangpu.username)

    listed = client.get("/requests/work", headers=HTML)
    assert listed.status_code == 200
    assert f'href="/requests/work/{fresh}"' in listed.text
    # The late one comes first and is marked so.
    assert listed.text.index(f"/requests/work/{late}") < listed.text.index(
        f"/requests/work/{fresh}"
    )
    assert listed.text.count('data-testid="overdue"') == 1

    page = client.get(f"/requests/work/{fresh}", headers=HTML)
    assert "营业执照地址变更" in page.text
    assert 'data-testid="accept"' in page.text
    accepted = client.post(f"/requests/work/{fresh}/accept", headers=HTML)
    assert accepted.status_code == 200
    assert "Being handled" in accepted.text
    # An empty answer keeps the page and names the box, in the form's words.
    empty = client.post(f"/requests/work/{fresh}/answer", data={"answer": " "}, headers=HTML)
    assert empty.status_code == 422
    assert "Write the answer in the box “Answer” before sending it." in empty.text
    written = client.post(
        f"/requests/work/{fresh}/messages", data={"body": "请补充租赁合同"}, headers=HTML
    )
    assert "请补充租赁合同" in written.text
    answered = client.post(
        f"/requests/work/{fresh}/answer", data={"answer": "已办理地址变更"}, headers=HTML
    )
    assert answered.status_code == 200
    assert "已办理地址变更" in answered.text
    assert "waiting for the filer" in answered.text

    log_in(client, world.firm.username)
    mine = client.get(f"/requests/{fresh}", headers=HTML)
    assert "已办理地址变更" in mine.text
    assert "请补充租赁合同" in mine.text
    assert 'data-testid="closure"' in mine.text


def test_declining_needs_a_reason_and_sends_the_request_on(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    rid = _file(session_factory, world)
    log_in(client, world.market_huangpu.username)
    empty = client.post(f"/requests/work/{rid}/decline", data={"reason": ""}, headers=HTML)
    assert empty.status_code == 422
    assert "Why it is not ours" in empty.text
    sent = client.post(
        f"/requests/work/{rid}/decline",
        data={"reason": "属于市级"},
        headers=HTML,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    # Declined: no longer this department's to see.
    assert client.get(f"/requests/work/{rid}", headers=HTML).status_code == 403
    assert f"/requests/work/{rid}" not in client.get("/requests/work", headers=HTML).text


def test_another_department_cannot_act_on_a_request_routed_elsewhere(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    rid = _file(session_factory, world)
    log_in(client, world.greening.username)
    assert f"/requests/work/{rid}" not in client.get("/requests/work", headers=HTML).text
    assert client.get(f"/requests/work/{rid}", headers=HTML).status_code == 403
    refused = client.post(f"/requests/work/{rid}/answer", data={"answer": "x"}, headers=HTML)
    assert refused.status_code == 403
    with session_factory() as session:
        assert service.get_request_row(session, rid).status == "assigned"


def test_the_dispatcher_sees_the_candidates_and_dispatches(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        rid = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(description="不知道该找哪个部门"),
            now=NOW,
            classify=fixed("ent-licence", 0.3),
        ).id
    log_in(client, world.dispatcher.username)
    queue = client.get("/requests/dispatch", headers=HTML)
    assert queue.status_code == 200
    assert "不知道该找哪个部门" in queue.text
    assert "30%" in queue.text
    assert "70%" in queue.text
    assert "部门t.310101.market" in queue.text  # where the rules would send the first candidate
    bad = client.post(
        f"/requests/dispatch/{rid}/assign", data={"department_code": "nope"}, headers=HTML
    )
    assert bad.status_code == 422
    assert "Choose a department from the list" in bad.text
    done = client.post(
        f"/requests/dispatch/{rid}/assign",
        data={"category": "ent-licence", "department_code": "t.market"},
        headers=HTML,
    )
    assert done.status_code == 200
    assert "不知道该找哪个部门" not in done.text
    with session_factory() as session:
        row = service.get_request_row(session, rid)
        assert row.status == "assigned"
        assert service.department_of(session, row.department_id) == ("t.market", "部门t.market")


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/requests/work", "firm"),
        ("/requests/work", "dispatcher"),
        ("/requests/dispatch", "market_huangpu"),
        ("/requests/dispatch", "firm"),
        ("/requests/figures", "market_huangpu"),
        ("/requests/figures", "resident"),
    ],
)
def test_the_wrong_role_gets_the_refusal_page(
    client: TestClient, world: World, path: str, who: str
) -> None:
    log_in(client, getattr(world, who).username)
    page = client.get(path, headers=HTML)
    assert page.status_code == 403
    assert "<html" in page.text
    assert "Forbidden" in page.text


def test_a_staff_member_cannot_dispatch(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        rid = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(description="不知道"),
            now=NOW,
            classify=fixed("ent-licence", 0.3),
        ).id
    log_in(client, world.hub.username)
    refused = client.post(
        f"/requests/dispatch/{rid}/assign", data={"department_code": "t.services"}, headers=HTML
    )
    assert refused.status_code == 403
    with session_factory() as session:
        assert service.get_request_row(session, rid).status == "pending"


def test_the_figures_page_draws_bars(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    _file(session_factory, world, days_ago=2)
    _file(session_factory, world, days_ago=3, category="ent-tax")
    log_in(client, world.dispatcher.username)
    page = client.get("/requests/figures?days=30", headers=HTML)
    assert page.status_code == 200
    assert '<strong data-testid="total">2</strong>' in page.text
    assert page.text.count('<svg class="bar"') >= 4  # two categories, a district, departments
    assert "Licences and permits" in page.text
    chinese = client.get(
        "/requests/figures", headers={"Accept": "text/html", "Accept-Language": "zh-CN"}
    )
    assert "诉求数据" in chinese.text


def test_the_filer_reads_notices_of_the_departments_steps_and_marks_them_read(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    request_id = _file(session_factory, world, description="营业执照地址变更")
    with unit_of_work(session_factory) as session:
        service.accept_request(session, world.market_huangpu, request_id, now=NOW)
        service.answer_request(session, world.market_huangpu, request_id, answer="已办", now=NOW)

    log_in(client, world.firm.username)
    home = client.get("/", headers=HTML)
    inbox = client.get("/requests/inbox", headers=HTML)

    assert "unread notices about requests" in home.text
    assert inbox.status_code == 200
    assert inbox.text.count('data-testid="notice"') >= 2
    assert f'href="/requests/{request_id}"' in inbox.text
    assert "Answered" in inbox.text
    assert "Accepted" in inbox.text
    marked = client.post("/requests/inbox/read", headers=HTML, follow_redirects=False)
    assert marked.status_code == 303
    again = client.get("/requests/inbox", headers=HTML)
    assert 'data-testid="read-all"' not in again.text
    assert "unread notices about requests" not in client.get("/", headers=HTML).text

    # Another firm's inbox holds nothing of this request.
    log_in(client, world.other_firm.username)
    other = client.get("/requests/inbox", headers=HTML)
    assert f'href="/requests/{request_id}"' not in other.text
    # The filer writes: the department's staff are told, with a link to their work page.
    with unit_of_work(session_factory) as session:
        service.post_message(session, world.firm, request_id, body="谢谢，还想问…", now=NOW)
    log_in(client, world.market_huangpu.username)
    staff = client.get("/requests/inbox", headers=HTML)
    assert f'href="/requests/work/{request_id}"' in staff.text
    assert "New message" in staff.text
