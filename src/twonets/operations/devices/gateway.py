"""The JT/T 808 gateway: an asyncio TCP server for vehicle terminals.

Per connection the stream is split on ``0x7e`` and each frame decoded. Registration is
answered with 0x8100: a new code for an enrolled terminal, else the result that says why not
(``enrolment`` holds the rules), counted per reason and listed for the devices page.
Authentication, heartbeats, location reports and batch uploads are answered with 0x8001
general responses, numbered by the platform's own serial per connection. Location reports
from a connection that has not authenticated are refused (result 1), as the protocol
requires, and so are those of a session whose code staff reset since. The positions of all
connections are gathered into batches, written in one transaction each (events and last
positions), and only then acknowledged, so an acknowledged position is never lost.

Malformed frames are counted per reason and logged; they never end the connection or the
server. What the gateway does with terminals and positions goes through a small ``Backend``
interface: the database in production, memory in benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work, utcnow
from twonets.core.errors import ConfigurationError, Conflict, NotFound
from twonets.operations.devices import enrolment, jt808, service
from twonets.operations.devices.service import Position, TerminalRef

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
# Terminals send a heartbeat every 60 s by default (parameter 0x0001); a connection silent
# for five of those is dead, and its socket is freed.
IDLE_TIMEOUT_SECONDS = 300.0
T = TypeVar("T")


def parse_listen(value: str) -> tuple[str, int]:
    """``"host:port"`` as a pair; a bad value is a configuration error naming the setting."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigurationError(f"TWONETS_JT808_LISTEN: should be host:port, got {value!r}")
    return host.strip("[]"), int(port)


class Backend(Protocol):
    """Where the gateway registers terminals, checks auth codes and sends positions."""

    async def register(
        self, phone: str, protocol_version: int | None, registration: jt808.Registration
    ) -> tuple[jt808.RegistrationResult, str | None]:
        """The registration result, and a new auth code on success."""

    async def authenticate(self, phone: str, auth_code: str) -> TerminalRef | None:
        """The terminal, if the auth code is its live code."""

    async def publish(self, positions: Sequence[Position]) -> frozenset[tuple[int, int]]:
        """Store and announce positions; return only once they are durable (or raise).

        Returns the sessions ``(terminal pk, code serial)`` whose positions were refused
        because the session is no longer current.
        """


class Batcher(Generic[T]):
    """Gathers items from many callers into one write; each caller waits for its write.

    A write starts when ``max_items`` are waiting or ``linger`` seconds after the first
    item; items arriving during a write go into the next one.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        *,
        max_items: int = 500,
        linger: float = 0.005,
    ) -> None:
        self._write = write
        self.max_items = max_items
        self.linger = linger
        self._pending: list[tuple[Sequence[T], asyncio.Future[None]]] = []
        self._count = 0
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def submit(self, items: Sequence[T]) -> None:
        """Queue ``items`` and wait until the write holding them has finished."""
        if not items:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        self._count += len(items)
        if self._count >= self.max_items:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._pending:
            if self._count < self.max_items:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.linger)
            self._full.clear()
            batch, self._pending, self._count = self._pending, [], 0
            items = [item for chunk, _ in batch for item in chunk]
            try:
                await self._write(items)
            except Exception as exc:  # every waiting caller learns its items were not written
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                self.batches += 1
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


class DatabaseBackend:
    """The gateway's backend on the platform's database (one transaction per batch)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        code_ttl: timedelta | None = timedelta(days=30),
        max_batch: int = 500,
        linger: float = 0.005,
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.code_ttl = code_ttl
        self.batcher: Batcher[Position] = Batcher(
            self._write_positions, max_items=max_batch, linger=linger
        )
        # Sessions found stale stay stale (serials only grow): remembered to tell their
        # connections, bounded by the number of resets.
        self._stale: set[tuple[int, int]] = set()

    async def register(
        self, phone: str, protocol_version: int | None, registration: jt808.Registration
    ) -> tuple[jt808.RegistrationResult, str | None]:
        """Register in its own transaction."""

        def work() -> tuple[jt808.RegistrationResult, str | None]:
            with unit_of_work(self.factory) as session:
                return enrolment.register_terminal(
                    session,
                    phone=phone,
                    protocol_version=protocol_version,
                    registration=registration,
                    now=self.clock(),
                    code_ttl=self.code_ttl,
                )

        return await asyncio.to_thread(work)

    async def authenticate(self, phone: str, auth_code: str) -> TerminalRef | None:
        """Check the code in its own transaction."""

        def work() -> TerminalRef | None:
            with unit_of_work(self.factory) as session:
                return enrolment.authenticate_terminal(
                    session, phone=phone, auth_code=auth_code, now=self.clock()
                )

        return await asyncio.to_thread(work)

    async def publish(self, positions: Sequence[Position]) -> frozenset[tuple[int, int]]:
        """Join the next batch and wait for its commit."""
        await self.batcher.submit(positions)
        return frozenset(
            key
            for key in {(p.terminal.pk, p.terminal.code_serial) for p in positions}
            if key in self._stale
        )

    async def _write_positions(self, positions: list[Position]) -> None:
        def work() -> frozenset[tuple[int, int]]:
            with unit_of_work(self.factory) as session:
                return service.record_positions(session, positions, now=self.clock()).refused

        self._stale.update(await asyncio.to_thread(work))


