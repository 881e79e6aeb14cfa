"""Migration 0009: licences issued before the history existed get the entries their rows tell."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from builders import create_citizen
from twonets import migrations
from twonets.core import service as core_service
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.licences.models import Licence, LicenceHistory

T = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
LATER = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


def test_existing_licences_get_their_history(empty_url: str) -> None:
    migrations.upgrade(empty_url, "0008_accounts")
    engine = make_engine(empty_url)
    factory = make_session_factory(engine)
    credit = make_credit_code(
        authority="1", kind="1", region_code="310000", organisation_body="00240001"
    )
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

        def licence(number: int, version: int, status: str, **extra: object) -> Licence:
            row = Licence(
                identifier=f"ID-{number}-{version}",
                type_code="ID",
                number=number,
                version=version,
                region_code="SH",
                issuer_department_code="sh.police",
                issuer_credit_code=credit,
                citizen_id=holder,
                claims="gcm1:sealed",
                status=status,
                status_index=number * 10 + version,
                valid_from=date(2025, 1, 1),
                issued_at=T,
                **extra,
            )
            session.add(row)
            session.flush()
            return row

        licence(1, 1, "active")
        licence(2, 1, "revoked", status_changed_at=LATER, status_reason="reported stolen")
        old = licence(3, 1, "superseded", status_changed_at=LATER, status_reason="moved")
        licence(3, 2, "active", supersedes_id=old.id)

    migrations.upgrade(empty_url)

    with factory() as session:
        rows = session.execute(
            select(Licence.identifier, LicenceHistory)
            .join(Licence, Licence.id == LicenceHistory.licence_id)
            .order_by(Licence.identifier, LicenceHistory.at, LicenceHistory.action)
        ).all()
    engine.dispose()
    assert [(i, str(h.action), h.to_status, h.reason, h.actor) for i, h in rows] == [
        ("ID-1-1", "issued", "active", None, ""),
        ("ID-2-1", "issued", "active", None, ""),
        ("ID-2-1", "revoked", "revoked", "reported stolen", ""),
        ("ID-3-1", "issued", "active", None, ""),
        ("ID-3-1", "superseded", "superseded", "moved", ""),
        ("ID-3-2", "amended", "active", None, ""),
    ]
    assert rows[2][1].at == LATER
