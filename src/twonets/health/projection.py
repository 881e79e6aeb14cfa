"""Bed-demand projection: CHIME's SIR model of hospital, ICU and ventilator census."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twonets.core.errors import Invalid

FloatArray = NDArray[np.float64]


class Disposition(StrEnum):
    """Where a patient is counted: a hospital bed, an ICU bed, a ventilator."""

    HOSPITALIZED = "hospitalized"
    ICU = "icu"
    VENTILATED = "ventilated"


class PeakShape(StrEnum):
    """Where the highest census falls in the projected days, and so what it may be called."""

    PEAK = "peak"  # inside the days shown: the census rises to it, then falls
    RISING = "rising"  # on the last day shown: the census is still rising, the peak is later
    FALLING = "falling"  # on day 0: the census only falls from today


@dataclass(frozen=True)
class ProjectionParameters:
    """Inputs of one projection; defaults are those of CHIME's command line (defaults/cli.cfg)."""

    population: int = 3_600_000
    current_hospitalized: int = 69
    doubling_time: float = 5.0
    relative_contact_rate: float = 0.45
    market_share: float = 0.15
    infectious_days: int = 10
    hospitalized_rate: float = 0.025
    hospitalized_los: int = 7
    icu_rate: float = 0.0075
    icu_los: int = 9
    ventilated_rate: float = 0.005
    ventilated_los: int = 10
    n_days: int = 100

    def __post_init__(self) -> None:
        _check_int(self, "population", minimum=1)
        _check_int(self, "current_hospitalized", minimum=0)
        _check_float(self, "doubling_time", low=0.0, low_open=True)
        _check_float(self, "relative_contact_rate", low=0.0, high=1.0)
        _check_float(self, "market_share", low=0.0, high=1.0, low_open=True)
        _check_int(self, "infectious_days", minimum=1)
        _check_float(self, "hospitalized_rate", low=0.0, high=1.0, low_open=True)
        _check_int(self, "hospitalized_los", minimum=1)
        _check_float(self, "icu_rate", low=0.0, high=1.0)
        _check_int(self, "icu_los", minimum=1)
        _check_float(self, "ventilated_rate", low=0.0, high=1.0)
        _check_int(self, "ventilated_los", minimum=1)
        _check_int(self, "n_days", minimum=1, maximum=MAX_DAYS)
        if self.population <= self.initial_infected:
            raise Invalid.field(
                "population",
                "too-small",
                f"must exceed the estimated infected at the first admission "
                f"(1 / market_share / hospitalized_rate = {self.initial_infected:g}), "
                f"got {self.population}",
            )

    @property
    def initial_infected(self) -> float:
        """CHIME's estimate of the infected on the day of the first admission to this hospital."""
        return 1.0 / self.market_share / self.hospitalized_rate

    def rate(self, disposition: Disposition) -> float:
        """The share of the infected who need ``disposition``."""
        rate: float = getattr(self, f"{disposition.value}_rate")
        return rate

    def length_of_stay(self, disposition: Disposition) -> int:
        """The days a patient keeps a ``disposition`` bed."""
        los: int = getattr(self, f"{disposition.value}_los")
        return los


# Beyond ten years the fit (one SIR run per candidate start day) gets slow and means nothing.
MAX_DAYS = 3650


