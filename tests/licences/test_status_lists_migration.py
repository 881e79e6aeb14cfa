"""Migration 0033: licences issued before numbered lists are in list 0, their region goes on
there with the positions taken counted, and a position is unique per region, list and
index."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builders import create_citizen
from twonets import migrations
from twonets.core import service as core_service
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.licences.models import Licence, StatusListFill

T = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_existing_licences_are_in_list_0(empty_url: str) -> None:
    migrations.upgrade(empty_url, "0032_scans_admit_once")
    engine = make_engine(empty_url)
    factory = make_session_factory(engine)
    credit = make_credit_code(
        authority="1", kind="1", region_code="310000", organisation_body="00240001"
    )
    try:
        with unit_of_work(factory) as session:
            core_service.ensure_reference_data(session)
            core_service.create_department(
                session,
                code="sh.police",
                name="市公安局",
                name_en="Police",
                function="police",
                level=DepartmentLevel.CITY,
                region_code="SH",
                credit_code=credit,
            )
            holder = create_citizen(session).citizen_id

        def licence(number: int, index: int, **extra: int) -> Licence:
            return Licence(
                identifier=f"ID-{number}",
                type_code="ID",
                number=number,
                version=1,
                region_code="SH",
                issuer_department_code="sh.police",
                issuer_credit_code=credit,
                citizen_id=holder,
                claims="gcm1:sealed",
                status="active",
                status_index=index,
                valid_from=date(2026, 1, 1),
                issued_at=T,
                **extra,
            )

        with unit_of_work(factory) as session:
            session.add_all([licence(1, 7), licence(2, 9)])
        migrations.upgrade(empty_url)
        with factory() as session:
            rows = session.execute(
                select(Licence.identifier, Licence.status_list, Licence.status_index).order_by(
                    Licence.identifier
                )
            ).all()
            fill = session.get(StatusListFill, "SH")
            assert fill is not None
            kept = (fill.current_list, fill.used)
        assert [tuple(r) for r in rows] == [("ID-1", 0, 7), ("ID-2", 0, 9)]
        # The region goes on in its list 0, two positions of which are taken.
        assert kept == (0, 2)
        # The same index in another list is another position; in the same list it is taken.
        with unit_of_work(factory) as session:
            session.add(licence(3, 7, status_list=1))
        with pytest.raises(IntegrityError), unit_of_work(factory) as session:
            session.add(licence(4, 9, status_list=0))
    finally:
        engine.dispose()
