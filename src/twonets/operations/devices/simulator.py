"""Simulated vehicle terminals: muck trucks driving in Shanghai, talking JT/T 808 to a gateway.

For trying a deployment (or the demo) end to end: each simulated truck connects, registers,
authenticates with the code it was given, then reports its position at an interval while
driving a random walk inside its district; every tenth report goes as a 0x0704 batch of the
positions it "kept while out of coverage". Replies are checked; anything but success counts
as a failure.

The gateway answers only enrolled terminals: ``plan_trucks`` gives the phone numbers and
plates a run will use (the same for the same seed), for staff to enrol first; the command
``twonets ops jt808 simulate --enrol-as USER`` does that itself through ``enrol_fleet``.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from twonets.core.geo import locate_district, random_point_in_district
from twonets.core.ids import make_credit_code
from twonets.core.places import DISTRICTS
from twonets.operations.devices import jt808

_METRES_PER_DEGREE = 111_320.0
BATCH_EVERY = 10
BATCH_SIZE = 3
# The (synthetic) transport enterprise the simulated trucks are enrolled under.
SIMULATED_FLEET_CREDIT_CODE = make_credit_code(
    kind="1", region_code="310115", organisation_body="MTRUCK01"
)


@dataclass(frozen=True)
class TruckPlan:
    """One simulated truck: the terminal's phone number, the plate, where it starts."""

    phone: str
    plate: str
    lon: float
    lat: float
    heading: float


def plan_trucks(terminals: int, *, seed: int = 808) -> list[TruckPlan]:
    """The trucks a run with this seed drives (phones and plates unique within a run)."""
    rng = random.Random(seed)
    plans = []
    for i in range(terminals):
        district = rng.choice(DISTRICTS).code
        lon, lat = random_point_in_district(district, rng)
        plans.append(
            TruckPlan(
                phone=f"1450{seed % 1000:03d}{i:04d}",
                plate=f"沪E{seed % 10}{i:04d}",
                lon=lon,
                lat=lat,
                heading=rng.uniform(0, 360),
            )
        )
    return plans


@dataclass
class SimulationReport:
    """What the simulated terminals sent and how the gateway answered."""

    registered: int = 0
    positions: int = 0
    acknowledged: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class _Truck:
    phone: str
    plate: str
    lon: float
    lat: float
    heading: float
    serial: int = 0

    def next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    def drive(self, rng: random.Random, seconds: float) -> float:
        """Move on; returns the speed in km/h. Turns back at the city's edge."""
        speed = 0.0 if rng.random() < 0.15 else rng.uniform(15, 50)
        self.heading = (self.heading + rng.gauss(0, 25)) % 360
        metres = speed / 3.6 * seconds
        d_lat = metres * math.cos(math.radians(self.heading)) / _METRES_PER_DEGREE
        d_lon = (
            metres
            * math.sin(math.radians(self.heading))
            / (_METRES_PER_DEGREE * math.cos(math.radians(self.lat)))
        )
        if locate_district(self.lon + d_lon, self.lat + d_lat) is None:
            self.heading = (self.heading + 180) % 360
        else:
            self.lon, self.lat = self.lon + d_lon, self.lat + d_lat
        return speed

    def location(self, speed: float, time: datetime) -> jt808.Location:
        return jt808.Location(
            alarm_flags=0,
            status_flags=0b11 if speed else 0b10,
            latitude_e6=round(self.lat * 1e6),
            longitude_e6=round(self.lon * 1e6),
            altitude_m=5,
            speed_dkmh=round(speed * 10),
            direction=round(self.heading) % 360,
            time=time.replace(microsecond=0),
            satellites=12,
        )


REFUSALS: dict[int, str] = {
    jt808.RegistrationResult.VEHICLE_REGISTERED: "the plate is enrolled with another terminal",
    jt808.RegistrationResult.NO_SUCH_VEHICLE: "not the plate enrolled for this terminal",
    jt808.RegistrationResult.TERMINAL_REGISTERED: (
        "registered already and the code is not kept here: reset the enrolment"
    ),
    jt808.RegistrationResult.NO_SUCH_TERMINAL: "not enrolled: enrol it first (or --enrol-as)",
}


