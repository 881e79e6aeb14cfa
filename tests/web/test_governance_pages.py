"""Governance pages: a resident's report of reads, the officer's overview, purposes, policies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    NOW,
    PASSWORD,
    create_citizen,
    create_department,
    create_staff,
    next_id_number,
)
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.models import Account, Citizen, Department, Role
from twonets.governance import ledger, reports, service
from twonets.governance.models import GranteeKind, LedgerEntry, LegalBasis, PurposeStatus

HTML = {"accept": "text/html"}
PURPOSE = "housing.group-rental"
DATASET = "core.citizen"


@dataclass(frozen=True)
class World:
    """A resident read by two departments, a member of staff, and the officer."""

    resident: str
    resident_id: int
    staff: str
    dpo: str


def _grant(session: Session, app: FastAPI, department: str, purpose: str) -> None:
    service.set_policy(
        session,
        app.state.governance.catalogue,
        actor="dpo",
        grantee_kind=GranteeKind.DEPARTMENT,
        grantee=department,
        purpose_code=purpose,
        dataset=DATASET,
        fields={"name": "keep", "phone": "partial:3:4"},
        reason="initial grant",
        now=NOW - timedelta(days=20),
    )


def _purpose(session: Session, code: str, name: str, owner: str) -> None:
    service.create_purpose(
        session,
        actor="dpo",
        code=code,
        name=name,
        legal_basis=LegalBasis.STATUTORY_DUTY,
        owner_department_code=owner,
        valid_from=NOW - timedelta(days=30),
        valid_until=None,
        retention_days=180,
        now=NOW - timedelta(days=30),
    )


@pytest.fixture
def world(app: FastAPI, session_factory: sessionmaker[Session]) -> World:
    app.state.clock = lambda: NOW
    gov = app.state.governance
    with unit_of_work(session_factory) as session:
        housing = create_department(session, code="t.housing", function="housing")
        police = create_department(session, code="t.police", function="police")
        platform = create_department(session, code="t.platform", function="platform")
        _purpose(session, PURPOSE, "群租整治 Group-rental enforcement", housing.code)
        _purpose(
            session, "public-security.investigation", "治安案件调查 Investigation", police.code
        )
        _grant(session, app, housing.code, PURPOSE)
        _grant(session, app, police.code, "public-security.investigation")
        inspector = create_staff(session, username="inspector", department=housing)
        officer = create_staff(session, username="officer", department=police)
        dpo = create_staff(session, username="officer.dpo", roles=(Role.DPO,), department=platform)
        resident = create_citizen(session, name="李四")
        assert resident.citizen_id is not None
        for reader, purpose, days_ago in (
            (inspector, PURPOSE, 3),
            (officer, "public-security.investigation", 2),
        ):
            service.read(
                session,
                gov,
                principal_of(reader),
                purpose=purpose,
                dataset=DATASET,
                query=service.ReadQuery(subject_ids=[resident.citizen_id]),
                now=NOW - timedelta(days=days_ago),
            )
        return World(resident.username, resident.citizen_id, inspector.username, dpo.username)


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {**HTML, "authorization": f"Bearer {response.json()['access_token']}"}


def _log_in(client: TestClient, username: str) -> None:
    """Log in through the login form: the page's cookie session, no bearer token."""
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _other_subjects_entry(app: FastAPI, session_factory: sessionmaker[Session]) -> int:
    """The sequence number of a sealed ledger entry about another resident."""
    with unit_of_work(session_factory) as session:
        other = create_citizen(session, name="王五")
        inspector = session.scalar(select(Account).where(Account.username == "inspector"))
        assert inspector is not None
        service.read(
            session,
            app.state.governance,
            principal_of(inspector),
            purpose=PURPOSE,
            dataset=DATASET,
            query=service.ReadQuery(subject_ids=[other.citizen_id]),
            now=NOW - timedelta(hours=1),
        )
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
        seq = session.scalar(
            select(LedgerEntry.seq).where(LedgerEntry.subject_id == other.citizen_id)
        )
        assert seq is not None
        return int(seq)


def _recorded(session_factory: sessionmaker[Session], world: World) -> int:
    with session_factory() as session:
        return len(
            reports.reads_of_subject(session, subject_kind="citizen", subject_id=world.resident_id)
        )


