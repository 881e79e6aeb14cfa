"""Tables of "one thing" services: process versions, applications, their tasks and audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import DataClass, all_public, dataset, personal


class ApplicationStatus(StrEnum):
    """Where an application is."""

    RUNNING = "running"
    # A department asked the applicant for more material; the step waits for it.
    RETURNED = "returned"
    COMPLETED = "completed"
    REJECTED = "rejected"


class TaskStatus(StrEnum):
    """Where a person's step of an application is."""

    OPEN = "open"
    CLAIMED = "claimed"
    RETURNED = "returned"
    DONE = "done"
    REJECTED = "rejected"
    # The application ended another way (rejected at another step, moved to a new version).
    CLOSED = "closed"


class ProcessDefinition(Base):
    """One deployed version of a process: its BPMN file and the decision tables it calls."""

    __tablename__ = "service_process"
    __table_args__ = (UniqueConstraint("process_id", "version"), {"info": all_public()})

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    bpmn: Mapped[str] = mapped_column(Text)
    # {file name: DMN text} as JSON.
    dmn: Mapped[str] = mapped_column(Text, default="{}")
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(64))


class Application(Base):
    """One applicant's application for a service, with its workflow state (serialised)."""

    __tablename__ = "service_application"
    __table_args__ = (
        Index("ix_service_application_process_status", "process_id", "status"),
        {
            "info": dataset(
                "services.application",
                subject="citizen_id",
                subject_kind="citizen",
                district="district_code",
                time="created_at",
                default=DataClass.PUBLIC,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64))
    definition_id: Mapped[int] = mapped_column(ForeignKey("service_process.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    status: Mapped[ApplicationStatus] = mapped_column(String(16))
    # How it came in (online, app, counter) and whether a visit in person was needed.
    channel: Mapped[str] = mapped_column(String(16), default="online")
    in_person: Mapped[bool] = mapped_column(Boolean, default=False)
    # SpiffWorkflow's serialisation of the workflow, written after every step.
    state: Mapped[str] = mapped_column(Text, info=personal())
    outcome: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, info=personal())
    licence_identifier: Mapped[str | None] = mapped_column(String(64))
    # The applicant's form as they sent it (JSON), and where each field came from:
    # {field: "verified" (as the government holds it), "declared" (typed or changed by the
    # applicant), "account"}. Staff read it through governance under the service's purpose.
    form: Mapped[str | None] = mapped_column(Text, info=personal())
    field_origins: Mapped[str | None] = mapped_column(Text)
    # The purpose under which the applicant consented to prefilling, and when.
    purpose_code: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The earliest BPMN timer the workflow waits on; the scheduled work fires it when due.
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Firing its timers failed this many times in a row (the last error kept, its type and
    # message); retried with back-off, then parked until staff retry it (dead letter).
    timer_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    timer_error: Mapped[str | None] = mapped_column(String(500))
    timer_parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceTask(Base):
    """A person's step of an application, in a department's queue, with its due time."""

    __tablename__ = "service_task"
    __table_args__ = (
        UniqueConstraint("application_id", "task_id"),
        Index("ix_service_task_lane_status", "lane", "status"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("service_application.id"))
    # The workflow's task (a UUID) and its BPMN activity.
    task_id: Mapped[str] = mapped_column(String(36))
    activity: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # The lane names the department function that does the step.
    lane: Mapped[str] = mapped_column(String(64))
    # The field names the step's form must carry (its process's ``form`` property).
    form: Mapped[str] = mapped_column(String(500), default="")
    district_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[TaskStatus] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(64), info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64))
    # What a return for material asks for, and why (shown to the applicant).
    missing: Mapped[str | None] = mapped_column(Text, info=personal())
    note: Mapped[str | None] = mapped_column(Text, info=personal())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApplicationEvent(Base):
    """One state change of an application: what, who, when, under which process version."""

    __tablename__ = "service_application_event"
    __table_args__ = (
        Index("ix_service_application_event_application_at", "application_id", "at"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("service_application.id"))
    action: Mapped[str] = mapped_column(String(32))
    activity: Mapped[str | None] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    process_version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64), info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text, info=personal())
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteStatus(StrEnum):
    """Where a message to or from another region's department is."""

    # A request written in the step's transaction, waiting for the transport to send it.
    PENDING = "pending"
    SENT = "sent"
    ANSWERED = "answered"
    # The process's time-out fired first: a reply that comes now is refused.
    TIMED_OUT = "timed-out"
    # A reply, verified and taken into the process.
    ACCEPTED = "accepted"


class RemoteMessage(Base):
    """A signed request to another region's department, or its signed reply (compact JWS)."""

    __tablename__ = "service_remote_message"
    __table_args__ = (
        Index("ix_service_remote_message_to_status", "to_region", "status"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    # A reply names the request it answers.
    in_reply_to: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))  # request or reply
    application_id: Mapped[int] = mapped_column(ForeignKey("service_application.id"), index=True)
    service_task_id: Mapped[int] = mapped_column(ForeignKey("service_task.id"))
    activity: Mapped[str] = mapped_column(String(64))
    from_region: Mapped[str] = mapped_column(String(8))
    to_region: Mapped[str] = mapped_column(String(8))
    # The department function asked (the lane of the step in the other region).
    function: Mapped[str] = mapped_column(String(64))
    # The signed message; a request carries the applicant's ID number and name.
    jws: Mapped[str | None] = mapped_column(Text, info=personal())
    status: Mapped[RemoteStatus] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReceivedStatus(StrEnum):
    """Where a request received from another region's deployment is."""

    WAITING = "waiting"
    # Answered: the signed reply is kept, and is being carried to the asking region.
    REPLY_PENDING = "reply-pending"
    DELIVERED = "delivered"
    # The asking region refused the reply (it came after the step's time-out, say).
    REFUSED = "refused"


class ReceivedRequest(Base):
    """A signed request another region's deployment posted to this region's inbox, and the
    signed reply this region's department sent back (both kept as received and sent)."""

    __tablename__ = "service_received_request"
    __table_args__ = (
        Index("ix_service_received_request_to", "to_region", "function", "status"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    from_region: Mapped[str] = mapped_column(String(8))
    to_region: Mapped[str] = mapped_column(String(8))
    function: Mapped[str] = mapped_column(String(64))
    # The signed request: it carries the applicant's ID number and name.
    jws: Mapped[str] = mapped_column(Text, info=personal())
    reply_jws: Mapped[str | None] = mapped_column(Text, info=personal())
    status: Mapped[ReceivedStatus] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(String(64))
    # Why the asking region refused the reply, or why it could not be reached.
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Material(Base):
    """A file an applicant uploaded because a department asked for it (kept in the database).

    Seen by the applicant and by staff of the department whose step asked for it.
    """

    __tablename__ = "service_material"
    __table_args__ = (
        Index("ix_service_material_application", "application_id", "service_task_id"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("service_application.id"))
    # The returned step that asked for it, and which item of what it asked.
    service_task_id: Mapped[int] = mapped_column(ForeignKey("service_task.id"))
    item: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(128), info=personal())
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, info=personal())
    uploaded_by: Mapped[str] = mapped_column(String(64), info=personal())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
