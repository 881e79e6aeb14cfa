"""``twonets ops terminals ...``, ``twonets ops jt808 ...``, ``twonets ops gateway`` and
``twonets ops mqtt``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.operations.devices import enrolment, jt808, service
from twonets.operations.devices.gateway import DatabaseBackend, Gateway, parse_listen
from twonets.operations.devices.mqtt_intake import MqttIntake, database_writer
from twonets.operations.devices.simulator import SIMULATED_FLEET_CREDIT_CODE, plan_trucks, simulate

jt808_app = typer.Typer(help="The JT/T 808 codec: decode and encode frames; simulated trucks.")
terminals_app = typer.Typer(help="Vehicle terminals: enrol them, list them, reset their codes.")

AsStaff = Annotated[
    str, typer.Option("--as", help="The operations staff account doing it (user name).")
]


def register(app: typer.Typer) -> None:
    """Add the device-intake commands to ``twonets ops``."""
    app.add_typer(terminals_app, name="terminals")
    app.add_typer(jt808_app, name="jt808")
    app.command("gateway")(gateway_command)
    app.command("mqtt")(mqtt_command)


def _fail(detail: str) -> typer.Exit:
    typer.echo(f"error: {detail}", err=True)
    return typer.Exit(1)


@contextmanager
def _session(ctx: typer.Context) -> Iterator[Session]:
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except TwonetsError as exc:
        raise _fail(exc.detail) from None
    finally:
        engine.dispose()


@terminals_app.command("enrol")
def enrol_command(
    ctx: typer.Context,
    phone: Annotated[str, typer.Option(help="The terminal's SIM number (digits).")],
    plate: Annotated[str, typer.Option(help="The vehicle's plate, e.g. 沪D12345.")],
    credit_code: Annotated[str, typer.Option(help="Credit code of the vehicle's holder.")],
    as_: AsStaff,
    plate_colour: Annotated[int, typer.Option(help="1 blue, 2 yellow, 3 black, ...")] = 2,
) -> None:
    """Enrol a vehicle terminal so that the gateway lets it register."""
    with _session(ctx) as session:
        caller = enrolment.acting_staff(session, as_)
        row = enrolment.enrol_terminal(
            session,
            caller,
            phone=phone,
            plate=plate,
            credit_code=credit_code,
            plate_colour=plate_colour,
            now=utcnow(),
        )
        typer.echo(f"enrolled {row.phone} for {row.plate} ({row.credit_code})")


@terminals_app.command("reset")
def reset_command(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="The terminal's SIM number.")],
    as_: AsStaff,
) -> None:
    """Void a terminal's code at once; it registers again for a new one."""
    with _session(ctx) as session:
        caller = enrolment.acting_staff(session, as_)
        row = enrolment.reset_enrolment(session, caller, phone=phone, now=utcnow())
        typer.echo(f"reset {row.phone} ({row.plate}): its code is void, it registers again")