# --- /my-data -------------------------------------------------------------------------------


def test_a_resident_sees_who_read_their_data(client: TestClient, world: World) -> None:
    response = client.get("/my-data", headers=_as(client, world.resident))

    assert response.status_code == 200
    page = response.text
    assert "部门t.housing" in page
    assert "Department t.police" in page
    assert "群租整治 Group-rental enforcement" in page
    assert "a statutory duty" in page
    assert "Name, phone number" in page
    assert page.count("being recorded") >= 2
    assert re.search(r'data-testid="count-reads">2<', page)
    assert re.search(r'data-testid="count-departments">2<', page)
    # Shanghai time: three days before 09:00 UTC is 17:00 local.
    local = NOW - timedelta(days=3)
    assert f"{local.day} {local:%b %Y}, 17:00" in page


def test_sealed_reads_link_to_their_inclusion_proof(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
    headers = _as(client, world.resident)

    page = client.get("/my-data", headers=headers).text

    assert "being recorded" not in page
    proofs = re.findall(r'href="(/my-data/proofs/\d+)"', page)
    assert len(proofs) == 2
    # The link opens with the page's own login (the cookie), not only with the API's token.
    _log_in(client, world.resident)
    proof = client.get(proofs[0])
    assert proof.status_code == 200
    assert proof.json()["entry"]["subject_id"] == world.resident_id
    # Another person's entry is refused to this resident.
    other = _other_subjects_entry(app, session_factory)
    assert client.get(f"/my-data/proofs/{other}").status_code == 403


def test_the_report_filters_by_department_and_purpose(client: TestClient, world: World) -> None:
    headers = _as(client, world.resident)

    page = client.get("/my-data?department=t.police", headers=headers).text
    rows = page.split('data-testid="my-reads"')[1]
    assert "Department t.police" in rows
    assert "Department t.housing" not in rows
    assert "Showing 1 of 2 entries" in page

    page = client.get(f"/my-data?purpose={PURPOSE}", headers=headers).text
    rows = page.split('data-testid="my-reads"')[1]
    assert "Department t.housing" in rows
    assert "Department t.police" not in rows


def test_the_copy_of_my_data_is_made_only_when_asked(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, world.resident)
    before = _recorded(session_factory, world)

    page = client.get("/my-data", headers=headers)
    assert 'action="/my-data/download"' in page.text
    assert _recorded(session_factory, world) == before

    copy = client.post("/my-data/copy", headers=headers)

    assert copy.status_code == 200
    assert "Resident register" in copy.text
    assert "李四" in copy.text
    assert "群租整治 Group-rental enforcement" in copy.text
    assert "部门t.housing Department t.housing" in copy.text
    assert "180 days" in copy.text
    assert 'download="my-data.json"' in copy.text
    assert _recorded(session_factory, world) == before + 1
    report = client.get("/my-data", headers=headers).text
    assert "your own request" in report


def test_staff_have_no_report_of_their_own(client: TestClient, world: World) -> None:
    assert client.get("/my-data", headers=_as(client, world.staff)).status_code == 403


# --- the officer's pages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/governance", "/governance/purposes", "/governance/policies", "/governance/policies/edit"],
)
def test_only_the_officer_opens_the_governance_pages(
    client: TestClient, world: World, path: str
) -> None:
    for username in (world.resident, world.staff):
        response = client.get(path, headers=_as(client, username))
        assert response.status_code == 403
        assert "Forbidden" in response.text
    assert client.get(path, headers=_as(client, world.dpo)).status_code == 200