@dataclass
class _KnownTerminal:
    pk: int
    plate: str
    code_hash: str | None = None
    code_expires_at: datetime | None = None
    code_serial: int = 0

    def enrolment(self) -> enrolment.Enrolment:
        return enrolment.Enrolment(self.plate, True, self.code_hash, self.code_expires_at)


@dataclass
class MemoryBackend:
    """A backend in memory, under the same rules as the database: terminals are enrolled
    first (``enrol``), codes are random per registration and kept as digests, a reset ends
    sessions. Positions are kept in a list."""

    positions: list[Position] = field(default_factory=list)
    code_ttl: timedelta | None = None
    clock: Callable[[], datetime] = utcnow
    terminals: dict[str, _KnownTerminal] = field(default_factory=dict)

    def enrol(self, phone: str, plate: str) -> None:
        """Let a terminal register (the in-memory counterpart of staff enrolling it)."""
        number = enrolment.normalised_phone(phone)
        plate = enrolment.checked_plate(plate)
        if number in self.terminals:
            raise Conflict(f"phone: terminal {number} is enrolled already")
        if any(t.plate == plate for t in self.terminals.values()):
            raise Conflict(f"plate: {plate} is enrolled with another terminal")
        self.terminals[number] = _KnownTerminal(len(self.terminals) + 1, plate)

    def reset(self, phone: str) -> None:
        """Void a terminal's code: it registers again, and its sessions end."""
        known = self.terminals.get(enrolment.normalised_phone(phone))
        if known is None:
            raise NotFound(f"no terminal {phone} is enrolled")
        known.code_hash = known.code_expires_at = None
        known.code_serial += 1

    async def register(
        self, phone: str, protocol_version: int | None, registration: jt808.Registration
    ) -> tuple[jt808.RegistrationResult, str | None]:
        """Register an enrolled terminal with a new random code."""
        now = self.clock()
        known = self.terminals.get(phone)
        plate = registration.plate.strip()
        elsewhere = any(t.plate == plate for p, t in self.terminals.items() if p != phone)
        result = enrolment.registration_result(
            known.enrolment() if known else None,
            plate=plate,
            plate_enrolled_elsewhere=elsewhere,
            now=now,
        )
        if result is not jt808.RegistrationResult.SUCCESS or known is None:
            return result, None
        code, known.code_hash = enrolment.new_auth_code()
        known.code_expires_at = enrolment.code_expiry(now, self.code_ttl)
        known.code_serial += 1
        return result, code

    async def authenticate(self, phone: str, auth_code: str) -> TerminalRef | None:
        """The terminal if the code is its live code."""
        known = self.terminals.get(phone)
        current = known.enrolment() if known else None
        if known is None or not enrolment.code_accepted(current, auth_code, self.clock()):
            return None
        return TerminalRef(known.pk, phone, known.plate, known.code_serial)

    async def publish(self, positions: Sequence[Position]) -> frozenset[tuple[int, int]]:
        """Keep the positions of current sessions."""
        serials = {t.pk: t.code_serial for t in self.terminals.values() if t.code_hash}
        refused = frozenset(
            (p.terminal.pk, p.terminal.code_serial)
            for p in positions
            if serials.get(p.terminal.pk) != p.terminal.code_serial
        )
        self.positions.extend(
            p for p in positions if (p.terminal.pk, p.terminal.code_serial) not in refused
        )
        return refused


@dataclass(frozen=True)
class RefusedRegistration:
    """A registration the gateway refused, for staff to see (and enrol, when it is theirs)."""

    at: datetime
    phone: str
    plate: str
    reason: str
    peer: str


@dataclass
class GatewayStats:
    """What the gateway has seen since it started."""

    connections: int = 0
    open_connections: int = 0
    frames: int = 0
    positions: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    handler_errors: int = 0
    idle_closed: int = 0
    recent_refusals: deque[RefusedRegistration] = field(default_factory=lambda: deque(maxlen=20))


@dataclass
class _Connection:
    peer: str
    terminal: TerminalRef | None = None
    serial: int = 0

    def next_serial(self) -> int:
        value = self.serial
        self.serial = (self.serial + 1) & 0xFFFF
        return value


