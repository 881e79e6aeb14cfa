"""Early warning: EARS C1-C3 and Farrington flexible against R ``surveillance`` 1.20.3."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shared_data import shared_data
from twonets.core.errors import Invalid
from twonets.health.cli import alarms as alarms_cli
from twonets.health.warning import Detection, ears, farrington_flexible, read_series_csv


def data(name: str) -> Path:
    """A reference file of R's surveillance package (a skip where absent, a failure in CI)."""
    return shared_data("surveillance", name)


# A small series for the committed R tables below.
SMALL = [2, 4, 3, 5, 1, 0, 3, 6, 2, 4, 3, 8, 12, 5, 3, 2, 9, 4, 1, 0]

# Generated with Debian's r-cran-surveillance 1.20.3:
#   x <- c(2,4,3,5,1,0,3,6,2,4,3,8,12,5,3,2,9,4,1,0); s <- sts(observed = x, frequency = 52)
#   for (m in c("C1","C2","C3")) print(cbind(upperbound(earsC(s, control = list(method = m))),
#     alarms(earsC(s, control = list(method = m)))), digits = 15)
# (default ranges: C1 from t=8, C2 from t=10, C3 from t=12; alpha 0.001, C3 0.025)
R_EARS_SMALL = {
    "C1": [
        (7.88121833400128, 0),
        (9.68086454416916, 0),
        (9.39515025845487, 0),
        (9.67566475803884, 0),
        (8.82073011616783, 0),
        (11.83446245814586, 1),
        (16.40609600448835, 0),
        (16.22626793997697, 0),
        (16.24250697424008, 0),
        (16.24250697424008, 0),
        (17.56259053522027, 0),
        (17.34590063851784, 0),
        (17.42998911558458, 0),
    ],
    "C2": [
        (7.88121833400128, 0),
        (9.68086454416916, 0),
        (9.39515025845487, 0),
        (9.67566475803884, 1),
        (8.82073011616783, 0),
        (11.83446245814586, 0),
        (16.40609600448835, 0),
        (16.22626793997697, 0),
        (16.24250697424008, 0),
        (16.24250697424008, 0),
        (17.56259053522027, 0),
    ],
    "C3": [
        (12.14669764847510, 0),
        (13.14311332621920, 0),
        (0.0, 1),
        (0.0, 1),
        (8.40575137836742, 0),
        (15.66717079080372, 0),
        (10.94928954458227, 0),
        (7.94928954458227, 0),
        (7.33351372056518, 0),
    ],
}

# Generated with the same R package:
#   data(salmonella.agona); a <- disProg2sts(salmonella.agona)
#   for (tm in c("nbPlugin","muan","delta")) print(cbind(upperbound(r <- farringtonFlexible(a,
#     control = list(range = 290:300, b = 4, w = 2, noPeriods = 10, pastWeeksNotIncluded = 26,
#     weightsThreshold = 2.58, thresholdMethod = tm, alpha = 0.05))), alarms(r)), digits = 15)
R_FARRINGTON_PERIODS = {
    "nbPlugin": [(v, 0) for v in (7, 7, 9, 9, 9, 10, 10, 9, 10, 10, 9)],
    "muan": [(v, 0) for v in (8, 9, 10, 10, 10, 11, 11, 10, 11, 11, 10)],
    "delta": [
        (7.48405061615816, 0),
        (7.67870383643501, 0),
        (9.09902135535984, 0),
        (9.22373513204127, 0),
        (8.98129703284639, 1),
        (10.28084598018927, 0),
        (9.96934635000656, 0),
        (9.61571852246582, 0),
        (9.89926500179658, 0),
        (9.73954130596682, 0),
        (9.23640105140008, 0),
    ],
}


def _rows(name: str) -> list[dict[str, str]]:
    with data(name).open(newline="") as f:
        return list(csv.DictReader(f))


def _agona() -> tuple[np.ndarray, np.ndarray]:
    return read_series_csv(data("salmonella.agona.csv").read_text())


def _newport_csv() -> str:
    rows = _rows("salmNewport_Germany_weekly.csv")
    lines = ["t,date,observed"] + [
        f"{r['t']},{r['week_start']},{r['observed_total']}" for r in rows
    ]
    return "\n".join(lines) + "\n"


