"""HTTP routes of device intake: enrolling terminals, vehicle positions as a map layer, and
intake status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request

from twonets.core.auth import Principal
from twonets.core.config import Settings
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.operations.devices import enrolment, service
from twonets.operations.devices.gateway import DatabaseBackend, Gateway, parse_listen
from twonets.operations.devices.models import Terminal
from twonets.operations.devices.mqtt_intake import MqttIntake, database_writer
from twonets.operations.devices.schemas import TerminalIn, TerminalOut

router = APIRouter(tags=["operations"])

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.FIELD))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]


def terminal_json(terminal: Terminal, now: datetime) -> dict[str, Any]:
    """A terminal as the API shows it (never its code)."""
    return {
        "phone": terminal.phone,
        "plate": terminal.plate,
        "plate_colour": terminal.plate_colour,
        "credit_code": terminal.credit_code,
        "state": service.state_of(terminal, now).value,
        "enrolled_at": terminal.enrolled_at,
        "enrolled_by": terminal.enrolled_by,
        "registered_at": terminal.registered_at,
        "code_expires_at": terminal.code_expires_at,
        "authenticated_at": terminal.authenticated_at,
    }


@router.get("/api/v1/ops/terminals", response_model=list[TerminalOut])
def list_terminals(caller: Watcher, uow: Uow, clock: Clock) -> Any:
    """Every terminal with where it stands (enrolled, registered, code expired, ...)."""
    with uow() as session:
        return [
            {**vars(row), "state": row.state.value}
            for row in service.list_terminals(session, now=clock())
        ]


@router.post("/api/v1/ops/terminals", response_model=TerminalOut, status_code=201)
def enrol_terminal(body: TerminalIn, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """Enrol a vehicle terminal, so that the gateway lets it register."""
    with uow() as session:
        now = clock()
        row = enrolment.enrol_terminal(session, caller, **body.model_dump(), now=now)
        return terminal_json(row, now)


@router.post("/api/v1/ops/terminals/{phone}/reset", response_model=TerminalOut)
def reset_terminal(phone: str, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """Void a terminal's code: it stops working at once, and the terminal registers again."""
    with uow() as session:
        now = clock()
        return terminal_json(enrolment.reset_enrolment(session, caller, phone=phone, now=now), now)


@router.get("/ops/layers/vehicles")
def vehicles_layer(caller: Watcher, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Last known position of each vehicle terminal, GeoJSON in GCJ-02 (the map's datum)."""
    with uow() as session:
        return service.vehicles_layer(session, now=clock())


@router.get("/ops/devices/status")
def intake_status(caller: Watcher, status: IntakeStatus) -> dict[str, Any]:
    """Counters of the JT/T 808 gateway and the MQTT subscriber running in this process."""
    return status


def get_intake_status(request: Request) -> dict[str, Any]:
    """The counters of the intake running with this request's app (a dependency)."""
    return status_of(request.app)


IntakeStatus = Annotated[dict[str, Any], Depends(get_intake_status)]


def status_of(app: FastAPI) -> dict[str, Any]:
    """The counters of the gateway and subscriber running with ``app`` (``None`` if not)."""
    gateway: Gateway | None = getattr(app.state, "jt808_gateway", None)
    intake: MqttIntake | None = getattr(app.state, "mqtt_intake", None)
    out: dict[str, Any] = {"gateway": None, "mqtt": None}
    if gateway is not None:
        s = gateway.stats
        out["gateway"] = {
            "listen": f"{gateway.host}:{gateway.port}",
            "connections": s.connections,
            "open_connections": s.open_connections,
            "frames": s.frames,
            "positions": s.positions,
            "malformed": dict(s.malformed),
            "refused": dict(s.refused),
            "handler_errors": s.handler_errors,
            "idle_closed": s.idle_closed,
            "recent_refusals": [vars(r) for r in s.recent_refusals],
        }
    if intake is not None:
        m = intake.stats
        out["mqtt"] = {
            "broker": f"{intake.host}:{intake.port}",
            "subscription": intake.topic_filter,
            "connected": intake.subscribed.is_set(),
            "messages": m.messages,
            "readings": m.readings,
            "rejected": dict(m.rejected),
            "reconnects": m.reconnects,
        }
    return out


def setup(app: FastAPI) -> None:
    """Run the gateway and the MQTT subscriber with the app when their settings are set."""
    settings: Settings = app.state.settings
    if settings.jt808_listen:
        host, port = parse_listen(settings.jt808_listen)
        backend = DatabaseBackend(
            app.state.session_factory,
            clock=app.state.clock,
            code_ttl=enrolment.code_ttl(settings),
        )
        gateway = Gateway(backend, host=host, port=port, clock=app.state.clock)
        app.state.jt808_gateway = gateway
        app.state.background.append(gateway.run)
    if settings.mqtt_url:
        intake = MqttIntake(
            settings.mqtt_url,
            database_writer(app.state.session_factory, app.state.clock),
            clock=app.state.clock,
        )
        app.state.mqtt_intake = intake
        app.state.background.append(intake.run)
