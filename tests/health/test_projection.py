"""Bed-demand projection: CHIME's own scenarios reproduced, invariants, validation, the command."""

from __future__ import annotations

import csv
import json
import logging
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from twonets.core.errors import Invalid
from twonets.health.cli.project import register
from twonets.health.projection import (
    Disposition,
    PeakShape,
    ProjectionParameters,
    doubling_time_from_r_naught,
    project,
)

# CHIME's test scenario: the `param` fixture of penn-chime's tests/conftest.py (v1.1.3), whose
# mitigation date is the current date, i.e. distancing applies from day 0.
CHIME_TEST = ProjectionParameters(
    population=500_000,
    current_hospitalized=100,
    doubling_time=6.0,
    relative_contact_rate=0.15,
    market_share=0.05,
    infectious_days=14,
    hospitalized_rate=0.05,
    hospitalized_los=7,
    icu_rate=0.02,
    icu_los=9,
    ventilated_rate=0.01,
    ventilated_los=10,
    n_days=60,
)

SCENARIOS = {
    "chime-test-param": CHIME_TEST,
    # penn-chime's `halving_param` fixture: distancing strong enough to shrink the epidemic.
    "chime-test-halving": ProjectionParameters(
        **{**CHIME_TEST.__dict__, "relative_contact_rate": 0.7}
    ),
    # More patients than the distanced epidemic ever holds: the nearest day-0 census lies past
    # the peak, which CHIME's fit refuses, so its rule for choosing the start day is exercised.
    "chime-test-past-peak": ProjectionParameters(
        **{**CHIME_TEST.__dict__, "current_hospitalized": 400}
    ),
    # CHIME's defaults/cli.cfg, which are also our defaults.
    "chime-cli-defaults": ProjectionParameters(),
}


def build_params(**overrides: Any) -> ProjectionParameters:
    """CHIME's test scenario with ``overrides``."""
    return ProjectionParameters(**{**CHIME_TEST.__dict__, **overrides})


@pytest.fixture(scope="module")
def chime() -> tuple[Any, Any, Any]:
    """penn-chime's ``Sir``, ``Parameters`` and ``Disposition``, or a skip if it is absent."""
    # penn_chime calls logging.basicConfig(INFO, stdout) on import; with a handler already on
    # the root logger that call does nothing, so the rest of the run keeps its logging.
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        sir: ModuleType = pytest.importorskip("penn_chime.model.sir")
        parameters: ModuleType = pytest.importorskip("penn_chime.model.parameters")
    finally:
        root.removeHandler(guard)
    return sir.Sir, parameters.Parameters, parameters.Disposition


