"""The menu: every role has a title, every entry leads to a served page, work comes first."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from twonets.core.auth import Principal
from twonets.core.models import AccountKind, Role
from twonets.web.core.home import ROLE_TITLES
from twonets.web.navigation import MAX_PRIMARY, NAV, nav_for


def _principal(
    *roles: Role, kind: AccountKind = AccountKind.STAFF, function: str | None = None
) -> Principal:
    return Principal(
        account_id=1,
        username="someone",
        display_name="Someone",
        kind=kind,
        roles=frozenset(roles),
        department_code="sh.x" if kind is AccountKind.STAFF else None,
        department_function=function,
        citizen_id=7 if kind is AccountKind.CITIZEN else None,
    )


def _hrefs(principal: Principal | None) -> list[str]:
    return [item.href for item in nav_for(principal)]


def test_every_role_has_a_title_for_the_start_page() -> None:
    assert set(ROLE_TITLES) == set(Role)


def test_every_menu_entry_is_a_served_page(app: FastAPI) -> None:
    served = {str(c.path) for c in iter_route_contexts(app.routes) if "GET" in (c.methods or ())}
    assert "/" in served  # the walk sees the included routers' pages
    missing = [item.href for item in NAV if item.href not in served]
    assert missing == []


@pytest.mark.parametrize("role", list(Role))
def test_no_role_has_more_own_work_than_fits_one_line(role: Role) -> None:
    menu = nav_for(_principal(role, function="police"))

    assert len(menu.primary) <= MAX_PRIMARY


def test_reference_pages_wait_under_more_for_everyone_logged_in() -> None:
    for principal in (
        _principal(Role.OPERATOR),
        _principal(Role.CITIZEN, kind=AccountKind.CITIZEN),
    ):
        menu = nav_for(principal)
        primary = [item.href for item in menu.primary]
        assert "/districts" not in primary
        assert "/ids" not in primary
        assert primary, "the caller's own work comes first"


def test_a_residents_menu_starts_with_their_own_things() -> None:
    menu = nav_for(_principal(Role.CITIZEN, kind=AccountKind.CITIZEN))

    assert [i.href for i in menu.primary] == [
        "/wallet",
        "/code",
        "/ops/report",
        "/requests",
        "/my-data",
    ]
    assert "/health/my-calls" not in _hrefs(_principal(Role.CITIZEN, kind=AccountKind.CITIZEN))


def test_the_administrator_sees_administration_and_not_a_residents_pages() -> None:
    hrefs = _hrefs(_principal(Role.ADMIN))

    assert "/departments" in hrefs
    assert "/my-data" not in hrefs
    assert "/governance" not in hrefs  # data protection is the officer's
    assert "/wallet" not in hrefs


def test_the_data_protection_officer_does_not_see_administration() -> None:
    hrefs = _hrefs(_principal(Role.DPO))

    assert hrefs[0] == "/governance"
    assert "/trust" not in hrefs


def test_issuing_is_offered_only_to_departments_that_issue_licences() -> None:
    assert "/licences/issue" in _hrefs(_principal(Role.STAFF, function="police"))
    assert "/licences/issue" not in _hrefs(_principal(Role.STAFF, function="housing"))


def test_anonymous_visitors_see_only_public_pages() -> None:
    menu = nav_for(None)

    assert menu.primary == []
    assert {i.href for i in menu.more} == {"/districts", "/ids", "/docs"}
