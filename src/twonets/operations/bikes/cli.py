"""``twonets ops bikes ...``: heat map, forecast and plan from files (no database), and import.

A file that cannot be read stops the command with exit code 2 and a line naming the file, the
row and the column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.operations.bikes import heat, service, trips

# scikit-learn and OR-Tools load in the commands that use them: every other ``twonets``
# command starts without them.

bikes_app = typer.Typer(help="Shared bikes: heat map, demand forecast, rebalancing plan.")

TripsFile = Annotated[
    Path, typer.Option("--trips", help="Trips: our CSV columns, Citi Bike's CSV, or Parquet.")
]


def register(app: typer.Typer) -> None:
    """Add the shared-bike commands to ``twonets ops``."""
    app.add_typer(bikes_app, name="bikes")


def _bad_data(exc: trips.BikeDataError) -> typer.Exit:
    typer.echo(f"error: {' '.join(exc.detail.split())}", err=True)  # one line, always
    return typer.Exit(2)


def _read_trips(path: Path) -> pd.DataFrame:
    try:
        return trips.read_trips(path)
    except trips.BikeDataError as exc:
        raise _bad_data(exc) from None


@bikes_app.command("heatmap")
def heatmap_command(
    trips_file: TripsFile,
    res: Annotated[int, typer.Option("--res", help="H3 resolution (0 to 15).")] = 8,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here instead of printing it.")
    ] = None,
) -> None:
    """Starts, arrivals, supply and net flow per H3 cell and hour, as CSV."""
    if not 0 <= res <= 15:
        typer.echo(f"error: --res should be 0 to 15, got {res}", err=True)
        raise typer.Exit(2)
    table = heat.heat_table(_read_trips(trips_file), resolution=res)
    text = heat.to_csv(table)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(table)} cell-hours written to {out}", err=True)


@bikes_app.command("forecast")
def forecast_command(
    trips_file: TripsFile,
    holdout_days: Annotated[
        int, typer.Option(help="Whole days at the end held out for the errors.")
    ] = 7,
    res: Annotated[int, typer.Option("--res", help="H3 resolution (0 to 15).")] = 8,
) -> None:
    """Mean absolute error of the hour-of-week baseline and the learned model, as JSON."""
    from twonets.operations.bikes import forecast

    data = _read_trips(trips_file)
    table = heat.heat_table(data, resolution=res)
    try:
        result = forecast.evaluate(
            table, timezone=data.attrs["timezone"], holdout_days=holdout_days
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.as_json()))


def current_supply(snapshots: pd.DataFrame, resolution: int) -> dict[str, dict[str, int]]:
    """Bikes per operator and cell at each bike's latest snapshot."""
    latest = snapshots.sort_values("seen_at").groupby(["operator", "bike_id"]).tail(1)
    cell = heat.cells(latest["lat"].to_numpy(), latest["lon"].to_numpy(), resolution)
    counts = pd.DataFrame({"operator": latest["operator"].to_numpy(), "cell": cell})
    out: dict[str, dict[str, int]] = {}
    for (operator, c), n in counts.groupby(["operator", "cell"]).size().items():
        out.setdefault(str(operator), {})[str(c)] = int(n)
    return out


def day_need(data: pd.DataFrame, resolution: int) -> dict[str, dict[str, int]]:
    """Per operator and cell: the forecast demand of the 24 hours after the data, rounded up."""
    from twonets.operations.bikes import forecast

    need: dict[str, dict[str, int]] = {}
    for operator, own in data.groupby("operator"):
        own.attrs["timezone"] = data.attrs["timezone"]
        table = heat.heat_table(own, resolution=resolution)
        ahead = forecast.next_day(table, timezone=data.attrs["timezone"])
        total = ahead.groupby("cell")["demand"].sum()
        need[str(operator)] = {str(c): math.ceil(v) for c, v in total.items() if v > 0}
    return need