def _assert_matches(got: list[Detection], expected: list[tuple[float, int]], *, rel: float) -> None:
    assert len(got) == len(expected)
    for d, (bound, alarm) in zip(got, expected, strict=True):
        assert d.upperbound == pytest.approx(bound, rel=rel, abs=1e-9), d
        assert int(d.alarm) == alarm, d


# --- references of the data folder ------------------------------------------------------------


def test_c1_reproduces_surveillance_on_salm_newport_2011() -> None:
    t, observed = read_series_csv(_newport_csv())
    reference = _rows("earsC_C1_salmNewportGermany_2011_alpha0.05.csv")

    got = ears(observed, t=t, method="C1", alpha=0.05, range=(366, 417))

    assert [d.t for d in got] == [int(r["t"]) for r in reference]
    assert [d.observed for d in got] == [float(r["observed"]) for r in reference]
    # The reference is printed to 6 decimals: we agree to 1.3e-7 relative.
    _assert_matches(got, [(float(r["upperbound"]), int(r["alarm"])) for r in reference], rel=1e-6)


def test_farrington_reproduces_surveillance_on_salmonella_agona() -> None:
    t, observed = _agona()
    reference = _rows("farringtonFlexible_salmonella.agona_control1.csv")

    got = farrington_flexible(
        observed,
        t=t,
        range=(282, 312),
        no_periods=1,
        b=4,
        w=3,
        weights_threshold=1,
        past_weeks_not_included=3,
        p_threshold_trend=0.05,
        alpha=0.1,
    )

    assert [d.t for d in got] == list(range(282, 313))
    # The reference is printed to 6 decimals: we agree to 1.9e-7 relative.
    _assert_matches(got, [(float(r["upperbound"]), int(r["alarm"])) for r in reference], rel=1e-6)


@pytest.mark.parametrize("method", ["nbPlugin", "muan", "delta"])
def test_farrington_with_seasonal_periods_matches_r(method: str) -> None:
    t, observed = _agona()

    got = farrington_flexible(
        observed,
        t=t,
        range=(290, 300),
        b=4,
        w=2,
        no_periods=10,
        past_weeks_not_included=26,
        threshold_method=method,  # type: ignore[arg-type]
        alpha=0.05,
    )

    _assert_matches(got, R_FARRINGTON_PERIODS[method], rel=1e-9)


# --- EARS on a small series --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_ears_default_range_and_alpha_match_r(method: str) -> None:
    got = ears(SMALL, method=method)  # type: ignore[arg-type]

    first = {"C1": 8, "C2": 10, "C3": 12}[method]
    assert [d.t for d in got] == list(range(first, len(SMALL) + 1))
    _assert_matches(got, R_EARS_SMALL[method], rel=1e-12)


def _c2(x: list[int], k: int) -> tuple[float, float, float]:
    """Mean, sd and C2 statistic of 1-based time point k, by the textbook definition."""
    window = x[k - 10 : k - 3]  # the 7 values ending two before k
    mean, sd = statistics.mean(window), statistics.stdev(window)
    return mean, sd, (x[k - 1] - mean) / sd


def test_c2_is_mean_plus_z_sd_of_the_seven_values_lagged_by_two() -> None:
    z = statistics.NormalDist().inv_cdf(1 - 0.01)

    got = ears(SMALL, method="C2", alpha=0.01, range=(13, 15))

    for d in got:
        mean, sd, _ = _c2(SMALL, d.t)
        assert d.upperbound == pytest.approx(mean + z * sd, rel=1e-12)
        assert d.alarm == (SMALL[d.t - 1] > mean + z * sd)
    assert [d.alarm for d in got] == [True, False, False]


def test_c3_adds_the_two_previous_c2_excesses() -> None:
    z = statistics.NormalDist().inv_cdf(1 - 0.025)

    (d,) = ears(SMALL, method="C3", range=(15, 15))

    _, sd, _ = _c2(SMALL, 15)
    excess = max(0.0, _c2(SMALL, 13)[2] - 1) + max(0.0, _c2(SMALL, 14)[2] - 1)
    assert d.upperbound == pytest.approx(max(0.0, SMALL[14] + sd * (z - excess)), rel=1e-12)
    assert d.upperbound == 0.0
    assert d.alarm


def test_c3_with_a_flat_baseline_has_no_bound_and_no_alarm() -> None:
    (d,) = ears([1] * 11 + [5], method="C3")

    assert math.isnan(d.upperbound)
    assert not d.alarm


# --- validation --------------------------------------------------------------------------------


