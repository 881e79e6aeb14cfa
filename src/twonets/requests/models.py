"""Tables of enterprise requests and citizen reports: requests, their history, dialogue,
attachments, reporters' contacts (personal data), Open311 client applications, the knowledge
base of policy answers, and the notifications (in-app inbox, e-mail and SMS deliveries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import DataClass, SensitiveKind, all_public, dataset, personal, sensitive


class Request(Base):
    """One enterprise request or citizen report, from intake to closure (WGS-84 positions).

    Who filed it is not here: the enterprise is a legal person (public), but a person's name
    and contacts live in ``req_contact``, read through governance.
    """

    __tablename__ = "req_request"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # enterprise | citizen
    # An enterprise category code ("ent-tax") or a management element code ("E0102").
    category_code: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(256))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    open311_client_id: Mapped[int | None] = mapped_column(ForeignKey("req_open311_client.id"))
    # What the classifier proposed, and how sure it was (None when the filer chose).
    proposed_category: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    # The Open311 token (GeoReport v2 ``tokens/{token}``) given to the filing client.
    token: Mapped[str] = mapped_column(String(36), unique=True)
    # The operations case a city problem became (followed through the case's events).
    case_number: Mapped[str | None] = mapped_column(String(32), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The time limit: the category's working days from the first routing (or a reopening).
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The filer's satisfaction after closure, 1 (very unsatisfied) to 5 (very satisfied).
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_note: Mapped[str | None] = mapped_column(String(500))
    # How urgent the filer says it is (normal | urgent): the category's limit for it.
    urgency: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # When the department is reminded of the coming limit, and when that was done.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Escalation to the supervising level after the limit passed (None: not escalated).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # How far up the chain it went (0: not escalated, 1: the supervising level, 2: the next),
    # and when the level it reached is itself late and it goes one level further up.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The knowledge-base answer it was answered with at once (None: a department answers).
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("req_answer.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RequestStep(Base):
    """One entry of a request's history: a status change or a routing decision, who, why."""

    __tablename__ = "req_step"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    # Staff act by name (as in the operations history); residents and firms as their side.
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(128))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RequestMessage(Base):
    """One message of the dialogue between the filer and the department on a request."""

    __tablename__ = "req_message"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    side: Mapped[str] = mapped_column(String(16))  # filer | department
    author_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    body: Mapped[str] = mapped_column(Text)


class RequestAttachment(Base):
    """A file that came with a request: a link (Open311 ``media_url``) or bytes kept by hash."""

    __tablename__ = "req_attachment"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RequestContact(Base):
    """Who filed a request and how to reach them: personal data, read through governance.

    The person is often in no register (a firm's contact person, a reporter through an
    Open311 application), so the data subject the ledger names is the contact itself; a
    logged-in resident's contact also carries their citizen id.
    """

    __tablename__ = "req_contact"
    __table_args__ = {
        "info": dataset(
            "requests.contact",
            subject="id",
            subject_kind="request-contact",
            time="given_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), unique=True)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizen.id"), index=True, info=personal()
    )
    name: Mapped[str | None] = mapped_column(String(128), info=personal())
    email: Mapped[str | None] = mapped_column(String(256), info=personal())
    phone: Mapped[str | None] = mapped_column(String(32), info=personal())
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Open311Client(Base):
    """A client application allowed to file reports through Open311; only its key's hash."""

    __tablename__ = "req_open311_client"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(
        String(64), unique=True, info=sensitive(SensitiveKind.CREDENTIAL)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PolicyAnswer(Base):
    """A policy answer of the knowledge base: a request that matches it is answered at once."""

    __tablename__ = "req_answer"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    category_code: Mapped[str] = mapped_column(String(32), index=True)
    # The question as enterprises ask it, with its usual wordings (what a request is matched to).
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    # Where the answer comes from (the policy document), shown with it.
    source: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # Further categories the answer applies to, besides ``category_code`` (codes, a list).
    also_categories: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # The number of the latest version (each change writes one to ``req_answer_version``).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PolicyAnswerVersion(Base):
    """One version of a policy answer: what it said, who changed it and when."""

    __tablename__ = "req_answer_version"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("req_answer.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # create | change | retire | restore
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Staff act by name, as in a request's history.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(128))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean)


class Notification(Base):
    """One entry of an account's in-app inbox: a status change or a message on a request."""

    __tablename__ = "req_notification"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # status | message | reminder | escalation
    action: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One e-mail or text message to a filer about a request, and what became of it.

    The address is not kept here: it is read through governance when the message is sent,
    under the grant of the member of staff whose action it reports (``reader_account_id``).
    """

    __tablename__ = "req_delivery"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("req_request.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    subject: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    reader_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # pending | sent | failed | skipped
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
