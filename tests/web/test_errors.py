"""Errors the web layer renders itself: numbers no column can hold."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import create_staff
from twonets.core import auth
from twonets.core.db import unit_of_work, utcnow
from twonets.core.models import Role


def _operator_token(factory: sessionmaker[Session]) -> str:
    with unit_of_work(factory) as session:
        account = create_staff(session, roles=(Role.OPERATOR,))
        return auth.issue_token(session, account, now=utcnow(), ttl=timedelta(hours=1))


def test_an_identifier_beyond_64_bits_is_a_problem_naming_the_parameter(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = _operator_token(session_factory)
    huge = 2**63
    response = client.get(f"/api/v1/ops/cases/{huge}", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == [
        {
            "field": "path.case_id",
            "rule": "range",
            "detail": f"{huge} is beyond the numbers this platform stores",
        }
    ]


def test_a_large_identifier_within_range_is_simply_not_found(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = _operator_token(session_factory)
    response = client.get(
        f"/api/v1/ops/cases/{2**31 - 1}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