def test_range_before_enough_history_names_range_and_the_earliest_start() -> None:
    with pytest.raises(Invalid) as caught:
        ears(SMALL, method="C2", range=(5, 12))

    assert caught.value.errors[0].field == "range"
    assert "earliest start is t=10" in caught.value.detail


def test_farrington_range_needs_b_years_and_a_window() -> None:
    with pytest.raises(Invalid) as caught:
        farrington_flexible([1.0] * 300, b=5, range=(200, 300))

    assert caught.value.errors[0].field == "range"
    assert "earliest start is t=264" in caught.value.detail


def test_series_too_short_for_the_default_range() -> None:
    with pytest.raises(Invalid) as caught:
        farrington_flexible([1.0] * 100)

    assert caught.value.errors[0].field == "observed"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"b": 0}, "b"),
        ({"w": -1}, "w"),
        ({"no_periods": 0}, "no_periods"),
        ({"no_periods": 60}, "no_periods"),
        ({"weights_threshold": 0.0}, "weights_threshold"),
        ({"past_weeks_not_included": -2}, "past_weeks_not_included"),
        ({"p_threshold_trend": 1.5}, "p_threshold_trend"),
        ({"threshold_method": "exact"}, "threshold_method"),
        ({"alpha": 1.0}, "alpha"),
        ({"freq": 0}, "freq"),
    ],
)
def test_farrington_parameters_are_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        farrington_flexible([1.0] * 400, **kwargs)  # type: ignore[arg-type]

    assert caught.value.errors[0].field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"baseline": 2}, "baseline"), ({"alpha": 0.0}, "alpha"), ({"method": "C4"}, "method")],
)
def test_ears_parameters_are_checked(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"method": "C1", **kwargs}
    with pytest.raises(Invalid) as caught:
        ears(SMALL, **arguments)  # type: ignore[arg-type]

    assert caught.value.errors[0].field == field


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("t,count\n1,2\n", "line 1: the header has no column 'observed'"),
        ("t,observed\n1,2\nx,3\n", "line 3: t 'x' is not an integer"),
        ("t,observed\n1,2\n2,three\n", "line 3: observed 'three' is not a number"),
        ("t,observed\n1,-1\n", "line 2: observed '-1' is not a finite count >= 0"),
        ("t,observed\n1,2\n3,4\n", "line 3: t 3 does not follow t 1"),
        ("t,observed\n1,2,3\n", "line 2: 3 fields where the header has 2"),
        ("t,observed\n", "no data rows"),
    ],
)
def test_read_series_csv_names_the_line(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        read_series_csv(text)


def test_read_series_csv_reads_quoted_headers_and_ignores_date() -> None:
    t, observed = read_series_csv('"t","date","observed"\n7,"2011-01-03",1\n8,"2011-01-10",0\n')

    assert t.tolist() == [7, 8]
    assert observed.tolist() == [1.0, 0.0]


# --- command line ------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    alarms_cli.register(app)

    @app.callback()
    def _root() -> None:
        """Keep ``alarms`` a sub-command, as under ``twonets health``."""

    return app


def test_cli_ears_c1_prints_the_reference(tmp_path: Path) -> None:
    series = tmp_path / "newport.csv"
    series.write_text(_newport_csv())
    reference = _rows("earsC_C1_salmNewportGermany_2011_alpha0.05.csv")

    result = CliRunner().invoke(
        _app(),
        [
            *("alarms", "--method", "ears-c1", "--input", str(series)),
            *("--alpha", "0.05", "--range", "366:417"),
        ],
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "t,observed,upperbound,alarm"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (r["t"], r["observed"], r["alarm"]) for r in reference
    ]
    for row, ref in zip(rows, reference, strict=True):
        assert float(row[2]) == pytest.approx(float(ref["upperbound"]), rel=1e-6)


def test_cli_farrington_takes_surveillance_controls() -> None:
    reference = _rows("farringtonFlexible_salmonella.agona_control1.csv")

    result = CliRunner().invoke(
        _app(),
        [
            *("alarms", "--method", "farrington", "--input", str(data("salmonella.agona.csv"))),
            *("--range", "282:312", "--no-periods", "1", "--b", "4", "--w", "3"),
            *("--weights-threshold", "1", "--past-weeks-not-included", "3"),
            *("--p-threshold-trend", "0.05", "--alpha", "0.1", "--threshold-method", "delta"),
            *("--freq", "52"),
        ],
    )

    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.stdout.strip().splitlines()[1:]]
    assert [r[3] for r in rows] == [r["alarm"] for r in reference]