def test_logged_out_visitors_are_sent_to_log_in(client: TestClient) -> None:
    response = client.get("/governance", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/governance"


def test_the_overview_shows_reads_and_verifies_the_ledger(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
    headers = _as(client, world.dpo)

    page = client.get("/governance", headers=headers).text

    summary = page.split('data-testid="reads-summary"')[1]
    assert "部门t.housing" in summary
    assert "群租整治 Group-rental enforcement" in summary
    assert 'data-testid="tree-size">2<' in page
    assert "No unusual readers" in page
    assert "policy written" in page

    verified = client.post("/governance/verify", headers=headers)
    assert verified.status_code == 200
    assert 'data-testid="verify-ok"' in verified.text
    assert "2 entries" in verified.text

    fragment = client.post("/governance/verify", headers={**headers, "HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="verify-result"')


def test_the_overview_flags_a_reader_far_above_their_peers(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        police = session.scalar(select(Department).where(Department.code == "t.police"))
        residents = [
            Citizen(
                id_number=next_id_number(),
                name=f"居民{n}",
                birth_date=date(1980, 1, 1),
                sex="female",
                district_code="310101",
            )
            for n in range(60)
        ]
        session.add_all(residents)
        session.flush()
        ids = [r.id for r in residents]
        readers = {
            name: principal_of(create_staff(session, username=name, department=police))
            for name in ("peer1", "peer2", "peer3", "busy.reader")
        }
        for name, subjects in (
            ("peer1", ids[:5]),
            ("peer2", ids[5:10]),
            ("peer3", ids[10:15]),
            ("busy.reader", ids),
        ):
            service.read(
                session,
                app.state.governance,
                readers[name],
                purpose="public-security.investigation",
                dataset=DATASET,
                query=service.ReadQuery(subject_ids=subjects, limit=100),
                now=NOW - timedelta(days=1),
            )

    page = client.get("/governance", headers=_as(client, world.dpo)).text

    unusual = page.split('data-testid="unusual-readers"')[1].split("</section>")[0]
    assert "busy.reader" in unusual
    assert "Department t.police" in unusual
    # 60 residents against a median of 5 among the other police readers (5, 5, 5 and 1).
    assert re.search(r">\s*60\s*<", unusual)
    assert "12.0×" in unusual
    assert "peer1" not in unusual


def test_the_officer_declares_a_purpose_through_the_form(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, world.dpo)
    form = {
        "code": "flood.relief",
        "name": "防汛救灾 Flood relief",
        "legal_basis": "public-health-emergency",
        "owner_department_code": "t.platform",
        "valid_from": "2026-11-01",
        "valid_until": "2027-03-01",
        "retention_days": "90",
    }

    response = client.post(
        "/governance/purposes", data=form, headers=headers, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == (
        "/governance/purposes?declared=flood.relief#purpose-flood.relief"
    )
    page = client.get(response.headers["location"], headers=headers).text
    assert "Purpose flood.relief declared." in page
    row = page.split('id="purpose-flood.relief"')[1].split("</tr>")[0]
    assert "防汛救灾 Flood relief" in row
    assert ">active<" in row
    assert "90 days" in row
    with session_factory() as session:
        purpose = service.get_purpose(session, "flood.relief")
        # A date is midnight in Shanghai: 16:00 UTC the day before.
        assert purpose.valid_from.isoformat() == "2026-10-31T16:00:00+00:00"
        assert purpose.valid_until is not None
        assert purpose.valid_until.isoformat() == "2027-02-28T16:00:00+00:00"


def test_a_wrong_purpose_form_comes_back_with_its_values_and_the_reason(
    client: TestClient, world: World
) -> None:
    headers = _as(client, world.dpo)
    form = {
        "code": "flood.relief",
        "name": "Flood relief",
        "legal_basis": "statutory-duty",
        "owner_department_code": "t.platform",
        "valid_from": "2026-11-01",
        "valid_until": "2026-10-01",
        "retention_days": "90",
    }

    response = client.post("/governance/purposes", data=form, headers=headers)

    assert response.status_code == 422
    assert 'data-testid="error-valid_until"' in response.text
    assert "should be after the day the purpose starts" in response.text
    assert 'value="flood.relief"' in response.text
    assert 'value="2026-10-01"' in response.text

    taken = client.post(
        "/governance/purposes", data={**form, "code": PURPOSE, "valid_until": ""}, headers=headers
    )
    assert taken.status_code == 409
    assert f"purpose {PURPOSE!r} already exists" in taken.text.replace("&#39;", "'")


def test_suspending_a_purpose_needs_a_reason(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, world.dpo)
    path = f"/governance/purposes/{PURPOSE}/change"

    refused = client.post(path, data={"action": "suspend", "reason": " "}, headers=headers)
    assert refused.status_code == 422
    assert 'data-testid="error-reason">Reason: say why the purpose changes<' in refused.text

    done = client.post(
        path,
        data={"action": "suspend", "reason": "complaints under review"},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"], headers=headers).text
    assert f"Purpose {PURPOSE} suspended." in page
    with session_factory() as session:
        assert service.get_purpose(session, PURPOSE).status == PurposeStatus.SUSPENDED


def test_the_policies_page_lists_grants_by_purpose_and_dataset(
    client: TestClient, world: World
) -> None:
    page = client.get("/governance/policies", headers=_as(client, world.dpo)).text

    group = page.split(f'id="purpose-{PURPOSE}"')[1].split("</section>")[0]
    assert "Resident register" in group
    assert "部门t.housing Department t.housing" in group
    assert "first 3 and last 4 characters shown" in group
    assert "version 1" in group
    assert "/governance/policies/edit?grantee_kind=department&amp;grantee=t.housing" in group


def test_the_editor_is_prefilled_from_the_version_in_force(
    client: TestClient, world: World
) -> None:
    query = f"grantee_kind=department&grantee=t.housing&purpose_code={PURPOSE}&dataset={DATASET}"

    page = client.get(f"/governance/policies/edit?{query}", headers=_as(client, world.dpo)).text

    phone = page.split('data-field="phone"')[1].split("</tr>")[0]
    assert '<option value="partial" selected>' in phone
    assert 'name="first.phone" value="3"' in phone
    assert 'name="last.phone" value="4"' in phone
    home = page.split('data-field="home_lon"')[1].split("</tr>")[0]
    assert '<option value="" selected>' in home
    assert "sensitive" in home
    assert "Save as version 2" in page


def _editor_form(**changes: str) -> dict[str, str]:
    form = {
        "grantee_kind": "department",
        "grantee": "t.housing",
        "purpose_code": PURPOSE,
        "dataset": DATASET,
        "mask.name": "partial",
        "first.name": "1",
        "last.name": "0",
        "mask.phone": "partial",
        "first.phone": "3",
        "last.phone": "4",
        "mask.address": "keep",
        "row_filter": "own",
        "reason": "only the district's own residents",
        "action": "save",
    }
    return {**form, **changes}


def test_a_bad_mask_in_the_editor_comes_back_next_to_its_field(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(**{"first.phone": "-2"}),
        headers=_as(client, world.dpo),
    )

    assert response.status_code == 422
    phone = response.text.split('data-field="phone"')[1].split("</tr>")[0]
    assert 'data-testid="error-fields.phone"' in phone
    assert "partial first must not be negative, got -2" in phone
    assert 'aria-invalid="true"' in phone
    assert "Not saved" in response.text
    assert 'name="last.phone" value="4"' in phone
    assert '<a href="#mask-phone">Phone number</a>' in response.text
    assert "only the district&#39;s own residents" in response.text
    with session_factory() as session:
        versions = [p.version for p in service.list_policies(session) if p.grantee == "t.housing"]
    assert versions == [1]


def test_a_partial_mask_without_its_numbers_asks_for_them(client: TestClient, world: World) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(**{"first.name": "", "last.name": ""}),
        headers=_as(client, world.dpo),
    )

    assert response.status_code == 422
    name = response.text.split('data-field="name"')[1].split("</tr>")[0]
    assert "partial needs how many characters to keep at the start and at the end" in name


def test_a_grid_cell_too_small_is_named_on_its_field(client: TestClient, world: World) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(**{"mask.home_lat": "grid", "metres.home_lat": "5"}),
        headers=_as(client, world.dpo),
    )

    assert response.status_code == 422
    field = response.text.split('data-field="home_lat"')[1].split("</tr>")[0]
    assert "grid cell must be between 10 and 100000 metres, got 5" in field


def test_a_valid_edit_writes_version_2(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, world.dpo)

    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(**{"mask.home_lon": "grid", "metres.home_lon": "500"}),
        headers=headers,
        follow_redirects=False,
    )

    assert response.status_code == 303
    with session_factory() as session:
        policy = next(p for p in service.list_policies(session) if p.grantee == "t.housing")
    assert policy.version == 2
    assert policy.created_by == world.dpo
    assert policy.fields == {
        "name": "partial:1:0",
        "phone": "partial:3:4",
        "address": "keep",
        "home_lon": "grid:500",
    }
    assert policy.row_filter == {"district": "own"}
    saved = f"/governance/policies?saved={policy.id}#policy-{policy.id}"
    assert response.headers["location"] == saved
    page = client.get(response.headers["location"], headers=headers).text
    assert "Saved version 2 of the grant to" in page
    history = client.get(
        f"/governance/policies/history?grantee_kind=department&grantee=t.housing"
        f"&purpose_code={PURPOSE}&dataset={DATASET}",
        headers=headers,
    ).text
    assert "version 2" in history
    assert "version 1" in history
    assert "only the district&#39;s own residents" in history
    assert "Name: in full → first 1 character shown" in history
    assert "Address granted: in full" in history


def test_the_editor_withdraws_a_grant(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(action="revoke", reason="the enforcement campaign is over"),
        headers=_as(client, world.dpo),
        follow_redirects=False,
    )

    assert response.status_code == 303
    with session_factory() as session:
        assert all(p.grantee != "t.housing" for p in service.list_policies(session))
        history = service.list_policies(session, include_history=True)
    assert [(p.version, p.revoked) for p in history if p.grantee == "t.housing"] == [
        (1, False),
        (2, True),
    ]


def test_a_new_grant_for_an_unknown_grantee_is_refused_on_the_form(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(grantee="no.such"),
        headers=_as(client, world.dpo),
    )

    assert response.status_code == 422
    assert "no department &#39;no.such&#39;" in response.text
    assert "Save as version 1" in response.text


def test_children_are_included_only_when_the_editor_says_so(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    headers = _as(client, world.dpo)
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(minors="include"),
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with session_factory() as session:
        policy = next(p for p in service.list_policies(session) if p.grantee == "t.housing")
    assert policy.row_filter == {"district": "own", "minors": "include"}
    query = f"grantee_kind=department&grantee=t.housing&purpose_code={PURPOSE}&dataset={DATASET}"
    page = client.get(f"/governance/policies/edit?{query}", headers=headers).text
    assert 'data-testid="minors" checked' in page
    listed = client.get("/governance/policies", headers=headers).text
    assert "children under 14 included" in listed


# --- authority, paging, break-glass, errors in words -----------------------------------------


def _rows(page: str, testid: str) -> list[str]:
    """The rows of one table's body on a page."""
    body = page.split(f'data-testid="{testid}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return body.split("<tr")[1:]


def test_the_administrator_is_refused_the_officer_pages(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        platform = session.scalar(select(Department).where(Department.code == "t.platform"))
        create_staff(session, username="the.admin", roles=(Role.ADMIN,), department=platform)
    headers = _as(client, "the.admin")
    for path in ("/governance", "/governance/purposes", "/governance/policies"):
        assert client.get(path, headers=headers).status_code == 403


def test_recent_changes_are_listed_by_date_newest_first(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    # Written last, dated first: it belongs at the bottom of the list, not at the top.
    with unit_of_work(session_factory) as session:
        _purpose(session, "archive.old-case", "Old case", "t.police")
        service.change_purpose(
            session,
            actor="dpo",
            code="archive.old-case",
            status=PurposeStatus.SUSPENDED,
            reason="backdated correction",
            now=NOW - timedelta(days=200),
        )

    page = client.get("/governance", headers=_as(client, world.dpo)).text

    rows = _rows(page, "changes")
    times = []
    for row in rows:
        shown = re.search(r'<td class="nowrap">([^<]+)</td>', row)
        assert shown is not None
        times.append(datetime.strptime(shown.group(1), "%d %b %Y, %H:%M"))
    assert len(rows) == 6
    assert times == sorted(times, reverse=True)
    assert "backdated correction" in rows[-1]


def _read_often(app: FastAPI, session_factory: sessionmaker[Session], world: World, n: int) -> None:
    with unit_of_work(session_factory) as session:
        inspector = session.scalar(select(Account).where(Account.username == world.staff))
        assert inspector is not None
        for i in range(n):
            service.read(
                session,
                app.state.governance,
                principal_of(inspector),
                purpose=PURPOSE,
                dataset=DATASET,
                query=service.ReadQuery(subject_ids=[world.resident_id]),
                now=NOW - timedelta(days=10, minutes=i),
            )


def test_my_data_comes_in_pages_that_keep_the_filter(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _read_often(app, session_factory, world, 55)  # 57 reads in all: 56 by housing
    headers = _as(client, world.resident)

    first = client.get("/my-data", headers=headers).text

    assert len(_rows(first, "my-reads")) == 50
    assert re.search(r'data-testid="count-reads">57<', first)
    assert 'data-testid="page-of">Page 1 of 2<' in first
    assert "Department t.police" in _rows(first, "my-reads")[0]  # the newest, two days ago
    second = client.get("/my-data?page=2", headers=headers).text
    assert len(_rows(second, "my-reads")) == 7
    assert 'rel="prev"' in second

    housing = client.get("/my-data?department=t.housing", headers=headers).text
    assert "Showing 56 of 57 entries" in housing
    assert 'href="/my-data?department=t.housing&amp;page=2"' in housing
    last = client.get("/my-data?department=t.housing&page=2", headers=headers).text
    assert len(_rows(last, "my-reads")) == 6
    assert all("Department t.housing" in row for row in _rows(last, "my-reads"))
    police = client.get("/my-data?department=t.police", headers=headers).text
    assert len(_rows(police, "my-reads")) == 1
    assert 'data-testid="pager"' not in police


def test_the_officer_opens_an_unusual_readers_reads_page_by_page(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        police = session.scalar(select(Department).where(Department.code == "t.police"))
        residents = [
            Citizen(
                id_number=next_id_number(),
                name=f"居民{n}",
                birth_date=date(1980, 1, 1),
                sex="female",
                district_code="310101",
            )
            for n in range(60)
        ]
        session.add_all(residents)
        session.flush()
        ids = [r.id for r in residents]
        for name, subjects in (
            ("peer1", ids[:5]),
            ("peer2", ids[5:10]),
            ("peer3", ids[10:15]),
            ("busy.reader", ids),
        ):
            service.read(
                session,
                app.state.governance,
                principal_of(create_staff(session, username=name, department=police)),
                purpose="public-security.investigation",
                dataset=DATASET,
                query=service.ReadQuery(subject_ids=subjects, limit=100),
                now=NOW - timedelta(days=1),
            )
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
    headers = _as(client, world.dpo)

    overview = client.get("/governance", headers=headers).text
    flagged = overview.split('data-testid="unusual-readers"')[1].split("</section>")[0]
    link = re.search(r'href="([^"]+)" data-testid="open-reader"', flagged)
    assert link is not None
    assert link.group(1) == "/governance/readers/busy.reader?days=30"
    # The figure "N× the median" itself opens the same reads.
    ratio = re.search(r'href="([^"]+)" data-testid="open-reader-ratio"', flagged)
    assert ratio is not None
    assert ratio.group(1) == link.group(1)

    first = client.get(link.group(1), headers=headers).text

    assert "Reads by busy.reader" in first
    assert "<strong>60</strong> reads of <strong>60</strong> different people or firms" in first
    assert "治安案件调查 Investigation" in first
    assert len(_rows(first, "reader-reads")) == 50
    assert 'data-testid="page-of">Page 1 of 2<' in first
    assert "citizen no." in first
    # Which records were read, never their content.
    assert "李四" not in first
    assert "居民" not in first
    second = client.get(link.group(1) + "&page=2", headers=headers).text
    assert len(_rows(second, "reader-reads")) == 10
    for username in (world.staff, world.resident):
        assert client.get(link.group(1), headers=_as(client, username)).status_code == 403


def _break_glass(app: FastAPI, session_factory: sessionmaker[Session], world: World) -> int:
    from twonets.governance import break_glass

    with unit_of_work(session_factory) as session:
        inspector = session.scalar(select(Account).where(Account.username == world.staff))
        assert inspector is not None
        return break_glass.break_glass_read(
            session,
            app.state.governance,
            principal_of(inspector),
            purpose=PURPOSE,
            dataset=DATASET,
            subject_ids=[world.resident_id],
            fields=["phone", "address"],
            reason="a gas leak in the flat; the tenant must be reached now",
            now=NOW - timedelta(hours=3),
        ).id


def test_a_break_glass_read_waits_on_the_overview_until_reviewed_with_a_note(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    read_id = _break_glass(app, session_factory, world)
    headers = _as(client, world.dpo)

    page = client.get("/governance", headers=headers).text

    glass = page.split('data-testid="break-glass"')[1].split("</section>")[0]
    assert page.index('data-testid="break-glass"') < page.index('data-testid="unusual-readers"')
    assert "Emergency reads to review (1)" in glass
    assert "a gas leak in the flat; the tenant must be reached now" in glass
    assert "inspector" in glass
    assert "Phone number, address of 1 person or firm" in glass
    path = f"/governance/break-glass/{read_id}/review?days=30"

    short = client.post(path, data={"note": "ok"}, headers=headers)

    assert short.status_code == 422
    kept = short.text.split(f'id="glass-{read_id}"')[1]
    assert 'data-testid="error-note">Review note: say what the review found' in kept
    assert ">ok</textarea>" in kept

    done = client.post(
        path, data={"note": "called the tenant's landlord"}, headers=headers, follow_redirects=False
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/governance?days=30&reviewed={read_id}"
    after = client.get(done.headers["location"], headers=headers).text
    assert f"Emergency read {read_id} marked reviewed." in after
    assert 'data-testid="no-break-glass"' in after
    reviewed = after.split('data-testid="reviewed-break-glass"')[1].split("</table>")[0]
    assert "called the tenant&#39;s landlord" in reviewed
    assert "emergency read reviewed" in after.split('data-testid="changes"')[1]
    # The resident sees the emergency read in their own report.
    mine = client.get("/my-data", headers=_as(client, world.resident)).text
    assert "read in an emergency (break-glass)" in _rows(mine, "my-reads")[0]


def test_purpose_form_problems_speak_the_forms_labels_and_keep_what_was_typed(
    client: TestClient, world: World
) -> None:
    form = {
        "code": "Flood Relief",
        "name": "洪" * 129,
        "description": "typed with care",
        "legal_basis": "statutory-duty",
        "owner_department_code": "t.platform",
        "valid_from": "2026-11-01",
        "valid_until": "2026-10-01",
        "retention_days": "90",
    }

    response = client.post("/governance/purposes", data=form, headers=_as(client, world.dpo))

    assert response.status_code == 422
    summary = response.text.split('data-testid="form-error"')[1].split("</p>")[0]
    assert '<a href="#declare-code">Code</a>: use lower-case words joined by dots' in summary
    assert '<a href="#declare-name">Name</a>: give a name of 1 to 128 characters' in summary
    assert '<a href="#declare-valid_until">Ends on</a>: should be after the day' in summary
    assert "valid_until" not in summary.replace('href="#declare-valid_until"', "")
    assert 'value="Flood Relief"' in response.text
    assert "typed with care</textarea>" in response.text


def test_the_download_of_my_data_opens_with_the_pages_login_and_is_recorded(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _log_in(client, world.resident)
    before = _recorded(session_factory, world)

    assert client.get("/my-data/download", follow_redirects=False).headers["location"] == (
        "/my-data#copy"
    )
    assert _recorded(session_factory, world) == before
    response = client.post("/my-data/download", headers={"Origin": "http://testserver"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert 'filename="my-data.json"' in response.headers["content-disposition"]
    held = response.json()["datasets"]["core.citizen"]
    assert held["records"][0]["name"] == "李四"
    assert _recorded(session_factory, world) == before + 1


def test_staff_may_not_download_a_copy_of_their_own(client: TestClient, world: World) -> None:
    _log_in(client, world.staff)

    response = client.post("/my-data/download", headers={"Origin": "http://testserver", **HTML})

    assert response.status_code == 403


def _links(page: str) -> set[str]:
    """The page's own links (no fragments, no other hosts, no data: URLs), as the browser
    would follow them."""
    found = set()
    for href in re.findall(r'href="([^"]+)"', page):
        href = href.replace("&amp;", "&").split("#")[0]
        if href.startswith("/") and not href.startswith("//") and not href.startswith("/static/"):
            found.add(href)
    return found


def _every_link_opens(client: TestClient, start: list[str]) -> set[str]:
    seen: set[str] = set()
    for path in start:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        for link in _links(page.text) - seen:
            seen.add(link)
            if link == "/logout":
                continue
            opened = client.get(link, headers=HTML)
            assert opened.status_code == 200, f"{link} on {path}: {opened.status_code}"
    return seen


def test_every_link_of_a_residents_governance_pages_opens_with_their_login(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
    _log_in(client, world.resident)

    seen = _every_link_opens(client, ["/my-data", "/my-data?department=t.police"])
    copy = client.post("/my-data/copy", headers={"Origin": "http://testserver", **HTML})
    assert copy.status_code == 200
    for link in _links(copy.text) - seen - {"/logout"}:
        assert client.get(link, headers=HTML).status_code == 200, link

    assert any(link.startswith("/my-data/proofs/") for link in seen)


def test_every_link_of_the_officers_governance_pages_opens(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    _break_glass(app, session_factory, world)
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, app.state.governance.signer, now=NOW)
    _log_in(client, world.dpo)

    seen = _every_link_opens(
        client,
        [
            "/governance",
            "/governance/purposes",
            "/governance/policies",
            f"/governance/readers/{world.staff}",
        ],
    )

    assert any(link.startswith("/governance/policies/history?") for link in seen)
    assert any(link.startswith("/governance/policies/edit?") for link in seen)
    assert any(link.startswith("/governance/readers/") for link in seen)


CHINESE = {**HTML, "Accept-Language": "zh-CN,zh;q=0.9"}


def test_the_residents_report_speaks_chinese_first(client: TestClient, world: World) -> None:
    headers = {**_as(client, world.resident), **CHINESE}

    page = client.get("/my-data", headers=headers).text

    assert "<h1>谁调阅了我的数据</h1>" in page
    assert "合法性基础：法定职责" in page
    assert "姓名、手机号码" in page
    assert "Who read my data" not in page
    assert "being recorded" not in page


def test_the_officers_pages_speak_chinese_first(client: TestClient, world: World) -> None:
    headers = {**_as(client, world.dpo), **CHINESE}

    overview = client.get("/governance", headers=headers).text
    purposes = client.get("/governance/purposes", headers=headers).text
    policies = client.get("/governance/policies", headers=headers).text

    assert "<h1>数据治理</h1>" in overview
    assert "近期治理变更" in overview
    assert "<h1>用途</h1>" in purposes
    assert "生效中" in purposes
    assert "<h1>授权策略</h1>" in policies
    assert "显示前 3 位和后 4 位" in policies
    for page in (overview, purposes, policies):
        assert "Recent governance changes" not in page
        assert "Declare a purpose" not in page


def test_a_refused_purpose_speaks_chinese_with_the_forms_labels(
    client: TestClient, world: World
) -> None:
    form = {
        "code": "Flood Relief",
        "name": "防汛",
        "legal_basis": "statutory-duty",
        "owner_department_code": "t.platform",
        "valid_from": "2026-11-01",
        "retention_days": "99999",
    }

    response = client.post(
        "/governance/purposes", data=form, headers={**_as(client, world.dpo), **CHINESE}
    )

    assert response.status_code == 422
    summary = response.text.split('data-testid="form-error"')[1].split("</p>")[0]
    assert '<a href="#declare-code">代码</a>: 请使用以点号连接的小写英文单词' in summary
    assert '<a href="#declare-retention_days">保存期限（天）</a>: 请填写 0 至 36500' in summary
    assert 'value="Flood Relief"' in response.text


def test_a_refused_mask_speaks_chinese_on_its_field(client: TestClient, world: World) -> None:
    response = client.post(
        "/governance/policies/edit",
        data=_editor_form(**{"mask.home_lat": "grid", "metres.home_lat": "5"}),
        headers={**_as(client, world.dpo), **CHINESE},
    )

    assert response.status_code == 422
    field = response.text.split('data-field="home_lat"')[1].split("</tr>")[0]
    assert "网格边长须为 10 至 100000 米" in field
    assert "住址位置（纬度）" in field
    assert "grid cell must be" not in field
