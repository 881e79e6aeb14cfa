"""The appeals desk: the health codes authority's, forms that keep what was typed."""

from __future__ import annotations

from codes.world import T
from twonets.codes import service
from web.codes.desk import Desk, report_fact


def test_a_rejected_decision_keeps_the_typed_reason_and_speaks_the_labels(desk: Desk) -> None:
    report_fact(desk, desk.world.resident_id_number, "contact", "close")
    with desk.world.session() as session:
        appeal = service.file_appeal(
            session, desk.world.ctx, desk.world.resident, statement="I was at home.", now=T
        )
    authority = desk.browser(desk.world.health_authority)
    response = authority.post(
        f"/codes/appeals/{appeal.id}",
        data={"decision": "uphold", "colour": "", "reason": "the contact was a namesake"},
    )
    assert response.status_code == 422
    assert 'value="the contact was a namesake"' in response.text
    assert f"Appeal {appeal.id}: Colour if upheld:" in response.text
    assert "colour:" not in response.text


def test_the_appeals_desk_is_the_health_codes_authority_s(desk: Desk) -> None:
    planner = desk.browser(desk.world.planner)
    assert planner.get("/codes/appeals").status_code == 403
    assert 'href="/codes/appeals"' not in planner.get("/").text
    authority = desk.browser(desk.world.health_authority)
    assert authority.get("/codes/appeals").status_code == 200
    assert 'href="/codes/appeals"' in authority.get("/").text


def test_a_codes_authority_of_another_function_is_told_whose_work_appeals_are(
    desk: Desk,
) -> None:
    page = desk.browser(desk.world.culture_authority).get("/codes/appeals")
    assert page.status_code == 200  # the menu shows it to every codes authority
    assert 'data-testid="not-yours"' in page.text
    assert "You decide about Library entry and Sports venue codes" in page.text
    assert 'data-testid="appeal"' not in page.text