def test_cli_prints_na_where_there_is_no_bound(tmp_path: Path) -> None:
    series = tmp_path / "flat.csv"
    series.write_text("t,observed\n" + "".join(f"{i},1\n" for i in range(1, 12)) + "12,5\n")

    result = CliRunner().invoke(_app(), ["alarms", "--method", "ears-c3", "--input", str(series)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["t,observed,upperbound,alarm", "12,5,NA,0"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--range", "3:12"], "--range: starts at t=3"),
        (["--range", "12"], "--range: '12' is not FROM:TO"),
        (["--b", "3"], "--b: applies only to --method farrington"),
    ],
)
def test_cli_errors_name_the_option(tmp_path: Path, extra: list[str], message: str) -> None:
    series = tmp_path / "small.csv"
    series.write_text("t,observed\n" + "".join(f"{i},{v}\n" for i, v in enumerate(SMALL, 1)))

    result = CliRunner().invoke(
        _app(), ["alarms", "--method", "ears-c1", "--input", str(series), *extra]
    )

    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_reports_a_bad_line(tmp_path: Path) -> None:
    series = tmp_path / "bad.csv"
    series.write_text("t,observed\n1,2\n2,x\n")

    result = CliRunner().invoke(_app(), ["alarms", "--method", "ears-c1", "--input", str(series)])

    assert result.exit_code == 2
    assert f"--input: {series}: line 3: observed 'x' is not a number" in result.stderr


# --- robustness --------------------------------------------------------------------------------

counts = st.lists(
    st.integers(min_value=0, max_value=60) | st.sampled_from([0, 0, 1, 2, 50]),
    min_size=1,
    max_size=60,
)


def test_farrington_survives_a_huge_muan_quantile() -> None:
    # Found by random testing: se of the link is ~1800, so exp(qnorm(...)) is ~1e20 and scipy's
    # negative binomial quantile would search for ever.
    x = [0, 50, 1, 0, 1, 2, 0, 0, 50, 0, 50, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 50, 0, 50, 50, 0]
    x += [1, 2, 0, 0, 50, 2, 2, 1, 0, 2, 0, 1, 0, 0, 0, 2, 0, 50, 0, 0, 1, 2, 2, 0, 0, 0, 0, 1]
    x += [1, 50, 2, 0, 0, 2]

    got = farrington_flexible(
        x,
        b=3,
        w=0,
        no_periods=4,
        freq=4,
        past_weeks_not_included=0,
        weights_threshold=1.704,
        threshold_method="muan",
        alpha=0.4857,
    )

    assert len(got) == len(x) - 12


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=counts,
    method=st.sampled_from(["C1", "C2", "C3"]),
    baseline=st.integers(min_value=2, max_value=8),
    alpha=st.floats(min_value=0.0, max_value=1.0),
)
def test_ears_raises_nothing_but_invalid(
    x: list[int], method: str, baseline: int, alpha: float
) -> None:
    try:
        got = ears(x, method=method, baseline=baseline, alpha=alpha)  # type: ignore[arg-type]
    except Invalid:
        return
    assert all(d.alarm in (True, False) for d in got)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=counts,
    b=st.integers(min_value=0, max_value=4),
    w=st.integers(min_value=0, max_value=3),
    no_periods=st.integers(min_value=1, max_value=4),
    freq=st.integers(min_value=1, max_value=8),
    pwni=st.none() | st.integers(min_value=0, max_value=6),
    weights_threshold=st.floats(min_value=0.5, max_value=3.0),
    method=st.sampled_from(["delta", "nbPlugin", "muan"]),
    alpha=st.floats(min_value=0.001, max_value=0.5),
)
def test_farrington_raises_nothing_but_invalid(
    x: list[int],
    b: int,
    w: int,
    no_periods: int,
    freq: int,
    pwni: int | None,
    weights_threshold: float,
    method: str,
    alpha: float,
) -> None:
    try:
        got = farrington_flexible(
            x,
            b=b,
            w=w,
            no_periods=no_periods,
            freq=freq,
            past_weeks_not_included=pwni,
            weights_threshold=weights_threshold,
            threshold_method=method,  # type: ignore[arg-type]
            alpha=alpha,
        )
    except Invalid:
        return
    assert all(math.isnan(d.upperbound) or d.upperbound >= 0 for d in got)
