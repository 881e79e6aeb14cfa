"""HTTP routes of device intake: vehicle positions as a map layer, and intake status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request

from twonets.core.auth import Principal
from twonets.core.config import Settings
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.operations import device_service
from twonets.operations.gateway import DatabaseBackend, Gateway, parse_listen
from twonets.operations.mqtt_intake import MqttIntake, database_writer

router = APIRouter(tags=["operations"])

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.FIELD))]


@router.get("/ops/layers/vehicles")
def vehicles_layer(caller: Watcher, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Last known position of each vehicle terminal, GeoJSON in GCJ-02 (the map's datum)."""
    with uow() as session:
        return device_service.vehicles_layer(session, now=clock())


@router.get("/ops/devices/status")
def intake_status(caller: Watcher, request: Request) -> dict[str, Any]:
    """Counters of the JT/T 808 gateway and the MQTT subscriber running in this process."""
    return status_of(request.app)


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
        backend = DatabaseBackend(app.state.session_factory, clock=app.state.clock)
        gateway = Gateway(backend, host=host, port=port)
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
