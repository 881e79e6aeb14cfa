"""The demo's group rentals: imported, detected, the best leads referred to the loop."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_staff
from twonets.core.models import Department
from twonets.core.seeding import DemoCity
from twonets.operations.cases.models import Case
from twonets.operations.rentals import demo
from twonets.operations.rentals.models import Household, Lead, Meter

from .conftest import NOW, Housing


def test_the_demo_refers_its_best_leads(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with session_factory() as session, session.begin():
        department = session.scalars(select(Department).where(Department.code == "t.housing")).one()
        create_staff(session, username="housing.officer", department=department)
    with session_factory() as session, session.begin():
        demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 600
        states = dict(session.execute(select(Lead.state, func.count()).group_by(Lead.state)).all())
        assert states["referred"] == demo.REFERRED
        assert states["open"] > 3
        categories = session.scalars(select(Case.category_code)).all()
        assert categories == ["E0550"] * demo.REFERRED
        # Three meters with one fault each, for the page's table of faulty meters.
        faults = session.execute(
            select(Meter.utility, Meter.duplicates, Meter.resets, Meter.implausible)
        ).all()
        assert sorted(faults) == [("electricity", 0, 1, 0), ("gas", 0, 0, 1), ("water", 1, 0, 0)]