def _check_int(
    params: ProjectionParameters, name: str, *, minimum: int, maximum: int | None = None
) -> None:
    value = getattr(params, name)
    # bool is an int subclass; True as a population is a caller's bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid.field(name, "type", f"must be a whole number, got {value!r}")
    if value < minimum:
        raise Invalid.field(name, "range", f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise Invalid.field(name, "range", f"must be at most {maximum}, got {value}")


def _check_float(
    params: ProjectionParameters,
    name: str,
    *,
    low: float,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    value = getattr(params, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid.field(name, "type", f"must be a finite number, got {value!r}")
    if low_open and value <= low:
        raise Invalid.field(name, "range", f"must be greater than {low:g}, got {value:g}")
    if not low_open and value < low:
        raise Invalid.field(name, "range", f"must be at least {low:g}, got {value:g}")
    if high is not None and value > high:
        raise Invalid.field(name, "range", f"must be at most {high:g}, got {value:g}")


def growth_rate(doubling_time: float) -> float:
    """The daily growth rate of a quantity that doubles every ``doubling_time`` days."""
    return float(2.0 ** (1.0 / doubling_time) - 1.0)


def doubling_time_from_r_naught(r_naught: float, infectious_days: int) -> float:
    """The doubling time that gives basic reproduction number ``r_naught`` in CHIME's model."""
    if not math.isfinite(r_naught) or r_naught <= 1.0:
        raise Invalid.field("r_naught", "range", f"must be greater than 1, got {r_naught!r}")
    if infectious_days < 1:
        raise Invalid.field(
            "infectious_days", "range", f"must be at least 1, got {infectious_days}"
        )
    # CHIME sets beta * S = growth + gamma, so R0 = beta * S / gamma = 1 + growth / gamma.
    growth = (r_naught - 1.0) / infectious_days
    return math.log(2.0) / math.log1p(growth)


@dataclass(frozen=True)
class Peak:
    """The highest census of one disposition within the projected days."""

    day: int
    census: float

    def to_json(self) -> dict[str, Any]:
        """The peak as JSON; ``census_floor`` is the whole-bed figure CHIME's tables show."""
        return {"census": self.census, "census_floor": math.floor(self.census), "day": self.day}


@dataclass(frozen=True)
class Projection:
    """Daily projection from day 0 (the current date) to ``n_days``, with the fitted values."""

    parameters: ProjectionParameters
    day: NDArray[np.int64]
    susceptible: FloatArray
    infected: FloatArray
    recovered: FloatArray
    admissions: Mapping[Disposition, FloatArray]
    census: Mapping[Disposition, FloatArray]
    days_since_first_admission: int
    beta: float
    beta_t: float

    @property
    def gamma(self) -> float:
        """The daily recovery rate, 1 / infectious days."""
        return 1.0 / self.parameters.infectious_days

    @property
    def initial_susceptible(self) -> float:
        """The susceptible on the day of the first admission, which CHIME's R uses."""
        return self.parameters.population - self.parameters.initial_infected

    @property
    def r_naught(self) -> float:
        """The basic reproduction number before distancing."""
        return self.beta / self.gamma * self.initial_susceptible

    @property
    def r_t(self) -> float:
        """The reproduction number with distancing."""
        return self.beta_t / self.gamma * self.initial_susceptible

    @property
    def doubling_time_t(self) -> float | None:
        """Days to double with distancing (negative: days to halve; None: no change)."""
        factor = self.beta_t * self.initial_susceptible - self.gamma + 1.0
        if factor <= 0.0 or factor == 1.0:
            return None
        return 1.0 / math.log2(factor)

    def peak(self, disposition: Disposition) -> Peak:
        """The first day of the highest census of ``disposition``."""
        census = self.census[disposition]
        index = int(np.argmax(census))
        return Peak(day=int(self.day[index]), census=float(census[index]))

    def peaks(self) -> dict[Disposition, Peak]:
        """The peak of every disposition."""
        return {d: self.peak(d) for d in Disposition}

    def peak_shape(self, disposition: Disposition) -> PeakShape:
        """Whether the highest census of ``disposition`` is a peak inside the days projected.

        A maximum on the last day is no peak (the census is still rising), nor one on day 0
        (it only falls); only a maximum with days on both sides is called a peak.
        """
        census = self.census[disposition]
        index = int(np.argmax(census))
        if index == len(census) - 1 and len(census) > 1:
            return PeakShape.RISING
        if index == 0 and len(census) > 1:
            return PeakShape.FALLING
        return PeakShape.PEAK

    def to_json(self) -> dict[str, Any]:
        """Parameters, derived values and peaks as a JSON-ready dict."""
        p = self.parameters
        return {
            "parameters": asdict(p),
            "derived": {
                "beta": self.beta,
                "beta_t": self.beta_t,
                "gamma": self.gamma,
                "intrinsic_growth_rate": growth_rate(p.doubling_time),
                "r_naught": self.r_naught,
                "r_t": self.r_t,
                "doubling_time_t": self.doubling_time_t,
                "initial_infected": p.initial_infected,
                "days_since_first_admission": self.days_since_first_admission,
                "day_0": {
                    "susceptible": float(self.susceptible[0]),
                    "infected": float(self.infected[0]),
                    "recovered": float(self.recovered[0]),
                    "census_hospitalized": float(self.census[Disposition.HOSPITALIZED][0]),
                },
            },
            "peak": {d.value: peak.to_json() for d, peak in self.peaks().items()},
        }

    def rows(self) -> list[dict[str, float | int]]:
        """The daily table, one dict per day."""
        table: list[dict[str, float | int]] = []
        for k, day in enumerate(self.day):
            row: dict[str, float | int] = {
                "day": int(day),
                "susceptible": float(self.susceptible[k]),
                "infected": float(self.infected[k]),
                "recovered": float(self.recovered[k]),
            }
            row.update({f"admits_{d.value}": float(self.admissions[d][k]) for d in Disposition})
            row.update({f"census_{d.value}": float(self.census[d][k]) for d in Disposition})
            table.append(row)
        return table

    def to_csv(self, path: Path | str) -> None:
        """Write the daily table to ``path`` as CSV with a header row."""
        rows = self.rows()
        with Path(path).open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


@dataclass(frozen=True)
class _Run:
    """One simulated trajectory from the first admission, with its dispositions."""

    s: FloatArray
    i: FloatArray
    r: FloatArray
    admissions: dict[Disposition, FloatArray]
    census: dict[Disposition, FloatArray]


def _simulate(
    s: float, i: float, r: float, gamma: float, policy: Sequence[tuple[float, int]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Step CHIME's discrete SIR once a day under each (beta, days) of ``policy``."""
    n = s + i + r
    total = 1 + sum(days for _, days in policy)
    out = np.empty((3, total), dtype=np.float64)
    k = 0
    for beta, days in policy:
        for _ in range(days):
            out[:, k] = (s, i, r)
            k += 1
            # CHIME's order of operations, so that near-ties in the fit break as in CHIME.
            new_s = (-beta * s * i) + s
            new_i = (beta * s * i - gamma * i) + i
            new_r = gamma * i + r
            # Renormalise so rounding never leaks people out of the population.
            scale = n / (new_s + new_i + new_r)
            s, i, r = new_s * scale, new_i * scale, new_r * scale
    out[:, k] = (s, i, r)
    return out[0], out[1], out[2]


def _run(params: ProjectionParameters, policy: Sequence[tuple[float, int]]) -> _Run:
    """Simulate from the first admission and derive admissions and census per disposition."""
    infected = params.initial_infected
    s, i, r = _simulate(
        params.population - infected, infected, 0.0, 1.0 / params.infectious_days, policy
    )
    ever_infected = i + r
    admissions: dict[Disposition, FloatArray] = {}
    census: dict[Disposition, FloatArray] = {}
    for d in Disposition:
        ever = ever_infected * params.rate(d) * params.market_share
        admits = np.empty_like(ever)
        admits[0] = np.nan  # nothing is known before the first day
        admits[1:] = ever[1:] - ever[:-1]
        # Census is the rolling sum of the last length-of-stay days of admissions.
        los = params.length_of_stay(d)
        cumulative = np.zeros(len(ever) + los)
        cumulative[los + 1 :] = np.cumsum(admits[1:])
        admissions[d] = admits
        census[d] = cumulative[los:] - cumulative[:-los]
    return _Run(s, i, r, admissions, census)


def project(params: ProjectionParameters) -> Projection:
    """Fit the start of the epidemic to the current census and project ``n_days`` ahead.

    As CHIME does with its mitigation date on the current date: for each candidate number of
    days since the first admission, run the model with the undistanced beta until day 0 and
    the distanced beta after; keep the candidate whose day-0 hospital census is nearest the
    current one, skipping those whose census peaked before day 0.
    """
    gamma = 1.0 / params.infectious_days
    growth = growth_rate(params.doubling_time)
    susceptible = params.population - params.initial_infected
    beta = (growth + gamma) / susceptible
    beta_t = beta * (1.0 - params.relative_contact_rate)

    # The day-0 census depends only on the undistanced days before it, so one undistanced run
    # ranks every candidate; only the peak rule needs a full run, usually of the best one.
    ranking = _run(params, [(beta, params.n_days - 1)]).census[Disposition.HOSPITALIZED]
    losses = (ranking - params.current_hospitalized) ** 2
    chosen: tuple[int, _Run] | None = None
    for start in sorted(range(params.n_days), key=lambda k: (losses[k], k)):
        run = _run(params, [(beta, start), (beta_t, params.n_days)])
        if int(np.argmax(run.census[Disposition.HOSPITALIZED])) >= start:
            chosen = (start, run)
            break
    # Start 0 always passes (an argmax is never negative), so the loop always chooses.
    assert chosen is not None
    start, run = chosen

    def today_on(values: FloatArray) -> FloatArray:
        return values[start:].copy()

    def counts(values: FloatArray) -> FloatArray:
        # With no day before day 0 there were no admissions before it: 0, not unknown. In exact
        # arithmetic nothing is negative; the renormalising step can leave -1e-16 when nobody
        # is being infected, which would only confuse a bed count.
        return np.maximum(np.nan_to_num(today_on(values), nan=0.0), 0.0)

    return Projection(
        parameters=params,
        day=np.arange(params.n_days + 1, dtype=np.int64),
        susceptible=today_on(run.s),
        infected=today_on(run.i),
        recovered=today_on(run.r),
        admissions={d: counts(a) for d, a in run.admissions.items()},
        census={d: counts(c) for d, c in run.census.items()},
        days_since_first_admission=start,
        beta=beta,
        beta_t=beta_t,
    )