class Gateway:
    """A JT/T 808 TCP server; ``start`` then ``close``, or ``run`` until an event is set."""

    def __init__(
        self,
        backend: Backend,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self.stats = GatewayStats()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen; ``port`` holds the bound port afterwards (useful with port 0)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("JT/T 808 gateway listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        """Stop accepting, close open connections and wait for their handlers."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set (the app's background work)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.close()

    # --- one connection ------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        connection = _Connection(peer=f"{peer[0]}:{peer[1]}" if peer else "?")
        self.stats.connections += 1
        self.stats.open_connections += 1
        framer = jt808.Framer()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout)
                except TimeoutError:
                    self.stats.idle_closed += 1
                    log.info("JT/T 808 connection %s idle, closed", connection.peer)
                    break
                if not data:
                    break
                replies = await self._handle_chunks(connection, framer.feed(data))
                if replies:
                    writer.write(b"".join(replies))
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:  # a bug here must cost one connection, never the gateway
            self.stats.handler_errors += 1
            log.exception("JT/T 808 connection %s failed", connection.peer)
        finally:
            self.stats.open_connections -= 1
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _handle_chunks(self, connection: _Connection, chunks: list[bytes]) -> list[bytes]:
        """Decode and answer the frames of one read; positions are acknowledged once stored."""
        replies: list[jt808.Frame | tuple[jt808.Header, int]] = []
        positions: list[Position] = []
        for chunk in chunks:
            try:
                frame = jt808.decode(chunk)
            except jt808.FrameError as exc:
                self.stats.malformed[exc.rule] += 1
                log.warning("JT/T 808 frame from %s dropped: %s", connection.peer, exc.detail)
                continue
            self.stats.frames += 1
            reply = await self._handle(connection, frame, positions)
            if reply is not None:
                replies.append(reply)
        result = jt808.GeneralResponse.SUCCESS
        if positions:
            try:
                refused = await self.backend.publish(positions)
            except Exception:  # the terminal keeps the positions and sends them again
                log.exception("positions from %s not stored", connection.peer)
                result = jt808.GeneralResponse.FAILURE
            else:
                kept = sum(
                    (p.terminal.pk, p.terminal.code_serial) not in refused for p in positions
                )
                self.stats.positions += kept
                if kept < len(positions):
                    # The enrolment was reset since this session authenticated: it is over.
                    self.stats.refused["superseded"] += len(positions) - kept
                    result = jt808.GeneralResponse.FAILURE
                    current = connection.terminal
                    if current is not None and (current.pk, current.code_serial) in refused:
                        connection.terminal = None
                    log.warning("positions from %s refused: session reset", connection.peer)
        out = []
        for reply in replies:
            if isinstance(reply, tuple):  # a location acknowledged after the write
                reply = self._general(connection, reply[0], result)
            out.append(jt808.encode(reply))
        return out

    async def _handle(
        self, connection: _Connection, frame: jt808.Frame, positions: list[Position]
    ) -> jt808.Frame | tuple[jt808.Header, int] | None:
        header, body = frame.header, frame.body
        ok = jt808.GeneralResponse.SUCCESS
        if isinstance(body, jt808.Registration):
            result, code = await self.backend.register(header.phone, header.protocol_version, body)
            if result != jt808.RegistrationResult.SUCCESS:
                self._refuse_registration(connection, header.phone, body.plate, result)
            return self._reply(
                connection,
                header,
                jt808.MessageId.REGISTRATION_REPLY,
                jt808.RegistrationReply(header.serial, result, code),
            )
        if isinstance(body, jt808.Authentication):
            terminal = await self.backend.authenticate(header.phone, body.auth_code)
            if terminal is None:
                self.stats.refused["authentication"] += 1
            connection.terminal = terminal
            return self._general(
                connection, header, ok if terminal else jt808.GeneralResponse.FAILURE
            )
        if isinstance(body, jt808.Heartbeat):
            return self._general(connection, header, ok)
        if isinstance(body, jt808.GeneralResponse):
            return None  # a terminal's answer to a platform message: nothing to answer
        if isinstance(body, jt808.Location | jt808.BatchLocation):
            terminal = connection.terminal
            if terminal is None or terminal.phone != header.phone:
                self.stats.refused["unauthenticated"] += 1
                return self._general(connection, header, jt808.GeneralResponse.FAILURE)
            locations = body.locations if isinstance(body, jt808.BatchLocation) else (body,)
            positions.extend(service.position_from_location(terminal, x) for x in locations)
            return (header, 0)
        self.stats.refused["unsupported"] += 1
        return self._general(connection, header, jt808.GeneralResponse.UNSUPPORTED)

    def _refuse_registration(
        self, connection: _Connection, phone: str, plate: str, result: int
    ) -> None:
        reason = enrolment.RESULT_REASONS.get(jt808.RegistrationResult(result), f"result-{result}")
        self.stats.refused[reason] += 1
        self.stats.recent_refusals.appendleft(
            RefusedRegistration(self.clock(), phone, plate.strip()[:16], reason, connection.peer)
        )
        log.warning(
            "JT/T 808 registration of %s (plate %r) from %s refused: %s",
            phone,
            plate,
            connection.peer,
            reason,
        )

    def _general(self, connection: _Connection, header: jt808.Header, result: int) -> jt808.Frame:
        return self._reply(
            connection,
            header,
            jt808.MessageId.PLATFORM_RESPONSE,
            jt808.GeneralResponse(header.serial, header.message_id, result),
        )

    @staticmethod
    def _reply(
        connection: _Connection, request: jt808.Header, message_id: int, body: jt808.Body
    ) -> jt808.Frame:
        return jt808.Frame(
            jt808.Header(
                message_id=message_id,
                phone=request.phone,
                serial=connection.next_serial(),
                protocol_version=request.protocol_version,
            ),
            body,
        )
