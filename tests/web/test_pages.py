"""The core's pages: sign-up in two steps, login with lock-outs, the cookie, the accounts page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    PASSWORD,
    create_citizen,
    create_department,
    create_resident,
    create_staff,
    next_id_number,
)
from twonets.core.db import unit_of_work
from twonets.core.models import Role
from twonets.core.sms import FileSms

HTML = {"accept": "text/html"}


@pytest.fixture
def outbox(app: FastAPI, tmp_path: Path) -> FileSms:
    """The app's text messages, written to a file the test reads."""
    sms = FileSms(tmp_path / "sms.jsonl")
    app.state.sms = sms
    return sms


def _form_login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/"},
        headers=HTML,
        follow_redirects=False,
    )
    return response.status_code


def _answer(page: str) -> str:
    found = re.search(r'data-testid="signup-answer">([^<]*)<', page)
    assert found is not None, page
    return found.group(1)


def test_the_login_page_leads_to_sign_up(client: TestClient) -> None:
    page = client.get("/login", headers=HTML).text
    assert 'href="/signup"' in page
    signup = client.get("/signup", headers=HTML)
    assert signup.status_code == 200
    assert 'name="identifier"' in signup.text
    assert "ID number" in signup.text
    assert "Unified social credit code" in client.get("/signup?kind=enterprise").text


def test_a_resident_signs_up_in_two_steps_and_logs_in(
    client: TestClient, session_factory: sessionmaker[Session], outbox: FileSms
) -> None:
    with unit_of_work(session_factory) as session:
        number = create_resident(session, name="王芳").id_number
        holder = create_citizen(session, name="李雷", phone="13911110000").username
    steps = [
        client.post(
            "/signup",
            data={"kind": "citizen", "identifier": identifier, "name": name},
            headers=HTML,
        )
        for identifier, name in ((number, "王芳"), (holder, "李雷"), (next_id_number(), "某人"))
    ]
    assert {s.status_code for s in steps} == {202}
    assert len({_answer(s.text) for s in steps}) == 1  # one answer, whatever the register holds
    assert 'name="code"' in steps[0].text
    code = re.findall(r"\b\d{6}\b", outbox.messages()[0].text)[0]

    wrong = client.post(
        "/signup/confirm",
        data={
            "kind": "citizen",
            "identifier": number,
            "name": "王芳",
            "code": "000000" if code != "000000" else "111111",
            "password": PASSWORD,
        },
        headers=HTML,
    )
    assert wrong.status_code == 422
    assert "The code is wrong, has expired or was already used" in wrong.text
    assert f'value="{number}"' in wrong.text  # the form keeps what was typed

    done = client.post(
        "/signup/confirm",
        data={
            "kind": "citizen",
            "identifier": number,
            "name": "王芳",
            "code": code,
            "password": PASSWORD,
        },
        headers=HTML,
    )
    assert done.status_code == 200
    assert "Your account is ready" in done.text
    assert _form_login(client, number) == 303
    assert "Welcome, 王芳" in client.get("/", headers=HTML).text


def test_a_malformed_identifier_is_named_on_the_form(client: TestClient, outbox: FileSms) -> None:
    response = client.post(
        "/signup",
        data={"kind": "enterprise", "identifier": "91110000600O37341L", "name": "某公司"},
        headers=HTML,
    )
    assert response.status_code == 422
    assert "&#39;O&#39; at position 12" in response.text or "'O' at position 12" in response.text
    assert 'aria-invalid="true"' in response.text
    assert outbox.messages() == []


def test_the_login_form_locks_known_and_unknown_names_alike(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="page.user")
    known = [_form_login(client, "page.user", "wrong-password") for _ in range(6)]
    unknown = [_form_login(client, "nobody.here", "wrong-password") for _ in range(6)]
    assert known == unknown == [401] * 4 + [429] * 2
    page = client.post(
        "/login", data={"username": "nobody.here", "password": "x"}, headers=HTML
    ).text
    assert "Too many failed logins for this user name" in page


def test_an_administrator_unlocks_a_user_name_on_the_accounts_page(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        platform = create_department(session, function="platform")
        create_staff(session, username="root", roles=(Role.ADMIN,), department=platform)
        create_staff(session, username="officer", roles=(Role.DPO,), department=platform)
        create_staff(session, username="locked.clerk")
    for _ in range(5):
        _form_login(client, "locked.clerk", "wrong-password")
    assert _form_login(client, "officer") == 303
    assert client.get("/accounts", headers=HTML).status_code == 403
    client.post("/logout", headers=HTML)
    assert _form_login(client, "root") == 303
    home = client.get("/", headers=HTML).text
    assert 'href="/accounts"' in home
    page = client.get("/accounts", headers=HTML)
    assert page.status_code == 200
    assert "<code>locked.clerk</code>" in page.text
    assert "Unlock locked.clerk" in page.text

    after = client.post("/accounts/unlock", data={"username": "locked.clerk"}, headers=HTML)

    assert after.status_code == 200
    assert "locked.clerk is unlocked." in after.text
    assert "Unlock locked.clerk" not in after.text
    client.post("/logout", headers=HTML)
    assert _form_login(client, "locked.clerk") == 303


def test_the_administrators_menu_holds_administration_only(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="menu.admin", roles=(Role.ADMIN,))
    _form_login(client, "menu.admin")
    home = client.get("/", headers=HTML).text
    hrefs = set(re.findall(r'<a href="(/[^"]*)"', home))
    assert {"/accounts", "/departments", "/trust", "/docs"} <= hrefs
    assert not hrefs & {"/my-data", "/governance", "/health", "/ops", "/codes/stats"}
    for href in sorted(hrefs - {"/docs"}):
        assert client.get(href, headers=HTML).status_code == 200, href


def test_the_departments_page_opens_for_every_staff_role(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="field.one", roles=(Role.FIELD,))
    _form_login(client, "field.one")
    assert client.get("/departments", headers=HTML).status_code == 200


def test_login_over_tls_sets_a_secure_http_only_lax_cookie(
    app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="tls.user")
    with TestClient(
        app, base_url="https://testserver", headers={"Origin": "https://testserver"}
    ) as tls:
        tls.post(
            "/login",
            data={"username": "tls.user", "password": PASSWORD},
            follow_redirects=False,
        )
        secure = tls.post(
            "/login",
            data={"username": "tls.user", "password": PASSWORD},
            follow_redirects=False,
        ).headers["set-cookie"]
    with TestClient(app, headers={"Origin": "http://testserver"}) as plain:
        clear = plain.post(
            "/login",
            data={"username": "tls.user", "password": PASSWORD},
            follow_redirects=False,
        ).headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower() for a in secure.split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "samesite=lax" in secure.lower()
    assert "secure" not in {a.strip().lower() for a in clear.split(";")}
    assert "httponly" in clear.lower()


def test_the_login_page_speaks_chinese_by_default_and_says_why_a_login_failed(
    client: TestClient,
) -> None:
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    refused = client.post(
        "/login",
        data={"username": "nobody.here", "password": "not-the-password"},
        headers={"Accept-Language": "zh-CN"},
    )

    assert "居民使用身份证号码登录" in page.text
    assert refused.status_code == 401
    assert "用户名或密码错误。" in refused.text