def run_chime(chime: tuple[Any, Any, Any], p: ProjectionParameters) -> Any:
    """Run penn-chime's model on ``p`` with the mitigation date on the current date."""
    sir_class, parameters_class, disposition = chime
    today = datetime(2020, 3, 28)
    return sir_class(
        parameters_class(
            current_date=today,
            mitigation_date=today,
            current_hospitalized=p.current_hospitalized,
            doubling_time=p.doubling_time,
            hospitalized=disposition.create(rate=p.hospitalized_rate, days=p.hospitalized_los),
            icu=disposition.create(rate=p.icu_rate, days=p.icu_los),
            ventilated=disposition.create(rate=p.ventilated_rate, days=p.ventilated_los),
            infectious_days=p.infectious_days,
            market_share=p.market_share,
            n_days=p.n_days,
            population=p.population,
            recovered=0,
            relative_contact_rate=p.relative_contact_rate,
        )
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reproduces_chime_peaks_within_one_percent(chime: tuple[Any, Any, Any], name: str) -> None:
    params = SCENARIOS[name]
    reference = run_chime(chime, params)
    ours = project(params)
    census = reference.census_df[reference.census_df["day"] >= 0]
    assert ours.days_since_first_admission == reference.i_day
    for d in Disposition:
        column = census[f"census_{d.value}"]
        expected_census = float(column.max())
        expected_day = int(census["day"].iloc[int(np.argmax(column.to_numpy()))])
        peak = ours.peak(d)
        assert peak.census == pytest.approx(expected_census, rel=0.01), d
        assert abs(peak.day - expected_day) <= 1, d
        # Stronger than the requirement: the whole daily census agrees to rounding.
        np.testing.assert_allclose(ours.census[d], column.to_numpy(), rtol=1e-9, atol=1e-9)
    assert ours.r_naught == pytest.approx(reference.r_naught, rel=1e-12)
    assert ours.r_t == pytest.approx(reference.r_t, rel=1e-12)
    assert ours.beta_t == pytest.approx(reference.beta_t, rel=1e-12)


def test_chime_test_scenario_peaks_without_penn_chime() -> None:
    # Produced by penn-chime 0.0.3 (CHIME v1.1.3) on its `param` fixture: census_df, day >= 0;
    # kept here so the figures are checked even where penn-chime is not installed.
    ours = project(CHIME_TEST)
    expected = {
        Disposition.HOSPITALIZED: (164.94398742170688, 18),
        Disposition.ICU: (84.37789758590753, 19),
        Disposition.VENTILATED: (46.7280392128545, 20),
    }
    for d, (census, day) in expected.items():
        assert ours.peak(d).census == pytest.approx(census, rel=1e-9)
        assert ours.peak(d).day == day
    assert ours.days_since_first_admission == 43


@settings(max_examples=40, deadline=None)
@given(
    population=st.integers(100_000, 10_000_000),
    current_hospitalized=st.integers(0, 500),
    doubling_time=st.floats(1.0, 20.0),
    relative_contact_rate=st.floats(0.0, 1.0),
    market_share=st.floats(0.05, 1.0),
    n_days=st.integers(1, 150),
)
def test_invariants_hold(
    population: int,
    current_hospitalized: int,
    doubling_time: float,
    relative_contact_rate: float,
    market_share: float,
    n_days: int,
) -> None:
    params = build_params(
        population=population,
        current_hospitalized=current_hospitalized,
        doubling_time=doubling_time,
        relative_contact_rate=relative_contact_rate,
        market_share=market_share,
        n_days=n_days,
    )
    p = project(params)
    assert p.day.tolist() == list(range(n_days + 1))
    np.testing.assert_allclose(p.susceptible + p.infected + p.recovered, population, rtol=1e-9)
    for d in Disposition:
        assert (p.census[d] >= 0).all()
        assert (p.admissions[d] >= 0).all()
        assert 0 <= p.peak(d).day <= n_days
    json.dumps(p.to_json(), allow_nan=False)


def test_census_is_the_rolling_sum_of_admissions_over_the_length_of_stay() -> None:
    p = project(CHIME_TEST)
    admits = p.admissions[Disposition.HOSPITALIZED]
    census = p.census[Disposition.HOSPITALIZED]
    los = CHIME_TEST.hospitalized_los
    for day in range(los, CHIME_TEST.n_days + 1):
        assert census[day] == pytest.approx(admits[day - los + 1 : day + 1].sum(), rel=1e-9)


def test_more_distancing_lowers_every_peak() -> None:
    looser = project(build_params(relative_contact_rate=0.1))
    stricter = project(build_params(relative_contact_rate=0.4))
    for d in Disposition:
        assert stricter.peak(d).census < looser.peak(d).census
    assert stricter.r_t < looser.r_t
    assert stricter.r_naught == pytest.approx(looser.r_naught)


@pytest.mark.parametrize(
    ("overrides", "shape", "day"),
    [
        ({}, PeakShape.PEAK, 92),
        ({"n_days": 20}, PeakShape.RISING, 20),
        ({"relative_contact_rate": 0.9}, PeakShape.FALLING, 0),
    ],
)
def test_the_highest_census_is_a_peak_only_inside_the_window(
    overrides: dict[str, Any], shape: PeakShape, day: int
) -> None:
    result = project(ProjectionParameters(**overrides))

    assert result.peak_shape(Disposition.HOSPITALIZED) is shape
    assert result.peak(Disposition.HOSPITALIZED).day == day


def test_day_zero_census_is_fitted_to_the_current_census() -> None:
    p = project(build_params(current_hospitalized=100))
    # One day of growth is about 12% here, so the nearest day lands within that of the target.
    assert p.census[Disposition.HOSPITALIZED][0] == pytest.approx(100, rel=0.12)


def test_doubling_time_from_r_naught_round_trips() -> None:
    doubling = doubling_time_from_r_naught(2.5, 14)
    assert project(build_params(doubling_time=doubling)).r_naught == pytest.approx(2.5, rel=1e-3)
    with pytest.raises(Invalid, match=r"^r_naught: must be greater than 1"):
        doubling_time_from_r_naught(0.9, 14)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"population": 0}, "population: must be at least 1, got 0"),
        ({"population": 400}, "population: must exceed the estimated infected"),
        ({"current_hospitalized": -1}, "current_hospitalized: must be at least 0, got -1"),
        ({"doubling_time": 0.0}, "doubling_time: must be greater than 0, got 0"),
        ({"doubling_time": float("nan")}, "doubling_time: must be a finite number, got nan"),
        ({"relative_contact_rate": 1.5}, "relative_contact_rate: must be at most 1, got 1.5"),
        ({"market_share": 0.0}, "market_share: must be greater than 0, got 0"),
        ({"infectious_days": 0}, "infectious_days: must be at least 1, got 0"),
        ({"infectious_days": 2.5}, "infectious_days: must be a whole number, got 2.5"),
        ({"hospitalized_rate": 0.0}, "hospitalized_rate: must be greater than 0, got 0"),
        ({"icu_rate": -0.1}, "icu_rate: must be at least 0, got -0.1"),
        ({"ventilated_los": 0}, "ventilated_los: must be at least 1, got 0"),
        ({"n_days": 0}, "n_days: must be at least 1, got 0"),
        ({"n_days": True}, "n_days: must be a whole number, got True"),
    ],
)
def test_bad_parameters_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        build_params(**overrides)
    assert caught.value.detail.startswith(message)
    assert caught.value.errors[0].field == next(iter(overrides))


