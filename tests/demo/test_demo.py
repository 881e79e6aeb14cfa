"""The demo city: deterministic, valid identifiers, census-shaped, seeded once."""

from __future__ import annotations

import math
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from demo_city import copy_of_demo
from twonets.core import geo, places
from twonets.core.config import Mode, Settings, SmsAdapter, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory
from twonets.core.errors import Conflict, Forbidden
from twonets.core.ids import validate_credit_code, validate_id_number
from twonets.core.models import Account, Citizen, Department, Enterprise, Role
from twonets.core.sms import FileSms
from twonets.demo import run_demo
from twonets.demo.city import ENTERPRISES_PER_SCALE, RESIDENTS_PER_SCALE, _apportion
from twonets.governance.sealing import Keyring
from twonets.operations.trucks import demo as truck_demo


def _settings(tmp_path: Path, name: str) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / name}",
        sms_adapter=SmsAdapter.FILE,
    )


def _citizens(settings: Settings) -> list[tuple[str, str, str | None]]:
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(Citizen.id_number, Citizen.name, Citizen.district_code).order_by(Citizen.id)
            ).all()
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of this run's demo city of seed 11 (see tests/demo_city.py)."""
    folder = tmp_path_factory.mktemp("demo")
    copy_of_demo(tmp_path_factory, folder, seed=11, database="a.db")
    return _settings(folder, "a.db")


def test_the_same_seed_builds_the_same_city(seeded: Settings, tmp_path: Path) -> None:
    other = _settings(tmp_path, "b.db")
    run_demo(other, scale=1, seed=11)
    assert _citizens(other) == _citizens(seeded)


def test_residents_follow_the_census_and_carry_valid_numbers(seeded: Settings) -> None:
    citizens = _citizens(seeded)
    assert len(citizens) == RESIDENTS_PER_SCALE
    assert len({c[0] for c in citizens}) == len(citizens)
    for number, _, _ in citizens:
        validate_id_number(number)
    by_district = Counter(c[2] for c in citizens)
    # Each district's share of the census, exactly: a fair split lies within one resident of
    # it, adds up to the whole, and never gives a more populous district fewer residents.
    census = {d.code: d.population_2020 for d in places.DISTRICTS}
    whole = sum(census.values())
    for code, population in census.items():
        quota = Fraction(RESIDENTS_PER_SCALE * population, whole)
        assert math.floor(quota) <= by_district[code] <= math.ceil(quota), code
    assert sum(by_district[code] for code in census) == RESIDENTS_PER_SCALE
    ranked = sorted(census, key=census.__getitem__)
    assert [by_district[c] for c in ranked] == sorted(by_district[c] for c in ranked)
    assert by_district["310115"] == max(by_district.values())