@terminals_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every terminal: phone, plate, enterprise, where it stands, last report."""
    with _session(ctx) as session:
        rows = service.list_terminals(session, now=utcnow())
        for t in rows:
            heard = "never" if t.age_seconds is None else f"{t.age_seconds} s ago"
            typer.echo(
                f"{t.phone:<20} {t.plate:<10} {t.credit_code or '—':<18} {t.state.value:<20} "
                f"{heard}"
            )
    typer.echo(f"{len(rows)} terminals")


@jt808_app.command("decode")
def decode_command(
    frame: Annotated[
        list[str], typer.Argument(metavar="HEX", help="The frame in hex, 7e...7e (spaces allowed).")
    ],
) -> None:
    """Print a JT/T 808 frame as JSON."""
    text = "".join("".join(frame).split())
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise _fail("HEX: not hexadecimal (two digits per byte)") from None
    try:
        decoded = jt808.decode(data)
    except jt808.FrameError as exc:
        raise _fail(exc.detail) from None
    typer.echo(json.dumps(jt808.to_json(decoded), ensure_ascii=False, indent=2))


@jt808_app.command("encode")
def encode_command(
    phone: Annotated[str, typer.Option(help="Terminal phone number (digits).")],
    lon: Annotated[float, typer.Option(help="Longitude, WGS-84 degrees.")],
    lat: Annotated[float, typer.Option(help="Latitude, WGS-84 degrees.")],
    time: Annotated[str, typer.Option(help="ISO time with its offset.")],
    speed: Annotated[float, typer.Option(help="Speed in km/h.")] = 0.0,
    heading: Annotated[int, typer.Option(help="Direction 0-359, north 0.")] = 0,
    serial: Annotated[int, typer.Option(help="Message serial number.")] = 0,
    alarm: Annotated[int, typer.Option(help="Alarm flags (DWORD).")] = 0,
    version: Annotated[int, typer.Option(help="2013 or 2019.")] = 2013,
) -> None:
    """Print a location report (0x0200) frame in hex, for testing a gateway."""
    from datetime import datetime

    if version not in (2013, 2019):
        raise _fail("--version: should be 2013 or 2019")
    try:
        when = datetime.fromisoformat(time)
    except ValueError:
        raise _fail("--time: not an ISO date and time") from None
    status = 0x2 | (0x4 if lat < 0 else 0) | (0x8 if lon < 0 else 0)
    try:
        data = jt808.encode(
            jt808.Frame(
                jt808.Header(
                    jt808.MessageId.LOCATION,
                    phone,
                    serial,
                    protocol_version=1 if version == 2019 else None,
                ),
                jt808.Location(
                    alarm_flags=alarm,
                    status_flags=status,
                    latitude_e6=round(abs(lat) * 1e6),
                    longitude_e6=round(abs(lon) * 1e6),
                    altitude_m=0,
                    speed_dkmh=round(speed * 10),
                    direction=heading,
                    time=when,
                ),
            )
        )
    except jt808.FrameError as exc:
        raise _fail(exc.detail) from None
    typer.echo(data.hex())


@jt808_app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    to: Annotated[
        str | None, typer.Option(help="Gateway host:port (default: TWONETS_JT808_LISTEN).")
    ] = None,
    terminals: Annotated[int, typer.Option(min=1, max=10_000, help="Trucks.")] = 5,
    reports: Annotated[int, typer.Option(min=1, help="Positions per truck.")] = 20,
    interval: Annotated[float, typer.Option(min=0, help="Seconds between reports.")] = 1.0,
    version: Annotated[int, typer.Option(help="2013 or 2019.")] = 2019,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same trucks).")] = 808,
    enrol_as: Annotated[
        str | None,
        typer.Option(
            help="Enrol the trucks first (resetting those a run enrolled before) in the "
            "gateway's database, as this operations staff account."
        ),
    ] = None,
    plan: Annotated[
        bool, typer.Option("--list", help="Only print the trucks' phones and plates, to enrol.")
    ] = False,
) -> None:
    """Drive simulated muck trucks that register, authenticate and report to a gateway.

    The gateway answers enrolled terminals only: give --enrol-as, or enrol the trucks that
    --list prints (same seed, same trucks) on the Devices page first.
    """
    settings: Settings = ctx.obj
    if version not in (2013, 2019):
        raise _fail("--version: should be 2013 or 2019")
    trucks = plan_trucks(terminals, seed=seed)
    if plan:
        for truck in trucks:
            typer.echo(f"{truck.phone} {truck.plate} {SIMULATED_FLEET_CREDIT_CODE}")
        return
    if enrol_as is not None:
        with _session(ctx) as session:
            caller = enrolment.acting_staff(session, enrol_as)
            done = enrolment.enrol_fleet(
                session,
                caller,
                credit_code=SIMULATED_FLEET_CREDIT_CODE,
                vehicles=[(t.phone, t.plate) for t in trucks],
                now=utcnow(),
                reset_enrolled=True,
            )
        typer.echo(f"{done.enrolled} trucks enrolled, {done.reset} reset")
    try:
        host, port = parse_listen(to or settings.jt808_listen or "127.0.0.1:8808")
    except TwonetsError as exc:
        raise _fail(exc.detail) from None
    report = asyncio.run(
        simulate(
            host,
            port,
            terminals=terminals,
            reports=reports,
            interval=interval,
            version=1 if version == 2019 else None,
            seed=seed,
        )
    )
    typer.echo(
        f"{report.registered} of {terminals} trucks registered; {report.positions} positions "
        f"sent, {report.acknowledged} acknowledged"
    )
    for failure in report.failures[:20]:
        typer.echo(f"  {failure}", err=True)
    if report.failures:
        raise typer.Exit(1)


def _run_until_signal(work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await work(stop)

    asyncio.run(main())


def gateway_command(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option(help="host:port (default: TWONETS_JT808_LISTEN or :8808).")
    ] = None,
) -> None:
    """Run the JT/T 808 gateway for vehicle terminals until interrupted."""
    settings: Settings = ctx.obj
    try:
        host, port = parse_listen(listen or settings.jt808_listen or "127.0.0.1:8808")
    except TwonetsError as exc:
        raise _fail(exc.detail) from None
    factory = make_session_factory(make_engine(settings.effective_database_url))
    backend = DatabaseBackend(factory, code_ttl=enrolment.code_ttl(settings))
    gateway = Gateway(backend, host=host, port=port)

    async def work(stop: asyncio.Event) -> None:
        await gateway.start()
        typer.echo(f"JT/T 808 gateway on {gateway.host}:{gateway.port}; Ctrl-C stops it")
        try:
            await stop.wait()
        finally:
            await gateway.close()
        s = gateway.stats
        typer.echo(
            f"{s.connections} connections, {s.frames} frames, {s.positions} positions, "
            f"malformed {dict(s.malformed)}, refused {dict(s.refused)}"
        )

    _run_until_signal(work)


def mqtt_command(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Broker, mqtt://host:port (default: TWONETS_MQTT_URL).")
    ] = None,
    prefix: Annotated[str, typer.Option(help="Topic prefix.")] = "twonets",
) -> None:
    """Subscribe to <prefix>/meters/<kind>/<device> and record readings until interrupted."""
    settings: Settings = ctx.obj
    factory = make_session_factory(make_engine(settings.effective_database_url))
    try:
        intake = MqttIntake(
            url or settings.mqtt_url or "mqtt://127.0.0.1:1883",
            database_writer(factory),
            prefix=prefix,
        )
    except TwonetsError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"subscribing to {intake.topic_filter} at {intake.host}:{intake.port}")
    _run_until_signal(intake.run)
    s = intake.stats
    typer.echo(f"{s.messages} messages, {s.readings} readings, rejected {dict(s.rejected)}")