@pytest.fixture
def cli() -> typer.Typer:
    """A Typer app with only the ``project`` command, as ``twonets health`` mounts it."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def _group() -> None:
        """Keep ``project`` a sub-command even though it is the only one."""

    return app


def test_command_prints_peaks_as_json(cli: typer.Typer) -> None:
    args = [
        "project",
        *("--population", "500000", "--current-hospitalized", "100"),
        *("--doubling-time", "6", "--relative-contact-rate", "0.15"),
        *("--market-share", "0.05", "--infectious-days", "14"),
        *("--hospitalized-rate", "0.05", "--hospitalized-los", "7"),
        *("--icu-rate", "0.02", "--icu-los", "9"),
        *("--ventilated-rate", "0.01", "--ventilated-los", "10", "--n-days", "60"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["parameters"] == CHIME_TEST.__dict__
    assert set(body["peak"]) == {"hospitalized", "icu", "ventilated"}
    assert body["peak"]["hospitalized"]["day"] == 18
    assert body["peak"]["hospitalized"]["census"] == pytest.approx(164.944, rel=1e-5)
    assert body["peak"]["icu"]["day"] == 19
    assert body["peak"]["ventilated"]["census_floor"] == 46
    assert body["derived"]["r_t"] == pytest.approx(2.3073, rel=1e-4)


def test_command_defaults_are_chimes(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["project"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(
        json.dumps(project(SCENARIOS["chime-cli-defaults"]).to_json())
    )


def test_command_writes_the_daily_table(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "projection.csv"
    result = CliRunner().invoke(cli, ["project", "--n-days", "30", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 31
    assert [r["day"] for r in rows] == [str(d) for d in range(31)]
    assert list(rows[0]) == [
        "day",
        "susceptible",
        "infected",
        "recovered",
        "admits_hospitalized",
        "admits_icu",
        "admits_ventilated",
        "census_hospitalized",
        "census_icu",
        "census_ventilated",
    ]
    peak = json.loads(result.stdout)["peak"]["icu"]
    assert float(rows[peak["day"]]["census_icu"]) == pytest.approx(peak["census"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--market-share", "0"], "error: --market-share: must be greater than 0, got 0"),
        (["--icu-los", "0"], "error: --icu-los: must be at least 1, got 0"),
        (["--relative-contact-rate", "2"], "error: --relative-contact-rate: must be at most 1"),
    ],
)
def test_command_rejects_bad_values_with_exit_2(
    cli: typer.Typer, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["project", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)


def test_command_rejects_a_non_number_with_exit_2(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["project", "--population", "many"])
    assert result.exit_code == 2
    assert "--population" in result.stderr