def test_firms_have_valid_codes_and_homes_lie_in_their_district(seeded: Settings) -> None:
    engine = make_engine(seeded.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            firms = session.scalars(select(Enterprise)).all()
            # The census's firms, and the muck-truck company the trucks' step registers.
            assert len(firms) == ENTERPRISES_PER_SCALE + 1
            assert truck_demo.COMPANY in {f.credit_code for f in firms}
            for firm in firms:
                validate_credit_code(firm.credit_code)
                assert firm.credit_code[2:8] == firm.district_code
            keyring = Keyring(resolve_secret_key(seeded))
            sample = session.scalars(select(Citizen).limit(40)).all()
            for c in sample:
                assert c.home_lon is not None
                assert c.home_lat is not None
                assert c.home_lon.startswith("gcm1:")
                lon = float(keyring.unseal("core.citizen", "home_lon", c.home_lon))
                lat = float(keyring.unseal("core.citizen", "home_lat", c.home_lat))
                assert geo.locate_district(lon, lat) == c.district_code
            departments = session.scalars(select(Department)).all()
            # The city's 14 departments and two in each district (steps add their own).
            city = [d for d in departments if d.region_code == "SH" and d.district_code is None]
            assert len(city) >= 14
            per_district = Counter(d.district_code for d in departments if d.district_code)
            assert set(per_district) == {d.code for d in places.DISTRICTS}
            assert min(per_district.values()) >= 2
            assert any(d.region_code == "JS" for d in departments)  # Jiangsu's police, issuing
            for department in departments:
                if department.credit_code is not None:
                    validate_credit_code(department.credit_code)
    finally:
        engine.dispose()


def test_every_demo_account_can_log_in(seeded: Settings) -> None:
    from fastapi.testclient import TestClient

    from twonets.web import create_app

    accounts = run_demo(seeded, scale=1, seed=11)
    assert {"admin", "dpo", "operator", "health.planner", "verifier"} <= {
        a.username for a in accounts
    }
    newcomers = [a for a in accounts if a.description.startswith("no account yet")]
    assert len(newcomers) == 1
    with TestClient(create_app(seeded, relay=False)) as client:
        for account in newcomers:
            # As the printed line says: sign up with the name, read the code, choose the password.
            name = account.description.split(" as ")[1].split(",")[0]
            started = client.post(
                "/api/v1/signup/citizen", json={"id_number": account.username, "name": name}
            )
            assert started.status_code == 202
            text = FileSms(seeded.effective_sms_outbox).messages()[-1].text
            code = re.findall(r"\b\d{6}\b", text)[0]
            opened = client.post(
                "/api/v1/signup/citizen/confirm",
                json={"id_number": account.username, "code": code, "password": account.password},
            )
            assert opened.status_code == 201, opened.text
        for account in accounts:
            response = client.post(
                "/api/v1/auth/token",
                json={"username": account.username, "password": account.password},
            )
            assert response.status_code == 200, account.username


def test_rerun_with_the_same_seed_keeps_the_data(seeded: Settings) -> None:
    engine = make_engine(seeded.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            before = session.scalar(select(func.count()).select_from(Account))
        run_demo(seeded, scale=1, seed=11)
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Account)) == before
    finally:
        engine.dispose()


def test_another_seed_needs_reset_and_builds_another_city(
    seeded: Settings, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    copy_of_demo(tmp_path_factory, tmp_path, seed=11, database="d.db")
    settings = _settings(tmp_path, "d.db")
    with pytest.raises(Conflict, match="--reset"):
        run_demo(settings, scale=1, seed=12)
    run_demo(settings, scale=1, seed=12, reset=True)
    citizens = _citizens(settings)
    assert len(citizens) == RESIDENTS_PER_SCALE
    assert citizens[:50] != _citizens(seeded)[:50]


def test_production_mode_refuses_the_demo(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/p.db", mode=Mode.PRODUCTION
    )
    with pytest.raises(Forbidden):
        run_demo(settings)


def test_apportion_adds_up() -> None:
    assert sum(_apportion(1000, [3, 3, 3])) == 1000
    assert _apportion(10, [1, 0]) == [10, 0]


def test_enterprises_have_a_phone_and_the_administrator_and_officer_one_role_each(
    seeded: Settings,
) -> None:
    engine = make_engine(seeded.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            phones = session.scalars(select(Enterprise.contact_phone)).all()
            assert all(p is not None and re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
            roles = {
                a.username: {r.role for r in a.roles}
                for a in session.scalars(
                    select(Account).where(Account.username.in_(["admin", "dpo"]))
                )
            }
            assert roles == {"admin": {Role.ADMIN}, "dpo": {Role.DPO}}
            officers = [
                {r.role for r in a.roles}
                for a in session.scalars(select(Account))
                if any(r.role == Role.DPO for r in a.roles)
            ]
            assert officers == [{Role.DPO}]
    finally:
        engine.dispose()


@given(
    total=st.integers(min_value=0, max_value=10_000),
    weights=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=20).filter(
        any
    ),
)
def test_apportion_stays_within_one_of_each_exact_share(total: int, weights: list[int]) -> None:
    parts = _apportion(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        quota = Fraction(total * weight, sum(weights))
        assert math.floor(quota) <= part <= math.ceil(quota)