class _Link:
    """One terminal's connection: send a frame, read the reply to it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = jt808.Framer()
        self.pending: list[bytes] = []

    async def ask(self, frame: jt808.Frame, timeout: float) -> jt808.Frame:
        self.writer.write(jt808.encode(frame))
        await self.writer.drain()
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(4096), timeout)
            if not data:
                raise ConnectionError("the gateway closed the connection")
            self.pending.extend(self.framer.feed(data))
        return jt808.decode(self.pending.pop(0))


async def _run_truck(
    truck: _Truck,
    host: str,
    port: int,
    *,
    reports: int,
    interval: float,
    version: int | None,
    rng: random.Random,
    report: SimulationReport,
    timeout: float,
) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        report.failures.append(f"{truck.plate}: cannot connect to {host}:{port}: {exc}")
        return
    link = _Link(reader, writer)

    def header(message_id: int) -> jt808.Header:
        return jt808.Header(message_id, truck.phone, truck.next_serial(), version)

    try:
        registration = jt808.Registration(31, 0, "SIM", "SIM-808", truck.phone[-7:], 2, truck.plate)
        reply = await link.ask(jt808.Frame(header(0x0100), registration), timeout)
        if not isinstance(reply.body, jt808.RegistrationReply) or reply.body.result != 0:
            result = getattr(reply.body, "result", None)
            why = REFUSALS.get(result, f"{reply.body}") if isinstance(result, int) else reply.body
            report.failures.append(
                f"{truck.plate} ({truck.phone}): registration refused, result {result}: {why}"
            )
            return
        report.registered += 1
        auth = jt808.Authentication(reply.body.auth_code or "", "860000000000000", "SIM 1.0")
        ack = await link.ask(jt808.Frame(header(0x0102), auth), timeout)
        if not isinstance(ack.body, jt808.GeneralResponse) or ack.body.result != 0:
            report.failures.append(f"{truck.plate}: authentication refused")
            return
        sent = 0
        while sent < reports:
            if sent and sent % BATCH_EVERY == 0 and reports - sent >= BATCH_SIZE:
                now = datetime.now(UTC)
                kept = []
                for back in range(BATCH_SIZE - 1, -1, -1):
                    speed = truck.drive(rng, interval or 30)
                    kept.append(truck.location(speed, now - timedelta(seconds=back)))
                frame = jt808.Frame(
                    header(0x0704), jt808.BatchLocation(jt808.BatchKind.BLIND_AREA, tuple(kept))
                )
                count = BATCH_SIZE
            else:
                speed = truck.drive(rng, interval or 30)
                frame = jt808.Frame(header(0x0200), truck.location(speed, datetime.now(UTC)))
                count = 1
            ack = await link.ask(frame, timeout)
            sent += count
            report.positions += count
            if isinstance(ack.body, jt808.GeneralResponse) and ack.body.result == 0:
                report.acknowledged += count
            else:
                report.failures.append(f"{truck.plate}: report refused ({ack.body})")
            if interval:
                await asyncio.sleep(interval)
    except (OSError, TimeoutError, jt808.FrameError) as exc:
        report.failures.append(f"{truck.plate}: {type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def simulate(
    host: str,
    port: int,
    *,
    terminals: int,
    reports: int,
    interval: float = 0.0,
    version: int | None = None,
    seed: int = 808,
    timeout: float = 10.0,
) -> SimulationReport:
    """Run ``terminals`` trucks, each sending ``reports`` positions, ``interval`` s apart.

    The trucks are those of ``plan_trucks(terminals, seed=seed)``, which must be enrolled.
    """
    report = SimulationReport()
    trucks = [
        _Truck(t.phone, t.plate, t.lon, t.lat, t.heading) for t in plan_trucks(terminals, seed=seed)
    ]
    await asyncio.gather(
        *(
            _run_truck(
                truck,
                host,
                port,
                reports=reports,
                interval=interval,
                version=version,
                rng=random.Random(f"{seed}:{truck.phone}"),
                report=report,
                timeout=timeout,
            )
            for truck in trucks
        )
    )
    return report
