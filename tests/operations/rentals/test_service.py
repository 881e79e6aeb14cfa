"""The housing department's work: import, leads read through governance, the case loop."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.governance.models import PendingAccess
from twonets.operations.cases.states import CaseState, get_case
from twonets.operations.rentals import service, synthetic
from twonets.operations.rentals.data import FileProblem
from twonets.operations.rentals.models import Household, Lead

from .conftest import GOV, NOW, Housing


def test_detection_keeps_leads_and_rescoring_keeps_them_once(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    assert len(leads) > 5
    with unit_of_work(session_factory) as session:
        again = service.detect_leads(session, housing.city, now=NOW)
        assert sorted(lead.id for lead in again) == sorted(leads)


def test_a_district_sees_its_own_leads_with_figures_and_addresses_but_no_names(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    with unit_of_work(session_factory) as session:
        views = service.list_leads(session, GOV, housing.pudong, now=NOW)
        assert views
        assert {v.district_code for v in views} == {"310115"}
        assert [v.score for v in views] == sorted((v.score for v in views), reverse=True)
        home = views[0].household
        assert set(home) == set(service.HOUSEHOLD_FIELDS)
        assert "name" not in home
        reads = session.scalars(
            select(PendingAccess.subject_ids).where(PendingAccess.purpose_code == service.PURPOSE)
        ).all()
        assert [len(subjects) for subjects in reads] == [len(views)]


@pytest.mark.parametrize("who", ["field", "other"])
def test_only_housing_staff_see_or_detect_leads(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int], who: str
) -> None:
    caller = getattr(housing, who)
    with unit_of_work(session_factory) as session:
        with pytest.raises(Forbidden):
            service.list_leads(session, GOV, caller, now=NOW)
        with pytest.raises(Forbidden):
            service.detect_leads(session, caller, now=NOW)
        with pytest.raises(Forbidden):
            service.refer_lead(session, caller, leads[0], now=NOW)


def test_another_district_may_not_refer_or_import(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    with unit_of_work(session_factory) as session:
        pudong = [
            lead.id for lead in session.scalars(select(Lead).where(Lead.district_code == "310115"))
        ]
        with pytest.raises(Forbidden):
            service.refer_lead(session, housing.xuhui, pudong[0], now=NOW)
        city = synthetic.generate(seed=2, households=30)
        with pytest.raises(Forbidden):
            service.import_rows(session, housing.xuhui, city.households, [], now=NOW)


def test_a_referred_lead_becomes_a_case_and_its_outcome_its_label(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    first, second = leads[:2]
    with unit_of_work(session_factory) as session:
        referred = service.refer_lead(session, housing.city, first, now=NOW, note="go and look")
        case = get_case(session, referred.case_id or 0)
        assert (case.category_code, case.state, case.source_kind) == ("E0550", "filed", "detector")
        assert "Suspected group rental" in case.description
        with pytest.raises(Conflict):
            service.refer_lead(session, housing.city, first, now=NOW)
        with pytest.raises(Invalid):
            service.dismiss_lead(session, housing.city, second, now=NOW, reason=" ")
        service.dismiss_lead(session, housing.city, second, now=NOW, reason="flat under repair")
        assert service.record_outcomes(session, now=NOW) == 0
        # The case loop's own steps are tested with the loop; here its end state is set.
        case.state = CaseState.CLOSED.value
        assert service.record_outcomes(session, now=NOW) == 1
        lead = session.get(Lead, first)
        assert lead is not None
        assert (lead.state, lead.label) == ("confirmed", 1)
        figures = service.precision_by_district(session, housing.city)
        assert [(p.inspected, p.confirmed, p.precision) for p in figures] == [(1, 1, 1.0)]


def test_a_broken_file_writes_nothing(
    session_factory: sessionmaker[Session], housing: Housing, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    households = folder / "h.csv"
    households.write_text(
        "household_id,building_id,district,area_m2,rooms,registered_occupants,use\n"
        "H1,B1,310115,60,2,2,residential\n"
        "H2,B1,310115,-3,2,2,residential\n"
    )
    with unit_of_work(session_factory) as session:
        with pytest.raises(FileProblem) as caught:
            service.import_files(
                session, housing.city, households=households, readings=None, now=NOW
            )
        assert (caught.value.row, caught.value.column) == (3, "area_m2")
        assert session.scalar(select(func.count()).select_from(Household)) == 0