@bikes_app.command("plan")
def plan_command(
    trips_file: TripsFile,
    snapshot: Annotated[
        Path, typer.Option("--snapshot", help="Parked bikes: CSV or Parquet, our columns.")
    ],
    trucks: Annotated[int, typer.Option("--trucks", min=0, help="Trucks available.")],
    capacity: Annotated[int, typer.Option("--capacity", min=0, help="Bikes a truck carries.")],
    res: Annotated[int, typer.Option("--res", help="H3 resolution (0 to 15).")] = 8,
) -> None:
    """Moves of surplus bikes to deficit cells, per operator and truck, as JSON."""
    data = _read_trips(trips_file)
    try:
        parked = trips.read_snapshots(snapshot)
    except trips.BikeDataError as exc:
        raise _bad_data(exc) from None
    try:
        need = day_need(data, res)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from twonets.operations.bikes import rebalance

    supply = current_supply(parked, res)
    moves = rebalance.plan(supply, need, trucks=trucks, capacity=capacity)
    body = {
        "resolution": res,
        "trucks": trucks,
        "capacity": capacity,
        "bikes_moved": sum(m.bikes for m in moves),
        "bike_metres": rebalance.total_metres(moves),
        "moves": [m.as_json() for m in moves],
    }
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


@bikes_app.command("import")
def import_command(
    ctx: typer.Context,
    as_: Annotated[
        str, typer.Option("--as", help="The operations staff account doing it (user name).")
    ],
    trips_file: Annotated[
        Path | None, typer.Option("--trips", help="Trips: CSV (ours or Citi Bike's) or Parquet.")
    ] = None,
    snapshot: Annotated[
        Path | None, typer.Option("--snapshot", help="Parked bikes: CSV or Parquet.")
    ] = None,
) -> None:
    """Import trips and/or parked-bike snapshots into the database, whole or not at all."""
    settings: Settings = ctx.obj
    try:
        data = trips.read_trips(trips_file) if trips_file else None
        parked = trips.read_snapshots(snapshot) if snapshot else None
    except trips.BikeDataError as exc:
        raise _bad_data(exc) from None
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            caller = service.acting_staff(session, as_)
            res = settings.bikes_h3_resolution
            if data is not None:
                keyring = Governance(Catalogue(), resolve_secret_key(settings)).keyring(session)
                done = service.import_trips(
                    session, caller, data, keyring=keyring, resolution=res, now=utcnow()
                )
                typer.echo(f"{done.rows} trips imported (batch {done.batch})")
            if parked is not None:
                done = service.import_snapshots(
                    session, caller, parked, resolution=res, now=utcnow()
                )
                typer.echo(f"{done.rows} snapshots imported (batch {done.batch})")
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@bikes_app.command("replay")
def replay_command(
    trips_file: TripsFile,
    day: Annotated[str, typer.Option("--day", help="The local day to replay, YYYY-MM-DD.")],
    trucks: Annotated[int, typer.Option("--trucks", min=0, help="Trucks available.")],
    capacity: Annotated[int, typer.Option("--capacity", min=0, help="Bikes a truck carries.")],
    res: Annotated[int, typer.Option("--res", help="H3 resolution (0 to 15).")] = 8,
) -> None:
    """Replay a day of trips from the bikes' positions at its start, without and with the
    plan made from the days before; unmet demand of both as JSON."""
    from twonets.operations.bikes import rebalance, replay

    data = _read_trips(trips_file)
    timezone = data.attrs["timezone"]
    try:
        start = pd.Timestamp(day, tz=timezone).tz_convert("UTC")
    except ValueError:
        typer.echo(f"error: --day should be a date YYYY-MM-DD, got {day!r}", err=True)
        raise typer.Exit(2) from None
    history = data[data["started_at"] < start]
    history.attrs["timezone"] = timezone
    placed = heat.with_cells(data, res)
    day_trips = placed[
        (placed["started_at"] >= start) & (placed["started_at"] < start + pd.Timedelta(days=1))
    ]
    try:
        need = day_need(history, res)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    supply = replay.supply_at(placed, start)
    moves = rebalance.plan(supply, need, trucks=trucks, capacity=capacity)
    without = replay.replay(day_trips, supply)
    with_plan = replay.replay(day_trips, supply, moves)
    body = {
        "day": day,
        "starts": without.starts,
        "unmet_without_plan": without.unmet,
        "unmet_with_plan": with_plan.unmet,
        "bikes_moved": sum(m.bikes for m in moves),
    }
    typer.echo(json.dumps(body))
