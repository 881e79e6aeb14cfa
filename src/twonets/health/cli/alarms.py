"""Command ``twonets health alarms``: EARS C1-C3 or Farrington flexible alarms from a CSV file."""

from __future__ import annotations

import csv
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from twonets.core.errors import Invalid
from twonets.health.cli.errors import invalid_option, option_error
from twonets.health.warning import (
    Detection,
    EarsMethod,
    ThresholdMethod,
    ears,
    farrington_flexible,
    read_series_csv,
)


class AlarmMethod(StrEnum):
    """The detection methods of the command."""

    EARS_C1 = "ears-c1"
    EARS_C2 = "ears-c2"
    EARS_C3 = "ears-c3"
    FARRINGTON = "farrington"


class ThresholdChoice(StrEnum):
    """Farrington's ways of turning the fit into an upper bound (``thresholdMethod``)."""

    DELTA = "delta"
    NB_PLUGIN = "nbPlugin"
    MUAN = "muan"


_EARS: dict[AlarmMethod, EarsMethod] = {
    AlarmMethod.EARS_C1: "C1",
    AlarmMethod.EARS_C2: "C2",
    AlarmMethod.EARS_C3: "C3",
}
_THRESHOLDS: dict[ThresholdChoice, ThresholdMethod] = {
    ThresholdChoice.DELTA: "delta",
    ThresholdChoice.NB_PLUGIN: "nbPlugin",
    ThresholdChoice.MUAN: "muan",
}


def register(app: typer.Typer) -> None:
    """Add the ``alarms`` command to ``app``."""
    app.command("alarms")(alarms_command)


def _parse_range(text: str) -> tuple[int, int]:
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(stop)
    except ValueError:
        raise Invalid.field(
            "range", "format", f"{text!r} is not FROM:TO with integer t values"
        ) from None


def _number(value: float) -> str:
    if math.isnan(value):
        return "NA"
    if value.is_integer():
        return str(int(value))
    return format(value, ".15g")  # the precision of R's write.csv


def _to_csv(detections: list[Detection]) -> str:
    lines = ["t,observed,upperbound,alarm"]
    for d in detections:
        lines.append(f"{d.t},{_number(d.observed)},{_number(d.upperbound)},{int(d.alarm)}")
    return "\n".join(lines)


def alarms_command(
    method: Annotated[AlarmMethod, typer.Option(help="Detection method.")],
    input: Annotated[
        Path, typer.Option(metavar="FILE", help="CSV with columns t,observed (date optional).")
    ],
    alpha: Annotated[
        float | None,
        typer.Option(help="Level; default 0.001 (C1, C2), 0.025 (C3), 0.05 (farrington)."),
    ] = None,
    range: Annotated[
        str | None,
        typer.Option(metavar="FROM:TO", help="Time points to judge, inclusive, in t."),
    ] = None,
    b: Annotated[int | None, typer.Option(help="Farrington: years back (default 5).")] = None,
    w: Annotated[
        int | None, typer.Option(help="Farrington: window half-width (default 3).")
    ] = None,
    no_periods: Annotated[
        int | None, typer.Option(help="Farrington: seasonal periods per year (default 1).")
    ] = None,
    weights_threshold: Annotated[
        float | None,
        typer.Option(help="Farrington: Anscombe residual above which to downweight (2.58)."),
    ] = None,
    past_weeks_not_included: Annotated[
        int | None, typer.Option(help="Farrington: recent weeks left out (default w).")
    ] = None,
    p_threshold_trend: Annotated[
        float | None, typer.Option(help="Farrington: p-value to keep the trend (0.05).")
    ] = None,
    threshold_method: Annotated[
        ThresholdChoice | None, typer.Option(help="Farrington: upper bound (default delta).")
    ] = None,
    freq: Annotated[
        int | None, typer.Option(help="Farrington: time points per year (default 52).")
    ] = None,
) -> None:
    """Judge each time point of a count series; print t,observed,upperbound,alarm as CSV."""
    farrington_options = {
        "b": b,
        "w": w,
        "no_periods": no_periods,
        "weights_threshold": weights_threshold,
        "past_weeks_not_included": past_weeks_not_included,
        "p_threshold_trend": p_threshold_trend,
        "threshold_method": threshold_method,
        "freq": freq,
    }
    try:
        text = input.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise option_error("input", f"cannot read {input}: {exc}") from None
    try:
        t, observed = read_series_csv(text)
    except Invalid as exc:
        detail = exc.errors[0].detail if exc.errors else exc.detail
        raise option_error("input", f"{input}: {detail}") from None
    except csv.Error as exc:  # e.g. a field past the csv module's limit
        raise option_error("input", f"{input}: not a readable CSV file: {exc}") from None
    try:
        span = None if range is None else _parse_range(range)
        given: dict[str, Any] = {
            name: value for name, value in farrington_options.items() if value is not None
        }
        if method is AlarmMethod.FARRINGTON:
            if threshold_method is not None:
                given["threshold_method"] = _THRESHOLDS[threshold_method]
            if alpha is not None:
                given["alpha"] = alpha
            detections = farrington_flexible(observed, t=t, range=span, **given)
        else:
            if given:
                raise option_error(next(iter(given)), "applies only to --method farrington")
            detections = ears(observed, method=_EARS[method], alpha=alpha, t=t, range=span)
    except Invalid as exc:
        raise invalid_option(exc) from None
    typer.echo(_to_csv(detections))
