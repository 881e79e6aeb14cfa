"""The holder's page: the first code by what the holder may hold, withdrawals, appeals."""

from __future__ import annotations

import re
from datetime import date

import pytest

from builders import create_citizen, next_id_number
from codes.world import T
from twonets.codes import service
from twonets.core.auth import principal_of
from web.codes.desk import Desk, report_fact, revoke_library_code


def test_a_failed_appeal_keeps_the_code_on_screen_and_what_was_typed(desk: Desk) -> None:
    report_fact(desk, desk.world.resident_id_number, "contact", "close")
    holder = desk.browser(desk.world.resident)
    response = holder.post("/code/appeal", data={"statement": "not me"})
    assert response.status_code == 422
    assert 'data-testid="code"' in response.text
    assert 'class="qr"' in response.text
    assert ">not me</textarea>" in response.text
    assert "statement:" not in response.text
    assert "at least 10 characters" in response.text


def test_a_resident_s_code_opens_on_the_health_status(desk: Desk) -> None:
    page = desk.browser(desk.world.resident).get("/code")
    assert page.status_code == 200
    assert re.search(r'aria-current="page" data-testid="scenario-health"', page.text)
    assert 'data-testid="code"' in page.text


def test_the_default_follows_age_when_the_health_status_is_not_in_use(desk: Desk) -> None:
    world = desk.world
    with world.session() as session:
        service.get_scenario(session, "health").active = False
    world.ctx.forget()
    with world.session() as session:
        elder = service.default_scenario(session, world.ctx, world.resident, now=T)
        firm = service.default_scenario(session, world.ctx, world.firm, now=T)
    assert elder == "elderly-care"  # born in 1950
    assert firm == "identity"


def test_the_holder_reads_who_withdrew_a_code_and_why(desk: Desk) -> None:
    revoke_library_code(desk)
    page = desk.browser(desk.world.resident).get("/code?scenario=library")
    assert page.status_code == 200
    assert 'data-testid="revocation"' in page.text
    assert "card lent to others" in page.text
    assert "withdrawn by sh.culture" in page.text  # the test office's English name
    assert 'class="qr"' not in page.text  # no code is signed for a withdrawn scenario


@pytest.mark.parametrize(
    ("age", "first"), [(50, "identity"), (35, "identity"), (12, "education"), (76, "elderly-care")]
)
def test_a_resident_s_first_code_is_one_for_their_age(desk: Desk, age: int, first: str) -> None:
    # Health off, as after an epidemic: a 50-year-old opens on identity, never on Education.
    with desk.world.session() as session:
        service.get_scenario(session, "health").active = False
        number = next_id_number(birth=date(T.year - age, 1, 15))
        holder = principal_of(create_citizen(session, id_number=number))
    desk.world.ctx.forget()

    page = desk.browser(holder).get("/code")

    assert page.status_code == 200
    current = re.findall(r'aria-current="page" data-testid="scenario-([\w-]+)"', page.text)
    assert current == [first]
    assert 'class="qr"' in page.text


def test_my_code_speaks_chinese(desk: Desk) -> None:
    report_fact(desk, desk.world.resident_id_number, "contact", "close")

    page = desk.browser(desk.world.resident, language="zh-CN").get("/code")

    assert page.status_code == 200
    assert "<title>我的随申码" in page.text
    assert "红码" in page.text
    assert "申请人工复核" in page.text
    assert "What is wrong with this status?" not in page.text
    assert "还有%(seconds)s秒" not in page.text  # the countdown's words are filled in
    assert 'data-left="还有{s}秒有效' in page.text
